"""`mgiqa memory`: print the per-device memory estimate of a training stage term by term, beside the GPU's
memory from the config; fail, saying so, when it will not fit."""

from __future__ import annotations

import argparse

TERMS = (
    ("weights_gib", "weights"),
    ("gradients_gib", "gradients"),
    ("optimizer_gib", "optimizer states"),
    ("model_states_gib", "  model states (sum)"),
    ("reference_gib", "reference model (KL)"),
    ("activations_gib", "activations (one micro-batch)"),
    ("generation_gib", "generation without vLLM (not with activations)"),
    ("vllm_gib", "vLLM colocate reservation"),
    ("overhead_gib", "CUDA / framework overhead"),
    ("total_gib", "total (peak)"),
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--stage", choices=["sft", "grpo"], required=True)
    p.add_argument("--model", help="model folder with config.json (default: the config's hub_id shape)")
    p.add_argument("--available-gib", type=float, help="memory per device (default: compute.gpu_memory_gb)")
    p.add_argument(
        "--image-tokens",
        type=int,
        help="visual tokens of one image (default: the bound of model.max_pixels / model.image_size)",
    )
    p.add_argument("--json", action="store_true", help="print the estimate as JSON only")


def breakdown(estimate, shape, config: dict, stage: str, image_tokens: int | None) -> str:
    """The estimate's terms, one a line, with what they were computed for."""
    from mgiqa.memory import micro_batch, sequence_tokens

    seq_len, bound = sequence_tokens(config, stage)
    if image_tokens is not None:
        seq_len, bound = seq_len - bound + image_tokens, image_tokens
    values = estimate.as_dict()
    lines = [
        f"{stage} ({config['name']}): {shape.n_params:,} parameters, {config['compute'].get('gpus') or 1} "
        f"GPU(s), {config['compute'].get('accelerate_config') or 'no DeepSpeed'}; micro-batch "
        f"{micro_batch(config, stage)} sequences x {seq_len} tokens ({bound} image tokens each)"
    ]
    lines += [f"  {label:<48} {values[key]:8.2f} GiB" for key, label in TERMS]
    return "\n".join(lines)


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
    estimate = estimate_for_config(config, args.stage, shape, image_tokens=args.image_tokens)
    if args.json:
        print(json.dumps({"stage": args.stage, "n_params": shape.n_params, **estimate.as_dict()}, indent=2))
    else:
        print(breakdown(estimate, shape, config, args.stage, args.image_tokens))
    available = args.available_gib or config["compute"].get("gpu_memory_gb")
    if available and config["compute"]["backend"] == "cuda":
        check_fits(estimate, available, f"{args.stage} ({config['name']})")
        print(f"fits: {estimate.total_gib:.1f} of {available:.1f} GiB per device")
    elif not args.json:
        print("no GPU memory to compare with (compute.backend is not cuda and no --available-gib)")
    return 0
