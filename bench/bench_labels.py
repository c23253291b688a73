"""Benchmark: label parsing + normalization of every real label table in ../shared/mos_tables.

For each file of the shared MANIFEST, times `mgiqa.data.labels.parse_label_file` (read, recognise the layout,
normalize MOS / std, derive groups, splits and attributes) against the straightforward alternative, a plain
`pandas.read_csv` of the same file (no validation, nothing derived). Best of a few calls each.
The dataset key of each file comes from mgiqa.data.shared_tables (checked file by file by tests/test_shared_tables.py).
Writes results/bench/labels.csv and a line in results/bench/summary.md.

When ../shared/mos_tables is absent (the tables are third-party labels, never committed), says so and writes
nothing; `--require` makes that an error.

    python bench/bench_labels.py [--tables DIR] [--require]
"""

from __future__ import annotations

import argparse
import csv
import functools
import logging
from pathlib import Path

import pandas as pd
from common import REPO, environment, time_call, write_results

from mgiqa.data.labels import parse_label_file
from mgiqa.data.registry import load_registry
from mgiqa.data.shared_tables import SHARED_TABLE_DATASETS
from mgiqa.errors import MgiqaError

SHARED_TABLES = REPO.parent / "shared" / "mos_tables"


def dataset_of_files() -> dict[str, str]:
    """MANIFEST local_path -> registry key (mgiqa.data.shared_tables, checked file by file by the tests)."""
    return dict(SHARED_TABLE_DATASETS)


def manifest_files(tables: Path) -> list[str]:
    """The local paths listed in `tables`/MANIFEST.tsv, in manifest order."""
    manifest = tables / "MANIFEST.tsv"
    with open(manifest, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or "local_path" not in rows[0]:
        raise MgiqaError(f"{manifest}: no rows with a local_path column")
    return [row["local_path"] for row in rows]


def read_plain(path: Path) -> pd.DataFrame:
    """The straightforward alternative: pandas reads the file, nothing is checked or derived."""
    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_csv(path, sep=r"\s+", header=None)


def bench_file(tables: Path, local_path: str, dataset: str, entry: dict) -> dict:
    path = tables / local_path
    seconds, calls, table = time_call(
        functools.partial(parse_label_file, dataset, path, entry), min_time=0.5, max_repeats=5
    )
    plain_seconds, _, plain = time_call(functools.partial(read_plain, path), min_time=0.2, max_repeats=10)
    if len(plain) != len(table):
        raise MgiqaError(f"{path}: pandas reads {len(plain)} rows, parse_label_file {len(table)}")
    rows = len(table)
    print(
        f"{local_path:70s} {rows:6d} rows {seconds * 1e3:8.1f} ms  (read_csv {plain_seconds * 1e3:6.1f} ms)"
    )
    return {
        "file": local_path,
        "dataset": dataset,
        "layout": table.attrs["layout"],
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "calls": calls,
        "read_csv_seconds": plain_seconds,
        "slowdown_vs_read_csv": seconds / plain_seconds,
    } | environment()


def summarize(rows: list[dict]) -> str:
    total_rows = sum(r["rows"] for r in rows)
    total_seconds = sum(r["seconds"] for r in rows)
    total_plain = sum(r["read_csv_seconds"] for r in rows)
    slowest = min(rows, key=lambda r: r["rows_per_s"])
    return (
        f"label parsing + normalization of {len(rows)} real tables ({total_rows} rows): "
        f"{total_seconds:.2f} s in all, {total_rows / total_seconds:,.0f} rows/s "
        f"(a plain pandas.read_csv, which checks and derives nothing: {total_plain:.2f} s); "
        f"slowest {Path(slowest['file']).name} {slowest['rows_per_s']:,.0f} rows/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=Path, default=SHARED_TABLES, help="the shared mos_tables folder")
    parser.add_argument("--require", action="store_true", help="fail when the tables are absent")
    args = parser.parse_args()
    if not args.tables.is_dir():
        message = f"label-parsing benchmark skipped: {args.tables} is absent (the real label tables)"
        if args.require:
            raise SystemExit(message)
        print(message)
        return 0
    logging.basicConfig(level=logging.ERROR)  # the parser's per-file notes are not benchmark output
    dataset_of = dataset_of_files()
    registry = load_registry()
    files = manifest_files(args.tables)
    unmapped = sorted(set(files) - set(dataset_of))
    if unmapped:
        raise MgiqaError(f"mgiqa.data.shared_tables: SHARED_TABLE_DATASETS has no dataset key for {unmapped}")
    rows = [bench_file(args.tables, f, dataset_of[f], registry[dataset_of[f]]) for f in files]
    write_results("labels", rows, summarize(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
