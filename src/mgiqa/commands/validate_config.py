"""`mgiqa validate-config`: check a config file against the JSON schema."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", default=None, help="config file (default config/config.yaml)")


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import DEFAULT_CONFIG, load_config

    config = load_config(args.config)
    print(f"{args.config or DEFAULT_CONFIG}: valid ({config['name']}, {len(config['ablations'])} ablations)")
    return 0
