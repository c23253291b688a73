"""Generate `dvc.yaml` from the Snakemake workflow: one DVC stage per Snakemake job.

The Snakemake DAG is the single source of truth. Each stage runs exactly its job's shell command
(after refreshing the effective config the `mgiqa` stages read), with the job's inputs as `deps`,
its outputs as `outs`, the config keys the rule reads as `params`, the metrics JSON files as
`metrics` and the training logs / tables as top-level `plots`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# config keys each rule reads ({wildcard} is substituted per job); a change reruns just those stages
RULE_CONFIG_KEYS: dict[str, list[str]] = {
    "fetch_dataset": ["seed", "paths.mirror", "demo"],
    "labels": [],
    "prepare": ["datasets.allow_missing_images"],
    "batch_plan": ["seed", "batches", "ablations.{ablation}"],
    "build_tiny_model": ["seed", "model"],
    "pretrain_base_model": ["seed", "model", "pretrain"],
    "fetch_base_model": ["model"],
    "sft": ["seed", "model", "sft", "generation"],
    "grpo": ["seed", "model", "grpo", "reward", "generation", "batches", "ablations.{ablation}"],
    "predict": ["seed", "model.image_size", "generation", "evaluation.batch_size", "evaluation.num_samples"],
    "classical": [],
    "metrics": ["seed", "evaluation.bootstrap", "evaluation.confidence"],
    "figures": ["evaluation"],
    "tables": ["evaluation", "ablations"],
}

EFFECTIVE_CONFIG = "results/config.effective.yaml"


@dataclass
class Job:
    rule: str
    wildcards: dict[str, str]
    shellcmd: str
    inputs: list[str]
    outputs: list[str]
    directory_outputs: set[str] = field(default_factory=set)
    logs: list[str] = field(default_factory=list)


def snakemake_jobs(snakefile: Path, configfiles: list[Path], targets: list[str]) -> list[Job]:
    """Every job Snakemake would run to build `targets` from scratch (a forced dry DAG)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    jobs: list[Job] = []
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(c) for c in configfiles]),
            snakefile=Path(snakefile),
            workdir=Path(snakefile).resolve().parent,
        )
        dag_api = workflow_api.dag(dag_settings=DAGSettings(targets=set(targets), forceall=True))
        workflow = dag_api.workflow_api._workflow
        workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
        workflow._build_dag()
        ordered = [
            job
            for level in workflow.dag.toposorted()
            for job in sorted(level, key=lambda j: (j.rule.name, sorted(j.wildcards_dict.items())))
        ]
        for job in ordered:
            if not job.rule.shellcmd:  # target rules without a command
                continue
            jobs.append(
                Job(
                    rule=job.rule.name,
                    wildcards={k: str(v) for k, v in job.wildcards_dict.items()},
                    shellcmd=" ".join(job.shellcmd.split()),
                    inputs=sorted(str(f) for f in job.input),
                    outputs=[str(f) for f in job.output],
                    directory_outputs={str(f) for f in job.output if f.is_directory},
                    logs=[str(f) for f in job.log],
                )
            )
    return jobs


def stage_name(job: Job) -> str:
    parts = [job.rule, *job.wildcards.values()]
    return re.sub(r"[^A-Za-z0-9_\-]", "_", "-".join(parts))


def _dvc_out(path: str) -> str:
    """The fetch marker stands for its whole dataset folder: DVC versions the folder."""
    return str(Path(path).parent) if Path(path).name == ".complete" else path


def _has_key(config: dict, dotted: str) -> bool:
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def job_stage(job: Job, params_file: str, params_config: dict, configfiles: list[str]) -> dict:
    cfg_args = " ".join(configfiles)
    refresh = f"mgiqa validate-config {cfg_args} --write-effective {EFFECTIVE_CONFIG}"
    log_dirs = sorted({str(Path(log).parent) for log in job.logs})
    if log_dirs:  # Snakemake creates the log folders itself; under DVC the command does
        refresh = f"mkdir -p {' '.join(log_dirs)} && {refresh}"
    keys = [k.format(**job.wildcards) for k in RULE_CONFIG_KEYS.get(job.rule, [])]
    keys = [k for k in keys if _has_key(params_config, k)]
    stage: dict = {"cmd": f"{refresh} && {job.shellcmd}"}
    deps = sorted(set(job.inputs))
    if deps:
        stage["deps"] = deps
    if keys:
        stage["params"] = [{params_file: keys}]
    outs, metrics = [], []
    for out in job.outputs:
        if job.rule == "metrics" and out.endswith(".json"):
            metrics.append({out: {"cache": False}})
        else:
            outs.append(_dvc_out(out))
    if outs:
        stage["outs"] = list(dict.fromkeys(outs))
    if metrics:
        stage["metrics"] = metrics
    return stage


def top_level_plots(jobs: list[Job]) -> list:
    plots: list = []
    for job in jobs:
        if job.rule == "grpo":
            log = f"{job.outputs[0]}/train_log.csv"
            plots.append({log: {"x": "step", "y": ["reward_total", "reward_overall", "kl"]}})
        if job.rule == "tables":
            plots.append({job.outputs[0]: {"template": "bar_horizontal", "x": "avg_srcc", "y": "method"}})
    return plots


def build_dvc_yaml(jobs: list[Job], params_file: str, configfiles: list[str]) -> dict:
    """dvc.yaml for `jobs`; params are read from `params_file` (the last config file given)."""
    with open(params_file, encoding="utf-8") as f:
        params_config = yaml.safe_load(f)
    stages = {}
    for job in jobs:
        name = stage_name(job)
        if name in stages:
            raise ValueError(f"two Snakemake jobs map to the DVC stage name {name!r}")
        stages[name] = job_stage(job, params_file, params_config, configfiles)
    return {"stages": stages, "plots": top_level_plots(jobs)}


HEADER = (
    "# GENERATED by `mgiqa dvc-export` from the Snakemake workflow: do not edit by hand.\n"
    "# Regenerate with `make dvc-yaml`; tests/test_dvc.py fails when this file is stale.\n"
)


def render(dvc: dict) -> str:
    return HEADER + yaml.safe_dump(dvc, sort_keys=False, width=1000)
