"""Deterministic train/val/test assignment: by group (reference image), by explicit reference lists, by name
rules, by value mapping.

`split_by_group` is the VisualQuality-R1 protocol for KADID-10K (6:2:2 by reference image, seed 42): the sorted
distinct group keys are permuted with numpy's `default_rng(seed)`; the first `n_train` keys go to train, the
next `n_val` to val, the rest to test, with n_val = floor(ratio_val * n), n_test = floor(ratio_test * n) and
n_train = n - n_val - n_test (81 KADID references give 49 / 16 / 16). The sizes match VisualQuality-R1's; the
chosen references differ (their code is not public; no standard shuffle with seed 42 reproduces their sets).
`split_by_reference_lists` reproduces a published split exactly from its lists of references (the registry's
kadid10k entry carries VisualQuality-R1's 49 / 16 / 16).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def split_counts(n: int, ratios) -> tuple[int, int, int]:
    """(n_train, n_val, n_test) for `n` groups and ratios (train, val, test) summing to 1."""
    ratios = [float(r) for r in ratios]
    if len(ratios) != 3 or any(r < 0 for r in ratios) or not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
        raise ValueError(f"split ratios must be three non-negative numbers summing to 1, got {ratios}")
    n_val = math.floor(ratios[1] * n + 1e-9)
    n_test = math.floor(ratios[2] * n + 1e-9)
    return n - n_val - n_test, n_val, n_test


def split_by_group(groups, ratios, seed: int) -> np.ndarray:
    """The split of every row, all rows of one group in the same split (see the module docstring)."""
    groups = pd.Series(groups, dtype="string").reset_index(drop=True)
    if groups.isna().any():
        raise ValueError("split_by_group: a group key is missing")
    keys = np.array(sorted(groups.unique()), dtype=object)
    n_train, n_val, _ = split_counts(len(keys), ratios)
    order = keys[np.random.default_rng(seed).permutation(len(keys))]
    assignment = {key: "train" for key in order[:n_train]}
    assignment.update({key: "val" for key in order[n_train : n_train + n_val]})
    assignment.update({key: "test" for key in order[n_train + n_val :]})
    return groups.map(assignment).to_numpy(dtype=object)


def split_by_reference_lists(refs, lists: dict) -> tuple[np.ndarray, int | None]:
    """The split of every row from `lists` ({split: [reference, ...]}). Returns (splits, index of the first
    row whose reference is in no list, or None)."""
    return map_split_values(refs, {ref: split for split, members in lists.items() for ref in members})


def split_by_rules(names, rules, default: str) -> np.ndarray:
    """First matching rule (`{match: regex, split}`, full match on the name) wins; else `default`."""
    names = pd.Series(names, dtype="string").reset_index(drop=True)
    result = pd.Series(default, index=names.index, dtype=object)
    decided = pd.Series(False, index=names.index)
    for rule in rules:
        hit = names.str.fullmatch(rule["match"]).fillna(False).astype(bool) & ~decided
        result[hit] = rule["split"]
        decided |= hit
    return result.to_numpy(dtype=object)


def map_split_values(values, mapping: dict) -> tuple[np.ndarray, int | None]:
    """Map raw split labels through `mapping` (keys compared as stripped strings). Returns (splits, index of
    the first unmapped value or None)."""
    text = pd.Series(values, dtype="string").str.strip().reset_index(drop=True)
    keys = {str(k): v for k, v in mapping.items()}
    mapped = text.map(keys)
    bad = mapped.isna().to_numpy().nonzero()[0]
    return mapped.to_numpy(dtype=object), (int(bad[0]) if bad.size else None)


def select_split(table: pd.DataFrame, split: str, source) -> pd.DataFrame:
    """The rows of `table` (read from `source`) in `split`; "all" keeps every row. Errors name the file."""
    from mgiqa.errors import DataIntegrityError

    if split == "all":
        return table
    if "split" not in table.columns:
        raise DataIntegrityError(f"{source}: no 'split' column to select {split!r} rows from")
    selected = table[table["split"] == split]
    if selected.empty:
        raise DataIntegrityError(f"{source}: no rows of split {split!r}")
    return selected
