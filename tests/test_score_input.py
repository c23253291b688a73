"""`mgiqa score` with broken input: one bad image among good ones, and a checkpoint whose config.json is `{}`."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml
from PIL import Image

from mgiqa import cli
from mgiqa.errors import DataIntegrityError
from mgiqa.model.loading import load_model, load_processor


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, _test_config):
    from mgiqa.model.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("score")
    model = build_tiny_model(root / "model", _test_config)
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(_test_config))
    return {"root": root, "model": model, "config": config}


def test_one_broken_file_does_not_stop_the_good_one(checkpoint, tmp_path, capsys):
    good, broken = tmp_path / "good.jpg", tmp_path / "broken.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(good)
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    argv = ["score", str(good), str(broken), "--checkpoint", str(checkpoint["model"])]
    argv += ["--config", str(checkpoint["config"]), "--json"]
    assert cli.main(argv) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert [r["image"] for r in doc["results"]] == [str(good)]
    assert [f["image"] for f in doc["failed"]] == [str(broken)]
    assert doc["failed"][0]["error"].startswith("UnidentifiedImageError")
    assert f"mgiqa score: {broken}: not scored: UnidentifiedImageError" in err
    assert "mgiqa score: 1 of 2 images could not be scored; 1 scored" in err


def test_only_bad_files_exit_2_without_loading_the_model(tmp_path, capsys, repo_root, monkeypatch):
    from mgiqa.commands import score

    monkeypatch.setattr(score, "score_images", lambda *a: pytest.fail("the model was loaded"))
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "empty").mkdir()
    inputs = [tmp_path / "absent.jpg", tmp_path / "pipe.jpg", tmp_path / "empty", tmp_path / "*.png"]
    argv = ["score", *map(str, inputs), "--checkpoint", str(tmp_path)]
    assert cli.main([*argv, "--config", str(repo_root / "config" / "test.yaml")]) == 2
    err = capsys.readouterr().err
    assert "absent.jpg: not scored: not found" in err and "pipe.jpg: not scored: not a regular file" in err
    assert "empty: not scored: a folder with no image files" in err
    assert "*.png: not scored: no file matches this pattern" in err
    assert "4 of 4 images could not be scored" in err


def test_a_checkpoint_with_an_empty_config_json_names_the_file_and_field(checkpoint, tmp_path):
    broken = tmp_path / "ckpt"
    broken.mkdir()
    for path in checkpoint["model"].iterdir():
        if path.is_file():
            (broken / path.name).write_bytes(path.read_bytes())
    (broken / "config.json").write_text("{}")
    for load in (load_model, load_processor):
        with pytest.raises(DataIntegrityError, match=rf"{broken / 'config.json'}: model_type: missing"):
            load(broken)
    (broken / "config.json").write_text('{"model_type": "no_such_model"}')
    with pytest.raises(DataIntegrityError, match="'no_such_model' is not a model type"):
        load_model(broken)
    (broken / "config.json").write_text("{not json")
    with pytest.raises(DataIntegrityError, match="not a JSON model config: Expecting property name"):
        load_model(broken)
