"""Batched generation: left padding gives the one-at-a-time greedy texts; sampling is seeded."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image
from test_tiny_model import tiny_config

from mgiqa.errors import ConfigError


@pytest.fixture(scope="module")
def model_and_processor(tmp_path_factory):
    from mgiqa.model.loading import load_model, load_processor
    from mgiqa.model.tiny import build_tiny_model

    out = build_tiny_model(tmp_path_factory.mktemp("gen") / "m", tiny_config())
    return load_model(out), load_processor(out, 56)


def images(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray((rng.random((56, 56, 3)) * 255).astype(np.uint8)) for _ in range(n)]


PROMPTS = ["Rate it.", "Rate the sharpness, color and noise of this image, then the overall quality."]


def messages_for(batch: list[Image.Image]):
    """Prompts of different lengths per image, so that the batch really is left-padded."""
    ids = {id(image): i for i, image in enumerate(batch)}

    def messages(image):
        text = PROMPTS[ids[id(image)] % 2]
        return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]

    return messages


def test_batched_greedy_equals_one_at_a_time(model_and_processor):
    from mgiqa.model.generate import generate_batch

    model, processor = model_and_processor
    batch = images(6)
    fn = messages_for(batch)
    batched = generate_batch(model, processor, batch, fn, max_new_tokens=12)
    single = [generate_batch(model, processor, [image], fn, max_new_tokens=12)[0] for image in batch]
    assert batched == single
    assert all(len(texts) == 1 for texts in batched)
    assert len({texts[0] for texts in batched}) > 1  # the image conditions the output


def test_sampling_is_seeded(model_and_processor):
    from mgiqa.model.generate import generate_batch

    model, processor = model_and_processor
    batch = images(3)
    fn = messages_for(batch)
    kwargs = {"max_new_tokens": 8, "do_sample": True, "num_samples": 3, "temperature": 1.0}
    first = generate_batch(model, processor, batch, fn, seed=7, **kwargs)
    again = generate_batch(model, processor, batch, fn, seed=7, **kwargs)
    other = generate_batch(model, processor, batch, fn, seed=8, **kwargs)
    assert first == again
    assert first != other
    assert [len(texts) for texts in first] == [3, 3, 3]


def test_generation_argument_errors(model_and_processor):
    from mgiqa.model.generate import VllmGenerator, generate_batch

    model, processor = model_and_processor
    fn = messages_for(images(1))
    assert generate_batch(model, processor, [], fn, max_new_tokens=4) == []
    with pytest.raises(ConfigError, match="do_sample"):
        generate_batch(model, processor, images(1), fn, max_new_tokens=4, num_samples=2)
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(ConfigError, match="vllm is not installed"):
            VllmGenerator("unused", seed=0)


def test_prepare_image_resizes_and_names_bad_files(tmp_path):
    from mgiqa.errors import DataIntegrityError
    from mgiqa.model import prepare_image

    path = tmp_path / "a.png"
    Image.new("L", (30, 90), 128).save(path)
    image = prepare_image(path, 56)
    assert image.size == (56, 56) and image.mode == "RGB"
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(DataIntegrityError, match="bad.png"):
        prepare_image(tmp_path / "bad.png", 56)


def test_digit_probabilities_come_with_the_same_texts(model_and_processor):
    from mgiqa.model.generate import generate_batch
    from mgiqa.model.readout import Completion

    model, processor = model_and_processor
    batch = images(4)
    fn = messages_for(batch)
    texts = generate_batch(model, processor, batch, fn, max_new_tokens=10)
    completions = generate_batch(model, processor, batch, fn, max_new_tokens=10, with_digit_probs=True)
    assert [[c.text for c in cs] for cs in completions] == texts
    for (c,) in completions:
        assert isinstance(c, Completion)
        assert "".join(c.token_texts) == c.text
        assert c.digit_probs.shape == (len(c.token_texts), 10)
        assert np.all(c.digit_probs >= 0) and np.all(c.digit_probs.sum(1) <= 1 + 1e-6)
