"""Ground-truth preference matrices and pair tables: hard / Thurstone labels, only inside groups."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgiqa.data.pairs import pair_preferences, pairs_table, preference_matrix
from mgiqa.errors import DataIntegrityError

SHARED = Path(__file__).resolve().parents[2] / "shared"


def phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def test_hard_matrix_and_validity():
    prefs, valid = preference_matrix([3.0, 1.0, 3.0])
    np.testing.assert_array_equal(prefs, [[0.5, 1.0, 0.5], [0.0, 0.5, 0.0], [0.5, 1.0, 0.5]])
    np.testing.assert_array_equal(valid, ~np.eye(3, dtype=bool))


def test_matrix_is_complementary():
    rng = np.random.default_rng(0)
    mos, std = rng.uniform(1, 5, 20), rng.uniform(0, 1, 20)
    for kind in ("hard", "thurstone"):
        prefs, _ = preference_matrix(mos, std, kind=kind)
        np.testing.assert_allclose(prefs + prefs.T, 1.0, atol=1e-15)


def test_thurstone_values_and_fallbacks():
    mos = [4.0, 3.0, 2.0, 2.0]
    std = [0.3, 0.4, np.nan, 0.0]
    prefs, _ = preference_matrix(mos, std, kind="thurstone")
    assert prefs[0, 1] == pytest.approx(phi(1.0 / 0.5), abs=1e-15)
    assert prefs[0, 3] == pytest.approx(phi(2.0 / 0.3), abs=1e-15)  # one std 0, the other not: Thurstone
    assert prefs[0, 2] == 1.0 and prefs[2, 1] == 0.0  # a missing std: hard
    both_zero, _ = preference_matrix([2.0, 3.0], [0.0, 0.0], kind="thurstone")
    np.testing.assert_array_equal(both_zero, [[0.5, 0.0], [1.0, 0.5]])
    no_std, _ = preference_matrix(mos, None, kind="thurstone")
    np.testing.assert_array_equal(no_std, preference_matrix(mos)[0])


def test_groups_restrict_validity():
    _, valid = preference_matrix([1.0, 2.0, 3.0, 4.0], groups=["a", "b", "a", 7])
    expected = np.zeros((4, 4), dtype=bool)
    expected[0, 2] = expected[2, 0] = True
    np.testing.assert_array_equal(valid, expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mos": [1.0, np.nan]},
        {"mos": [[1.0, 2.0]]},
        {"mos": [1.0, 2.0], "kind": "soft"},
        {"mos": [1.0, 2.0], "std": [0.1, -0.1], "kind": "thurstone"},
        {"mos": [1.0, 2.0], "std": [0.1], "kind": "thurstone"},
        {"mos": [1.0, 2.0], "groups": ["a"]},
        {"mos": [1.0, 2.0], "groups": ["a", None]},
    ],
)
def test_bad_inputs_raise(kwargs):
    with pytest.raises(ValueError):
        preference_matrix(**kwargs)


def test_pair_preferences_broadcasts():
    p, used = pair_preferences(np.array([3.0, 2.0]), 2.0, np.array([0.5, np.nan]), 0.5)
    assert p[0] == pytest.approx(phi(1 / math.sqrt(0.5)))
    assert p[1] == 0.5 and used.tolist() == [True, False]


def _table():
    return pd.DataFrame(
        {
            "image": ["a1", "a2", "a3", "b1", "b2", "c1"],
            "dataset": "restore",
            "group": ["a", "a", "a", "b", "b", "c"],
            "mos": [3.0, 2.0, 3.0, 1.0, 4.0, 5.0],
            "mos_std": [0.5, np.nan, 0.5, 0.2, 0.2, 0.1],
        }
    )


def test_pairs_table_lists_within_group_pairs():
    pairs = pairs_table(_table())
    assert list(pairs.columns) == [
        "dataset",
        "group",
        "image_i",
        "image_j",
        "mos_i",
        "mos_j",
        "p",
        "ground_truth",
    ]
    assert list(zip(pairs["image_i"], pairs["image_j"], strict=True)) == [
        ("a1", "a2"),
        ("a1", "a3"),
        ("a2", "a3"),
        ("b1", "b2"),
    ]
    assert pairs["p"].tolist() == [1.0, 0.5, 0.0, 0.0]
    assert (pairs["ground_truth"] == "hard").all()


def test_pairs_table_thurstone_matches_the_matrix():
    table = _table()
    pairs = pairs_table(table, kind="thurstone")
    prefs, _ = preference_matrix(table["mos"], table["mos_std"], kind="thurstone")
    index = {name: i for i, name in enumerate(table["image"])}
    for row in pairs.itertuples():
        assert row.p == prefs[index[row.image_i], index[row.image_j]]
    assert pairs["ground_truth"].tolist() == ["hard", "thurstone", "hard", "thurstone"]


def test_pairs_table_sampling_is_seeded_and_bounded():
    table = pd.DataFrame(
        {"image": [f"i{i}" for i in range(30)], "dataset": "d", "group": "g", "mos": range(30)}
    )
    a = pairs_table(table, max_pairs_per_group=50, seed=3)
    b = pairs_table(table, max_pairs_per_group=50, seed=3)
    assert len(a) == 50 and a.equals(b)
    assert not a.equals(pairs_table(table, max_pairs_per_group=50, seed=4))
    assert len(pairs_table(table)) == 435


def test_pairs_table_errors_name_the_source():
    with pytest.raises(DataIntegrityError, match="t.csv: missing columns"):
        pairs_table(_table().drop(columns="group"), source="t.csv")
    with pytest.raises(DataIntegrityError, match="mos_std"):
        pairs_table(_table().drop(columns="mos_std"), kind="thurstone")
    bad = _table()
    bad.loc[2, "mos"] = np.nan
    with pytest.raises(DataIntegrityError, match="row 2"):
        pairs_table(bad)


@pytest.mark.shared
def test_liu13_pairs_stay_inside_reference_groups():
    path = SHARED / "mos_tables" / "visualquality-r1" / "test_data_label" / "Deblur_test_all.txt"
    if not path.is_file():
        pytest.skip(f"real label tables not available ({path} is absent)")
    raw = pd.read_csv(path, sep=r"\s+", header=None, names=["ref", "image", "mos"])
    table = raw.assign(dataset="liu13", group=raw["ref"])
    pairs = pairs_table(table)
    assert len(pairs) == 39 * 435 + 406  # 40 groups of 30, one of 29
    assert (pairs["image_i"].str.split("_").str[0] == pairs["image_j"].str.split("_").str[0]).all()
