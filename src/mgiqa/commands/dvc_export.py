"""`mgiqa dvc-export`: generate dvc.yaml from the Snakemake DAG (or check that it is up to date)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--snakefile", default="Snakefile")
    p.add_argument(
        "--configfile", action="append", default=[], help="extra config file(s), as snakemake --configfile"
    )
    p.add_argument(
        "--target", action="append", default=None, help="target(s) (default results/tables/main.csv)"
    )
    p.add_argument("-o", "--output", default="dvc.yaml")
    p.add_argument(
        "--check", action="store_true", help="exit 1 if OUTPUT differs from what would be generated"
    )


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from mgiqa.config import DEFAULT_CONFIG
    from mgiqa.dvc_export import build_dvc_yaml, render, snakemake_jobs
    from mgiqa.io import write_text

    root = Path(args.snakefile).resolve().parent
    default = (
        str(DEFAULT_CONFIG.relative_to(root)) if DEFAULT_CONFIG.is_relative_to(root) else str(DEFAULT_CONFIG)
    )
    configfiles = args.configfile or [default]  # as the Snakefile: a --configfile replaces the default
    targets = args.target or ["results/tables/main.csv"]
    jobs = snakemake_jobs(Path(args.snakefile), [Path(c) for c in args.configfile], targets)
    text = render(build_dvc_yaml(jobs, params_file=configfiles[-1], configfiles=configfiles))
    out = Path(args.output)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else ""
        if current != text:
            print(f"{out} is stale: regenerate it with `make dvc-yaml`", file=sys.stderr)
            return 1
        print(f"{out} is up to date ({len(jobs)} stages)")
        return 0
    write_text(out, text)
    print(f"wrote {out}: {len(jobs)} stages")
    return 0
