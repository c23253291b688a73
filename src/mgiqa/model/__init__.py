"""Models: the tiny offline Qwen2.5-VL, Hub snapshots, demo pretraining and batched generation.

Submodules import torch/transformers lazily; this package only holds the image preparation every
stage shares, so that training, inference and scoring feed the model identical pixels.
"""

from __future__ import annotations

import os

from PIL import Image

from mgiqa.errors import DataIntegrityError


def prepare_image(image: Image.Image | str | os.PathLike, image_size: int) -> Image.Image:
    """RGB, resized to image_size x image_size (bicubic): every image gives the same visual tokens."""
    if not isinstance(image, Image.Image):
        try:
            with Image.open(image) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError) as exc:
            raise DataIntegrityError(f"{image}: cannot read image: {exc}") from exc
    image = image.convert("RGB")
    if image.size != (image_size, image_size):
        image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
    return image
