"""Decoding is spelled out in full: both backends get every sampling parameter from the config, and a
model's own generation_config (Qwen2.5-VL-Instruct: repetition_penalty 1.05, top_k 1) changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_tiny_model import tiny_config

from mgiqa.config import validate_config
from mgiqa.errors import ConfigError
from mgiqa.model.sampling import Sampling, sampling_from_config


def with_generation(config: dict, **generation) -> dict:
    """The test config with its `generation` section replaced, validated (the schema fills the rest)."""
    return validate_config({**config, "generation": {"max_new_tokens": 8, **generation}})


def test_the_config_sets_every_sampling_parameter(test_config):
    config = with_generation(
        test_config, temperature=0.7, top_p=0.9, top_k=20, min_p=0.05, repetition_penalty=1.1
    )
    sampling = sampling_from_config(config, do_sample=True)
    assert sampling.transformers_kwargs() == {"do_sample": True, "repetition_penalty": 1.1, "temperature": 0.7,
                                              "top_p": 0.9, "top_k": 20, "min_p": 0.05}  # fmt: skip
    assert sampling.vllm_kwargs() == {"temperature": 0.7, "top_p": 0.9, "top_k": 20, "min_p": 0.05,
                                      "repetition_penalty": 1.1}  # fmt: skip


def test_greedy_decoding_keeps_the_repetition_penalty_on_both_backends(test_config):
    greedy = sampling_from_config(with_generation(test_config, repetition_penalty=1.05), False)
    assert greedy.transformers_kwargs()["repetition_penalty"] == 1.05
    assert greedy.transformers_kwargs()["do_sample"] is False
    assert greedy.vllm_kwargs()["temperature"] == 0.0  # vLLM's greedy decoding
    assert greedy.vllm_kwargs()["repetition_penalty"] == 1.05


def test_several_greedy_samples_are_refused():
    with pytest.raises(ConfigError, match="do_sample"):
        Sampling(do_sample=False).check(2)


def test_a_models_generation_config_does_not_change_greedy_outputs(tmp_path):
    from mgiqa.model.generate import generate_batch
    from mgiqa.model.loading import load_model, load_processor
    from mgiqa.model.tiny import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "m", tiny_config())
    model, processor = load_model(model_dir), load_processor(model_dir, 56)
    rng = np.random.default_rng(0)
    images = [Image.fromarray((rng.random((56, 56, 3)) * 255).astype(np.uint8)) for _ in range(3)]
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Rate it."}]}]
    plain = generate_batch(model, processor, images, lambda _i: messages, max_new_tokens=16)
    # what Qwen2.5-VL-7B-Instruct's generation_config.json holds
    gc = model.generation_config
    gc.do_sample, gc.repetition_penalty, gc.temperature, gc.top_p, gc.top_k = True, 50.0, 0.1, 0.001, 1
    assert generate_batch(model, processor, images, lambda _i: messages, max_new_tokens=16) == plain
    seen = []
    real_generate = model.generate

    def spy(**kwargs):
        seen.append(kwargs)
        return real_generate(**kwargs)

    model.generate = spy
    generate_batch(model, processor, images, lambda _i: messages, max_new_tokens=4, repetition_penalty=1.2)
    # explicit keywords override the generation_config in transformers' generate
    assert seen[0]["repetition_penalty"] == 1.2 and seen[0]["do_sample"] is False
    assert all(seen[0][k] is None for k in ("temperature", "top_p", "top_k", "min_p"))


def test_predict_passes_the_configured_sampling_to_the_generator(tmp_path):
    import pandas as pd

    from mgiqa.model.generate import predict_benchmark

    path = tmp_path / "a.png"
    Image.new("RGB", (60, 40), "gray").save(path)
    pd.DataFrame([{"image": "a.png", "mos": 3.0, "group": "g", "path": str(path)}]).to_csv(
        tmp_path / "t.csv", index=False
    )
    config = with_generation(
        tiny_config(), max_new_tokens=4, temperature=0.8, top_p=0.95, repetition_penalty=1.05
    )
    config["evaluation"] |= {"batch_size": 1, "num_samples": 2, "readout": "text"}
    calls = []

    def generator(images, messages_fn, **kwargs):
        calls.append(kwargs)
        return [["Overall: 3", "Overall: 4"] for _ in images]

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    predict_benchmark(
        tmp_path / "m", tmp_path / "t.csv", "overall", config, tmp_path / "p.csv", generator=generator
    )
    assert calls[0] | {"seed": 0} == {
        "max_new_tokens": 4, "do_sample": True, "temperature": 0.8, "top_p": 0.95, "top_k": 0, "min_p": 0.0,
        "repetition_penalty": 1.05, "num_samples": 2, "seed": 0, "with_digit_probs": False,
    }  # fmt: skip
