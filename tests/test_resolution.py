"""Native resolution: images keep their size within Qwen2.5-VL's pixel limits (on its 28-pixel grid) instead
of the square resize; one function (`prepare_image`) sizes images for every stage."""

from __future__ import annotations

import pytest
from PIL import Image

from mgiqa.config import schema_defaults
from mgiqa.errors import ConfigError
from mgiqa.model import QWEN_MAX_PIXELS, QWEN_MIN_PIXELS, Resolution, image_resolution, prepare_image


def model_config(**model):
    """A model section; what it leaves out is the schema's default."""
    defaults = {"resolution": schema_defaults()["model.resolution"]}
    return {"model": {"source": "tiny", "dtype": "float32", "image_size": 56, **defaults, **model}}


def test_the_square_resize_stays_the_default():
    resolution = image_resolution(model_config())
    assert resolution == Resolution("square", 56)
    assert prepare_image(Image.new("RGB", (300, 200)), resolution).size == (56, 56)
    assert prepare_image(Image.new("RGB", (300, 200)), 56).size == (56, 56)  # an int is a square side
    assert resolution.describe() == "square 56"


def test_native_resolution_keeps_an_image_on_the_grid_as_it_is():
    resolution = image_resolution(model_config(resolution="native"))
    assert (resolution.min_pixels, resolution.max_pixels) == (QWEN_MIN_PIXELS, QWEN_MAX_PIXELS)
    assert prepare_image(Image.new("RGB", (1008, 756)), resolution).size == (1008, 756)
    assert prepare_image(Image.new("L", (500, 380)), resolution).size == (504, 392)  # rounded to 28s
    assert prepare_image(Image.new("L", (500, 380)), resolution).mode == "RGB"
    assert resolution.describe() == "native 3136-1003520 px"


def test_native_resolution_rescales_outside_the_pixel_limits_keeping_the_aspect_ratio():
    resolution = image_resolution(
        model_config(resolution="native", min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 16)
    )
    big = prepare_image(Image.new("RGB", (4000, 3000)), resolution)
    assert big.size[0] * big.size[1] <= 28 * 28 * 16 and big.size[0] > big.size[1]
    assert big.size[0] % 28 == 0 and big.size[1] % 28 == 0
    small = prepare_image(Image.new("RGB", (30, 20)), resolution)
    assert small.size[0] * small.size[1] >= 28 * 28 * 4


def test_pixel_limits_the_wrong_way_round_are_a_config_error():
    with pytest.raises(ConfigError, match="min_pixels"):
        image_resolution(model_config(resolution="native", min_pixels=10_000, max_pixels=5_000))


def test_both_backends_get_the_same_pixel_limits():
    from mgiqa.model.vllm_backend import pixel_limits

    native = Resolution("native", None, 3136, 200_704)
    assert pixel_limits(native) == {"min_pixels": 3136, "max_pixels": 200_704}
    assert (
        pixel_limits(56) == pixel_limits(Resolution("square", 56)) == {"min_pixels": 3136, "max_pixels": 3136}
    )


def test_a_native_processor_gives_one_token_per_28_pixels_of_the_prepared_image(tmp_path):
    from test_tiny_model import tiny_config

    from mgiqa.model.loading import load_processor
    from mgiqa.model.tiny import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "m", tiny_config())
    resolution = Resolution("native", None, 3136, 28 * 28 * 64)
    processor = load_processor(model_dir, resolution)
    image = prepare_image(Image.new("RGB", (250, 120)), resolution)
    grid = processor.image_processor(images=[image], return_tensors="pt")["image_grid_thw"][0].tolist()
    assert grid == [1, image.size[1] // 14, image.size[0] // 14]


def test_training_rows_keep_native_resolution_like_evaluation(tmp_path):
    import pandas as pd

    from mgiqa.training import datasets as ds

    path = tmp_path / "a.png"
    Image.new("RGB", (504, 392), "gray").save(path)
    row = {"image": "a.png", "path": str(path), "mos": 3.0, "mos_std": 0.5, "dataset": "d", "group": "g",
           "domain": "synthetic"} | dict.fromkeys(ds.ATTRIBUTES)  # fmt: skip
    rows = pd.DataFrame([row])
    native = image_resolution(model_config(resolution="native"))
    assert ds.build_dataset(rows, "overall", native, with_target=False)[0]["image"].size == (504, 392)
    assert ds.build_dataset(rows, "overall", 56, with_target=False)[0]["image"].size == (56, 56)
