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
