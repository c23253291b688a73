"""CPU rehearsals of the paper setting (config/paper.yaml): each test would have caught one of the blockers
that kept the paper path from running on a GPU node (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mgiqa.config import load_config
from mgiqa.data.batches import build_batch_plan
from mgiqa.data.labels import parse_label_file
from mgiqa.data.registry import load_registry
from mgiqa.errors import DataIntegrityError
from mgiqa.training import datasets as ds

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "tests" / "fixtures" / "labels"
# a label file in each paper training set's published layout
TRAIN_FIXTURES = {
    "kadid10k": "pyiqa_kadid.csv",
    "koniq10k": "koniq_official.csv",
    "agiqa1k": "agiqa1k_bom.csv",
}


@pytest.fixture(scope="module")
def paper() -> dict:
    return load_config(REPO / "config" / "paper.yaml")


@pytest.fixture(scope="module")
def registry() -> dict:
    return load_registry()


def _table(rows: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Prepared-table rows: dataset -> (train rows, test rows)."""
    frames = []
    for dataset, (n_train, n_test) in rows.items():
        n = n_train + n_test
        frames.append(
            pd.DataFrame(
                {
                    "image": [f"images/{i}.png" for i in range(n)],
                    "dataset": dataset,
                    "domain": "synthetic",
                    "group": dataset,
                    "split": ["train"] * n_train + ["test"] * n_test,
                    "mos": [1.0 + 4.0 * i / max(n - 1, 1) for i in range(n)],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------ blocker 2: every training set trains
def test_every_paper_training_dataset_has_train_rows_in_its_published_layout(paper, registry):
    assert sorted(TRAIN_FIXTURES) == sorted(paper["datasets"]["train"])
    for dataset, fixture in TRAIN_FIXTURES.items():
        table = parse_label_file(dataset, LABELS / fixture, registry[dataset])
        assert (table["split"] == "train").any(), f"{dataset}: its registry split gives training no row"


def test_agiqa1k_is_a_training_set_whose_every_image_trains(registry):
    table = parse_label_file("agiqa1k", LABELS / "agiqa1k_bom.csv", registry["agiqa1k"])
    assert registry["agiqa1k"]["role"] == "train"
    assert set(table["split"]) == {"train"}


def test_training_fails_naming_a_configured_dataset_without_train_rows():
    table = _table({"kadid10k": (8, 2), "agiqa1k": (0, 5)})
    with pytest.raises(DataIntegrityError, match=r"\['agiqa1k'\] have no split=train rows"):
        ds.training_rows(table, ["kadid10k", "agiqa1k"])
    assert len(ds.training_rows(table, ["kadid10k"])) == 8


def test_batch_plan_fails_naming_a_dataset_that_forms_no_batch():
    table = _table({"kadid10k": (16, 0), "agiqa1k": (3, 0)})
    with pytest.raises(DataIntegrityError, match=r"\['agiqa1k'\] contribute no batch"):
        build_batch_plan(table, 4, scope="group", datasets=["kadid10k", "agiqa1k"])
    with pytest.raises(DataIntegrityError, match=r"\['pipal'\] have no rows"):
        build_batch_plan(table, 4, scope="group", datasets=["kadid10k", "pipal"])
    mixed = build_batch_plan(table, 4, scope="mixed", datasets=["kadid10k", "agiqa1k"])
    assert set(mixed["dataset"]) == {"kadid10k", "agiqa1k"}


def test_batch_plan_command_fails_naming_a_dataset_without_train_rows(tmp_path, capsys):
    from mgiqa.cli import main

    tables = []
    for dataset, counts in {"kadid10k": (16, 0), "agiqa1k": (0, 5)}.items():
        path = tmp_path / f"{dataset}.csv"
        _table({dataset: counts}).to_csv(path, index=False)
        tables.append(str(path))
    config = REPO / "config" / "test.yaml"
    args = ["batch-plan", "--config", str(config), "--tables", *tables, "-o", str(tmp_path / "plan.csv")]
    assert main(args) == 2
    assert "training datasets ['agiqa1k'] have no rows of split 'train'" in capsys.readouterr().err
