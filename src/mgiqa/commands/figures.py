"""`mgiqa figures`: SRCC bars, prediction scatter, training curves, ablation deltas, attribute heatmap."""

from __future__ import annotations

import argparse

# figure -> file stem under --out-dir (each written as .png and .pdf)
FIGURES = {
    "srcc_bars": "srcc_by_benchmark",
    "scatter": "pred_vs_mos",
    "curves": "training_rewards",
    "ablations": "ablation_deltas",
    "attributes": "attribute_srcc",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--metrics-root", default=None, help="default: {paths.results}/metrics")
    p.add_argument("--predictions-root", default=None, help="default: {paths.results}/predictions")
    p.add_argument("--models-root", default=None, help="GRPO training logs; default {paths.models}")
    p.add_argument("--out-dir", default=None, help="default: {paths.results}/figures")
    p.add_argument("--scatter-method", default="mg_iqa", help="method of the scatter plot (default mg_iqa)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mgiqa import pipeline
    from mgiqa.commands.tables import benchmark_names
    from mgiqa.config import load_config
    from mgiqa.errors import ConfigError, DataIntegrityError
    from mgiqa.evaluation import figures
    from mgiqa.evaluation.average_test import with_average_tests
    from mgiqa.evaluation.predictions import read_predictions
    from mgiqa.evaluation.tables import build_tables
    from mgiqa.io import read_table

    config = load_config(args.config)
    results = Path(config["paths"]["results"])
    predictions_root = Path(args.predictions_root or results / "predictions")
    models_root = Path(args.models_root or config["paths"]["models"])
    out = Path(args.out_dir or pipeline.figures_dir(config))
    benchmarks = list(config["datasets"]["benchmarks"])
    names = benchmark_names(config)
    # the tables in memory, without the per-benchmark significance tests (figures do not show them)
    built = build_tables(config, Path(args.metrics_root or results / "metrics"), None)

    written = figures.srcc_bars(built["main"], benchmarks, names, out / FIGURES["srcc_bars"])
    method = args.scatter_method
    if method not in [*pipeline.model_methods(config), *pipeline.classical_methods(config)]:
        raise ConfigError(f"--scatter-method {method!r}: not a method of this config")
    seed = pipeline.method_seeds(config, method)[0]
    preds = {b: read_predictions(predictions_root / method / f"seed{seed}" / f"{b}.csv") for b in benchmarks}
    written += figures.scatter_grid(preds, names, f"{method} (seed {seed})", out / FIGURES["scatter"])
    logs = {}
    for ablation in pipeline.grpo_ablations(config):
        paths = [models_root / "grpo" / ablation / f"seed{s}" / "train_log.csv" for s in config["seeds"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DataIntegrityError(f"training log(s) missing: {missing}")
        logs[ablation] = [read_table(p) for p in paths]
    written += figures.training_curves(logs, out / FIGURES["curves"])
    ablations = with_average_tests(built["ablations"], config, predictions_root)  # the intervals to draw
    written += figures.ablation_deltas(ablations, out / FIGURES["ablations"])
    written += figures.attribute_heatmap(built["attributes"], names, out / FIGURES["attributes"])
    print(f"figures: {len(written)} files -> {out}")
    return 0
