# Shared set-up: validate the config, load the dataset registry, name the folders.
# Every function called here lives in src/mgiqa (tested there); no logic in rule files.
from mgiqa import pipeline as P
from mgiqa import report_items as R
from mgiqa import rule_config as RC
from mgiqa.config import validate_config


validate_config(config, "snakemake config")  # fills in the schema's defaults
REG = P.registry(config)
P.check_datasets_known(config, REG)

DATA = config["paths"]["data"]
MODELS = config["paths"]["models"]
RESULTS = config["paths"]["results"]
LOGS = config["paths"]["logs"]
BENCH = config["paths"]["benchmarks"]
ENV = P.conda_env(config, gpu_rule=False)  # --sdm conda: envs/mgiqa.yaml
GPU_ENV = P.conda_env(config, gpu_rule=True)  # envs/mgiqa-gpu.yaml when compute.backend is cuda
# the effective config (defaults filled) the `mgiqa` stages read: the output of rule effective_config
# (config.smk), an ancient() input of every stage, which reruns on the config keys of mgiqa.rule_config
CONFIG = f"{RESULTS}/config.effective.yaml"
LAUNCH = P.launcher(config)  # `mgiqa`, or `accelerate launch ... -m mgiqa` for multi-process training
COMPUTE = config["compute"]


wildcard_constraints:
    dataset="|".join(P.all_datasets(config)),
    benchmark="|".join(config["datasets"]["benchmarks"]),
    ablation="|".join(config["ablations"]),
    prompt="attribute|overall",
    seed=r"\d+",

