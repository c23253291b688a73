"""The `mgiqa` command line: one subcommand per pipeline stage.

Each subcommand lives in its own module under `mgiqa.commands` and exposes
`add_arguments(parser)` and `run(args) -> int`. Modules are imported lazily so
that `mgiqa labels ...` does not pay for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from mgiqa.errors import MgiqaError

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate-config": ("mgiqa.commands.validate_config", "validate a config file against the schema"),
    "fetch": ("mgiqa.commands.fetch", "download (or generate, for the demo) one dataset into its raw folder"),
    "labels": ("mgiqa.commands.labels", "parse a dataset's label file into the canonical table"),
    "prepare": ("mgiqa.commands.prepare", "canonical table joined with the extracted images, checked"),
    "batch-plan": ("mgiqa.commands.batch_plan", "seeded, domain-homogeneous GRPO batch plan"),
    "build-model": ("mgiqa.commands.build_model", "fetch a Hub model or build the tiny demo base model"),
    "fetch-model": ("mgiqa.commands.fetch_model", "fetch a released checkpoint of evaluation.external"),
    "pretrain": ("mgiqa.commands.pretrain", "demo only: teach the tiny base model to see"),
    "sft": ("mgiqa.commands.sft", "SFT warmup with TRL"),
    "grpo": ("mgiqa.commands.grpo", "GRPO with the multi-dimensional Thurstone reward"),
    "predict": ("mgiqa.commands.predict", "batched inference of a model on one benchmark"),
    "classical": ("mgiqa.commands.classical", "classical no-reference baselines on one benchmark"),
    "metrics": ("mgiqa.commands.metrics", "metrics of one method on one benchmark"),
    "tables": ("mgiqa.commands.tables", "main, ablation and attribute tables"),
    "figures": ("mgiqa.commands.figures", "figures from metrics, predictions and training logs"),
    "score": ("mgiqa.commands.score", "score your own images with a checkpoint"),
    "push": ("mgiqa.commands.push", "publish a model folder with its card and mgiqa_model.json to the Hub"),
    "dvc-export": ("mgiqa.commands.dvc_export", "generate dvc.yaml from the Snakemake workflow"),
    "datasets": (
        "mgiqa.commands.datasets",
        "the registry's datasets and their state here (downloaded, prepared, manual steps)",
    ),
    "memory": ("mgiqa.commands.memory", "estimate the memory a training run needs"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported (fast start-up)."""
    parser = argparse.ArgumentParser(prog="mgiqa", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        if only is None or only == name:
            # argument definitions are cheap; the heavy imports happen in run()
            importlib.import_module(module_name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except MgiqaError as exc:
        print(f"mgiqa {args.command}: error: {exc}", file=sys.stderr)
        return 2
