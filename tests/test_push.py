"""`mgiqa push`: a model folder with its card and mgiqa_model.json goes to the Hub through
huggingface_hub's `upload_folder` (replaced here: the Hub is not reachable from the tests)."""

from __future__ import annotations

import pytest
import yaml

from mgiqa import cli


@pytest.fixture
def hub_calls(monkeypatch):
    from huggingface_hub import HfApi

    calls = []

    def create_repo(self, repo_id, **kwargs):
        calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        calls.append(("upload_folder", kwargs["repo_id"], kwargs))
        return f"https://huggingface.co/{kwargs['repo_id']}/commit/abc"

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    return calls


def test_push_uploads_the_folder_with_its_card_and_info(tmp_path, _test_config, hub_calls, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(_test_config))
    model = tmp_path / "base"
    assert cli.main(["build-model", "--config", str(config), "-o", str(model)]) == 0
    assert cli.main(["push", str(model), "me/mgiqa-tiny", "--private"]) == 0
    (create, upload) = hub_calls
    assert create == (
        "create_repo",
        "me/mgiqa-tiny",
        {"repo_type": "model", "private": True, "exist_ok": True},
    )
    assert upload[0] == "upload_folder" and upload[1] == "me/mgiqa-tiny"
    folder = upload[2]["folder_path"]
    assert folder == str(model) and {"README.md", "mgiqa_model.json", "model.safetensors"} <= {
        p.name for p in model.iterdir()
    }
    assert upload[2]["commit_message"] == "mgiqa base model (test config)"
    assert "me/mgiqa-tiny/commit/abc" in capsys.readouterr().out


def test_push_refuses_a_folder_without_mgiqa_model_json(tmp_path, _test_config, hub_calls, capsys):
    from mgiqa.model.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "plain", _test_config)  # the weights alone, as from elsewhere
    assert cli.main(["push", str(model), "me/plain"]) == 2
    assert f"{model / 'mgiqa_model.json'}: not found" in capsys.readouterr().err
    assert hub_calls == []
