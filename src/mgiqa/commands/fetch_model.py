"""`mgiqa fetch-model`: bring an external method's checkpoint (evaluation.external) into the model folder."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument(
        "--method", required=True, help="name of an evaluation.external entry (hub_id or local_path)"
    )
    p.add_argument("-o", "--output", required=True, help="model directory to write")


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import load_config
    from mgiqa.evaluation.external import entry, fetch

    config = load_config(args.config)
    spec = entry(config, args.method)
    out = fetch(config, args.method, args.output)
    print(f"{args.method}: {spec.get('hub_id') or spec.get('local_path')} -> {out}")
    return 0
