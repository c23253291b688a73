"""`mgiqa.Scorer`: a user's own images (files, folders, globs, PIL images) -> overall, attributes, reasoning;
`mgiqa score` on folders and globs; `import mgiqa` stays light."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

import mgiqa
from mgiqa import cli
from mgiqa.errors import DataIntegrityError
from mgiqa.model import Resolution


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three hue images in a folder (two .png, one .jpg) and a text file that is not an image."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i, (name, t) in enumerate((("a.png", 0.1), ("b.png", 0.9), ("c.jpg", 0.5))):
        pixels = np.empty((40 + 8 * i, 48, 3))
        pixels[..., 0], pixels[..., 1], pixels[..., 2] = t, 0.3, 1.0 - t
        noisy = np.clip(pixels + rng.normal(0, 0.05, pixels.shape), 0, 1)
        Image.fromarray((noisy * 255).astype(np.uint8)).save(root / name)
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def scorer(hue_models, repo_root):
    """The hue world's SFT model (it answers the overall prompt in the format)."""
    return mgiqa.Scorer.from_pretrained(
        hue_models["sft"], config=repo_root / "config" / "test.yaml", prompt="overall"
    )


def test_a_folder_and_a_glob_give_one_finite_score_per_image(scorer, photos):
    in_folder = scorer.score(photos)
    assert [r.image for r in in_folder] == [str(photos / n) for n in ("a.png", "b.png", "c.jpg")]
    assert all(isinstance(r, mgiqa.ImageScore) for r in in_folder)
    assert all(r.overall is not None and math.isfinite(r.overall) and 1 <= r.overall <= 5 for r in in_folder)
    assert all(r.attributes == {} and r.readout == "expected" for r in in_folder)  # the overall prompt
    globbed = scorer.score(str(photos / "*.png"))
    assert [r.image for r in globbed] == [str(photos / "a.png"), str(photos / "b.png")]
    # greedy: the same answers (to float error: another batch composition)
    assert [r.overall for r in globbed] == pytest.approx([r.overall for r in in_folder[:2]], abs=1e-5)


def test_pil_images_and_lists_are_scored_in_order(scorer, photos):
    image = Image.open(photos / "b.png")
    results = scorer.score([image, photos / "a.png"])
    assert [r.image for r in results] == ["<image 0>", str(photos / "a.png")]
    assert results[0].overall == pytest.approx(scorer.score(photos / "b.png")[0].overall, abs=1e-5)


def test_a_bad_input_raises_naming_it(scorer, photos, tmp_path):
    with pytest.raises(DataIntegrityError, match=r"absent\.png: not found"):
        scorer.score([photos / "a.png", tmp_path / "absent.png"])
    with pytest.raises(DataIntegrityError, match="no file matches this pattern"):
        scorer.score(str(tmp_path / "*.webp"))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    with pytest.raises(DataIntegrityError, match=r"broken\.png: UnidentifiedImageError"):
        scorer.score(tmp_path / "broken.png")


def test_from_pretrained_takes_the_checkpoints_settings_without_a_config(tmp_path, _test_config, monkeypatch):
    """The issue's case: no config given, so the packaged default (112 px) must not resize a 56 px model."""
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(_test_config))
    assert cli.main(["build-model", "--config", str(config), "-o", str(tmp_path / "base")]) == 0
    scorer = mgiqa.Scorer.from_pretrained(tmp_path / "base")
    assert (
        scorer.resolution
        == Resolution("square", _test_config["model"]["image_size"])
        != Resolution("square", 112)
    )
    assert scorer.prompt == "attribute" and set(scorer.fields) == {
        "sharpness", "color", "noise", "composition", "overall"}  # fmt: skip
    response = "<think>Flat blue.</think>\nSharpness: 4, Color: 3.5, Noise: 2, Composition: 3, Overall: 3.2"
    from mgiqa.model import generate

    monkeypatch.setattr(generate, "generate_batch", lambda m, p, ims, fn, **k: [[response] for _ in ims])
    scorer.readout = "text"
    (result,) = scorer.score(Image.new("RGB", (30, 20)))
    assert result.overall == 3.2 and result.reasoning == "Flat blue."
    assert result.attributes == {"sharpness": 4.0, "color": 3.5, "noise": 2.0, "composition": 3.0}


def test_a_hub_repo_id_is_downloaded_with_huggingface_hub(hue_models, monkeypatch, repo_root):
    import huggingface_hub

    calls = []

    def snapshot_download(repo_id, revision=None, allow_patterns=None):
        calls.append(
            (repo_id, revision, "mgiqa_model.json" in str(allow_patterns) or "*.json" in allow_patterns)
        )
        return str(hue_models["sft"])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    scorer = mgiqa.Scorer.from_pretrained(
        "someone/mgiqa-hue", revision="v1", config=repo_root / "config" / "test.yaml", prompt="overall"
    )
    assert calls == [("someone/mgiqa-hue", "v1", True)] and scorer.checkpoint == hue_models["sft"]


def test_mgiqa_score_takes_folders_and_globs(hue_models, photos, repo_root, capsys):
    argv = ["score", str(photos), str(photos / "*.png"), "--checkpoint", str(hue_models["sft"]),
            "--prompt", "overall", "--config", str(repo_root / "config" / "test.yaml"), "--json"]  # fmt: skip
    assert cli.main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in doc["results"]] == [str(photos / n) for n in ("a.png", "b.png", "c.jpg")]
    assert all(set(r["scores"]) == {"overall"} for r in doc["results"])  # each image once


def test_import_mgiqa_does_not_import_torch():
    code = "import sys, mgiqa; mgiqa.Scorer; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
