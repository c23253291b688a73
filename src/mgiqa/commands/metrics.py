"""`mgiqa metrics`: all metrics of one method on benchmarks (one JSON per prediction table)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument(
        "--predictions", nargs="+", required=True, help="results/predictions/METHOD/seedN/BENCHMARK.csv ..."
    )
    p.add_argument(
        "--benchmark-tables",
        "--benchmark-table",
        dest="benchmark_tables",
        nargs="+",
        default=None,
        help="prepared tables in the order of --predictions (attribute labels, test split, MOS check); "
        "default: data/prepared/BENCHMARK.csv of the config, BENCHMARK being the predictions' file stem",
    )
    p.add_argument(
        "--method", default=None, help="the method scored: its evaluation split (evaluation.external) applies"
    )
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", help="metrics JSON (one prediction table only)")
    out.add_argument("--out-dir", help="one metrics JSON per prediction table: OUT_DIR/{benchmark}.json")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mgiqa import pipeline
    from mgiqa.config import derive_seed, load_config
    from mgiqa.errors import ConfigError
    from mgiqa.evaluation.external import split_of
    from mgiqa.evaluation.predictions import attach_labels, evaluate_predictions, read_predictions
    from mgiqa.io import read_table, write_json

    config = load_config(args.config)
    benchmarks = [Path(p).stem for p in args.predictions]
    tables = args.benchmark_tables or [pipeline.prepared(config, b) for b in benchmarks]
    if len(tables) != len(args.predictions):
        raise ConfigError(f"{len(args.predictions)} prediction tables but {len(tables)} benchmark tables")
    if args.output and len(args.predictions) != 1:
        raise ConfigError("-o/--output takes one prediction table; use --out-dir for several")
    ev = config["evaluation"]
    for pred_path, table_path, benchmark in zip(args.predictions, tables, benchmarks, strict=True):
        split = split_of(config, args.method, benchmark) if args.method else "test"
        preds = attach_labels(read_predictions(pred_path), read_table(table_path), table_path, split)
        # the bootstrap seed depends on the benchmark only: every method gets the same resampled images
        result = evaluate_predictions(
            preds,
            bootstrap=int(ev["bootstrap"]),
            confidence=float(ev["confidence"]),
            seed=derive_seed(config, "metrics", benchmark),
        )
        output = Path(args.output) if args.output else Path(args.out_dir) / f"{benchmark}.json"
        write_json(output, {"benchmark": benchmark, "predictions": str(pred_path), "split": split, **result})
        print(
            f"{pred_path}: SRCC {result['srcc']:.3f} PLCC {result['plcc']:.3f} "
            f"(parse failures {result['parse_failure_rate']:.1%}) -> {output}"
        )
    return 0
