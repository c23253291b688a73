"""The Snakemake workflow itself: lint, DAG shape of each config, SLURM resources, and an end-to-end run
of the real workflow on the shrunk test config (slow)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def snakemake(
    *args: str, cwd: Path = REPO, check: bool = True, timeout: int = 1500
) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [str(BIN / "snakemake"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1].split("\n\n")[0]
    counts = {}
    for line in table.splitlines()[3:]:
        name, count = line.split()
        counts[name] = int(count)
    return counts


def weights_differ(a: Path, b: Path) -> bool:
    from safetensors.numpy import load_file

    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return wa.keys() == wb.keys() and any((wa[k] != wb[k]).any() for k in wa)


def scratch_config(tmp_path: Path, source: str = "test.yaml", **paths) -> Path:
    config = yaml.safe_load((REPO / "config" / source).read_text())
    config["paths"] = {
        "data": str(tmp_path / "data"),
        "models": str(tmp_path / "models"),
        "results": str(tmp_path / "results"),
        "logs": str(tmp_path / "logs"),
        "benchmarks": str(tmp_path / "benchmarks"),
        "mirror": None,
    } | paths
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_lint_is_clean():
    proc = snakemake("--lint")
    assert "Lints for" not in proc.stdout + proc.stderr


def test_demo_dag_has_every_branch():
    out = snakemake("-n", "-F", "results/tables/main.csv", "--quiet", "rules").stdout
    counts = job_counts(out)
    assert counts["fetch_dataset"] == counts["labels"] == counts["prepare"] == 12
    assert counts["grpo"] == 6  # every ablation but sft_only
    assert counts["sft"] == 2  # one per prompt kind
    assert counts["predict"] == 8  # zero_shot + 7 ablations, one job each for all benchmarks
    assert counts["metrics"] == 11  # + 3 classical measures
    assert counts["tables"] == counts["figures"] == 1


def test_paper_config_dry_runs_every_real_download(tmp_path):
    out = snakemake("-n", "-F", "results/tables/main.csv", "--configfile", "config/paper.yaml", "-p").stdout
    fetched = set(re.findall(r"mgiqa fetch (\S+)", out))
    assert fetched == {
        "kadid10k",
        "koniq10k",
        "agiqa1k",
        "bid",
        "clive",
        "spaq",
        "liu13",
        "sriqa_bench",
        "shrq",
        "agiqa3k",
    }
    assert "fetch_base_model" in out and "pretrain_base_model" not in out
    # multi-GPU training goes through accelerate with the ZeRO-3 config
    assert (
        "accelerate launch --config_file workflow/accelerate/zero3.yaml --num_processes 8 -m mgiqa grpo"
        in out
    )


def test_slurm_profile_gives_gpu_rules_their_resources():
    out = snakemake(
        "-n",
        "-F",
        "results/tables/main.csv",
        "--configfile",
        "config/paper.yaml",
        "--profile",
        "workflow/profiles/slurm",
        check=False,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    blocks = re.findall(r"rule (\w+):\n(.*?)(?:\n\n|\Z)", text, flags=re.S)
    resources = {}
    for rule, block in blocks:
        m = re.search(r"resources: (.*)", block)
        if m:
            resources.setdefault(rule, m.group(1))
    for rule in ("grpo", "sft"):
        assert "gpu=8" in resources[rule] and "slurm_partition=gpu" in resources[rule], resources[rule]
        assert "mem_mb=400000" in resources[rule] and "runtime=2880" in resources[rule]
    assert "gpu=1" in resources["predict"]
    assert "gpu" not in resources["labels"].replace("slurm_partition", "")


@pytest.mark.slow
def test_end_to_end_on_the_test_config(tmp_path):
    config = scratch_config(tmp_path)
    target = str(tmp_path / "results" / "tables" / "main.csv")
    snakemake(target, "--cores", "2", "--configfile", str(config), "--nolock")

    main = pd.read_csv(target)
    methods = set(main["method"])
    assert {"zero_shot", "sft_only", "rl2r", "mg_iqa", "classical_laplacian_sharpness"} <= methods
    for bench in ("demo_bid", "demo_sriqa"):
        assert any(c.startswith(bench) or bench in c for c in main.columns), main.columns
    for name in ("srcc_by_benchmark", "pred_vs_mos", "training_rewards", "ablation_deltas", "attribute_srcc"):
        for ext in ("png", "pdf"):
            assert (tmp_path / "results" / "figures" / f"{name}.{ext}").stat().st_size > 1000
    grpo_steps = yaml.safe_load(config.read_text())["grpo"]["steps"]
    for ablation, start in (("mg_iqa", "sft/attribute/seed0"), ("rl2r", "base")):
        model = tmp_path / "models" / "grpo" / ablation / "seed0"
        log = pd.read_csv(model / "train_log.csv")
        assert len(log) == grpo_steps and "reward_total" in log.columns
        # real updates: the test config's models answer in the format, so rewards differ inside groups
        # (measured in a fresh clone: parse failures .12-.75 per step for mg_iqa, frac_reward_zero_std <= .25)
        assert (log["frac_reward_zero_std"] < 1).all() and log["parse_failure_rate"].lt(1).all(), ablation
        assert log["kl"].iloc[1:].gt(0).all(), ablation
        assert weights_differ(model, tmp_path / "models" / start), ablation
    predictions = pd.read_csv(tmp_path / "results" / "predictions" / "mg_iqa" / "seed0" / "demo_bid.csv")
    assert len(predictions) == 12 and predictions["raw_text"].notna().all()

    # up to date: a rerun does nothing
    again = snakemake(target, "--cores", "2", "--configfile", str(config), "--nolock")
    assert "Nothing to be done" in again.stdout + again.stderr

    # the self-contained report: the tables and every figure with its caption
    report = tmp_path / "report.html"
    snakemake("--report", str(report), "--configfile", str(config), "--nolock")
    html = report.read_text(encoding="utf-8")
    for caption in sorted((REPO / "workflow" / "report").glob("*.rst")):
        if caption.stem != "workflow":
            assert (
                caption.read_text().split()[0] in html and f"{caption.stem.removesuffix('_table')}." in html
            )
    assert "<script" in html and 'src="http' not in html  # self-contained
    # the effective config, every schema default filled in, in the report's Configuration category
    embedded = {
        name: base64.b64decode(data).decode("utf-8", "replace")
        for name, data in re.findall(
            r"data:[^;\"']+;charset=[^;]+;filename=([^;]+);base64,([A-Za-z0-9+/=]+)", html
        )
    }
    effective = yaml.safe_load(embedded["config.effective.yaml"])
    assert effective == yaml.safe_load((tmp_path / "results" / "config.effective.yaml").read_text())
    assert effective["compute"]["vllm_mode"] == "colocate" and effective["generation"]["top_p"] == 1.0
    assert "Configuration" in html

    # deterministic: rebuilding models and results from the same data gives the same tables
    first = (tmp_path / "results" / "tables" / "main.csv").read_text()
    shutil.rmtree(tmp_path / "models")
    shutil.rmtree(tmp_path / "results")
    snakemake(target, "--cores", "2", "--configfile", str(config), "--nolock")
    assert (tmp_path / "results" / "tables" / "main.csv").read_text() == first
