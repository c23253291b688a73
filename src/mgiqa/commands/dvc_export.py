"""`mgiqa dvc-export`: generate dvc.yaml from the Snakemake DAG (or check that it is up to date)."""

from __future__ import annotations

import argparse

DEFAULT_CONFIGFILE = "config/config.yaml"  # relative to the Snakefile's folder, as in the Snakefile


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--snakefile", default="Snakefile", help="run from the folder that holds it")
    p.add_argument(
        "--configfile",
        action="append",
        default=[],
        help=f"config file(s), as snakemake --configfile (default {DEFAULT_CONFIGFILE})",
    )
    p.add_argument(
        "--target", action="append", default=None, help="target(s) (default results/tables/main.csv)"
    )
    p.add_argument("-o", "--output", default="dvc.yaml")
    p.add_argument(
        "--check", action="store_true", help="exit 1 if OUTPUT differs from what would be generated"
    )
    p.add_argument("--stamp", help="with --check: write this file when OUTPUT is up to date (a DVC out)")


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from mgiqa.dvc_export import DEFAULT_TARGETS, Export, generate
    from mgiqa.errors import ConfigError
    from mgiqa.io import write_text

    if args.stamp and not args.check:
        raise ConfigError("--stamp is only written by --check")
    snakefile = Path(args.snakefile)
    if snakefile.resolve().parent != Path.cwd().resolve():
        raise ConfigError(f"{snakefile}: run dvc-export from the folder that holds the Snakefile")
    export = Export(
        root=Path.cwd(),
        snakefile=str(snakefile),
        configfiles=args.configfile or [DEFAULT_CONFIGFILE],  # a --configfile replaces the default
        targets=args.target or list(DEFAULT_TARGETS),
        output=args.output,
    )
    text, n_jobs = generate(export)
    out = Path(args.output)
    if args.check:
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            print(
                f"{out} does not match the Snakemake DAG of {' + '.join(export.configfiles)}: regenerate it "
                f"with `mgiqa dvc-export{''.join(f' --configfile {c}' for c in args.configfile)} -o {out}`"
                " (`make dvc-yaml` for the demo config)",
                file=sys.stderr,
            )
            return 1
        if args.stamp:
            write_text(args.stamp, f"{out} matches the Snakemake DAG of {' + '.join(export.configfiles)}\n")
        print(f"{out} is up to date ({n_jobs} stages)")
        return 0
    write_text(out, text)
    print(f"wrote {out}: {n_jobs} stages")
    return 0
