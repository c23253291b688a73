"""Merge a saved LoRA adapter into its base weights, in one process, from files.

Under DeepSpeed ZeRO-3 every rank holds only a shard of each parameter (the live tensors are empty
placeholders), so `merge_and_unload()` on the trained model would merge nothing into nothing. Instead every
rank takes part in `Trainer.save_model`, which gathers the adapter (transformers trainer.py, save_model:
under ZeRO-3 with a PEFT model `_zero3_consolidated_16bit_state_dict(exclude_frozen_parameters=True)`),
and the main process then loads the base model from disk, applies the saved adapter and merges it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mgiqa.errors import ConfigError

ADAPTER_CONFIG = "adapter_config.json"


def merge_saved_adapter(adapter_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Load the adapter's base model (`base_model_name_or_path` of adapter_config.json), apply the adapter,
    merge it and save the plain model (safetensors) into `out_dir`."""
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    config_path = adapter_dir / ADAPTER_CONFIG
    if not config_path.is_file():
        raise ConfigError(f"{adapter_dir}: no {ADAPTER_CONFIG}; the trainer saved no LoRA adapter")
    base = json.loads(config_path.read_text(encoding="utf-8"))["base_model_name_or_path"]
    if not (Path(base) / "config.json").is_file():
        raise ConfigError(f"{config_path}: base model {base!r} is not a local model folder")
    model = AutoModelForImageTextToText.from_pretrained(
        base, dtype="auto", use_safetensors=True, trust_remote_code=False
    )
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    merged.save_pretrained(out_dir, safe_serialization=True)
    return out_dir
