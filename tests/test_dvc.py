"""dvc.yaml is generated from the Snakemake DAG.

Fast: the committed dvc.yaml is current, `--check` flags a stale file, the stages DVC itself parses are the
Snakemake jobs, and params name the config/registry file that sets each key.
Slow (one `dvc repro` and one `snakemake` run of config/test.yaml, side by side, in scratch copies of the
working tree): the same results from both tools, single-branch reruns with either tool, `dvc exp run -S`,
`dvc metrics show` / `dvc plots show`, and a push / pull round trip after which Snakemake has nothing to do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from mgiqa.dvc_export import (
    CHECK_STAGE,
    CONFIG_RULE,
    DEFAULT_TARGETS,
    Export,
    Job,
    build_dvc_yaml,
    dvc_path,
    job_params,
    render,
    snakemake_jobs,
    stage_name,
)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEST_CONFIG = "config/test.yaml"
TARGET = DEFAULT_TARGETS[0]
GIT_ID = ["-c", "user.name=mgiqa tests", "-c", "user.email=tests@mgiqa.invalid"]


def run(*cmd: str, cwd: Path, check: bool = True, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", DVC_NO_ANALYTICS="1")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def commit_all(repo: Path, message: str) -> None:
    run("git", "add", "-A", cwd=repo)
    run("git", *GIT_ID, "commit", "-q", "-m", message, cwd=repo)


def scratch_repo(dest: Path) -> Path:
    """A new git repository holding this working tree's files (tracked and untracked, not ignored)."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO).stdout
    for name in filter(None, listed.split("\0")):
        src = REPO / name
        if src.is_file():  # a tracked file deleted in the working tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "dvc.lock").unlink(missing_ok=True)  # the lock of another config
    run("git", "init", "-q", cwd=dest)
    commit_all(dest, "scratch copy of the working tree")
    return dest


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


# ----------------------------------------------------------------------------------------------- fast
@pytest.fixture(scope="module")
def demo_export() -> Export:
    return Export(REPO, "Snakefile", ["config/config.yaml"], list(DEFAULT_TARGETS), "dvc.yaml")


@pytest.fixture(scope="module")
def demo_jobs(demo_export) -> list[Job]:
    return snakemake_jobs(demo_export)


def test_committed_dvc_yaml_is_current(demo_export, demo_jobs):
    expected = render(build_dvc_yaml(demo_jobs, demo_export))
    committed = (REPO / "dvc.yaml").read_text(encoding="utf-8")
    assert committed == expected, "dvc.yaml is stale: regenerate it with `make dvc-yaml`"


def test_check_flags_a_stale_file_and_stamps_a_current_one(tmp_path, monkeypatch, demo_jobs, capsys):
    from mgiqa import dvc_export
    from mgiqa.cli import main

    monkeypatch.setattr(dvc_export, "snakemake_jobs", lambda export: demo_jobs)  # the DAG is built above
    monkeypatch.chdir(REPO)
    out, stamp = tmp_path / "dvc.yaml", tmp_path / "stamp.txt"
    out.write_text("stages: {}\n")
    assert main(["dvc-export", "--check", "-o", str(out), "--stamp", str(stamp)]) == 1
    assert "does not match the Snakemake DAG" in capsys.readouterr().err and not stamp.exists()
    assert main(["dvc-export", "-o", str(out)]) == 0
    assert main(["dvc-export", "--check", "-o", str(out), "--stamp", str(stamp)]) == 0
    assert "matches the Snakemake DAG of config/config.yaml" in stamp.read_text()


def test_dvc_parses_one_stage_per_snakemake_job(tmp_path, demo_export, demo_jobs):
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    shutil.copy2(REPO / "dvc.yaml", tmp_path / "dvc.yaml")
    Repo.init(tmp_path, no_scm=True)
    with Repo(tmp_path) as repo:
        parsed = {
            stage.name: (
                stage.cmd,
                {d.def_path for d in stage.deps if not isinstance(d, ParamsDependency)},
                {o.def_path for o in stage.outs},
                stage,
            )
            for stage in repo.index.stages
        }
    stamp = demo_export.stamp
    assert parsed.pop(CHECK_STAGE)[2] == {stamp}
    # the effective config is no stage and no dep: each stage's command writes it first
    jobs = [job for job in demo_jobs if job.rule != CONFIG_RULE]
    assert len(jobs) == len(demo_jobs) - 1
    assert set(parsed) == {stage_name(job) for job in jobs}
    for job in jobs:
        cmd, deps, outs, stage = parsed[stage_name(job)]
        assert cmd.endswith(f" && {job.shellcmd}"), stage_name(job)
        assert demo_export.effective_config in job.inputs, stage_name(job)  # every stage reads it
        inputs = [p for p in job.inputs if p != demo_export.effective_config]
        assert deps == {stamp, *map(dvc_path, inputs)}, stage_name(job)
        assert outs == set(map(dvc_path, job.outputs)), stage_name(job)
        metrics = {o.def_path for o in stage.outs if o.metric}
        assert metrics == (
            {o for o in job.outputs if o.endswith(".json")} if job.rule == "metrics" else set()
        )
    fetch = parsed["fetch_dataset-demo_bid"][2]
    assert fetch == {"data/raw/demo_bid"}  # the marker stands for its folder


def _test_export(tmp_path: Path, override: dict | None = None, registry: dict | None = None) -> Export:
    config = yaml.safe_load((REPO / TEST_CONFIG).read_text())
    files = [str(REPO / TEST_CONFIG)]
    if registry is not None:
        (tmp_path / "registry.yaml").write_text(yaml.safe_dump(registry))
        override = {
            **(override or {}),
            "datasets": {**config["datasets"], "registry": str(tmp_path / "registry.yaml")},
        }
    if override is not None:
        (tmp_path / "override.yaml").write_text(yaml.safe_dump(override))
        files.append(str(tmp_path / "override.yaml"))
    return Export(REPO, "Snakefile", files, list(DEFAULT_TARGETS), "dvc.yaml")


def _job(rule: str, **wildcards: str) -> Job:
    return Job(rule, wildcards, shellcmd="true", inputs=[], outputs=[], logs=[])


def test_params_name_every_config_file_that_sets_a_key(tmp_path):
    export = _test_export(tmp_path, override={"grpo": {"beta": 0.1}})
    base, override = export.configfiles
    params = job_params(_job("grpo", ablation="rl2r", seed="0"), export)
    assert params == [
        {base: ["seed", "model", "grpo", "reward", "generation", "batches", "ablations.rl2r",
                "evaluation.readout", "compute.backend", "compute.vllm"]},
        {override: ["grpo"]},
    ]  # fmt: skip
    # an optional key no config sets is not a param (DVC would fail on it)
    assert "evaluation.reported_rows" not in str(job_params(_job("tables"), export))


def test_registry_params_follow_the_entry_in_force(tmp_path):
    demo = yaml.safe_load((REPO / "src/mgiqa/data/registry_demo.yaml").read_text())
    export = _test_export(tmp_path)
    fetch = job_params(_job("fetch_dataset", dataset="demo_bid"), export)
    assert fetch == [
        {export.configfiles[0]: ["seed", "demo"]},  # a generated dataset: the demo generator's inputs
        {"src/mgiqa/data/registry_demo.yaml": ["demo_bid.sources", "demo_bid.archive", "demo_bid.root"]},
    ]
    assert job_params(_job("fetch_dataset", dataset="kadid10k"), export) == [
        {"src/mgiqa/data/registry.yaml": ["kadid10k.sources", "kadid10k.archive", "kadid10k.root"]}
    ]  # a download: the master seed does not matter
    overridden = _test_export(tmp_path, registry={"demo_bid": demo["demo_bid"]})
    assert job_params(_job("labels", dataset="demo_bid"), overridden) == [
        {str(tmp_path / "registry.yaml"): ["demo_bid"]}
    ]


# ----------------------------------------------------------------------------------------------- slow
@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    """config/test.yaml built twice from scratch: `dvc repro` in one copy, `snakemake` in another, side by
    side (DVC runs one stage at a time). The committed default remote (../mgiqa-dvc-remote) lies beside them."""
    root = tmp_path_factory.mktemp("dvc")
    dvc_repo, smk_repo = scratch_repo(root / "dvc_run"), scratch_repo(root / "snakemake_run")
    run("mgiqa", "dvc-export", "--configfile", TEST_CONFIG, "-o", "dvc.yaml", cwd=dvc_repo)
    commit_all(dvc_repo, "dvc.yaml of config/test.yaml")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    log = root / "snakemake.log"
    with open(log, "w") as log_file:
        smk = subprocess.Popen(
            [str(BIN / "snakemake"), TARGET, "--cores", "2", "--configfile", TEST_CONFIG],
            cwd=smk_repo, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            repro = run("dvc", "repro", cwd=dvc_repo)
        finally:
            smk.wait(timeout=1800)
    assert smk.returncode == 0, log.read_text()[-4000:]
    commit_all(dvc_repo, "dvc.lock")
    return SimpleNamespace(root=root, dvc=dvc_repo, snakemake=smk_repo, repro=repro.stdout)


@pytest.mark.slow
def test_dvc_repro_gives_the_same_results_as_snakemake(pipelines):
    assert ran_stages(pipelines.repro) == set(
        yaml.safe_load((pipelines.dvc / "dvc.yaml").read_text())["stages"]
    )
    main = Path(TARGET)
    assert (pipelines.dvc / main).read_bytes() == (pipelines.snakemake / main).read_bytes()
    for folder in ("results/tables", "results/metrics", "results/predictions", "data/tables", "data/batches"):
        files = sorted(
            p.relative_to(pipelines.dvc) for p in (pipelines.dvc / folder).rglob("*") if p.is_file()
        )
        assert files, folder
        differ = [
            str(f)
            for f in files
            if (pipelines.dvc / f).read_bytes() != (pipelines.snakemake / f).read_bytes()
        ]
        assert not differ, f"dvc repro and snakemake disagree on {differ}"


@pytest.mark.slow
def test_every_output_is_bit_identical_across_the_two_tools(pipelines):
    """Adopt the Snakemake-built outputs into DVC (`dvc commit`): every out must hash as DVC's own run."""
    smk = pipelines.snakemake
    shutil.copy2(pipelines.dvc / "dvc.yaml", smk / "dvc.yaml")
    run("dvc", "repro", "--single-item", CHECK_STAGE, cwd=smk)
    run("dvc", "commit", "--force", cwd=smk)
    assert run("dvc", "status", "--quiet", cwd=smk, check=False).returncode == 0

    def out_hashes(repo: Path) -> dict[str, str]:
        lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
        return {o["path"]: o["md5"] for stage in lock.values() for o in stage.get("outs", [])}

    ours, theirs = out_hashes(pipelines.dvc), out_hashes(smk)
    assert set(ours) == set(theirs)
    differ = sorted(p for p in ours if ours[p] != theirs[p])
    assert not differ, f"not reproducible across runs: {differ}"


@pytest.mark.slow
def test_snakemake_finds_dvc_outputs_up_to_date(pipelines):
    out = run("snakemake", "-n", TARGET, "--configfile", TEST_CONFIG, cwd=pipelines.dvc)
    assert "Nothing to be done" in out.stdout + out.stderr


@pytest.mark.slow
def test_metrics_and_plots_show(pipelines, tmp_path):
    import json

    shown = run("dvc", "metrics", "show", "--json", cwd=pipelines.dvc)
    assert "failed to load" not in shown.stderr, shown.stderr
    data = json.loads(shown.stdout)[""]["data"]
    jsons = sorted(
        str(p.relative_to(pipelines.dvc)) for p in (pipelines.dvc / "results/metrics").rglob("*.json")
    )
    assert sorted(data) == jsons
    assert all(isinstance(data[f]["data"]["srcc"], float) for f in jsons)
    plots = run("dvc", "plots", "show", "-o", str(tmp_path / "plots"), cwd=pipelines.dvc)
    assert "failed to load" not in plots.stderr, plots.stderr
    html = (tmp_path / "plots" / "index.html").read_text()
    for plot in ("models/grpo/mg_iqa/seed0/train_log.csv", "models/grpo/rl2r/seed0/train_log.csv", TARGET):
        assert plot in html


@pytest.mark.slow
def test_push_then_pull_in_a_fresh_clone_leaves_snakemake_nothing_to_do(pipelines):
    run("dvc", "push", cwd=pipelines.dvc)  # the committed default remote: ../mgiqa-dvc-remote
    assert any((pipelines.root / "mgiqa-dvc-remote").rglob("*"))
    fresh = pipelines.root / "fresh_clone"
    run("git", "clone", "-q", str(pipelines.dvc), str(fresh), cwd=pipelines.root)
    run("dvc", "pull", cwd=fresh)
    assert run("dvc", "status", "--quiet", cwd=fresh, check=False).returncode == 0
    for path in (TARGET, "models/grpo/mg_iqa/seed0/model.safetensors", "data/raw/demo_bid/.complete",
                 "data/prepared/demo_sriqa.csv", "results/metrics/rl2r/seed0/demo_bid.json"):  # fmt: skip
        assert (fresh / path).read_bytes() == (pipelines.dvc / path).read_bytes(), path
    # a pull leaves file times arbitrary: mark the pulled outputs up to date for Snakemake (`make pull`)
    run("snakemake", TARGET, "--touch", "--cores", "1", "--configfile", TEST_CONFIG, cwd=fresh)
    out = run("snakemake", "-n", TARGET, "--configfile", TEST_CONFIG, cwd=fresh)
    assert "Nothing to be done" in out.stdout + out.stderr
    assert run("dvc", "status", "--quiet", cwd=fresh, check=False).returncode == 0


BRANCH = {"grpo-rl2r-0", "predict-rl2r-0", "metrics-rl2r-0", "figures", "tables"}


@pytest.mark.slow
def test_one_ablation_reruns_alone_with_either_tool(pipelines):
    dry = run("dvc", "repro", "--dry", "--force", "--downstream", "grpo-rl2r-0", cwd=pipelines.dvc)
    assert ran_stages(dry.stdout) == BRANCH
    out = run(
        "snakemake",
        TARGET,
        "-n",
        "--configfile",
        TEST_CONFIG,
        "--forcerun",
        "models/grpo/rl2r/seed0",
        cwd=pipelines.dvc,
    ).stdout
    jobs = set()
    for rule, block in re.findall(r"^rule (\w+):\n((?:    .*\n?)*)", out, flags=re.M):  # (not localrule all)
        wildcards = re.search(r"^    wildcards: (.*)$", block, flags=re.M)
        values = [v.split("=")[1] for v in wildcards.group(1).split(", ")] if wildcards else []
        jobs.add("-".join([rule, *values]))
    assert jobs == BRANCH


@pytest.mark.slow
def test_an_experiment_on_one_ablation_reruns_only_that_branch(pipelines):
    repo = pipelines.dvc
    try:
        exp = run("dvc", "exp", "run", "-S", f"{TEST_CONFIG}:ablations.mg_iqa.multi_reward=false", cwd=repo)
        ran = ran_stages(exp.stdout)
        assert "grpo-mg_iqa-0" in ran
        assert ran <= {
            CHECK_STAGE,
            "grpo-mg_iqa-0",
            "predict-mg_iqa-0",
            "metrics-mg_iqa-0",
            "figures",
            "tables",
        }
        assert (
            yaml.safe_load((repo / TEST_CONFIG).read_text())["ablations"]["mg_iqa"]["multi_reward"] is False
        )
        assert run("dvc", "status", "--quiet", cwd=repo, check=False).returncode == 0
        # a DAG-shaping change needs a regenerated dvc.yaml: the check stage stops the run before any stage
        run("git", "checkout", "-q", "--", TEST_CONFIG, "dvc.lock", cwd=repo)
        shaped = run(
            "dvc", "exp", "run", "-S", f"{TEST_CONFIG}:ablations.rl2r.train=authentic", cwd=repo, check=False
        )
        assert shaped.returncode != 0
        assert "does not match the Snakemake DAG" in shaped.stdout + shaped.stderr
        assert ran_stages(shaped.stdout) == {CHECK_STAGE}
    finally:  # back to the fixture's state, for DVC and (file times) for Snakemake
        run("git", "checkout", "-q", "--", TEST_CONFIG, "dvc.lock", cwd=repo)
        run("dvc", "checkout", "--force", cwd=repo)
        run("snakemake", TARGET, "--touch", "--cores", "1", "--configfile", TEST_CONFIG, cwd=repo)
