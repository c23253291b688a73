"""`mgiqa sft`: SFT warmup of one prompt kind and seed with TRL's SFTTrainer (resumes a killed run)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--prompt", required=True, choices=["attribute", "overall"], help="prompt kind")
    p.add_argument("--seed", type=int, required=True, help="training seed (one of config seeds)")
    p.add_argument("--model", required=True, help="model directory to start from (models/base)")
    p.add_argument("--tables", nargs="+", required=True, help="prepared tables of the training datasets")
    p.add_argument("-o", "--output", required=True, help="output model directory (models/sft/PROMPT/seedN)")


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import load_config
    from mgiqa.memory import preflight
    from mgiqa.model.stage_info import describe_sft
    from mgiqa.training.sft import train_sft

    config = load_config(args.config)
    preflight(config, "sft", args.model)  # prints the memory estimate; stops a run that cannot fit
    # mgiqa_model.json + card, written into the model folder before it is renamed into place
    describe = describe_sft(config, args.prompt, args.seed, args.model, args.tables)
    result = train_sft(
        config, args.prompt, args.seed, args.model, args.tables, args.output, describe=describe
    )
    resumed = f" (resumed from {result['resumed_from']})" if result["resumed_from"] else ""
    print(f"SFT {args.prompt} seed {args.seed}: {result['global_step']} steps{resumed} -> {result['output']}")
    return 0
