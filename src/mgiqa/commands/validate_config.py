"""`mgiqa validate-config`: check config files against the JSON schema (merged in order, as Snakemake
merges `configfile:` and `--configfile`), optionally writing the effective config the stages read."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "configs", nargs="*", help="config files, later ones override (default config/config.yaml)"
    )
    p.add_argument("--write-effective", metavar="PATH", help="write the merged config here (if it changed)")


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import DEFAULT_CONFIG, load_merged_config, write_effective_config

    paths = args.configs or [str(DEFAULT_CONFIG)]
    config = load_merged_config(paths)
    if args.write_effective:
        write_effective_config(config, args.write_effective)
    print(f"{' + '.join(paths)}: valid ({config['name']}, {len(config['ablations'])} ablations)")
    return 0
