"""Settings of GRPO's colocated vLLM engine: its context length and its share of GPU memory.

TRL 1.16 builds the colocated engine from `GRPOConfig.vllm_max_model_length` (default: inferred from the
model, 128k tokens for Qwen2.5-VL-7B) and `vllm_gpu_memory_utilization` (default 0.3), with
`max_num_seqs = per_device_train_batch_size x vllm_tensor_parallel_size x steps_per_generation`
(trl/trainer/grpo_trainer.py, the VLLMGeneration(...) call; trl/generation/vllm_generation.py, LLM(...)).
vLLM refuses to start when one sequence of max_model_len tokens does not fit in the KV cache its share
leaves beside a full bf16 copy of the weights, so the defaults fail on an 80 GB GPU with the 7B model.

Here both come from the config (`compute.vllm_max_model_len`, `compute.vllm_gpu_memory_utilization`) or are
derived: the context from the longest prompt (text, chat template and image tokens) plus the completion
budget; the memory share from the weights, the KV cache of every sequence of a generation batch at that
length, and vLLM's own working memory.
"""

from __future__ import annotations

import math

from mgiqa.errors import ConfigError

# Qwen2-VL / Qwen2.5-VL image processor: 14-pixel patches merged 2 x 2 into one token, so one token per
# 28 x 28 pixels; each side is rounded to a multiple of 28 (transformers
# models/qwen2_vl/image_processing_qwen2_vl.py, smart_resize and the patch_size / merge_size defaults).
PIXELS_PER_TOKEN_SIDE = 28
# The Qwen2.5-VL chat template around one user turn (default system prompt, role markers, the vision
# start / end / pad tokens' frame and the generation prompt) takes about 30 tokens; twice that as margin.
CHAT_TEMPLATE_TOKENS = 64
CONTEXT_MULTIPLE = 256
# vLLM's working memory beyond weights and KV cache: activations of one profiling step at TRL's
# max_num_batched_tokens=4096, the vision encoder's profiling run, CUDA graphs and the allocator's slack.
VLLM_WORKSPACE_GIB = 4.0
MIN_UTILIZATION = 0.3  # TRL's default: never ask for less
UTILIZATION_STEP = 0.05


def image_tokens(config: dict) -> int:
    """Visual tokens of one image as the processor will see it (an upper bound)."""
    model = config["model"]
    if model.get("max_pixels"):
        return int(model["max_pixels"]) // PIXELS_PER_TOKEN_SIDE**2
    side = math.ceil(int(model["image_size"]) / PIXELS_PER_TOKEN_SIDE)
    return side * side


def prompt_tokens(config: dict, prompt_kind: str) -> int:
    """Tokens of a rendered prompt, bounded from above without a tokenizer: Qwen2's byte-level BPE gives at
    most one token per UTF-8 byte of text, plus the chat template's tokens and the image's."""
    from mgiqa.prompts import prompt_text

    return len(prompt_text(prompt_kind).encode("utf-8")) + CHAT_TEMPLATE_TOKENS + image_tokens(config)


def completion_tokens(config: dict) -> int:
    grpo = config["grpo"]
    return int(grpo.get("max_completion_length", config["generation"]["max_new_tokens"]))


def max_model_len(config: dict, prompt_kind: str) -> int:
    """`compute.vllm_max_model_len`, or the longest prompt plus the completion budget, rounded up."""
    explicit = config["compute"]["vllm_max_model_len"]
    needed = prompt_tokens(config, prompt_kind) + completion_tokens(config)
    if explicit is not None:
        if int(explicit) < needed:
            raise ConfigError(
                f"compute.vllm_max_model_len={explicit} is below prompt + completion = {needed} tokens "
                f"(prompt {prompt_kind!r} with its image, grpo max completion length)"
            )
        return int(explicit)
    return -(-needed // CONTEXT_MULTIPLE) * CONTEXT_MULTIPLE


def generation_sequences(config: dict) -> int:
    """Sequences one process's engine holds at once: TRL's max_num_seqs, B x K of one plan batch."""
    return int(config["batches"]["images_per_batch"]) * int(config["grpo"]["num_generations"])


def engine_memory_gib(shape, context: int, sequences: int, dtype_bytes: int = 2) -> float:
    """Weights (a full copy per process, tensor parallel 1), the KV cache of `sequences` sequences of
    `context` tokens, and vLLM's workspace."""
    weights = shape.n_params * dtype_bytes
    kv_per_token = 2 * shape.num_layers * shape.num_kv_heads * shape.head_dim * dtype_bytes
    return (weights + kv_per_token * context * sequences) / 1024**3 + VLLM_WORKSPACE_GIB


def gpu_memory_utilization(config: dict, shape, context: int) -> float:
    """`compute.vllm_gpu_memory_utilization`, or the engine's need as a fraction of `compute.gpu_memory_gb`
    (rounded up to 0.05, at least TRL's 0.3)."""
    compute = config["compute"]
    if compute["vllm_gpu_memory_utilization"] is not None:
        return float(compute["vllm_gpu_memory_utilization"])
    gpu_gib = compute.get("gpu_memory_gb")
    if not gpu_gib:
        raise ConfigError("compute.gpu_memory_gb is needed to derive vllm_gpu_memory_utilization; set either")
    need = engine_memory_gib(shape, context, generation_sequences(config)) / float(gpu_gib)
    share = max(MIN_UTILIZATION, math.ceil(round(need / UTILIZATION_STEP, 6)) * UTILIZATION_STEP)
    if share >= 0.9:
        raise ConfigError(
            f"colocated vLLM needs {need:.2f} of a {gpu_gib} GB GPU for the weights and a KV cache of "
            f"{generation_sequences(config)} sequences x {context} tokens: no room is left for training"
        )
    return round(share, 2)


def model_shape(config: dict, model_dir):
    """The model's shape: from its config.json when present, else the published shape of model.hub_id."""
    from pathlib import Path

    from mgiqa.memory import KNOWN_MODELS, ModelShape

    if model_dir is not None and (Path(model_dir) / "config.json").is_file():
        return ModelShape.from_config_json(model_dir)
    hub_id = config["model"].get("hub_id")
    if hub_id in KNOWN_MODELS:
        return KNOWN_MODELS[hub_id]
    raise ConfigError(f"no config.json under {model_dir} and no known shape for model.hub_id {hub_id!r}")


PROMPT_KINDS = ("attribute", "overall")


def vllm_args(config: dict, model_dir=None) -> dict:
    """GRPOConfig keyword arguments of the vLLM engine (empty without `compute.vllm`), sized for the longer
    of the two prompts. `model_dir` defaults to the base model (every GRPO start model has its shape)."""
    compute = config["compute"]
    if not compute["vllm"]:
        return {}
    mode = compute["vllm_mode"]
    if mode != "colocate":
        raise ConfigError(
            f"compute.vllm_mode: {mode!r} is not supported: no rule starts `trl vllm-serve` on GPUs of its "
            "own, and TRL would wait for a server nobody started; use colocate"
        )
    if model_dir is None:
        from mgiqa.pipeline import base_model

        model_dir = base_model(config)
    context = max(max_model_len(config, kind) for kind in PROMPT_KINDS)
    return {
        "use_vllm": True,
        "vllm_mode": "colocate",
        "vllm_max_model_length": context,
        "vllm_gpu_memory_utilization": gpu_memory_utilization(
            config, model_shape(config, model_dir), context
        ),
    }


def reseed_rollouts(config: dict, ablation: str, seed: int, process_index: int) -> int | None:
    """Make colocated vLLM rollouts follow the training seed; returns the seed set (None without vLLM).

    TRL builds the colocated engine with `seed=process_index` whatever the training seed
    (trl/generation/vllm_generation.py, the `LLM(...)` call), and vLLM's worker, which runs inside the
    training process (`distributed_executor_backend="external_launcher"`), seeds torch's global generators
    with it: every training seed would draw the same rollouts. vLLM samples requests without a seed of their
    own from torch's default generator, so seeding it again once the engine is built, from the training seed
    and the process, gives each (seed, process) its own rollouts. TRL sends the K copies of a prompt as K
    requests without a per-request seed: they draw successive numbers of that generator and stay different
    (one seed per prompt would make the K samples identical and zero every advantage)."""
    if not config["compute"]["vllm"]:
        return None
    from transformers import set_seed

    from mgiqa.config import derive_seed

    rollout_seed = derive_seed(config, "rollouts", ablation, seed, process_index)
    set_seed(rollout_seed)
    return rollout_seed
