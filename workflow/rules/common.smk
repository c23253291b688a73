# Shared set-up: validate the config, load the dataset registry, name the folders.
# Every function called here lives in src/mgiqa (tested there); no logic in rule files.
from mgiqa import pipeline as P
from mgiqa import report_items as R
from mgiqa.config import validate_config, write_effective_config


validate_config(config, "snakemake config")
REG = P.registry(config)
P.check_datasets_known(config, REG)

DATA = config["paths"]["data"]
MODELS = config["paths"]["models"]
RESULTS = config["paths"]["results"]
LOGS = config["paths"].get("logs", "logs")
BENCH = config["paths"].get("benchmarks", "benchmarks")
ENV = P.conda_env(config, gpu_rule=False)  # --sdm conda: envs/mgiqa.yaml
GPU_ENV = P.conda_env(config, gpu_rule=True)  # envs/mgiqa-gpu.yaml when compute.backend is cuda
# the merged config the `mgiqa` stages read: written when the workflow starts running jobs (below), never
# while parsing (--lint, -n, --report); rewritten only when it changes
CONFIG = f"{RESULTS}/config.effective.yaml"
LAUNCH = P.launcher(config)  # `mgiqa`, or `accelerate launch ... -m mgiqa` for multi-process training
COMPUTE = config["compute"]


wildcard_constraints:
    dataset="|".join(P.all_datasets(config)),
    benchmark="|".join(config["datasets"]["benchmarks"]),
    ablation="|".join(config["ablations"]),
    prompt="attribute|overall",
    seed=r"\d+",


onstart:
    write_effective_config(config, CONFIG)
