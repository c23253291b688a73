"""`mgiqa tables`: main, ablation, attribute and significance tables (CSV + Markdown)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--metrics-root", default=None, help="default: {paths.results}/metrics")
    p.add_argument(
        "--predictions-root",
        default=None,
        help="predictions for the significance tests; default {paths.results}/predictions",
    )
    p.add_argument("--out-dir", default=None, help="default: {paths.results}/tables")


def benchmark_names(config: dict) -> dict[str, str]:
    """Display names of the benchmarks (`mgiqa.evaluation.tables.display_name` of their registry entries)."""
    from mgiqa import pipeline
    from mgiqa.evaluation.tables import display_name

    reg = pipeline.registry(config)
    return {b: display_name(b, reg.get(b)) for b in config["datasets"]["benchmarks"]}


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mgiqa import pipeline
    from mgiqa.config import load_config
    from mgiqa.evaluation import markdown
    from mgiqa.evaluation.tables import build_tables
    from mgiqa.io import write_table, write_text

    config = load_config(args.config)
    results = Path(config["paths"]["results"])
    out = Path(args.out_dir or pipeline.tables_dir(config))
    names = benchmark_names(config)
    built = build_tables(
        config,
        Path(args.metrics_root or results / "metrics"),
        Path(args.predictions_root or results / "predictions"),
    )
    benchmarks = list(config["datasets"]["benchmarks"])
    renderings = {
        "main": markdown.main_markdown(built["main"], benchmarks, names),
        "ablations": markdown.ablation_markdown(built["ablations"]),
        "attributes": markdown.attribute_markdown(built["attributes"], names),
        "significance": markdown.significance_markdown(built["significance"], names),
    }
    for name, text in renderings.items():
        write_table(out / f"{name}.csv", built[name])
        write_text(out / f"{name}.md", text)
    print(
        f"tables: {len(built['main'])} main rows, {len(built['ablations'])} ablations, "
        f"{len(built['attributes'])} attribute rows -> {out}"
    )
    return 0
