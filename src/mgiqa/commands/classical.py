"""`mgiqa classical`: one classical no-reference measure on benchmarks, written as prediction tables."""

from __future__ import annotations

import argparse

MEASURE_NAMES = ("laplacian_sharpness", "wavelet_noise", "colorfulness")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument(
        "--benchmark-tables",
        "--benchmark-table",
        dest="benchmark_tables",
        nargs="+",
        required=True,
        help="prepared benchmark table(s) (data/prepared/X.csv)",
    )
    p.add_argument("--measure", required=True, choices=MEASURE_NAMES)
    p.add_argument(
        "--split",
        default="test",
        help="rows scored: a split value (default test, the evaluated rows) or 'all'",
    )
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", help="prediction table (one benchmark table only)")
    out.add_argument("--out-dir", help="one prediction table per benchmark: OUT_DIR/{benchmark}.csv")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mgiqa.config import load_config
    from mgiqa.data.splits import select_split
    from mgiqa.errors import ConfigError, DataIntegrityError
    from mgiqa.evaluation.classical import classical_predictions
    from mgiqa.io import read_table, write_table

    config = load_config(args.config)
    if args.measure not in config["evaluation"]["classical"]:
        raise ConfigError(f"--measure {args.measure}: not in evaluation.classical of the config")
    if args.output and len(args.benchmark_tables) != 1:
        raise ConfigError("-o/--output takes one benchmark table; use --out-dir for several")
    for table_path in args.benchmark_tables:
        table = select_split(read_table(table_path), args.split, table_path)
        try:
            preds = classical_predictions(table, args.measure)
        except DataIntegrityError as exc:
            raise DataIntegrityError(f"{table_path}: {exc}") from exc
        output = Path(args.output) if args.output else Path(args.out_dir) / f"{Path(table_path).stem}.csv"
        write_table(output, preds)
        print(f"{args.measure}: scored {len(preds)} images of {table_path} -> {output}")
    return 0
