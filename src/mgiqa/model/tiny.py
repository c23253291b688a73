"""Build the tiny demo base model offline: real Qwen2.5-VL classes, small sizes, seeded initialisation.

`build_tiny_model(out_dir, config)` writes a directory that `AutoProcessor.from_pretrained` and
`AutoModelForImageTextToText.from_pretrained` load without remote code: a `Qwen2_5_VLForConditionalGeneration`
(safetensors) and a `Qwen2_5_VLProcessor` (Qwen2VL image/video processors + an offline-trained
`Qwen2Tokenizer` with Qwen2.5-VL's special tokens and chat template). Every image is resized to
`model.image_size` squared pixels, so every image gives the same number of visual tokens.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from mgiqa.config import derive_seed
from mgiqa.errors import ConfigError
from mgiqa.model.loading import Describe
from mgiqa.model.tokenizer import default_corpus, train_tokenizer

PATCH_SIZE = 14  # Qwen2.5-VL's ViT patch and 2x2 token merge (defaults of model.tiny.patch_size / ...)
SPATIAL_MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2


PATCH_EMBEDDINGS = ("random", "dct")  # model.tiny.patch_embedding: the ViT patch embedding's initialisation


def patch_embedding(config: dict) -> str:
    """model.tiny.patch_embedding: `random` (transformers' init) or `dct` (`mgiqa.model.patch_filters`)."""
    value = config["model"]["tiny"]["patch_embedding"]
    if value not in PATCH_EMBEDDINGS:
        raise ConfigError(f"model.tiny.patch_embedding: {value!r} is not one of {list(PATCH_EMBEDDINGS)}")
    return value


def tiny_sizes(config: dict) -> dict:
    """The tiny model's sizes from `config["model"]["tiny"]`, validated."""
    tiny = config["model"].get("tiny")
    if not tiny:
        raise ConfigError("model.tiny: missing (model.source is tiny)")
    required = (
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "vision_depth",
        "vision_hidden_size",
        "vision_num_heads",
    )
    missing = [k for k in required if k not in tiny]
    if missing:
        raise ConfigError(f"model.tiny: missing {missing}")
    sizes = {k: int(tiny[k]) for k in required}
    # optional keys: their defaults are Qwen2.5-VL's proportions
    optional = {
        "vision_intermediate_size": 2 * sizes["vision_hidden_size"],
        "patch_size": PATCH_SIZE,
        "spatial_merge_size": SPATIAL_MERGE_SIZE,
    }
    sizes |= {k: int(tiny.get(k, default)) for k, default in optional.items()}
    if sizes["hidden_size"] % sizes["num_attention_heads"]:
        raise ConfigError("model.tiny: hidden_size must be a multiple of num_attention_heads")
    if sizes["num_attention_heads"] % sizes["num_key_value_heads"]:
        raise ConfigError("model.tiny: num_attention_heads must be a multiple of num_key_value_heads")
    if sizes["vision_hidden_size"] % sizes["vision_num_heads"]:
        raise ConfigError("model.tiny: vision_hidden_size must be a multiple of vision_num_heads")
    head_dim = sizes["hidden_size"] // sizes["num_attention_heads"]
    if head_dim % 4:
        raise ConfigError(f"model.tiny: text head dim {head_dim} must be a multiple of 4 (M-RoPE sections)")
    vision_head_dim = sizes["vision_hidden_size"] // sizes["vision_num_heads"]
    if vision_head_dim % 4:
        raise ConfigError(f"model.tiny: vision head dim {vision_head_dim} must be a multiple of 4 (2D RoPE)")
    return sizes


def mrope_section(head_dim: int) -> list[int]:
    """Temporal/height/width split of the rotary half-dimension, in Qwen2.5-VL's 16:24:24 proportions."""
    half = head_dim // 2
    t = max(1, round(half * 16 / 64))
    h = (half - t) // 2
    return [t, h, half - t - h]


def image_processor_kwargs(
    image_size: int, patch_size: int = PATCH_SIZE, merge_size: int = SPATIAL_MERGE_SIZE
) -> dict:
    """Processor sizes that map every (image_size x image_size) image to one fixed patch grid."""
    if image_size % (patch_size * merge_size):
        raise ConfigError(
            f"model.image_size: {image_size} is not a multiple of patch x merge = {patch_size * merge_size}"
        )
    pixels = image_size * image_size
    return {
        "min_pixels": pixels,
        "max_pixels": pixels,
        "patch_size": patch_size,
        "temporal_patch_size": TEMPORAL_PATCH_SIZE,
        "merge_size": merge_size,
    }


def build_processor(config: dict, corpus_extra: Iterable[str] = ()):
    """A `Qwen2_5_VLProcessor` with an offline-trained tokenizer (deterministic for a given corpus)."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    sizes = tiny_sizes(config)
    from mgiqa.model.pretrain_data import tokenizer_corpus

    tokenizer = train_tokenizer(default_corpus([*tokenizer_corpus(), *corpus_extra]), sizes["vocab_size"])
    kwargs = image_processor_kwargs(
        int(config["model"]["image_size"]), sizes["patch_size"], sizes["spatial_merge_size"]
    )
    image_processor = Qwen2VLImageProcessor(**kwargs)
    video_processor = Qwen2VLVideoProcessor(**kwargs)
    return Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=tokenizer.chat_template,
    )


def build_model_config(config: dict, tokenizer):
    """A small `Qwen2_5_VLConfig` whose token ids are the tokenizer's."""
    from transformers import Qwen2_5_VLConfig

    sizes = tiny_sizes(config)
    if len(tokenizer) > sizes["vocab_size"]:
        raise ConfigError(f"model.tiny.vocab_size: {sizes['vocab_size']} < tokenizer size {len(tokenizer)}")
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")}
    head_dim = sizes["hidden_size"] // sizes["num_attention_heads"]
    image_size = int(config["model"]["image_size"])
    text_config = {
        "vocab_size": sizes["vocab_size"],
        "hidden_size": sizes["hidden_size"],
        "intermediate_size": sizes["intermediate_size"],
        "num_hidden_layers": sizes["num_hidden_layers"],
        "num_attention_heads": sizes["num_attention_heads"],
        "num_key_value_heads": sizes["num_key_value_heads"],
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": mrope_section(head_dim),
        },
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "tie_word_embeddings": False,
    }
    vision_config = {
        "depth": sizes["vision_depth"],
        "hidden_size": sizes["vision_hidden_size"],
        "intermediate_size": sizes["vision_intermediate_size"],
        "num_heads": sizes["vision_num_heads"],
        "out_hidden_size": sizes["hidden_size"],
        "patch_size": sizes["patch_size"],
        "spatial_merge_size": sizes["spatial_merge_size"],
        "temporal_patch_size": TEMPORAL_PATCH_SIZE,
        "window_size": image_size,  # one attention window spans the whole (fixed-size) image
        "fullatt_block_indexes": [sizes["vision_depth"] - 1],
        "tokens_per_second": 2,
    }
    return Qwen2_5_VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tokenizer.convert_tokens_to_ids("<|vision_end|>"),
        tie_word_embeddings=False,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )


def build_tiny_model(
    out_dir: str | os.PathLike,
    config: dict,
    corpus_extra: Iterable[str] = (),
    describe: Describe | None = None,
) -> Path:
    """Build, seed-initialise and save the tiny Qwen2.5-VL + processor into `out_dir` (atomically; `describe`
    as in `save_pretrained_atomic`)."""
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    from mgiqa.model.loading import save_pretrained_atomic, torch_dtype

    processor = build_processor(config, corpus_extra)
    tokenizer = processor.tokenizer
    model_config = build_model_config(config, tokenizer)
    torch.manual_seed(derive_seed(config, "build-model"))
    model = Qwen2_5_VLForConditionalGeneration(model_config)
    if patch_embedding(config) == "dct":
        from mgiqa.model.patch_filters import apply_dct_patch_embedding

        apply_dct_patch_embedding(model)
    model = model.to(dtype=torch_dtype(config["model"]["dtype"]))
    model.generation_config = GenerationConfig(
        bos_token_id=model_config.bos_token_id,
        eos_token_id=[
            tokenizer.convert_tokens_to_ids("<|im_end|>"),
            tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        ],
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    return save_pretrained_atomic(model, processor, out_dir, describe)
