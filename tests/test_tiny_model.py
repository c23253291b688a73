"""The tiny offline Qwen2.5-VL: builds with the real classes, reloads via Auto classes, is deterministic."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mgiqa.config import load_config, validate_config
from mgiqa.errors import ConfigError, DataIntegrityError, DownloadError

TINY = {
    "vocab_size": 600,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "vision_depth": 1,
    "vision_hidden_size": 32,
    "vision_num_heads": 2,
}


def tiny_config(image_size: int = 56) -> dict:
    config = copy.deepcopy(load_config())
    config["model"]["tiny"] = dict(TINY)
    config["model"]["image_size"] = image_size
    return validate_config(config)  # fills the tiny section's defaults


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from mgiqa.model.tiny import build_tiny_model

    out = tmp_path_factory.mktemp("tiny") / "base_init"
    return build_tiny_model(out, tiny_config())


def random_image(seed: int, size=(70, 50)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8))


def test_saved_layout_is_safetensors_and_real_classes(built):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    files = {p.name for p in built.iterdir()}
    assert "model.safetensors" in files and "config.json" in files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    assert not any(name.endswith(".py") for name in files)  # no remote code
    processor = AutoProcessor.from_pretrained(built, trust_remote_code=False)
    model = AutoModelForImageTextToText.from_pretrained(built, trust_remote_code=False)
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    assert type(processor.tokenizer).__name__ == "Qwen2Tokenizer"
    assert type(processor.image_processor).__name__.startswith("Qwen2VLImageProcessor")
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    config = json.loads((built / "config.json").read_text())
    assert config["model_type"] == "qwen2_5_vl"
    assert config["text_config"]["hidden_size"] == TINY["hidden_size"]
    assert config["vision_config"]["depth"] == TINY["vision_depth"]


def test_special_tokens_and_chat_template(built):
    from transformers import AutoProcessor

    from mgiqa.model.tokenizer import QWEN2_5_VL_ADDED_TOKENS, qwen2_5_vl_chat_template

    processor = AutoProcessor.from_pretrained(built)
    tok = processor.tokenizer
    ids = [tok.convert_tokens_to_ids(t) for t, _ in QWEN2_5_VL_ADDED_TOKENS]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # contiguous, in Qwen's order
    assert len(tok) <= TINY["vocab_size"]
    for token in ("<|im_start|>", "<|image_pad|>", "<|vision_start|>"):
        assert tok.tokenize(f"a{token}b")[1] == token
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert processor.chat_template == qwen2_5_vl_chat_template()
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Rate it."}]}],
        add_generation_prompt=True,
    )
    assert text.endswith(
        "<|vision_start|><|image_pad|><|vision_end|>Rate it.<|im_end|>\n<|im_start|>assistant\n"
    )
    sample = "<think>Edges are sharp.</think>\nSharpness: 3.5, Color: 4, Overall: 2.25"
    assert tok.decode(tok(sample)["input_ids"]) == sample


def test_forward_with_an_image_gives_fixed_visual_tokens(built):
    from mgiqa.model import prepare_image
    from mgiqa.model.loading import load_model, load_processor

    model, processor = load_model(built), load_processor(built, 56)
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Rate it."}]}],
        add_generation_prompt=True,
    )
    for size in [(70, 50), (300, 120)]:
        image = prepare_image(random_image(0, size), 56)
        inputs = processor(text=[text], images=[image], return_tensors="pt")
        assert inputs["image_grid_thw"].tolist() == [[1, 4, 4]]
        assert int((inputs["input_ids"] == model.config.image_token_id).sum()) == 4  # 4x4 patches merged 2x2
        with torch.no_grad():
            logits = model(**inputs).logits
        assert logits.shape[-1] == TINY["vocab_size"] and torch.isfinite(logits).all()
    larger = load_processor(built, 112)(text=[text], images=[prepare_image(random_image(1), 112)])
    assert larger["image_grid_thw"].tolist() == [[1, 8, 8]]  # the configured size wins over the saved one


def test_build_is_deterministic(built, tmp_path):
    from safetensors.torch import load_file

    from mgiqa.model.tiny import build_tiny_model

    again = build_tiny_model(tmp_path / "again", tiny_config())
    first, second = load_file(built / "model.safetensors"), load_file(again / "model.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    digest = [hashlib.sha256((d / "tokenizer.json").read_bytes()).hexdigest() for d in (built, again)]
    assert digest[0] == digest[1]


def test_bad_sizes_are_config_errors(tmp_path):
    from mgiqa.model.tiny import build_model_config, image_processor_kwargs, tiny_sizes

    config = tiny_config()
    config["model"]["tiny"]["num_attention_heads"] = 3
    with pytest.raises(ConfigError, match="hidden_size"):
        tiny_sizes(config)
    with pytest.raises(ConfigError, match="image_size"):
        image_processor_kwargs(100)
    config = tiny_config()
    del config["model"]["tiny"]["vision_depth"]
    with pytest.raises(ConfigError, match="vision_depth"):
        build_model_config(config, tokenizer=None)


def test_hub_snapshot_is_pinned_and_atomic(tmp_path, monkeypatch, built):
    import shutil

    import huggingface_hub

    from mgiqa.model.hub import snapshot_hub_model

    calls = {}

    class FakeApi:
        def __init__(self, endpoint=None):
            calls["endpoint"] = endpoint

        def model_info(self, repo_id, revision):
            return type("Info", (), {"sha": "a" * 40})()

    def fake_snapshot(repo_id, revision, local_dir, allow_patterns, endpoint):
        calls["revision"], calls["patterns"] = revision, allow_patterns
        shutil.copytree(built, local_dir, dirs_exist_ok=True)

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    out = snapshot_hub_model("Org/Model", "main", tmp_path / "base", endpoint="http://127.0.0.1:1")
    assert calls["revision"] == "a" * 40 and "*.safetensors" in calls["patterns"]
    assert not any(p.endswith(".bin") for p in calls["patterns"])
    source = json.loads((out / "mgiqa_source.json").read_text())
    assert source == {"commit": "a" * 40, "hub_id": "Org/Model", "revision": "main", "source": "hub"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]


def test_hub_failure_leaves_no_model(tmp_path, monkeypatch):
    import huggingface_hub

    from mgiqa.model.hub import snapshot_hub_model

    class OfflineApi:
        def __init__(self, endpoint=None):
            pass

        def model_info(self, repo_id, revision):
            raise OSError("network unreachable")

    monkeypatch.setattr(huggingface_hub, "HfApi", OfflineApi)
    with pytest.raises(DownloadError, match="Org/Model@main"):
        snapshot_hub_model("Org/Model", "main", tmp_path / "base")
    assert not (tmp_path / "base").exists()


def test_local_source_copies_a_model_dir(tmp_path, built):
    from mgiqa.model.hub import build_base_model

    config = tiny_config()
    config["model"]["source"], config["model"]["local_path"] = "local", str(built)
    out = build_base_model(config, tmp_path / "base")
    assert (out / "model.safetensors").read_bytes() == (built / "model.safetensors").read_bytes()
    config["model"]["local_path"] = str(tmp_path / "nowhere")
    with pytest.raises(DataIntegrityError, match="nowhere"):
        build_base_model(config, tmp_path / "base2")


@pytest.mark.parametrize("source", ["tiny", "local"])
def test_a_base_model_appears_only_with_what_describe_wrote_and_not_at_all_if_describe_fails(
    tmp_path, built, source
):
    from mgiqa.model.hub import build_base_model

    config = tiny_config()
    config["model"]["source"], config["model"]["local_path"] = source, str(built)
    seen = []

    def describe(folder):
        seen.append(Path(folder))
        assert (Path(folder) / "config.json").is_file() and not (tmp_path / "base").exists()
        (Path(folder) / "mgiqa_model.json").write_text("{}")

    out = build_base_model(config, tmp_path / "base", describe=describe)
    assert seen and seen[0] != out and (out / "mgiqa_model.json").read_text() == "{}"

    def failing(folder):
        raise RuntimeError("card writer broke")

    with pytest.raises(RuntimeError, match="card writer broke"):
        build_base_model(config, tmp_path / "other", describe=failing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]
