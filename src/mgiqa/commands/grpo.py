"""`mgiqa grpo`: GRPO of one ablation and seed with TRL's GRPOTrainer (resumes a killed run)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--ablation", required=True, help="ablation name (config ablations)")
    p.add_argument("--seed", type=int, required=True, help="training seed (one of config seeds)")
    p.add_argument(
        "--model", required=True, help="model directory to start from (the SFT checkpoint or models/base)"
    )
    p.add_argument("--tables", nargs="+", required=True, help="prepared tables of the training datasets")
    p.add_argument("--batch-plan", required=True, help="batch plan CSV (data/batches/SCOPE.csv)")
    p.add_argument(
        "-o", "--output", required=True, help="output model directory (models/grpo/ABLATION/seedN)"
    )


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import load_config
    from mgiqa.memory import preflight
    from mgiqa.model.stage_info import describe_grpo
    from mgiqa.training.grpo import train_grpo

    config = load_config(args.config)
    preflight(config, "grpo", args.model)  # prints the memory estimate; stops a run that cannot fit
    # mgiqa_model.json + card, written into the model folder before it is renamed into place
    describe = describe_grpo(config, args.ablation, args.seed, args.model, args.tables)
    result = train_grpo(
        config,
        args.ablation,
        args.seed,
        args.model,
        args.tables,
        args.batch_plan,
        args.output,
        describe=describe,
    )
    resumed = f" (resumed from {result['resumed_from']})" if result["resumed_from"] else ""
    print(
        f"GRPO {args.ablation} seed {args.seed}: {result['global_step']} steps{resumed} -> {result['output']}"
    )
    return 0
