"""Models: the tiny offline Qwen2.5-VL, Hub snapshots, demo pretraining and batched generation.

Submodules import torch/transformers lazily; this package only holds the image preparation every
stage shares, so that training, inference and scoring feed the model identical pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PIL import Image

from mgiqa.errors import ConfigError, DataIntegrityError

# Qwen2-VL / Qwen2.5-VL image processor: 14-pixel patches merged 2 x 2, one visual token per 28 x 28 pixels;
# its default pixel limits (transformers models/qwen2_vl/image_processing_qwen2_vl.py, Qwen2VLImageProcessor.size)
PIXEL_FACTOR = 28
QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 28 * 28 * 1280


@dataclass(frozen=True)
class Resolution:
    """How images reach the model: `square` (resized to size x size) or `native` (kept at their own size when
    within [min_pixels, max_pixels] and on the 28-pixel grid, else rescaled keeping the aspect ratio, as
    Qwen2.5-VL's processor does)."""

    mode: str
    size: int | None = None
    min_pixels: int = QWEN_MIN_PIXELS
    max_pixels: int = QWEN_MAX_PIXELS

    def describe(self) -> str:
        """The protocol text of a table row: `square 448` or `native 3136-1003520 px`."""
        if self.mode == "square":
            return f"square {self.size}"
        return f"native {self.min_pixels}-{self.max_pixels} px"

    def target_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) an image of that size is given to the model in."""
        if self.mode == "square":
            return self.size, self.size
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

        h, w = smart_resize(height, width, PIXEL_FACTOR, self.min_pixels, self.max_pixels)
        return w, h


def image_resolution(config: dict) -> Resolution:
    """`model.resolution` of the config: square at `model.image_size` (default) or native within
    `model.min_pixels` / `model.max_pixels` (default Qwen2.5-VL's processor limits)."""
    model = config["model"]
    if model["resolution"] == "square":
        return Resolution("square", int(model["image_size"]))
    low = int(model.get("min_pixels", QWEN_MIN_PIXELS))
    high = int(model.get("max_pixels", QWEN_MAX_PIXELS))
    if low > high:
        raise ConfigError(f"model.min_pixels={low} is above model.max_pixels={high}")
    return Resolution("native", None, low, high)


def prepare_image(image: Image.Image | str | os.PathLike, resolution: int | Resolution) -> Image.Image:
    """RGB, sized per `resolution` (bicubic): an int is a square side (every image gives the same visual
    tokens); a `Resolution` may keep the native size. Every stage sizes images through this function, so
    training, inference and scoring feed the model identical pixels on either backend."""
    if not isinstance(resolution, Resolution):
        resolution = Resolution("square", int(resolution))
    if not isinstance(image, Image.Image):
        try:
            with Image.open(image) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError) as exc:
            raise DataIntegrityError(f"{image}: cannot read image: {exc}") from exc
    image = image.convert("RGB")
    try:
        size = resolution.target_size(*image.size)
    except ValueError as exc:  # smart_resize refuses aspect ratios above 200
        raise DataIntegrityError(f"image of size {image.size}: {exc}") from exc
    if image.size != size:
        image = image.resize(size, Image.Resampling.BICUBIC)
    return image
