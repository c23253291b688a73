"""`mgiqa batch-plan`: the seeded GRPO batch plan of some training tables (one comparison scope per batch)."""

from __future__ import annotations

import argparse

SCOPE_CHOICES = ("group", "dataset", "domain", "mixed")  # = mgiqa.data.batches.SCOPES (kept import-free)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--tables", nargs="+", required=True, help="canonical or prepared tables (CSV or Parquet)")
    p.add_argument("--scope", choices=SCOPE_CHOICES, default="group", help="what one batch may mix")
    p.add_argument(
        "--split", default="train", help="rows of this split only (default: train); 'all' keeps all"
    )
    p.add_argument(
        "--num-batches",
        type=int,
        default=None,
        help="batches to plan (default: what GRPO consumes, grpo.steps x compute.num_processes, "
        "and at least one pass over the data)",
    )
    p.add_argument("-o", "--output", required=True, help="the plan (CSV or Parquet)")
    p.add_argument("--report", help="JSON report (spread shortfalls, units too small, images left out)")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from mgiqa.config import derive_seed, load_config
    from mgiqa.data.batches import build_batch_plan
    from mgiqa.data.splits import select_split
    from mgiqa.errors import DataIntegrityError
    from mgiqa.io import read_table, write_json, write_table

    config = load_config(args.config)
    frames, datasets = [], []
    for path in args.tables:
        full = read_table(path)
        names = list(dict.fromkeys(full["dataset"].astype(str))) if "dataset" in full.columns else []
        if args.split != "all" and "split" in full.columns and not (full["split"] == args.split).any():
            raise DataIntegrityError(
                f"{path}: training datasets {names} have no rows of split {args.split!r} (see their `splits` "
                "in the dataset registry)"
            )
        frames.append(select_split(full, args.split, path))
        datasets += names
    table = pd.concat(frames, ignore_index=True)
    plan = build_batch_plan(
        table,
        config["batches"]["images_per_batch"],
        scope=args.scope,
        min_mos_spread=config["batches"]["min_mos_spread"],
        num_batches=args.num_batches
        if args.num_batches is not None
        else _batches_consumed(config, table, args.scope),
        seed=derive_seed(config, "batch-plan", args.scope),
        source=" + ".join(args.tables),
        datasets=datasets,
    )
    report = plan.attrs["report"] | {"tables": list(args.tables), "split": args.split}
    write_table(args.output, plan)
    if args.report:
        write_json(args.report, report)
    print(
        f"batch plan ({args.scope}): {report['n_batches']} batches of {report['images_per_batch']} from "
        f"{report['n_images']} images; {report['batches_below_spread']} below the MOS spread "
        f"{report['min_mos_spread']}; {len(report['units_too_small'])} units too small"
    )
    return 0


def _batches_consumed(config: dict, table, scope: str) -> int:
    """Plan batches one GRPO run uses, at least one full pass: a rank generates for one plan batch per
    optimizer step (mgiqa.training.sampler: a local generation batch is one plan batch, B x K rows)."""
    from mgiqa.data.batches import batches_per_pass

    consumed = config["grpo"]["steps"] * config["compute"]["num_processes"]
    return max(consumed, batches_per_pass(table, config["batches"]["images_per_batch"], scope))
