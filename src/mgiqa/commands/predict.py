"""`mgiqa predict`: batched, resumable inference of one model on one or more prepared benchmark tables.

The model is loaded once for all the benchmarks given.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--model", required=True, help="model directory (save_pretrained layout)")
    p.add_argument(
        "--benchmark-tables", nargs="+", required=True, help="prepared benchmark tables (data/prepared/X.csv)"
    )
    p.add_argument(
        "--prompt",
        choices=("attribute", "overall"),
        required=True,
        help="prompt kind (must be the one the model was trained with, when its mgiqa_model.json says)",
    )
    p.add_argument("--seed", type=int, default=None, help="sampling seed (default: derived from the config)")
    p.add_argument(
        "--method",
        default=None,
        help="the method predicted: its evaluation split and readout (evaluation.external overrides) apply",
    )
    p.add_argument(
        "--out-dir", required=True, help="folder of the prediction tables (one X.csv per benchmark)"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mgiqa.config import derive_seed, load_config
    from mgiqa.evaluation.external import readout_of, split_of
    from mgiqa.model.checkpoint_settings import resolve_settings
    from mgiqa.model.generate import load_generator, predict_benchmark

    # the checkpoint's mgiqa_model.json: what it was trained with must agree with the config and --prompt
    config = resolve_settings(
        args.model, load_config(args.config), config_source=args.config, prompt=args.prompt
    ).config
    generator = None
    for table in args.benchmark_tables:
        name = Path(table).stem
        seed = args.seed if args.seed is not None else derive_seed(config, "predict", name)
        out = Path(args.out_dir) / f"{name}.csv"
        if generator is None:
            generator = load_generator(args.model, config, seed)
        overrides = {}
        if args.method is not None:
            overrides = {
                "split": split_of(config, args.method, name),
                "readout": readout_of(config, args.method),
            }
        predict_benchmark(
            args.model, table, args.prompt, config, out, seed=seed, generator=generator, **overrides
        )
        print(f"{name}: predictions -> {out}")
    return 0
