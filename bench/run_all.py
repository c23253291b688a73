"""Run every benchmark in turn (each a subprocess) and write results/bench/SUMMARY.md.

SUMMARY.md: the machine (CPU model, cores, RAM, accelerator, versions, date, commit), then per benchmark its
summary lines (from results/bench/summary.md, kept by common.write_results) and each target, met or not met.
Exits non-zero when a benchmark errors (or does not produce the figure a target reads); a target that is not
met is reported, never a failure: benchmarks are not timed tests.

    python bench/run_all.py [--skip demo] [--demo-config config/test.yaml]      # or: make bench
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from common import RESULTS

from mgiqa.errors import MgiqaError
from mgiqa.io import write_text

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEMO_CONFIG = "config/config.yaml"


@dataclass(frozen=True)
class Target:
    text: str
    check: Callable[[Path], tuple[bool, str]]  # results folder -> (met, the figure it was judged on)


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str  # under bench/
    summaries: tuple[str, ...]  # the names it writes: results/bench/<name>.csv and its summary line
    targets: tuple[Target, ...] = ()


def _read(results: Path, name: str) -> pd.DataFrame:
    path = results / f"{name}.csv"
    if not path.is_file():
        raise MgiqaError(f"{path}: missing; the benchmark did not write it")
    return pd.read_csv(path)


def _one(table: pd.DataFrame, where: str, what: str) -> pd.Series:
    rows = table.query(where)
    if len(rows) != 1:
        raise MgiqaError(f"{what}: expected one row where {where}, found {len(rows)}")
    return rows.iloc[0]


def reward_speedup(results: Path) -> tuple[bool, str]:
    row = _one(
        _read(results, "reward"), "B == 16 and K == 8 and implementation == 'torch_loop_vq_r1'", "reward"
    )
    return bool(row["slowdown_vs_vectorized"] >= 1000), f"{row['slowdown_vs_vectorized']:.0f}x"


def batch_plan_time(results: Path) -> tuple[bool, str]:
    rows = _read(results, "batch_plan").query("n_images == 100000")
    if rows.empty:
        raise MgiqaError("batch_plan: no row with n_images == 100000")
    slowest = rows["seconds"].max()
    return bool(slowest < 1.0), f"slowest at 100k: {slowest:.3f} s"


def generate_speedup(results: Path) -> tuple[bool, str]:
    table = _read(results, "generate")
    single = _one(table, "batch_size == 1", "generate")["images_per_second"]
    best = table.loc[table["images_per_second"].idxmax()]
    speedup = best["images_per_second"] / single
    return bool(speedup >= 4), f"{speedup:.1f}x at batch size {int(best['batch_size'])}"


def demo_time(results: Path) -> tuple[bool, str]:
    row = _one(_read(results, "demo"), "measurement == 'from_clean'", "demo")
    figure = f"{row['seconds'] / 60:.1f} min on {row['config']}"
    if row["config"] != DEMO_CONFIG:
        figure += f"; the target is for {DEMO_CONFIG}"
    return bool(row["seconds"] < 15 * 60), figure


def noop_rerun(results: Path) -> tuple[bool, str]:
    row = _one(_read(results, "demo"), "measurement == 'noop_rerun'", "demo")
    return bool(
        row["seconds"] < 10 and row["jobs"] == 0
    ), f"{row['seconds']:.1f} s, {row['jobs']} jobs ran again"


BENCHMARKS = (
    Benchmark(
        "reward", "bench_reward.py", ("reward",),
        (Target("vectorized reward at least 1000x faster than the VisualQuality-R1-style loop at B=16, K=8",
                reward_speedup),),
    ),
    Benchmark(
        "batch_plan", "bench_batch_plan.py", ("batch_plan",),
        (Target("batch plan for 100k images under 1 s", batch_plan_time),),
    ),
    Benchmark("labels", "bench_labels.py", ("labels",)),
    Benchmark(
        "generate", "bench_generate.py", ("generate",),
        (Target("batched generation at least 4x the images/s of one image at a time", generate_speedup),),
    ),
    Benchmark(
        "demo", "bench_demo.py", ("demo", "demo_rules", "demo_memory"),
        (Target("whole demo from clean under 15 minutes (on 2 cores)", demo_time),
         Target("no-op rerun under 10 s, nothing run again", noop_rerun)),
    ),
)  # fmt: skip


def machine_facts() -> dict[str, str]:
    import torch

    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")]  # fmt: skip
        cpu = models[0] if models else cpu
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    accelerator = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU only)"
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    )
    dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else ""),
        "CPU": f"{cpu}, {os.cpu_count()} cores ({usable} usable by this process)",
        "RAM": f"{ram:.1f} GiB",
        "accelerator": accelerator,
        "OS": platform.platform(),
        "versions": ", ".join(
            [f"Python {platform.python_version()}", f"torch {torch.__version__}"]
            + [f"{p} {version(p)}" for p in ("numpy", "pandas", "transformers", "snakemake")]
        ),
        "torch threads": str(torch.get_num_threads()),
    }


def summary_lines(results: Path) -> dict[str, str]:
    """name -> its line in results/bench/summary.md (`- **name**: text`)."""
    path = results / "summary.md"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    out = {}
    for line in lines:
        if line.startswith("- **") and "**:" in line:
            name, text = line[4:].split("**:", 1)
            out[name] = text.strip()
    return out


def run_benchmark(bench: Benchmark, args: list[str], results: Path) -> dict:
    """Run one script, echoing its output; its exit code, wall time, last lines and the CSVs it rewrote."""
    before = {n: _mtime(results / f"{n}.csv") for n in bench.summaries}
    command = [sys.executable, str(BENCH / bench.script), *args]
    print(f"\n=== {bench.name}: {' '.join(command[1:])}", flush=True)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    tail: collections.deque[str] = collections.deque(maxlen=15)
    start = time.perf_counter()
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            tail.append(line.rstrip("\n"))
    seconds = time.perf_counter() - start
    fresh = [n for n in bench.summaries if _mtime(results / f"{n}.csv") not in (None, before[n])]
    return {"returncode": process.returncode, "seconds": seconds, "tail": list(tail), "fresh": fresh}


def _mtime(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.is_file() else None


def section(bench: Benchmark, outcome: dict | None, lines: dict[str, str], results: Path) -> tuple[str, bool]:
    """The Markdown section of one benchmark, and whether it errored."""
    head = f"## {bench.name}\n\n`bench/{bench.script}`"
    if outcome is None:
        return f"{head}: skipped in this run (--skip).\n", False
    head += f", {outcome['seconds']:.0f} s\n"
    if outcome["returncode"] != 0:
        tail = "\n".join(outcome["tail"][-8:])
        return f"{head}\n**ERROR** (exit code {outcome['returncode']}):\n\n```\n{tail}\n```\n", True
    if not outcome["fresh"]:
        reason = outcome["tail"][-1] if outcome["tail"] else "no output"
        return f"{head}\nNo figures written in this run: {reason}\n", False
    body = [f"- {lines[n]}" for n in outcome["fresh"] if n in lines]
    errored = False
    for target in bench.targets:
        try:
            met, figure = target.check(results)
            body.append(f"- target: {target.text}: **{'met' if met else 'not met'}** ({figure})")
        except MgiqaError as exc:
            body.append(f"- target: {target.text}: **ERROR**: {exc}")
            errored = True
    return head + "\n" + "\n".join(body) + "\n", errored


def render_summary(facts: dict[str, str], sections: list[str]) -> str:
    rows = "\n".join(f"| {key} | {value} |" for key, value in facts.items())
    return (
        "# Benchmark summary\n\n"
        "Written by `python bench/run_all.py` (`make bench`); every figure is in `results/bench/*.csv`.\n\n"
        f"| machine | |\n|---|---|\n{rows}\n\n" + "\n".join(sections)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [b.name for b in BENCHMARKS]
    parser.add_argument("--skip", nargs="+", default=[], choices=names, metavar="NAME",
                        help=f"benchmarks not to run, of: {', '.join(names)}")  # fmt: skip
    parser.add_argument("--demo-config", default=DEMO_CONFIG,
                        help="config of the demo benchmark (config/test.yaml for a quick run)")  # fmt: skip
    args = parser.parse_args()
    extra_args = {"demo": ["--config", args.demo_config]}
    facts = machine_facts()
    outcomes = {
        b.name: None if b.name in args.skip else run_benchmark(b, extra_args.get(b.name, []), RESULTS)
        for b in BENCHMARKS
    }
    lines = summary_lines(RESULTS)
    sections, failed = [], []
    for bench in BENCHMARKS:
        text, errored = section(bench, outcomes[bench.name], lines, RESULTS)
        sections.append(text)
        if errored:
            failed.append(bench.name)
    write_text(RESULTS / "SUMMARY.md", render_summary(facts, sections))
    print(f"\nsummary -> {RESULTS / 'SUMMARY.md'}")
    if failed:
        print(f"benchmarks that errored: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
