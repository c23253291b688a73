"""`mgiqa pretrain`: demo only, teach the tiny base model to see (distortion naming, disjoint from the benchmarks)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--model", required=True, help="initial model directory (mgiqa build-model output)")
    p.add_argument(
        "--table", required=True, help="prepared pretraining table (data/prepared/demo_pretrain.csv)"
    )
    p.add_argument("-o", "--output", required=True, help="pretrained model directory to write")


def run(args: argparse.Namespace) -> int:
    import json

    from mgiqa.config import load_config
    from mgiqa.model.pretrain import pretrain
    from mgiqa.model.stage_info import record_pretrain

    config = load_config(args.config)
    # mgiqa_model.json + card, written into the folder before it is renamed into place
    evaluation = pretrain(
        args.model, args.table, config, args.output,
        describe=lambda folder, ev: record_pretrain(config, args.model, args.table, folder, ev),
    )  # fmt: skip
    print(f"pretrained -> {args.output}: {json.dumps(evaluation, sort_keys=True)}")
    return 0
