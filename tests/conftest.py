"""Shared fixtures: the repo root, the shared label tables (skipped when absent), configs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_tables() -> Path:
    root = SHARED / "mos_tables"
    if not root.is_dir():
        pytest.skip(f"real label tables not available ({root} is absent)")
    return root


@pytest.fixture(scope="session")
def paper_config_outside_checkout(tmp_path_factory) -> dict:
    """config/paper.yaml with its relative paths (data, models, results) under an empty folder. Shared by the
    tests that read it, not to be modified: copy it first. In a checkout where `make demo` ran, models/base is
    the demo's tiny model, which code looking for the paper's base model (e.g. vllm_args) would read."""
    from mgiqa.config import load_config

    config = load_config(REPO / "config" / "paper.yaml")
    root = tmp_path_factory.mktemp("paper_paths")
    for key in ("data", "models", "results"):
        config["paths"][key] = str(root / config["paths"][key])
    return config


@pytest.fixture(scope="session")
def _demo_config() -> dict:
    from mgiqa.config import load_config

    return load_config(REPO / "config" / "config.yaml")


@pytest.fixture
def demo_config(_demo_config) -> dict:
    return copy.deepcopy(_demo_config)


@pytest.fixture(scope="session")
def _test_config() -> dict:
    from mgiqa.config import load_config

    return load_config(REPO / "config" / "test.yaml")


@pytest.fixture
def test_config(_test_config) -> dict:
    return copy.deepcopy(_test_config)


@pytest.fixture(scope="session")
def hue_models(tmp_path_factory, _test_config) -> dict:
    """The hue world (tests/hue_world.py): its table, the test-size base model and an SFT model of it.

    The SFT model (200 steps at lr 1e-2, ~15 s) answers in the format for nearly every sample at temperature 1
    and ranks the held-out images (SRCC about 0.97): the start of the GRPO tests, whose rewards then vary.
    """
    from hue_world import SFT_SETTINGS, hue_config, write_hue_table

    from mgiqa.model.tiny import build_tiny_model
    from mgiqa.training.sft import train_sft

    root = tmp_path_factory.mktemp("hue")
    table = write_hue_table(root / "data")
    base = build_tiny_model(root / "base", _test_config)
    sft = root / "sft"
    train_sft(hue_config(_test_config, sft=SFT_SETTINGS), "overall", 0, base, [table], sft)
    return {"root": root, "table": table, "base": base, "sft": sft}
