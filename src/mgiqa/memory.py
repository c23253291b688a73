"""Per-GPU memory estimate of a training stage, checked before launch.

The estimate follows the usual mixed-precision accounting (ZeRO paper, Rajbhandari et al. 2020):
bf16 weights (2 B/param) and gradients (2 B/param), fp32 Adam master weights + two moments
(12 B/param), each sharded over the data-parallel ranks according to the ZeRO stage; a frozen bf16
reference model for GRPO's KL term (sharded under ZeRO-3); activations of the per-GPU batch
(Korthikanti et al. 2022: ~34·s·h bytes per layer and sequence without recomputation, ~2·s·h with
full activation checkpointing); the KV cache of generation; and a fixed CUDA/framework overhead.
It is an estimate: it errs on the high side and is meant to stop runs that cannot fit, hours before
they would crash.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from mgiqa.errors import MgiqaError

GIB = 1024**3
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
FRAMEWORK_OVERHEAD_GIB = 2.5


@dataclass(frozen=True)
class ModelShape:
    n_params: int
    hidden_size: int
    num_layers: int
    num_kv_heads: int
    head_dim: int

    @classmethod
    def from_config_json(cls, path: str | Path) -> ModelShape:
        """Shape of a Qwen2.5-VL checkpoint from its config.json (parameter count computed on `meta`)."""
        import torch
        from transformers import AutoConfig, AutoModelForImageTextToText

        cfg = AutoConfig.from_pretrained(Path(path).parent if Path(path).is_file() else path)
        with torch.device("meta"):
            model = AutoModelForImageTextToText.from_config(cfg)
        text = getattr(cfg, "text_config", cfg)
        n_heads = text.num_attention_heads
        return cls(
            n_params=sum(p.numel() for p in model.parameters()),
            hidden_size=text.hidden_size,
            num_layers=text.num_hidden_layers,
            num_kv_heads=getattr(text, "num_key_value_heads", n_heads),
            head_dim=text.hidden_size // n_heads,
        )


# Published shapes of the Qwen2.5-VL family (config.json of each checkpoint), for estimates made
# before a download. Parameter counts include the vision tower.
KNOWN_MODELS: dict[str, ModelShape] = {
    "Qwen/Qwen2.5-VL-3B-Instruct": ModelShape(3_754_622_976, 2048, 36, 2, 128),
    "Qwen/Qwen2.5-VL-7B-Instruct": ModelShape(8_292_166_656, 3584, 28, 4, 128),
    "Qwen/Qwen2.5-VL-32B-Instruct": ModelShape(33_452_718_336, 5120, 64, 8, 128),
    "Qwen/Qwen2.5-VL-72B-Instruct": ModelShape(73_410_777_088, 8192, 80, 8, 128),
}


@dataclass(frozen=True)
class MemoryEstimate:
    weights_gib: float
    gradients_gib: float
    optimizer_gib: float
    reference_gib: float
    activations_gib: float
    kv_cache_gib: float
    overhead_gib: float

    @property
    def total_gib(self) -> float:
        return sum(asdict(self).values())

    def as_dict(self) -> dict:
        return {**{k: round(v, 3) for k, v in asdict(self).items()}, "total_gib": round(self.total_gib, 3)}


def estimate_training_memory(
    shape: ModelShape,
    *,
    stage: str,
    num_gpus: int,
    zero_stage: int,
    dtype: str,
    sequences_per_gpu: int,
    seq_len: int,
    gen_len: int,
    gradient_checkpointing: bool,
    lora_fraction: float | None = None,
    kl_beta: float = 0.0,
) -> MemoryEstimate:
    """Per-GPU memory of one training stage (`sft` or `grpo`).

    sequences_per_gpu: sequences in one forward/backward on a GPU (GRPO: images_per_batch x K).
    lora_fraction: trainable fraction of the parameters under LoRA (None: full fine-tuning).
    """
    if stage not in ("sft", "grpo"):
        raise MgiqaError(f"memory estimate: unknown stage {stage!r}")
    if dtype not in DTYPE_BYTES:
        raise MgiqaError(f"memory estimate: unknown dtype {dtype!r}")
    n = shape.n_params
    b = DTYPE_BYTES[dtype]
    trainable = n * (lora_fraction if lora_fraction is not None else 1.0)
    shard = max(1, num_gpus)
    weights = n * b / (shard if zero_stage >= 3 else 1)
    grads = trainable * b / (shard if zero_stage >= 2 else 1)
    optim_bytes = 12 if b == 2 else 8  # fp32 master copy + Adam moments (no master copy in fp32)
    optim = trainable * optim_bytes / (shard if zero_stage >= 1 else 1)
    reference = 0.0
    if stage == "grpo" and kl_beta > 0:
        reference = n * b / (shard if zero_stage >= 3 else 1)
    act_per_token_layer = (2 if gradient_checkpointing else 34) * shape.hidden_size
    activations = sequences_per_gpu * seq_len * shape.num_layers * act_per_token_layer
    kv = 0.0
    if stage == "grpo":
        kv = (
            2
            * shape.num_layers
            * shape.num_kv_heads
            * shape.head_dim
            * (seq_len + gen_len)
            * sequences_per_gpu
            * b
        )
    return MemoryEstimate(
        weights_gib=weights / GIB,
        gradients_gib=grads / GIB,
        optimizer_gib=optim / GIB,
        reference_gib=reference / GIB,
        activations_gib=activations / GIB,
        kv_cache_gib=kv / GIB,
        overhead_gib=FRAMEWORK_OVERHEAD_GIB,
    )


ZERO_STAGES = {None: 0, "ddp": 0, "zero2": 2, "zero3": 3}


def estimate_for_config(
    config: dict, stage: str, shape: ModelShape, prompt_tokens: int = 512
) -> MemoryEstimate:
    from mgiqa.training.trainer_args import weights_dtype

    compute = config["compute"]
    lora = config["sft"].get("lora", {})
    if stage == "grpo":
        sequences = config["batches"]["images_per_batch"] * config["grpo"]["num_generations"]
    else:
        sequences = config["sft"]["batch_size"]
    gen_len = config["generation"]["max_new_tokens"]
    return estimate_training_memory(
        shape,
        stage=stage,
        num_gpus=max(1, compute.get("gpus", 0) or compute.get("num_processes", 1)),
        zero_stage=ZERO_STAGES[compute.get("accelerate_config")],
        dtype=weights_dtype(config),  # fp32 master weights unless DeepSpeed keeps them
        sequences_per_gpu=sequences,
        seq_len=prompt_tokens + gen_len,
        gen_len=gen_len,
        gradient_checkpointing=bool(config["model"].get("gradient_checkpointing", False)),
        lora_fraction=0.02 if (stage == "sft" and lora.get("enabled")) else None,
        kl_beta=config["grpo"]["beta"],
    )


def check_fits(estimate: MemoryEstimate, available_gib: float, what: str) -> None:
    if estimate.total_gib > available_gib:
        detail = json.dumps(estimate.as_dict())
        raise MgiqaError(
            f"{what}: needs about {estimate.total_gib:.1f} GiB per device but {available_gib:.1f} GiB are "
            f"available ({detail}). Use more GPUs, a higher ZeRO stage (compute.accelerate_config), "
            "gradient checkpointing (model.gradient_checkpointing), LoRA, or smaller batches."
        )


def preflight(config: dict, stage: str, model_dir: str | Path, log=print) -> MemoryEstimate:
    """Print the estimate before a training launch and stop a run that cannot fit on its GPUs."""
    config_json = Path(model_dir) / "config.json"
    if config_json.is_file():
        shape = ModelShape.from_config_json(model_dir)
    elif config["model"].get("hub_id") in KNOWN_MODELS:
        shape = KNOWN_MODELS[config["model"]["hub_id"]]
    else:
        raise MgiqaError(f"{model_dir}: no config.json to estimate the memory of {stage}")
    estimate = estimate_for_config(config, stage, shape)
    log(f"memory estimate for {stage}: {json.dumps(estimate.as_dict())} ({shape.n_params:,} parameters)")
    available = config["compute"].get("gpu_memory_gb")
    if config["compute"].get("backend") == "cuda" and available:
        check_fits(estimate, available, stage)
    return estimate
