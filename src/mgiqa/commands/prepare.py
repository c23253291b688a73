"""`mgiqa prepare`: join a dataset's canonical table with its images; fail on missing/corrupt files."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--table", required=True, help="canonical label table (CSV or Parquet)")
    p.add_argument("--dataset-root", required=True, help="extracted dataset folder (data/raw/DATASET)")
    p.add_argument("-o", "--output", required=True, help="prepared table (CSV or Parquet)")
    p.add_argument(
        "--report", help="JSON report of missing/corrupt images (written also when the stage fails)"
    )


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import load_config
    from mgiqa.data.images import max_image_pixels, prepare_table
    from mgiqa.io import read_table, write_table

    config = load_config(args.config)
    allow = bool(config["datasets"]["allow_missing_images"])
    table = read_table(args.table)
    prepared, report = prepare_table(
        table,
        Path(args.dataset_root),
        args.dataset,
        allow_missing=allow,
        max_pixels=max_image_pixels(config),
        source=args.table,
        report_path=args.report,
    )
    write_table(args.output, prepared)
    print(f"{args.dataset}: {len(prepared)} images ready ({report.n_bad} bad)")
    return 0
