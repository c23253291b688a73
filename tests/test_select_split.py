"""Selecting one split of a table: every failure names the file."""

from __future__ import annotations

import pandas as pd
import pytest

from mgiqa.data.splits import select_split
from mgiqa.errors import DataIntegrityError

TABLE = pd.DataFrame({"image": ["a", "b", "c"], "split": ["train", "test", "train"]})


def test_selects_rows_and_all_keeps_everything():
    assert list(select_split(TABLE, "train", "t.csv")["image"]) == ["a", "c"]
    assert select_split(TABLE, "all", "t.csv") is TABLE


def test_missing_column_and_empty_split_name_the_file():
    with pytest.raises(DataIntegrityError, match=r"t.csv: no 'split' column to select 'test'"):
        select_split(TABLE.drop(columns="split"), "test", "t.csv")
    with pytest.raises(DataIntegrityError, match=r"t.csv: no rows of split 'val'"):
        select_split(TABLE, "val", "t.csv")
