"""Snakemake `benchmark:` files -> one record per job, the per-rule time breakdown and the peak memory of the
training and evaluation rules. Used by bench_demo.py on the demo it runs.

The rules write `benchmarks/<stage>/<job>.tsv` (docs/ARCHITECTURE.md): a header and one row, columns
`s, h:m:s, max_rss, max_vms, max_uss, max_pss, io_in, io_out, mean_load, cpu_time` (memory in MB), plus
`jobid, rule_name, wildcards, ...` with `snakemake --benchmark-extended`. The rule is `rule_name` where the
file has it, else the `<stage>` folder. Snakemake samples memory every 0.5 s for the first 15 s of a job, then
every 30 s, so `max_rss` is the largest sample (a lower bound on the true peak); `NA` (a job gone before its
first sample) reads as missing.

Run alone, it prints the breakdown of an existing benchmarks folder (e.g. after `make demo`):

    python bench/bench_memory.py [benchmarks]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pandas as pd

from mgiqa.errors import MgiqaError

TRAINING_RULES = ("pretrain_base_model", "sft", "grpo")
EVALUATION_RULES = ("predict", "classical", "metrics")
# benchmark-file column -> record column
COLUMNS = {
    "s": "seconds",
    "max_rss": "max_rss_mb",
    "max_uss": "max_uss_mb",
    "max_pss": "max_pss_mb",
    "cpu_time": "cpu_seconds",
    "mean_load": "mean_load",
}


def read_benchmark_tsv(path: str | Path) -> pd.DataFrame:
    """The rows of one benchmark file (one per repeat), with the COLUMNS renamed and numeric; NA -> NaN."""
    path = Path(path)
    try:
        raw = pd.read_csv(
            path, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, na_values=["NA", "-"], keep_default_na=False
        )
    except pd.errors.EmptyDataError as exc:
        raise MgiqaError(f"{path}: empty benchmark file") from exc
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise MgiqaError(f"{path}: not a Snakemake benchmark file, columns {missing} are missing")
    if raw.empty:
        raise MgiqaError(f"{path}: benchmark file without a row")
    out = pd.DataFrame(index=raw.index)
    for column, name in COLUMNS.items():
        values = pd.to_numeric(raw[column], errors="coerce")
        bad = values.isna() & raw[column].notna()
        if bad.any():
            line = int(bad.to_numpy().argmax()) + 2  # 1-based, after the header
            raise MgiqaError(f"{path}:{line}: column {column}: not a number: {raw[column][bad].iloc[0]!r}")
        out[name] = values
    if out["seconds"].isna().any():
        raise MgiqaError(f"{path}: column s (wall seconds) is missing a value")
    if "rule_name" in raw.columns:
        out["rule_name"] = raw["rule_name"]
    return out


def collect_jobs(bench_root: str | Path) -> pd.DataFrame:
    """One row per benchmark file under `bench_root`: rule, job (the path without .tsv) and COLUMNS values;
    repeats (several rows in one file) average the times and keep the largest memory."""
    bench_root = Path(bench_root)
    files = sorted(bench_root.rglob("*.tsv"))
    if not files:
        raise MgiqaError(f"{bench_root}: no benchmark files (*.tsv)")
    records = []
    for path in files:
        rows = read_benchmark_tsv(path)
        job = path.relative_to(bench_root).with_suffix("").as_posix()
        if "rule_name" in rows.columns:
            rule = rows["rule_name"].iloc[0]
        elif "/" in job:
            rule = job.split("/", 1)[0]
        else:
            raise MgiqaError(f"{path}: no rule_name column and not under a benchmarks/<rule>/ folder")
        record = {"rule": rule, "job": job}
        for name in COLUMNS.values():
            values = rows[name]
            record[name] = values.max() if name.endswith("_mb") else values.mean()
        records.append(record)
    return pd.DataFrame(records, columns=["rule", "job", *COLUMNS.values()])


def rule_breakdown(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, summed and longest job seconds, share of all job seconds, CPU seconds, peak RSS;
    the costliest rule first. Jobs run in parallel, so the shares are of job time, not of wall time."""
    grouped = jobs.groupby("rule", sort=False)
    out = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "seconds": grouped["seconds"].sum(),
            "longest_job_seconds": grouped["seconds"].max(),
            "cpu_seconds": grouped["cpu_seconds"].sum(min_count=1),
            "max_rss_mb": grouped["max_rss_mb"].max(),
        }
    )
    out["share_of_job_seconds"] = out["seconds"] / jobs["seconds"].sum()
    # the files hold two decimals: sums carry no more
    out = out.round({"seconds": 2, "cpu_seconds": 2, "share_of_job_seconds": 4})
    return out.sort_values("seconds", ascending=False, kind="stable").reset_index()


def peak_memory(jobs: pd.DataFrame) -> pd.DataFrame:
    """The training and evaluation jobs with their peak memory (MB), training first, largest first within."""
    kinds = {rule: "training" for rule in TRAINING_RULES} | {rule: "evaluation" for rule in EVALUATION_RULES}
    selected = jobs[jobs["rule"].isin(kinds)].copy()
    selected.insert(0, "kind", selected["rule"].map(kinds))
    selected["kind_order"] = selected["kind"].map({"training": 0, "evaluation": 1})
    selected = selected.sort_values(["kind_order", "max_rss_mb"], ascending=[True, False], kind="stable")
    columns = ["kind", "rule", "job", "max_rss_mb", "max_uss_mb", "max_pss_mb", "seconds"]
    return selected[columns].reset_index(drop=True)


def snapshot(bench_root: str | Path) -> dict[str, int]:
    """Job (benchmark file without .tsv) -> modification time (ns): a job that runs rewrites its file."""
    bench_root = Path(bench_root)
    return {
        p.relative_to(bench_root).with_suffix("").as_posix(): p.stat().st_mtime_ns
        for p in bench_root.rglob("*.tsv")
    }


def jobs_run_between(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """The jobs whose benchmark file was written or rewritten between two snapshots."""
    return sorted(job for job, mtime in after.items() if before.get(job) != mtime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmarks", nargs="?", type=Path, default=Path("benchmarks"))
    args = parser.parse_args()
    jobs = collect_jobs(args.benchmarks)
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(rule_breakdown(jobs).to_string(index=False, float_format="{:.2f}".format))
        print()
        print(peak_memory(jobs).to_string(index=False, float_format="{:.1f}".format))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
