"""`mgiqa build-model`: the base model per model.source (tiny: built offline; hub: snapshot; local: copy)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("-o", "--output", required=True, help="model directory to write")


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import load_config
    from mgiqa.model.hub import build_base_model
    from mgiqa.model.stage_info import record_base

    config = load_config(args.config)
    # mgiqa_model.json + model card, written before the folder is renamed into place
    out = build_base_model(config, args.output, describe=lambda folder: record_base(config, folder))
    print(f"{config['model']['source']} base model -> {out}")
    return 0
