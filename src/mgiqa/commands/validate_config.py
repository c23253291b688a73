"""`mgiqa validate-config`: check config files against the JSON schema (merged in order, as Snakemake
merges `configfile:` and `--configfile`), optionally writing the effective config the stages read: the
merged config with every schema default filled in."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "configs", nargs="*", help="config files, later ones override (default config/config.yaml)"
    )
    p.add_argument(
        "--json",
        metavar="TEXT",
        help="the config itself as JSON, instead of files (what the workflow's effective_config rule passes)",
    )
    p.add_argument(
        "--write-effective", metavar="PATH", help="write the effective config here (if it changed)"
    )


def run(args: argparse.Namespace) -> int:
    import json

    from mgiqa.config import DEFAULT_CONFIG, load_merged_config, validate_config, write_effective_config
    from mgiqa.errors import ConfigError

    if args.json is not None:
        if args.configs:
            raise ConfigError("validate-config: give config files or --json, not both")
        try:
            config = json.loads(args.json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"validate-config --json: not JSON ({exc})") from exc
        if not isinstance(config, dict):
            raise ConfigError("validate-config --json: not a JSON object")
        source = "--json"
        config = validate_config(config, source)
    else:
        paths = args.configs or [str(DEFAULT_CONFIG)]
        source = " + ".join(paths)
        config = load_merged_config(paths)
    if args.write_effective:
        write_effective_config(config, args.write_effective)
    print(f"{source}: valid ({config['name']}, {len(config['ablations'])} ablations)")
    return 0
