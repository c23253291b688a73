"""The settings a model is used with: its `mgiqa_model.json` combined with the config.

- Fixed fields (`prompt`, `resolution`: what the weights were trained with) come from the checkpoint; a
  `--prompt` or an explicitly given config asking for other values is an error naming the field and both.
- The other usage fields (`readout`, `dtype`, `max_new_tokens`) are the checkpoint's defaults: they apply
  when no config is given; an explicit config's own values are evaluation choices and win (logged when they
  differ), so that a changed `evaluation.readout` reruns the predictions, not the training.
- A checkpoint without the file (a model from the Hub or elsewhere) is used with the config as it is.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from mgiqa.errors import ConfigError
from mgiqa.model import Resolution, image_resolution
from mgiqa.model.model_info import INFO_FILE, PARSER_VERSION, ModelInfo, read_model_info

log = logging.getLogger(__name__)

DEFAULT_PROMPT = "attribute"


@dataclass(frozen=True)
class CheckpointSettings:
    config: dict  # the config with the checkpoint's settings applied
    prompt: str
    info: ModelInfo | None


def resolve_settings(
    model_dir: str | os.PathLike, config: dict, *, config_source: str | None, prompt: str | None = None
) -> CheckpointSettings:
    """The config and prompt kind to use `model_dir` with.

    `config_source`: the config file the user named (None: the default config, which the checkpoint's
    settings override); `prompt`: the prompt kind asked for (None: the checkpoint's, else attribute)."""
    info = read_model_info(model_dir)
    if info is None:
        return CheckpointSettings(config, prompt or DEFAULT_PROMPT, None)
    path = Path(model_dir) / INFO_FILE
    config = copy.deepcopy(config)
    usage = info.usage
    if usage.prompt is not None and prompt is not None and prompt != usage.prompt and "prompt" in info.fixed:
        raise ConfigError(
            f"{path}: usage.prompt: the model was trained with the {usage.prompt!r} prompt, "
            f"--prompt asks for {prompt!r}"
        )
    prompt = prompt or usage.prompt or DEFAULT_PROMPT
    asked = image_resolution(config)
    if config_source is not None and "resolution" in info.fixed and asked != usage.resolution:
        raise ConfigError(
            f"{path}: usage.resolution: the model was trained at {usage.resolution.describe()!r}, the config "
            f"{config_source} asks for {asked.describe()!r} (model.resolution, image_size, min_pixels, "
            "max_pixels)"
        )
    if config_source is None:
        apply_resolution(config, usage.resolution)
    defaults = {
        ("evaluation", "readout"): usage.readout,
        ("model", "dtype"): usage.dtype,
        ("generation", "max_new_tokens"): usage.max_new_tokens,
    }
    for (section, key), value in defaults.items():
        if config_source is None:
            config[section][key] = value
        elif config[section].get(key) != value:
            log.warning(
                "%s: usage.%s is %r; the config %s sets %s.%s: %r, which is used",
                *(path, key, value, config_source, section, key, config[section].get(key)),
            )
    if usage.parser_version != PARSER_VERSION:
        log.warning(
            "%s: usage.parser_version is %d; responses are parsed by version %d",
            *(path, usage.parser_version, PARSER_VERSION),
        )
    return CheckpointSettings(config, prompt, info)


def apply_resolution(config: dict, resolution: Resolution) -> None:
    """Set the config's `model.resolution` keys so that `image_resolution(config) == resolution`."""
    model = config["model"]
    model["resolution"] = resolution.mode
    if resolution.mode == "square":
        model["image_size"] = resolution.size
    else:
        model["min_pixels"], model["max_pixels"] = resolution.min_pixels, resolution.max_pixels
