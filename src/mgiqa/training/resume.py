"""Resuming a killed SFT / GRPO run: pick a checkpoint that can be read, and restore its weights exactly.

Two things the Trainer does not do for us (transformers 5.23, `Trainer._load_from_checkpoint`):

- It reloads `model.safetensors` with `model.load_state_dict(state_dict, strict=False)`. `save_pretrained`
  writes a model's *original* checkpoint layout (`core_model_loading.revert_weight_conversion`): for
  Qwen2.5-VL `visual.*` and `model.layers.*`, while the live module names are `model.visual.*` and
  `model.language_model.*`. So no key matches, nothing is loaded, and the Trainer only logs a warning: the
  resumed run continues from the *initial* weights with the checkpoint's optimizer state.
  `load_checkpoint_weights` loads the checkpoint the way `from_pretrained` does (which applies the model's
  key conversion), refuses any missing, unexpected or mis-shaped key naming the checkpoint, and copies the
  tensors into the live model with `strict=True`.
- It trusts the newest `checkpoint-N`. `usable_checkpoint` opens every file the Trainer will read
  (safetensors headers, the torch pickles with `weights_only=True`, the allow-list the Trainer uses, and
  `mmap=True`, so the tensor data is
  not read, and the JSON state) and falls back to the previous complete checkpoint when one is torn.

DeepSpeed and FSDP restore weights through their own engines (the Trainer calls them instead of
`_load_from_checkpoint`); PEFT adapters are reloaded by PEFT. Those paths are left to the Trainer.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from mgiqa.errors import DataIntegrityError

log = logging.getLogger(__name__)

TORCH_FILES = ("*.pt", "*.pth", "*.bin")


def unreadable_reason(checkpoint: Path) -> str | None:
    """Why the Trainer could not resume from `checkpoint` (the first bad file), or None if every file opens."""
    import torch
    from safetensors import safe_open
    from transformers.trainer_pt_utils import safe_globals  # the numpy globals the Trainer's RNG file holds

    for path in sorted(checkpoint.glob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return f"{path.name}: {exc}"
    weights = sorted(checkpoint.glob("*.safetensors"))
    for path in weights:
        try:
            with safe_open(str(path), framework="pt") as f:
                for key in f.keys():  # noqa: SIM118 (safe_open is not iterable)
                    f.get_slice(key)  # checks the tensor's byte range lies inside the file
        except Exception as exc:  # safetensors raises its own error types for every malformed file
            return f"{path.name}: {type(exc).__name__}: {exc}"
    for pattern in TORCH_FILES:
        for path in sorted(checkpoint.glob(pattern)):
            if path.name == "training_args.bin":
                continue  # a pickle of TrainingArguments; the Trainer never loads it on resume
            try:
                with safe_globals():
                    torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except Exception as exc:  # torn zip, refused pickle global, ...: all mean "cannot resume from it"
                return f"{path.name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def load_checkpoint_weights(model, checkpoint: str | Path) -> None:
    """Copy the weights saved in `checkpoint` into `model` (an unwrapped PreTrainedModel), exactly.

    Raises DataIntegrityError naming the checkpoint when a key is missing, unexpected or of another shape.
    """
    checkpoint = Path(checkpoint)
    try:
        saved, info = type(model).from_pretrained(
            checkpoint,
            config=model.config,
            dtype=next(model.parameters()).dtype,
            use_safetensors=True,
            trust_remote_code=False,
            output_loading_info=True,
        )
    except RuntimeError as exc:  # transformers refuses tensors of another shape with a RuntimeError
        raise DataIntegrityError(
            f"{checkpoint}: cannot resume, the checkpoint does not fit the model: {exc}"
        ) from exc
    problems = {kind: sorted(map(str, keys)) for kind, keys in info.items() if keys}
    if problems:
        raise DataIntegrityError(
            f"{checkpoint}: cannot resume, the checkpoint does not fit the model: {problems}"
        )
    model.load_state_dict(saved.state_dict(), strict=True)  # the keys match: checked just above
    del saved
    log.info("%s: restored every weight of the model", checkpoint)


class ExactResumeMixin:
    """Trainer mixin: resume restores the checkpoint's weights or fails (see the module docstring)."""

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        from transformers.trainer import _is_peft_model

        target = self.model if model is None else model
        if self.is_fsdp_enabled or _is_peft_model(target):
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        load_checkpoint_weights(self.accelerator.unwrap_model(target), resume_from_checkpoint)
        return None
