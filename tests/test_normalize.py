"""MOS / std normalization and split assignment: hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from mgiqa.data.normalize import map_interval, normalize_mos, normalize_std, observed_range
from mgiqa.data.splits import map_split_values, split_by_group, split_by_rules, split_counts


def test_normalize_mos_nominal_scales():
    # 0..100 slider: 0 -> 1, 50 -> 3, 100 -> 5, 62.5 -> 1 + 4 * 0.625 = 3.5
    assert normalize_mos([0, 50, 100, 62.5], 0, 100).tolist() == [1.0, 3.0, 5.0, 3.5]
    # 1..5 ACR stays as it is
    assert normalize_mos([1, 2.5, 5], 1, 5).tolist() == [1.0, 2.5, 5.0]
    # TID 0..9: 4.5 is the middle
    assert normalize_mos([4.5], 0, 9)[0] == pytest.approx(3.0)


def test_normalize_mos_lower_is_better_is_flipped():
    # CSIQ DMOS 0..1: 0 (no difference) -> 5, 1 -> 1, 0.25 -> 1 + 4 * 0.75 = 4
    assert normalize_mos([0.0, 1.0, 0.25], 0, 1, higher_is_better=False).tolist() == [5.0, 1.0, 4.0]


def test_normalize_mos_rejects_empty_scale():
    with pytest.raises(ValueError, match="lo < hi"):
        normalize_mos([1.0], 5, 5)


def test_normalize_std_units():
    # std 10 on a 0..100 scale is 10 * 4 / 100 = 0.4 in [1,5] units
    assert normalize_std([10.0], "std", (0, 100))[0] == pytest.approx(0.4)
    # a variance of 0.25 on the 1..5 scale is a std of 0.5, span 4 -> 4: unchanged
    assert normalize_std([0.25, 0.0], "variance", (1, 5)).tolist() == [0.5, 0.0]
    # std 0.5 on 0..9 -> 0.5 * 4 / 9
    assert normalize_std([0.5], "std", (0, 9))[0] == pytest.approx(2.0 / 9.0)
    # kind none -> NaN
    assert np.isnan(normalize_std([1.0, 2.0], "none", (0, 1))).all()


def test_normalize_std_rejects_bad_input():
    with pytest.raises(ValueError, match="negative"):
        normalize_std([-0.1], "std", (0, 1))
    with pytest.raises(ValueError, match="kind"):
        normalize_std([0.1], "sd", (0, 1))


def test_map_interval_carries_observed_range_onto_the_std_scale():
    # KonIQ: z-score MOS 0..100 corresponds to 1.051..4.646 on the 1-5 vote scale;
    # the observed 10..90 is 1.051 + 0.1 * 3.595 .. 1.051 + 0.9 * 3.595
    lo, hi = map_interval((10, 90), (0, 100), (1.051, 4.646))
    assert lo == pytest.approx(1.4105)
    assert hi == pytest.approx(4.2865)
    assert map_interval((0, 100), (0, 100), (0, 100)) == (0.0, 100.0)


def test_observed_range():
    assert observed_range([3.0, np.nan, 1.0, 2.0]) == (1.0, 3.0)
    with pytest.raises(ValueError, match="all values equal"):
        observed_range([2.0, 2.0])
    with pytest.raises(ValueError, match="no finite"):
        observed_range([np.nan])


def test_split_counts_match_visualquality_r1():
    assert split_counts(81, [0.6, 0.2, 0.2]) == (49, 16, 16)  # KADID references
    assert split_counts(25, [0.6, 0.2, 0.2]) == (15, 5, 5)
    assert split_counts(5, [0.6, 0.2, 0.2]) == (3, 1, 1)
    with pytest.raises(ValueError, match="sum"):
        split_counts(10, [0.5, 0.2, 0.2])


def test_split_by_group_is_deterministic_and_keeps_groups_whole():
    groups = [f"I{r:02d}" for r in range(1, 82) for _ in range(3)]
    first = split_by_group(groups, [0.6, 0.2, 0.2], seed=42)
    assert (first == split_by_group(groups, [0.6, 0.2, 0.2], seed=42)).all()
    by_group = {}
    for group, split in zip(groups, first, strict=True):
        by_group.setdefault(group, set()).add(split)
    assert all(len(s) == 1 for s in by_group.values())
    counts = {s: sum(1 for v in by_group.values() if s in v) for s in ("train", "val", "test")}
    assert counts == {"train": 49, "val": 16, "test": 16}
    # row order does not matter: the assignment depends on the sorted keys only
    shuffled = list(reversed(groups))
    again = dict(zip(shuffled, split_by_group(shuffled, [0.6, 0.2, 0.2], seed=42), strict=True))
    assert all(again[g] == next(iter(by_group[g])) for g in by_group)
    assert not (first == split_by_group(groups, [0.6, 0.2, 0.2], seed=7)).all()


def test_split_by_rules_and_value_mapping():
    names = ["t1.bmp", "t7.bmp", "t8.bmp", "100.bmp"]
    rules = [{"match": r"t[1-7]\.bmp", "split": "train"}]
    assert split_by_rules(names, rules, "test").tolist() == ["train", "train", "test", "test"]
    mapped, bad = map_split_values(["0", " 2", "1"], {"0": "train", "1": "val", "2": "test"})
    assert mapped.tolist() == ["train", "test", "val"] and bad is None
    _, bad = map_split_values(["training", "holdout"], {"training": "train"})
    assert bad == 1
