"""The benchmark suite's own helpers, on synthetic Snakemake benchmark files: parsing, per-rule breakdown, peak
memory, no-op detection, the run_all registry and its summary. No timing assertions (benchmarks are not tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mgiqa.errors import MgiqaError

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))  # the scripts import each other as `common`, `bench_memory`

import bench_demo  # noqa: E402
import bench_memory  # noqa: E402
import run_all  # noqa: E402

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"
EXTENDED = "\tjobid\trule_name\twildcards\tparams\tthreads\tcpu_usage\tresources\tinput_size_mb"


def write_tsv(root: Path, job: str, seconds: float, rss: str, rule: str | None = None) -> Path:
    path = root / f"{job}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    row = f"{seconds}\t0:00:01\t{rss}\t300.0\t{rss}\t{rss}\t0.00\t1.00\t50.0\t{seconds / 2}"
    if rule is None:
        path.write_text(f"{HEADER}\n{row}\n")
    else:
        extra = f"\t3\t{rule}\t{{'seed': '0'}}\t{{'cfg': {{'a': 'x\\ty'}}}}\t2\t90.0\t{{'mem_mb': 2000}}\t0.5"
        path.write_text(f"{HEADER}{EXTENDED}\n{row}{extra}\n")
    return path


@pytest.fixture
def bench_root(tmp_path) -> Path:
    root = tmp_path / "benchmarks"
    write_tsv(root, "fetch/demo_bid", 2.0, "120.5", "fetch_dataset")
    write_tsv(root, "fetch/demo_sriqa", 3.0, "NA", "fetch_dataset")
    write_tsv(root, "model/pretrain", 40.0, "900.0", "pretrain_base_model")
    write_tsv(root, "sft/attribute_seed0", 30.0, "1200.0", "sft")
    write_tsv(root, "grpo/mg_iqa_seed0", 100.0, "1500.0", "grpo")
    write_tsv(root, "grpo/rl2r_seed0", 80.0, "1400.0", "grpo")
    write_tsv(root, "predict/zero_shot_seed0", 20.0, "800.0", "predict")
    write_tsv(root, "metrics/zero_shot_seed0", 1.0, "100.0", "metrics")
    return root


def test_read_benchmark_tsv_plain_and_extended(tmp_path):
    plain = bench_memory.read_benchmark_tsv(write_tsv(tmp_path, "labels/a", 3.36, "116.23"))
    assert plain.loc[0, "seconds"] == 3.36 and plain.loc[0, "max_rss_mb"] == 116.23
    assert "rule_name" not in plain.columns
    extended = bench_memory.read_benchmark_tsv(write_tsv(tmp_path, "grpo/b", 5.0, "NA", "grpo"))
    assert extended.loc[0, "rule_name"] == "grpo" and pd.isna(extended.loc[0, "max_rss_mb"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty benchmark file"),
        ("s\tfoo\n1.0\t2\n", "columns"),
        (HEADER + "\n", "without a row"),
        (HEADER + "\n1.0\t0:00:01\tlots\t1\t1\t1\t0\t0\t1\t1\n", ":2: column max_rss: not a number: 'lots'"),
        (HEADER + "\nNA\t0:00:01\t1\t1\t1\t1\t0\t0\t1\t1\n", "column s"),
    ],
)
def test_read_benchmark_tsv_rejects_malformed_files(tmp_path, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(MgiqaError, match=message) as info:
        bench_memory.read_benchmark_tsv(path)
    assert str(path) in str(info.value)


def test_collect_jobs_rule_from_column_or_folder(tmp_path, bench_root):
    jobs = bench_memory.collect_jobs(bench_root)
    assert len(jobs) == 8
    assert jobs.set_index("job").loc["model/pretrain", "rule"] == "pretrain_base_model"
    plain_root = tmp_path / "plain"
    write_tsv(plain_root, "prepare/demo_bid", 1.5, "100.0")
    assert bench_memory.collect_jobs(plain_root).loc[0, "rule"] == "prepare"
    with pytest.raises(MgiqaError, match="no benchmark files"):
        bench_memory.collect_jobs(tmp_path / "empty")


def test_collect_jobs_averages_repeats(tmp_path):
    path = tmp_path / "b" / "sft" / "x.tsv"
    path.parent.mkdir(parents=True)
    path.write_text(f"{HEADER}\n2.0\t0\t100\t1\t1\t1\t0\t0\t1\t1\n4.0\t0\t300\t1\t1\t1\t0\t0\t1\t1\n")
    job = bench_memory.collect_jobs(tmp_path / "b").iloc[0]
    assert job["seconds"] == 3.0 and job["max_rss_mb"] == 300.0


def test_rule_breakdown(bench_root):
    breakdown = bench_memory.rule_breakdown(bench_memory.collect_jobs(bench_root)).set_index("rule")
    assert breakdown.index[0] == "grpo"  # the costliest first
    assert breakdown.loc["grpo", "jobs"] == 2 and breakdown.loc["grpo", "seconds"] == 180.0
    assert breakdown.loc["grpo", "longest_job_seconds"] == 100.0
    assert breakdown.loc["fetch_dataset", "max_rss_mb"] == 120.5  # NA does not count
    assert breakdown["share_of_job_seconds"].sum() == pytest.approx(1.0)


def test_peak_memory_lists_training_then_evaluation_jobs(bench_root):
    memory = bench_memory.peak_memory(bench_memory.collect_jobs(bench_root))
    assert list(memory["job"]) == [
        "grpo/mg_iqa_seed0", "grpo/rl2r_seed0", "sft/attribute_seed0", "model/pretrain",
        "predict/zero_shot_seed0", "metrics/zero_shot_seed0",
    ]  # fmt: skip
    assert list(memory["kind"]) == ["training"] * 4 + ["evaluation"] * 2
    assert "training: largest grpo/mg_iqa_seed0 1500 MB (4 jobs)" in bench_demo.summarize_memory(memory)


def test_snapshot_detects_jobs_that_ran_again(bench_root):
    before = bench_memory.snapshot(bench_root)
    assert bench_memory.jobs_run_between(before, bench_memory.snapshot(bench_root)) == []
    write_tsv(bench_root, "metrics/zero_shot_seed0", 1.0, "100.0", "metrics")
    write_tsv(bench_root, "metrics/new_seed0", 1.0, "100.0", "metrics")
    changed = bench_memory.jobs_run_between(before, bench_memory.snapshot(bench_root))
    assert "metrics/new_seed0" in changed


def test_demo_summary_and_rows(bench_root):
    jobs = bench_memory.collect_jobs(bench_root)
    run = {"demo_seconds": 600.0, "noop_seconds": 3.2, "jobs": jobs, "rerun_jobs": []}
    assert "from clean 10.0 min" in bench_demo.summarize_demo(run, "config/test.yaml", "all")
    assert "nothing ran again" in bench_demo.summarize_demo(run, "config/test.yaml", "all")
    rows = bench_demo.demo_rows(run, "config/test.yaml", "all")
    assert [r["measurement"] for r in rows] == ["from_clean", "noop_rerun"]
    assert bench_demo.summarize_rules(bench_memory.rule_breakdown(jobs)).count(" s (") == 4


def test_snakemake_command_keeps_the_target_before_configfile(tmp_path):
    command = bench_demo.snakemake_command(tmp_path / "c.yaml", "2")
    assert command.index(bench_demo.TARGET) < command.index("--configfile")
    assert command[-1] == str(tmp_path / "c.yaml")


def test_clean_copy_takes_the_working_tree_not_the_outputs(tmp_path):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / ".gitignore").write_text("/data/\n")
    (repo / "Snakefile").write_text("rule all:\n")
    (repo / "data" / "big.bin").write_text("x")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    dest = tmp_path / "copy"
    assert bench_demo.clean_copy(repo, dest) == 2
    assert (dest / "Snakefile").is_file() and not (dest / "data").exists()
    with pytest.raises(MgiqaError, match="must be empty"):
        bench_demo.clean_copy(repo, dest)


def test_run_all_registry_names_scripts_that_exist():
    assert [b.name for b in run_all.BENCHMARKS] == ["reward", "batch_plan", "labels", "generate", "demo"]
    for bench in run_all.BENCHMARKS:
        assert (BENCH / bench.script).is_file(), bench.script
    for script in ("bench_labels.py", "bench_demo.py", "bench_memory.py", "common.py", "README.md"):
        assert (BENCH / script).is_file(), script


def test_run_all_targets_and_sections(tmp_path):
    pd.DataFrame(
        [{"measurement": "from_clean", "seconds": 1000.0, "jobs": 54, "config": "config/config.yaml"},
         {"measurement": "noop_rerun", "seconds": 2.5, "jobs": 0, "config": "config/config.yaml"}]
    ).to_csv(tmp_path / "demo.csv", index=False)  # fmt: skip
    (tmp_path / "summary.md").write_text("- **demo**: whole demo 16.7 min\n- **demo_rules**: grpo first\n")
    assert run_all.demo_time(tmp_path) == (False, "16.7 min on config/config.yaml")
    assert run_all.noop_rerun(tmp_path) == (True, "2.5 s, 0 jobs ran again")
    demo = run_all.BENCHMARKS[-1]
    outcome = {"returncode": 0, "seconds": 1010.0, "tail": [], "fresh": ["demo", "demo_rules"]}
    text, errored = run_all.section(demo, outcome, run_all.summary_lines(tmp_path), tmp_path)
    assert not errored
    assert "- whole demo 16.7 min\n- grpo first\n" in text
    assert "under 15 minutes (on 2 cores): **not met**" in text and "nothing run again: **met**" in text
    failed = {"returncode": 1, "seconds": 1.0, "tail": ["Traceback", "boom"], "fresh": []}
    assert run_all.section(demo, failed, {}, tmp_path)[1] is True
    text, errored = run_all.section(run_all.BENCHMARKS[0], {**outcome, "fresh": ["reward"]}, {}, tmp_path)
    assert errored and "reward.csv: missing" in text  # a target whose figure is absent is an error
    assert run_all.section(demo, None, {}, tmp_path) == (
        "## demo\n\n`bench/bench_demo.py`: skipped in this run (--skip).\n", False,
    )  # fmt: skip


def test_run_all_generate_target_compares_with_batch_size_one(tmp_path):
    pd.DataFrame({"batch_size": [1, 8, 32], "images_per_second": [2.0, 9.0, 7.0]}).to_csv(
        tmp_path / "generate.csv", index=False
    )
    assert run_all.generate_speedup(tmp_path) == (True, "4.5x at batch size 8")


def test_failed_rule_logs_names_the_logs_of_failed_jobs(tmp_path):
    (tmp_path / "logs" / "predict").mkdir(parents=True)
    (tmp_path / "logs" / "predict" / "a.log").write_text("start\nerror: --output is required\n")
    output = (
        "Error in rule predict:\n    jobid: 31\n"
        "    log: logs/predict/a.log (check log file(s) for error details)\n"
        "Error in rule grpo:\n    log: logs/grpo/b.log, logs/grpo/c.log (check log file(s) for error details)\n"
    )
    assert bench_demo.failed_rule_logs(output, tmp_path) == [
        ("logs/predict/a.log", "start\nerror: --output is required"),
        ("logs/grpo/b.log", "(no log written)"),
        ("logs/grpo/c.log", "(no log written)"),
    ]
