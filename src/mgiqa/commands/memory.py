"""`mgiqa memory`: print the per-device memory estimate of a training stage; fail if it cannot fit."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--stage", choices=["sft", "grpo"], required=True)
    p.add_argument("--model", help="model folder with config.json (default: the config's hub_id shape)")
    p.add_argument("--available-gib", type=float, help="memory per device (default: compute.gpu_memory_gb)")
    p.add_argument("--prompt-tokens", type=int, default=512, help="prompt length incl. visual tokens")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from mgiqa.config import load_config
    from mgiqa.errors import ConfigError
    from mgiqa.memory import KNOWN_MODELS, ModelShape, check_fits, estimate_for_config

    config = load_config(args.config)
    if args.model and (Path(args.model) / "config.json").is_file():
        shape = ModelShape.from_config_json(args.model)
    elif config["model"].get("hub_id") in KNOWN_MODELS and config["model"]["source"] == "hub":
        shape = KNOWN_MODELS[config["model"]["hub_id"]]
    else:
        raise ConfigError(
            f"memory: no config.json under {args.model!r} and no known shape for the config's model"
        )
    estimate = estimate_for_config(config, args.stage, shape, prompt_tokens=args.prompt_tokens)
    print(json.dumps({"stage": args.stage, "n_params": shape.n_params, **estimate.as_dict()}, indent=2))
    available = args.available_gib or config["compute"].get("gpu_memory_gb")
    if available and config["compute"].get("backend") == "cuda":
        check_fits(estimate, available, f"{args.stage} ({config['name']})")
        print(f"fits: {estimate.total_gib:.1f} of {available:.1f} GiB per device")
    return 0
