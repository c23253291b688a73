"""Joining a canonical table with its image files: missing and corrupt images are reported, never skipped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mgiqa import cli
from mgiqa.data.images import prepare_table
from mgiqa.errors import DataIntegrityError


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "raw" / "toy"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(root / "images" / name)
    (root / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    table = pd.DataFrame(
        {
            "image": ["images/a.png", "images/b.png", "images/broken.png", "images/gone.png"],
            "mos": [1.0, 2.0, 3.0, 4.0],
        }
    )
    return root, table


def test_bad_images_fail_with_a_list(dataset):
    root, table = dataset
    with pytest.raises(DataIntegrityError) as err:
        prepare_table(table, root, "toy", allow_missing=False)
    text = str(err.value)
    assert "toy: 1 missing and 1 corrupt of 4 images" in text
    assert "missing: images/gone.png" in text and "corrupt: images/broken.png" in text
    assert "allow_missing_images" in text


def test_allow_missing_drops_and_reports(dataset):
    root, table = dataset
    prepared, report = prepare_table(table, root, "toy", allow_missing=True)
    assert list(prepared["image"]) == ["images/a.png", "images/b.png"]
    assert prepared["path"].map(lambda p: p.endswith("images/a.png") or p.endswith("images/b.png")).all()
    assert report.missing == ["images/gone.png"] and list(report.corrupt) == ["images/broken.png"]


def test_nothing_usable_is_an_error(dataset):
    root, table = dataset
    with pytest.raises(DataIntegrityError, match="no usable images"):
        prepare_table(table.iloc[2:], root, "toy", allow_missing=True)


def test_cli_writes_table_and_report(dataset, tmp_path, repo_root):
    root, table = dataset
    src = tmp_path / "table.csv"
    table.iloc[:2].to_csv(src, index=False)
    out, report = tmp_path / "prepared.csv", tmp_path / "report.json"
    argv = [
        "prepare",
        "--config",
        str(repo_root / "config" / "test.yaml"),
        "--dataset",
        "toy",
        "--table",
        str(src),
    ]
    assert cli.main([*argv, "--dataset-root", str(root), "-o", str(out), "--report", str(report)]) == 0
    assert len(pd.read_csv(out)) == 2
    assert json.loads(report.read_text())["n_kept"] == 2
