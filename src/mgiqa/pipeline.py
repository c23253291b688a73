"""What the Snakemake workflow builds: targets, paths and per-job inputs, derived from the config.

The rule files stay declarative and call these functions; everything here is plain Python
that the tests reach.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from mgiqa.config import ablation as ablation_spec
from mgiqa.errors import ConfigError

ZERO_SHOT = "zero_shot"
CLASSICAL_PREFIX = "classical_"
ATTRIBUTE_FIELDS = ("sharpness", "color", "noise", "composition")


def _p(config: dict, key: str) -> Path:
    return Path(config["paths"][key])


def ancestor(path, levels: int) -> str:
    """The folder `levels` above a file (rules derive their folder arguments from their files)."""
    return str(Path(str(path)).parents[levels - 1])


def first_ancestor(paths, levels: int, default: str) -> str:
    """`ancestor` of the first of `paths`, or `default` when there are none."""
    paths = list(paths)
    return ancestor(paths[0], levels) if paths else default


# ----------------------------------------------------------------------------- datasets
def all_datasets(config: dict) -> list[str]:
    ds = config["datasets"]
    return list(dict.fromkeys([*ds["pretrain"], *ds["train"], *ds["benchmarks"]]))


def registry(config: dict) -> dict:
    from mgiqa.data.registry import load_registry

    extra = config["datasets"]["registry"]
    return load_registry([extra] if extra else None)


def check_datasets_known(config: dict, reg: dict) -> None:
    unknown = [d for d in all_datasets(config) if d not in reg]
    if unknown:
        raise ConfigError(f"datasets: not in the registry: {unknown}; known: {sorted(reg)}")


def raw_marker(config: dict, dataset: str) -> str:
    return str(_p(config, "data") / "raw" / dataset / ".complete")


def generator_settings(config: dict, reg: dict, dataset: str) -> dict | None:
    """What a generated (demo) dataset depends on besides its registry entry: a change regenerates it."""
    if not any(src.get("kind") == "generated" for src in reg[dataset]["sources"]):
        return None
    return {"seed": config["seed"], "demo": config["demo"]}


def label_file(config: dict, reg: dict, dataset: str) -> str:
    entry = reg[dataset]
    return str(_p(config, "data") / "raw" / dataset / entry["labels"]["file"])


def table(config: dict, dataset: str) -> str:
    return str(_p(config, "data") / "tables" / f"{dataset}.csv")


def prepared(config: dict, dataset: str) -> str:
    return str(_p(config, "data") / "prepared" / f"{dataset}.csv")


def pretrain_dataset(config: dict) -> str:
    """The demo's pretraining set (a task disjoint from the benchmarks); the tiny model needs exactly one."""
    pretrain = config["datasets"]["pretrain"]
    if len(pretrain) != 1:
        raise ConfigError(
            f"datasets.pretrain: model.source tiny needs exactly one pretraining dataset, got {pretrain}"
        )
    return pretrain[0]


def ablation_train_datasets(config: dict, reg: dict, ablation: str) -> list[str]:
    """The training datasets of one ablation: all of datasets.train, one domain of them, or a list."""
    train = ablation_spec(config, ablation)["train"]
    pool = config["datasets"]["train"]
    if train == "all":
        chosen = list(pool)
    elif isinstance(train, list):
        chosen = list(train)
    else:
        chosen = [d for d in pool if reg[d]["domain"] == train]
    if not chosen:
        raise ConfigError(
            f"ablations.{ablation}.train: {train!r} selects no dataset of datasets.train {pool}"
        )
    return chosen


def batch_scope(config: dict, ablation: str) -> str:
    """Cross-domain alignment: batches from one comparison group; without it, mixed batches."""
    return "group" if ablation_spec(config, ablation)["alignment"] else "mixed"


def batch_plan(config: dict, ablation: str) -> str:
    return str(_p(config, "data") / "batches" / f"{ablation}.csv")


# ----------------------------------------------------------------------------- models
def base_model(config: dict) -> str:
    return str(_p(config, "models") / "base")


def base_init_model(config: dict) -> str:
    return str(_p(config, "models") / "base_init")


def sft_model(config: dict, prompt: str, seed) -> str:
    return str(_p(config, "models") / "sft" / prompt / f"seed{seed}")


def grpo_model(config: dict, ablation: str, seed) -> str:
    return str(_p(config, "models") / "grpo" / ablation / f"seed{seed}")


def sft_prompts(config: dict) -> list[str]:
    """Prompt kinds that need an SFT warmup (SFT is shared by every ablation with that prompt)."""
    return sorted({s["prompt"] for s in config["ablations"].values() if s["sft"]})


def sft_train_datasets(config: dict, reg: dict, prompt: str) -> list[str]:
    """SFT of one prompt kind trains on the union of its ablations' training sets."""
    chosen: list[str] = []
    for name, spec in config["ablations"].items():
        if spec["sft"] and spec["prompt"] == prompt:
            chosen += ablation_train_datasets(config, reg, name)
    return list(dict.fromkeys(chosen))


def grpo_ablations(config: dict) -> list[str]:
    return [name for name, spec in config["ablations"].items() if spec["grpo"]]


def grpo_start_model(config: dict, ablation: str, seed) -> str:
    spec = ablation_spec(config, ablation)
    return sft_model(config, spec["prompt"], seed) if spec["sft"] else base_model(config)


# ----------------------------------------------------------------------------- evaluation
def model_methods(config: dict) -> list[str]:
    return [ZERO_SHOT, *config["ablations"]]


def classical_methods(config: dict) -> list[str]:
    return [CLASSICAL_PREFIX + m for m in config["evaluation"]["classical"]]


def external_methods(config: dict) -> list[str]:
    """`evaluation.external`: released checkpoints and internal models under another protocol
    (`mgiqa.evaluation.external`)."""
    return _external().external_methods(config)


def _external():
    from mgiqa.evaluation import external  # imports this module: loaded on first use

    return external


def predicted_methods(config: dict) -> list[str]:
    """Every method `mgiqa predict` runs: the base model, the ablations and the external methods."""
    return [*model_methods(config), *external_methods(config)]


def method_seeds(config: dict, method: str) -> list:
    """Trained methods run once per training seed; the base model and classical measures once."""
    if method in external_methods(config):
        return _external().seeds(config, method)
    if method == ZERO_SHOT or method.startswith(CLASSICAL_PREFIX):
        return [0]
    return list(config["seeds"])


def method_model(config: dict, method: str, seed) -> str:
    if method in external_methods(config):
        return _external().model_dir(config, method, seed)
    if method == ZERO_SHOT:
        return base_model(config)
    spec = ablation_spec(config, method)
    if spec["grpo"]:
        return grpo_model(config, method, seed)
    return sft_model(config, spec["prompt"], seed)


def method_prompt(config: dict, method: str) -> str:
    if method in external_methods(config):
        return _external().entry(config, method)["prompt"]
    return "attribute" if method == ZERO_SHOT else ablation_spec(config, method)["prompt"]


def predictions(config: dict, method: str, seed, benchmark: str) -> str:
    return str(_p(config, "results") / "predictions" / method / f"seed{seed}" / f"{benchmark}.csv")


def metrics(config: dict, method: str, seed, benchmark: str) -> str:
    return str(_p(config, "results") / "metrics" / method / f"seed{seed}" / f"{benchmark}.json")


def per_benchmark(config: dict, kind: str, method: str = "{method}", seed="{seed}") -> list[str]:
    """One file per benchmark of a (method, seed) job: predictions (.csv) or metrics (.json).

    With the default arguments the paths keep `{method}` and `{seed}` as Snakemake wildcards.
    """
    fn = {"predictions": predictions, "metrics": metrics}[kind]
    return [fn(config, method, seed, bench) for bench in config["datasets"]["benchmarks"]]


def all_metrics(config: dict) -> list[str]:
    return [
        metrics(config, method, seed, bench)
        for method in [*predicted_methods(config), *classical_methods(config)]
        for seed in method_seeds(config, method)
        for bench in config["datasets"]["benchmarks"]
    ]


def all_predictions(config: dict) -> list[str]:
    return [
        predictions(config, method, seed, bench)
        for method in [*predicted_methods(config), *classical_methods(config)]
        for seed in method_seeds(config, method)
        for bench in config["datasets"]["benchmarks"]
    ]


FIGURES = ("srcc_by_benchmark", "pred_vs_mos", "training_rewards", "ablation_deltas", "attribute_srcc")
TABLES = ("main", "ablations", "attributes", "significance")


def figure_files(config: dict) -> dict[str, str]:
    return {
        f"{name}_{ext}": str(figures_dir(config) / f"{name}.{ext}")
        for name in FIGURES
        for ext in ("png", "pdf")
    }


def table_files(config: dict) -> dict[str, str]:
    return {
        f"{name}_{ext}": str(tables_dir(config) / f"{name}.{ext}") for name in TABLES for ext in ("csv", "md")
    }


def all_grpo_models(config: dict) -> list[str]:
    """Every GRPO checkpoint folder (each holds its per-step `train_log.csv`)."""
    return [grpo_model(config, ab, seed) for ab in grpo_ablations(config) for seed in config["seeds"]]


def tables_dir(config: dict) -> Path:
    return _p(config, "results") / "tables"


def figures_dir(config: dict) -> Path:
    return _p(config, "results") / "figures"


# ----------------------------------------------------------------------------- launching
ACCELERATE_CONFIG_DIR = Path("workflow") / "accelerate"


def job_threads(config: dict) -> int:
    """Threads (cores) of one training / prediction job: `compute.threads_per_job` (default 2), at least one
    per process. Snakemake runs as many such jobs at once as `--cores` allows."""
    compute = config["compute"]
    return max(int(compute["threads_per_job"]), int(compute["num_processes"]))


def pretrain_threads(config: dict) -> int:
    """The demo pretraining runs alone on the critical path: at least 2 cores, whatever threads_per_job says."""
    return max(2, job_threads(config))


def thread_env(config: dict, threads: int | None = None) -> str:
    """Shell prefix that holds a single-process CPU job to `threads` (default `job_threads`; torch reads
    OMP_NUM_THREADS at start); empty for GPU or multi-process jobs, whose launchers set their own."""
    compute = config["compute"]
    if compute["backend"] != "cpu" or int(compute["num_processes"]) != 1:
        return ""
    n = job_threads(config) if threads is None else threads
    return f"OMP_NUM_THREADS={n} MKL_NUM_THREADS={n} "


def launcher(config: dict) -> str:
    """Command prefix of the training stages: plain `mgiqa`, or `accelerate launch` for several processes."""
    compute = config["compute"]
    acc = compute["accelerate_config"]
    nproc = int(compute["num_processes"])
    if acc is None and nproc == 1:
        return "mgiqa"
    # No `--cpu` flag: with it accelerate starts a single process. On CPU the trainers pass use_cpu, and
    # accelerate's state then joins the torchrun processes over gloo.
    acc_file = ACCELERATE_CONFIG_DIR / f"{acc or 'ddp'}.yaml"
    return f"accelerate launch --config_file {shlex.quote(str(acc_file))} --num_processes {nproc} -m mgiqa"


# ----------------------------------------------------------------------------- conda environments
CPU_ENV = "../../envs/mgiqa.yaml"  # relative to workflow/rules/, as Snakemake reads `conda:`
GPU_ENV = "../../envs/mgiqa-gpu.yaml"


def conda_env(config: dict, gpu_rule: bool) -> str:
    """The env file of a rule under `--sdm conda`: the GPU constraint set for the rules that take GPUs
    (sft, grpo, predict) when `compute.backend` is not cpu, the CPU env otherwise."""
    on_gpu = gpu_rule and config["compute"]["backend"] != "cpu"
    return GPU_ENV if on_gpu else CPU_ENV
