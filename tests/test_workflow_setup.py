"""How Snakemake picks up the workflow's own settings: the default workflow profile and the conda
environments of the rules (`--sdm conda`)."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from test_workflow import REPO, scratch_config, snakemake

from mgiqa import pipeline as P


def _dry_run(tmp_path, *args):
    config = scratch_config(tmp_path)
    target = str(tmp_path / "results" / "tables" / "main.csv")
    proc = snakemake(target, "-n", "-F", *args, "--configfile", str(config))
    return proc.stdout + proc.stderr


def test_the_default_profile_is_found_beside_the_snakefile_and_used(tmp_path):
    text = _dry_run(tmp_path)
    assert "workflow specific profile profiles/default" in text
    # printshellcmds from the profile: a dry run without -p shows the commands
    assert "mgiqa fetch demo_bid" in text


def test_without_the_workflow_profile_a_dry_run_prints_no_commands(tmp_path):
    text = _dry_run(tmp_path, "--workflow-profile", "none")
    assert "workflow specific profile" not in text
    assert "mgiqa fetch demo_bid" not in text


def test_the_default_profile_sets_nothing_a_cluster_profile_sets():
    # a workflow profile wins key by key over --profile: it must not undo gpu-node's or slurm's settings
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    for name in ("gpu-node", "slurm"):
        cluster = yaml.safe_load((REPO / "workflow" / "profiles" / name / "config.yaml").read_text())
        clash = {k for k in default if k in cluster and cluster[k] != default[k]}
        assert not clash, (name, clash)


def test_gpu_rules_take_the_gpu_env_only_on_gpu_configs(demo_config):
    assert P.conda_env(demo_config, gpu_rule=True) == P.conda_env(demo_config, gpu_rule=False) == P.CPU_ENV
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert P.conda_env(paper, gpu_rule=True) == P.GPU_ENV
    assert P.conda_env(paper, gpu_rule=False) == P.CPU_ENV
    for env in (P.CPU_ENV, P.GPU_ENV):
        assert (REPO / "workflow" / "rules" / env).resolve().is_file(), env


def test_the_envs_name_no_path_relative_to_the_copy_snakemake_creates_them_from():
    # Snakemake creates an env from .snakemake/conda/<hash>.yaml: `-e ..`, `-r file` or `-c file` would point there
    for name in ("mgiqa", "mgiqa-gpu"):
        env = yaml.safe_load((REPO / "envs" / f"{name}.yaml").read_text())
        pip = [d for d in env["dependencies"] if isinstance(d, dict)]
        assert not pip, (name, pip)
    for name in ("mgiqa", "mgiqa-gpu"):  # Snakemake runs <env>.post-deploy.sh in the new env
        script = (REPO / "envs" / f"{name}.post-deploy.sh").read_text()
        assert "pip install" in script and "-e ." in script


def test_gpu_rules_are_wired_to_the_gpu_env():
    rules = {p.stem: p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk")}
    for rule in ("sft", "grpo", "predict"):
        body = re.search(
            rf"rule {rule}:\n(.*?)\n\n\n", rules["evaluate" if rule == "predict" else rule] + "\n\n\n", re.S
        )
        assert "conda:\n        GPU_ENV" in body.group(1), rule


@pytest.mark.skipif(
    shutil.which("conda") is None, reason="conda is not installed (a --sdm conda dry run needs it)"
)
def test_a_conda_dry_run_gives_cpu_and_gpu_rules_their_envs(tmp_path):
    config = scratch_config(tmp_path, source="paper.yaml")
    target = str(tmp_path / "results" / "tables" / "main.csv")
    proc = snakemake(target, "-n", "-F", "--sdm", "conda", "--configfile", str(config))
    envs = dict(re.findall(r"rule (\w+):\n(?:    .*\n)*?    conda-env: (\S+)", proc.stdout + proc.stderr))
    assert envs["grpo"] == envs["sft"] == envs["predict"] != envs["labels"] == envs["metrics"]
    assert all("/.snakemake/conda/" in path for path in envs.values())


def test_lint_and_dry_runs_write_no_effective_config(tmp_path):
    config = scratch_config(tmp_path)
    effective = tmp_path / "results" / "config.effective.yaml"
    snakemake("--lint", "--configfile", str(config))
    snakemake(str(tmp_path / "results" / "tables" / "main.csv"), "-n", "--configfile", str(config))
    assert not effective.exists()
    assert not (tmp_path / "results").exists()


def test_a_run_writes_the_effective_config_its_jobs_read(tmp_path):
    config = scratch_config(tmp_path)
    marker = tmp_path / "data" / "raw" / "demo_bid" / ".complete"
    snakemake(str(marker), "--cores", "1", "--configfile", str(config), "--nolock")
    effective = yaml.safe_load((tmp_path / "results" / "config.effective.yaml").read_text())
    assert effective["paths"]["data"] == str(tmp_path / "data") and marker.is_file()
