"""Benchmark: the whole demo, `snakemake --cores all results/tables/main.csv`, from clean.

In a scratch copy of the working tree (the files `git ls-files` reports: tracked and untracked-not-ignored, so no
data/, models/, results/, logs/, benchmarks/ or .snakemake/), runs the demo and times it, then reruns it with
everything up to date (the no-op rerun). The per-rule breakdown and the peak memory of each training and
evaluation job come from the rules' `benchmark:` files (bench_memory.py). Targets (issue 7): the demo under
15 minutes on 2 cores, the no-op rerun under 10 s. Writes results/bench/demo.csv, demo_rules.csv and
demo_memory.csv, and their lines in results/bench/summary.md.

    python bench/bench_demo.py [--config config/test.yaml] [--workdir DIR] [--cores N]

The scratch copy is removed afterwards unless --workdir names it, or the run fails (it is kept for its logs).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from bench_memory import collect_jobs, jobs_run_between, peak_memory, rule_breakdown, snapshot
from common import REPO, environment, write_results

from mgiqa.errors import MgiqaError

TARGET = "results/tables/main.csv"
DEMO_TARGET_SECONDS = 15 * 60
NOOP_TARGET_SECONDS = 10.0


def working_tree_files(repo: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files of `repo` that exist (a fresh clone plus local edits)."""
    result = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise MgiqaError(f"{repo}: git ls-files failed: {result.stderr.decode(errors='replace').strip()}")
    names = sorted({n for n in result.stdout.decode().split("\0") if n})
    return [n for n in names if (repo / n).is_file()]  # a tracked file deleted in the working tree is absent


def clean_copy(repo: Path, dest: Path) -> int:
    """Copy the working tree of `repo` into the empty or missing folder `dest`; returns the file count."""
    if dest.exists() and any(dest.iterdir()):
        raise MgiqaError(f"{dest}: the work directory must be empty or absent (the demo runs from clean)")
    files = working_tree_files(repo)
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)
    return len(files)


def snakemake_command(config: Path, cores: str) -> list[str]:
    # the target first: --configfile takes every argument after it
    return [
        sys.executable, "-m", "snakemake", TARGET, "--cores", cores, "--benchmark-extended",
        "--configfile", str(config),
    ]  # fmt: skip


def run_timed(command: list[str], workdir: Path, log_path: Path) -> float:
    """Run `command` in `workdir`, output to `log_path`; wall seconds. A failure raises with the log's tail."""
    env = dict(os.environ)
    # the `mgiqa` the rules call is the one installed next to this interpreter
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    start = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        result = subprocess.run(
            command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        raise MgiqaError(
            f"`{' '.join(command)}` failed (exit {result.returncode}), Snakemake's output in {log_path}"
            + "".join(f"\n--- {log} (last lines):\n{tail}" for log, tail in failed_rule_logs(text, workdir))
        )
    return seconds


def failed_rule_logs(snakemake_output: str, workdir: Path, lines: int = 8) -> list[tuple[str, str]]:
    """(log path, its last lines) of every failed job Snakemake's output names ("log: X (check log file...")."""
    found = re.findall(r"^\s*log: (.+?) \(check log file", snakemake_output, flags=re.MULTILINE)
    out = []
    for name in dict.fromkeys(log for entry in found for log in entry.split(", ")):
        path = workdir / name
        tail = (
            path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:] if path.is_file() else []
        )
        out.append((name, "\n".join(tail) if tail else "(no log written)"))
    return out


def run_demo(workdir: Path, config: Path, cores: str) -> dict:
    """Copy, run from clean, rerun; the two wall times, the jobs, and the jobs the rerun ran again."""
    files = clean_copy(REPO, workdir)
    print(f"copied {files} files of the working tree to {workdir}", flush=True)
    command = snakemake_command(config, cores)
    print(f"from clean: {' '.join(command[2:])}", flush=True)
    demo_seconds = run_timed(command, workdir, workdir / "bench_demo_run.log")
    bench_root = workdir / "benchmarks"
    before = snapshot(bench_root)
    print(f"  {demo_seconds:.1f} s, {len(before)} jobs; no-op rerun", flush=True)
    noop_seconds = run_timed(command, workdir, workdir / "bench_demo_rerun.log")
    rerun = jobs_run_between(before, snapshot(bench_root))
    print(f"  {noop_seconds:.2f} s, {len(rerun)} jobs ran again", flush=True)
    return {
        "demo_seconds": demo_seconds,
        "noop_seconds": noop_seconds,
        "jobs": collect_jobs(bench_root),
        "rerun_jobs": rerun,
    }


def demo_rows(run: dict, config: str, cores: str) -> list[dict]:
    base = {"config": config, "cores": cores} | environment()
    return [
        base | {"measurement": "from_clean", "seconds": run["demo_seconds"], "jobs": len(run["jobs"]),
                "target_seconds": DEMO_TARGET_SECONDS},
        base | {"measurement": "noop_rerun", "seconds": run["noop_seconds"], "jobs": len(run["rerun_jobs"]),
                "target_seconds": NOOP_TARGET_SECONDS},
    ]  # fmt: skip


def summarize_demo(run: dict, config: str, cores: str) -> str:
    rerun = run["rerun_jobs"]
    again = f"; {len(rerun)} jobs ran again: {', '.join(rerun[:5])}" if rerun else ", nothing ran again"
    return (
        f"whole demo (`--configfile {config}`, --cores {cores}, {len(run['jobs'])} jobs) from clean "
        f"{run['demo_seconds'] / 60:.1f} min ({run['demo_seconds']:.0f} s); "
        f"no-op rerun {run['noop_seconds']:.1f} s{again}"
    )


def summarize_rules(breakdown: pd.DataFrame, top: int = 4) -> str:
    parts = [
        f"{r.rule} {r.seconds:.0f} s ({r.share_of_job_seconds:.0%}, {r.jobs} jobs)"
        for r in breakdown.head(top).itertuples()
    ]
    total = breakdown["seconds"].sum()
    return f"job time by rule ({total:.0f} s of job time in all): " + ", ".join(parts)


def summarize_memory(memory: pd.DataFrame) -> str:
    if memory.empty:
        return "no training or evaluation jobs in the benchmark files"
    parts = []
    for kind, rows in memory.groupby("kind", sort=False):
        peak = rows.loc[rows["max_rss_mb"].idxmax()] if rows["max_rss_mb"].notna().any() else None
        top = f"{peak['job']} {peak['max_rss_mb']:.0f} MB" if peak is not None else "not sampled"
        parts.append(f"{kind}: largest {top} ({len(rows)} jobs)")
    return "peak RSS (Snakemake's sampled max_rss): " + "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml", help="config (relative to the repository)")
    parser.add_argument("--workdir", type=Path, help="scratch folder to run in (empty or absent; kept)")
    parser.add_argument("--cores", default="all", help="snakemake --cores (default: all)")
    args = parser.parse_args()
    config = Path(args.config) if Path(args.config).is_absolute() else REPO / args.config
    if not config.is_file():
        raise MgiqaError(f"{config}: config file not found")
    keep = args.workdir is not None
    workdir = args.workdir.resolve() if keep else Path(tempfile.mkdtemp(prefix="mgiqa-bench-demo-"))
    run = run_demo(workdir, config, args.cores)  # a failure raises and leaves workdir for its logs
    if not keep:
        shutil.rmtree(workdir)
    breakdown = rule_breakdown(run["jobs"])
    memory = peak_memory(run["jobs"])
    write_results(
        "demo", demo_rows(run, args.config, args.cores), summarize_demo(run, args.config, args.cores)
    )
    write_results("demo_rules", breakdown.to_dict("records"), summarize_rules(breakdown))
    write_results("demo_memory", memory.to_dict("records"), summarize_memory(memory))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
