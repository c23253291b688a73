"""Generate `dvc.yaml` from the Snakemake workflow: one DVC stage per Snakemake job.

The Snakemake DAG is the single source of truth. Each stage runs exactly its job's shell command (after
refreshing the effective config the `mgiqa` stages read), with the job's inputs as `deps`, its outputs as
`outs` (a fetch marker `data/raw/X/.complete` stands for its folder), the config keys the job depends on
(`mgiqa.rule_config`, as its Snakemake rerun-trigger params) as `params`, the metrics JSON files as (cached) `metrics` and the training logs and main table as `plots`.

Config values that shape the DAG itself (datasets, ablation prompts and training sets, seeds, paths, ...)
end up in the stage commands and paths, not in `params`. The first stage, `dvc_yaml_check`, reruns whenever
a config, registry or workflow file changes and fails when `dvc.yaml` no longer matches the Snakemake DAG,
so a `dvc repro` or `dvc exp run -S` never runs stale commands; every other stage depends on its stamp.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from mgiqa.errors import ConfigError

# the config keys and registry fields each rule depends on: mgiqa.rule_config, the table the Snakemake rules'
# `params` come from too (a config edit reruns the same jobs with either tool)
CONFIG_RULE = "effective_config"  # not a stage: every stage refreshes the effective config itself
CHECK_STAGE = "dvc_yaml_check"
# files besides the Snakefile, configs and registries whose change can reshape the DAG: dvc_yaml_check reruns
WORKFLOW_FILES = (
    "workflow/rules",
    "src/mgiqa/pipeline.py",
    "src/mgiqa/rule_config.py",
    "src/mgiqa/dvc_export.py",
)
DEFAULT_TARGETS = ("results/tables/main.csv",)
MARKER = ".complete"


@dataclass
class Job:
    rule: str
    wildcards: dict[str, str]
    shellcmd: str
    inputs: list[str]
    outputs: list[str]
    logs: list[str]
    params: str = ""  # Snakemake's rerun-trigger view of the job's params (its metadata stores the same)


@dataclass
class Export:
    """What one export is generated from; paths are relative to `root` (the Snakefile's folder)."""

    root: Path
    snakefile: str
    configfiles: list[str]
    targets: list[str]
    output: str

    def __post_init__(self):
        from mgiqa.config import load_merged_config
        from mgiqa.data.registry import DEMO_REGISTRY_PATH, REGISTRY_PATH

        self.config = load_merged_config([self.root / c for c in self.configfiles])
        self.config_texts = {c: _read_yaml(self.root / c) for c in self.configfiles}
        packaged = [REGISTRY_PATH, *([DEMO_REGISTRY_PATH] if DEMO_REGISTRY_PATH.is_file() else [])]
        extra = self.config["datasets"]["registry"]
        # the repository's own copy of the packaged registry (DVC params must lie inside the repository)
        self.registry_files = [f"src/mgiqa/data/{p.name}" for p in packaged] + ([str(extra)] if extra else [])
        self.registry_texts = {f: _read_yaml(self.root / f) for f in self.registry_files}

    @property
    def results(self) -> str:
        return str(self.config["paths"]["results"])

    @property
    def effective_config(self) -> str:
        return f"{self.results}/config.effective.yaml"  # common.smk's CONFIG

    @property
    def stamp(self) -> str:
        return f"{self.results}/{CHECK_STAGE}.txt"


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: not found (dvc-export reads it as a DVC params file)")
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def snakemake_jobs(export: Export) -> list[Job]:
    """Every job Snakemake would run to build the targets from scratch (a forced dry DAG), in order."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    cwd = os.getcwd()  # Snakemake changes into its workdir
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            workflow_api = api.workflow(
                resource_settings=ResourceSettings(cores=1),
                config_settings=ConfigSettings(configfiles=[export.root / c for c in export.configfiles]),
                snakefile=export.root / export.snakefile,
                workdir=export.root,
            )
            dag_api = workflow_api.dag(dag_settings=DAGSettings(targets=set(export.targets), forceall=True))
            workflow = dag_api.workflow_api._workflow
            workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
            workflow._build_dag()
            ordered = [
                job
                for level in workflow.dag.toposorted()
                for job in sorted(level, key=lambda j: (j.rule.name, sorted(j.wildcards_dict.items())))
            ]
            return [
                Job(
                    rule=job.rule.name,
                    wildcards={k: str(v) for k, v in job.wildcards_dict.items()},
                    shellcmd=" ".join(job.shellcmd.split()),
                    inputs=sorted(str(f) for f in job.input),
                    outputs=[str(f) for f in job.output],
                    logs=[str(f) for f in job.log],
                    params=repr(sorted(map(repr, job.non_derived_params))),
                )
                for job in ordered
                if job.rule.shellcmd  # target rules have no command
            ]
    finally:
        os.chdir(cwd)


def stage_name(job: Job) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]", "_", "-".join([job.rule, *job.wildcards.values()]))


def dvc_path(path: str) -> str:
    """The fetch marker stands for its whole dataset folder: DVC versions (and depends on) the folder."""
    return str(Path(path).parent) if Path(path).name == MARKER else path


def _has_key(tree: dict, dotted: str) -> bool:
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def config_keys(job: Job, export: Export) -> list[str]:
    from mgiqa.pipeline import registry
    from mgiqa.rule_config import config_keys as rule_keys

    return rule_keys(job.rule, export.config, registry(export.config), job.wildcards)


def job_params(job: Job, export: Export) -> list[dict]:
    """DVC params: each config key from every config file that sets it (Snakemake merges them in order),
    each registry field from the registry file whose entry is in force (a later file overrides)."""
    from mgiqa.rule_config import RULE_REGISTRY_KEYS, registry_keys

    params: list[dict] = []
    for name, tree in export.config_texts.items():
        keys = [k for k in config_keys(job, export) if _has_key(tree, k)]
        if keys:
            params.append({name: keys})
    if job.rule in RULE_REGISTRY_KEYS:
        dataset = job.wildcards["dataset"]
        name = [f for f, tree in export.registry_texts.items() if dataset in tree][-1]
        fields = registry_keys(job.rule, export.registry_texts[name][dataset])
        params.append({name: [dataset] if fields is None else [f"{dataset}.{f}" for f in fields]})
    return params


def job_stage(job: Job, export: Export) -> dict:
    configs = " ".join(export.configfiles)
    refresh = f"mgiqa validate-config {configs} --write-effective {export.effective_config}"
    log_dirs = sorted({str(Path(log).parent) for log in job.logs})
    if log_dirs:  # Snakemake creates the log folders itself; under DVC the command does
        refresh = f"mkdir -p {' '.join(log_dirs)} && {refresh}"
    stage: dict = {"cmd": f"{refresh} && {job.shellcmd}"}
    effective = export.effective_config
    stage["deps"] = [export.stamp, *sorted({dvc_path(p) for p in job.inputs if p != effective})]
    params = job_params(job, export)
    if params:
        stage["params"] = params
    is_metric = job.rule == "metrics"
    outs = list(dict.fromkeys(dvc_path(p) for p in job.outputs if not (is_metric and p.endswith(".json"))))
    metrics = [p for p in job.outputs if is_metric and p.endswith(".json")]
    if outs:
        stage["outs"] = outs
    if metrics:
        stage["metrics"] = metrics  # cached: pushed and pulled with the rest (results/ is not in git)
    return stage


def check_stage(export: Export) -> dict:
    args = [] if export.snakefile == "Snakefile" else ["--snakefile", export.snakefile]
    args += [a for c in export.configfiles for a in ("--configfile", c)]
    if list(export.targets) != list(DEFAULT_TARGETS):
        args += [a for t in export.targets for a in ("--target", t)]
    cmd = " ".join(["mgiqa dvc-export --check", *args, "-o", export.output, "--stamp", export.stamp])
    deps = [export.snakefile, *WORKFLOW_FILES, *export.registry_files]  # (DVC refuses dvc.yaml itself)
    missing = [d for d in deps if not (export.root / d).exists()]
    if missing:
        raise ConfigError(f"{export.root}: dvc-export needs the workflow files {missing} in the repository")
    return {
        "cmd": cmd,
        "deps": list(dict.fromkeys(deps)),
        "params": [{c: []} for c in export.configfiles],  # every key: any config change re-checks the DAG
        "outs": [export.stamp],
    }


def top_level_plots(jobs: list[Job]) -> list:
    plots: list = []
    for job in jobs:
        if job.rule == "grpo":
            log = f"{job.outputs[0]}/train_log.csv"
            plots.append({log: {"x": "step", "y": ["reward_total", "reward_fidelity", "kl"]}})
        if job.rule == "tables":
            main = next(p for p in job.outputs if p.endswith("main.csv"))
            plots.append({main: {"template": "bar_horizontal", "x": "avg_srcc", "y": "method"}})
    return plots


def build_dvc_yaml(jobs: list[Job], export: Export) -> dict:
    stages = {CHECK_STAGE: check_stage(export)}
    for job in jobs:
        if job.rule == CONFIG_RULE:
            continue
        name = stage_name(job)
        if name in stages:
            raise ConfigError(f"two Snakemake jobs map to the DVC stage name {name!r}")
        stages[name] = job_stage(job, export)
    return {"stages": stages, "plots": top_level_plots(jobs)}


HEADER = (
    "# GENERATED by `mgiqa dvc-export` from the Snakemake workflow: do not edit by hand.\n"
    "# Regenerate with `make dvc-yaml`; tests/test_dvc.py fails when this file is stale.\n"
)


def render(dvc: dict) -> str:
    return HEADER + yaml.safe_dump(dvc, sort_keys=False, width=1000)


def generate(export: Export) -> tuple[str, int]:
    """The dvc.yaml text for `export` and its number of Snakemake jobs."""
    jobs = snakemake_jobs(export)
    return render(build_dvc_yaml(jobs, export)), sum(job.rule != CONFIG_RULE for job in jobs)
