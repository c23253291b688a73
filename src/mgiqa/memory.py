"""Per-GPU memory estimate of a training stage, checked before launch.

Terms (each per GPU, reported separately by `mgiqa memory`):
- model states: mixed-precision accounting of the ZeRO paper (Rajbhandari et al. 2020) as DeepSpeed itself
  estimates it (deepspeed 0.19.8, runtime/zero/stage_1_and_2.py `estimate_zero2_model_states_mem_needs`:
  2N + 18N/G bytes; runtime/zero/stage3.py `estimate_zero3_model_states_mem_needs`: 4 x largest layer +
  18N/G). Here: 16-bit weights (sharded under ZeRO-3, plus DeepSpeed's 4 bytes x largest layer of gathered
  working buffers), 16-bit + fp32 gradients (6 B/param) and fp32 master weights + Adam moments (12 B/param),
  sharded from ZeRO-2 / ZeRO-1 on; without DeepSpeed the weights stay fp32 (trainer_args.weights_dtype):
  4 + 4 + 8 B/param, unsharded. Under ZeRO-3 that is 20N/G + 4L, at least DeepSpeed's 18N/G + 4L.
- reference: the frozen 16-bit reference model of GRPO's KL term (beta > 0), sharded under ZeRO-3.
- activations of one micro-batch as the Trainer forms it (GRPO: per_device_train_batch_size =
  B x K / grpo.gradient_accumulation_steps, trl 1.16 grpo_config.py __post_init__ and grpo.py grpo_args) at
  the real sequence length (prompt text + chat template + image tokens at the configured resolution + max
  completion, mgiqa.training.vllm_colocate's upper bounds): Korthikanti et al. 2022, 34·s·h bytes per layer
  and token without recomputation; with activation checkpointing 2·s·h per layer plus one layer recomputed
  in full during backward. The vision tower's blocks likewise, over the image patches of every sequence
  (TRL repeats each image K times), unless the stage freezes the tower. TRL 1.16 scores completions with
  `fused_lm_head=True` (grpo_trainer.py `_get_per_token_logps_and_entropies`): no full logits tensor.
- generation without vLLM (GRPO): the KV cache of the generation batch (B x K sequences, one plan batch)
  and, under ZeRO-3, the full 16-bit weights gathered for `generate` (trl models/utils.py
  `unwrap_model_for_generation`, ds3_gather_for_generation=True). It is not alive during backward: the
  peak takes the larger of activations and generation.
- vLLM colocate: the engine's reservation, vllm_gpu_memory_utilization x GPU memory (a full weight copy,
  its KV cache and workspace; vllm_colocate.vllm_args derives both settings), held for the whole run.
- a fixed CUDA/framework overhead.
It errs on the high side and is meant to stop runs that cannot fit, hours before they would crash.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from mgiqa.errors import MgiqaError

GIB = 1024**3
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
FRAMEWORK_OVERHEAD_GIB = 2.5
# Qwen2.5-VL vision tower: 14-pixel patches, merged 2 x 2 into one language-model token.
PATCHES_PER_IMAGE_TOKEN = 4


@dataclass(frozen=True)
class ModelShape:
    n_params: int
    hidden_size: int
    num_layers: int
    num_kv_heads: int
    head_dim: int
    largest_layer_params: int = 0  # parameters of the largest module (the token embedding), DeepSpeed's L
    vision_hidden_size: int = 1280  # Qwen2.5-VL's vision tower (the same in every size)
    vision_layers: int = 32

    @classmethod
    def from_config_json(cls, path: str | Path) -> ModelShape:
        """Shape of a Qwen2.5-VL checkpoint from its config.json (parameter counts computed on `meta`)."""
        import torch
        from transformers import AutoConfig, AutoModelForImageTextToText

        cfg = AutoConfig.from_pretrained(Path(path).parent if Path(path).is_file() else path)
        with torch.device("meta"):
            model = AutoModelForImageTextToText.from_config(cfg)
        text = getattr(cfg, "text_config", cfg)
        vision = getattr(cfg, "vision_config", None)
        n_heads = text.num_attention_heads
        largest = max(sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules())
        return cls(
            n_params=sum(p.numel() for p in model.parameters()),
            hidden_size=text.hidden_size,
            num_layers=text.num_hidden_layers,
            num_kv_heads=getattr(text, "num_key_value_heads", n_heads),
            head_dim=text.hidden_size // n_heads,
            largest_layer_params=largest,
            vision_hidden_size=getattr(vision, "hidden_size", 0),
            vision_layers=getattr(vision, "depth", 0),
        )


# Published shapes of the Qwen2.5-VL family (config.json of each checkpoint), for estimates made
# before a download. Parameter counts include the vision tower; the largest layer is the token embedding
# (vocab_size x hidden_size).
KNOWN_MODELS: dict[str, ModelShape] = {
    "Qwen/Qwen2.5-VL-3B-Instruct": ModelShape(3_754_622_976, 2048, 36, 2, 128, 151_936 * 2048),
    "Qwen/Qwen2.5-VL-7B-Instruct": ModelShape(8_292_166_656, 3584, 28, 4, 128, 152_064 * 3584),
    "Qwen/Qwen2.5-VL-32B-Instruct": ModelShape(33_452_718_336, 5120, 64, 8, 128, 152_064 * 5120),
    "Qwen/Qwen2.5-VL-72B-Instruct": ModelShape(73_410_777_088, 8192, 80, 8, 128, 152_064 * 8192),
}


@dataclass(frozen=True)
class MemoryEstimate:
    weights_gib: float
    gradients_gib: float
    optimizer_gib: float
    reference_gib: float
    activations_gib: float
    generation_gib: float  # transformers generation (no vLLM); not alive together with activations
    vllm_gib: float
    overhead_gib: float

    @property
    def model_states_gib(self) -> float:
        return self.weights_gib + self.gradients_gib + self.optimizer_gib

    @property
    def total_gib(self) -> float:
        persistent = self.model_states_gib + self.reference_gib + self.vllm_gib + self.overhead_gib
        return persistent + max(self.activations_gib, self.generation_gib)

    def as_dict(self) -> dict:
        terms = {k: round(v, 3) for k, v in asdict(self).items()}
        return {
            **terms,
            "model_states_gib": round(self.model_states_gib, 3),
            "total_gib": round(self.total_gib, 3),
        }


def model_state_bytes(n: int, trainable: float, b: int, zero_stage: int, shard: int, largest: int):
    """(weights, gradients, optimizer) bytes per GPU; see the module docstring for the accounting. With
    fp32 weights (b = 4) there is no separate master copy and the gradients are fp32 only."""
    extra = 4 if b == 2 else 0  # fp32 gradient copy and fp32 master weights of 16-bit training
    weights = b * n / shard + 4 * largest if zero_stage >= 3 else b * n
    grads = (b + extra) * trainable / (shard if zero_stage >= 2 else 1)
    optim = (8 + extra) * trainable / (shard if zero_stage >= 1 else 1)
    return weights, grads, optim


def activation_bytes(
    shape: ModelShape, sequences: int, seq_len: int, image_tokens: int, checkpointing: bool, vision: bool
) -> float:
    """Activations kept for backward by one micro-batch (language model, then the vision tower's patches)."""
    text = sequences * seq_len * shape.hidden_size
    patches = sequences * image_tokens * PATCHES_PER_IMAGE_TOKEN * shape.vision_hidden_size if vision else 0
    if checkpointing:  # each layer's input, plus one layer recomputed in full during its backward
        return 2 * (text * shape.num_layers + patches * shape.vision_layers) + 34 * max(text, patches)
    return 34 * (text * shape.num_layers + patches * shape.vision_layers)


def estimate_training_memory(
    shape: ModelShape,
    *,
    stage: str,
    num_gpus: int,
    zero_stage: int,
    dtype: str,
    sequences_per_gpu: int,
    seq_len: int,
    gradient_checkpointing: bool,
    lora_fraction: float | None = None,
    kl_beta: float = 0.0,
    image_tokens: int = 0,
    train_vision: bool = True,
    generation_sequences: int | None = None,
    vllm_reservation_gib: float = 0.0,
) -> MemoryEstimate:
    """Per-GPU memory of one training stage (`sft` or `grpo`).

    sequences_per_gpu: sequences in one forward/backward on a GPU (the micro-batch).
    seq_len: tokens of one sequence (prompt with its image tokens + completion).
    generation_sequences: sequences generated at once on a GPU without vLLM (GRPO; default the micro-batch).
    vllm_reservation_gib: colocated vLLM's share of the GPU (0 without vLLM); replaces generation memory.
    lora_fraction: trainable fraction of the parameters under LoRA (None: full fine-tuning).
    """
    if stage not in ("sft", "grpo"):
        raise MgiqaError(f"memory estimate: unknown stage {stage!r}")
    if dtype not in DTYPE_BYTES:
        raise MgiqaError(f"memory estimate: unknown dtype {dtype!r}")
    n, b, shard = shape.n_params, DTYPE_BYTES[dtype], max(1, num_gpus)
    trainable = n * (lora_fraction if lora_fraction is not None else 1.0)
    weights, grads, optim = model_state_bytes(n, trainable, b, zero_stage, shard, shape.largest_layer_params)
    reference = 0.0
    if stage == "grpo" and kl_beta > 0:
        reference = b * n / (shard if zero_stage >= 3 else 1)  # loaded like the policy (weights_dtype)
    activations = activation_bytes(
        shape, sequences_per_gpu, seq_len, image_tokens, gradient_checkpointing, train_vision
    )
    generation = 0.0
    if stage == "grpo" and not vllm_reservation_gib:
        kv_per_token = 2 * shape.num_layers * shape.num_kv_heads * shape.head_dim * 2
        generation = kv_per_token * seq_len * (generation_sequences or sequences_per_gpu)
        if zero_stage >= 3:
            generation += 2 * n * (1 - 1 / shard)  # the other ranks' shards, gathered for `generate`
    return MemoryEstimate(
        weights_gib=weights / GIB,
        gradients_gib=grads / GIB,
        optimizer_gib=optim / GIB,
        reference_gib=reference / GIB,
        activations_gib=activations / GIB,
        generation_gib=generation / GIB,
        vllm_gib=vllm_reservation_gib,
        overhead_gib=FRAMEWORK_OVERHEAD_GIB,
    )


ZERO_STAGES = {None: 0, "ddp": 0, "zero2": 2, "zero3": 3}


def micro_batch(config: dict, stage: str) -> int:
    """Sequences of one forward/backward on a GPU: SFT's batch_size; GRPO's per_device_train_batch_size,
    B x K / grpo.gradient_accumulation_steps (mgiqa.training.grpo.grpo_args; TRL 1.16 then takes
    steps_per_generation = gradient_accumulation_steps, so one generation batch is B x K rows)."""
    if stage == "sft":
        return int(config["sft"]["batch_size"])
    from mgiqa.training.vllm_colocate import generation_sequences

    return generation_sequences(config) // int(config["grpo"]["gradient_accumulation_steps"])


def vllm_reservation_gib(config: dict, stage: str, shape: ModelShape) -> float:
    """Colocated vLLM's share of one GPU: gpu_memory_utilization x compute.gpu_memory_gb, the settings
    GRPO passes to TRL (mgiqa.training.vllm_colocate.vllm_args); 0 without vLLM or outside GRPO."""
    compute = config["compute"]
    if stage != "grpo" or not compute["vllm"]:
        return 0.0
    from mgiqa.training import vllm_colocate as vc

    context = max(vc.max_model_len(config, kind) for kind in vc.PROMPT_KINDS)
    return vc.gpu_memory_utilization(config, shape, context) * float(compute["gpu_memory_gb"])


def image_tokens(config: dict) -> int:
    """Visual tokens of one image: ceil(side / 28)^2 at `resolution: square` (Qwen2-VL's processor,
    transformers qwen2_vl/image_processing_qwen2_vl.py smart_resize), else the `model.max_pixels` bound."""
    from mgiqa.training import vllm_colocate as vc

    model = config["model"]
    if model["resolution"] == "square":
        side = -(-int(model["image_size"]) // vc.PIXELS_PER_TOKEN_SIDE)  # ceil
        return side * side
    return vc.image_tokens(config)


def sequence_tokens(config: dict, stage: str) -> tuple[int, int]:
    """(tokens of the longest sequence, image tokens of one image): the longer prompt kind with its image
    and chat template, plus the completion budget (upper bounds of mgiqa.training.vllm_colocate)."""
    from mgiqa.training import vllm_colocate as vc

    text = max(vc.prompt_tokens(config, kind) for kind in vc.PROMPT_KINDS) - vc.image_tokens(config)
    completion = vc.completion_tokens(config) if stage == "grpo" else config["generation"]["max_new_tokens"]
    return text + image_tokens(config) + int(completion), image_tokens(config)


def estimate_for_config(
    config: dict, stage: str, shape: ModelShape, image_tokens: int | None = None
) -> MemoryEstimate:
    """The estimate of `stage` as the config would launch it; `image_tokens` overrides the per-image bound
    (e.g. the real size of a dataset's images at native resolution)."""
    from mgiqa.training.trainer_args import weights_dtype
    from mgiqa.training.vllm_colocate import generation_sequences

    compute, section = config["compute"], config[stage]
    seq_len, bound = sequence_tokens(config, stage)
    if image_tokens is not None:
        seq_len, bound = seq_len - bound + image_tokens, image_tokens
    lora = config["sft"]["lora"]
    return estimate_training_memory(
        shape,
        stage=stage,
        num_gpus=max(1, compute["gpus"] or compute["num_processes"]),
        zero_stage=ZERO_STAGES[compute["accelerate_config"]],
        dtype=weights_dtype(config),  # fp32 master weights unless DeepSpeed keeps them
        sequences_per_gpu=micro_batch(config, stage),
        seq_len=seq_len,
        gradient_checkpointing=bool(config["model"]["gradient_checkpointing"]),
        lora_fraction=0.02 if (stage == "sft" and lora["enabled"]) else None,
        kl_beta=float(config["grpo"]["beta"]),
        image_tokens=bound,
        train_vision=not section["freeze_vision_tower"],
        generation_sequences=generation_sequences(config) if stage == "grpo" else None,
        vllm_reservation_gib=vllm_reservation_gib(config, stage, shape),
    )


def check_fits(estimate: MemoryEstimate, available_gib: float, what: str) -> None:
    if estimate.total_gib > available_gib:
        detail = json.dumps(estimate.as_dict())
        raise MgiqaError(
            f"{what}: will not fit: needs about {estimate.total_gib:.1f} GiB per device but "
            f"{available_gib:.1f} GiB are available ({detail}). Use more GPUs, a higher ZeRO stage "
            "(compute.accelerate_config), gradient checkpointing (model.gradient_checkpointing), LoRA, "
            "smaller micro-batches (grpo.gradient_accumulation_steps), fewer image tokens (model.max_pixels) "
            "or freeze the vision tower (freeze_vision_tower)."
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
    if config["compute"]["backend"] == "cuda" and available:
        check_fits(estimate, available, stage)
    return estimate
