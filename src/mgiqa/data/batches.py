"""The GRPO batch plan: seeded batches of B images, each batch from ONE comparison scope.

RL2R compares the images of a batch with each other, so a batch must hold images whose MOS are on one scale.
The scope decides which images may share a batch:

- ``group`` (cross-domain alignment, the default): one comparison group (a whole dataset, or one reference
  scene of a restoration set);
- ``dataset``: one dataset (a multi-group dataset mixes its groups; the reward still pairs within groups);
- ``domain``: one domain (datasets of a domain share batches: their MOS are compared directly);
- ``mixed`` (the no_alignment ablation): all images pooled, domains and datasets ignored.

Construction (vectorized; no per-image Python loop). In every scope unit the images are ranked by MOS and cut
into B equal strata (quantiles); a batch takes one image from each stratum, chosen by a seeded shuffle inside
the strata, so every batch spans its unit's MOS range. A batch whose MOS spread (max - min) is below
`min_mos_spread` can only come from a unit whose strata sit close together; in units with such batches the
lowest and highest strata are re-paired once in sorted order (which maximizes the smallest low-to-high gap)
and the better of the two pairings per unit is kept. What still falls short is counted and reported, never
retried. A unit with fewer than B images forms no batch (reported); per pass over a unit, its n mod B images
that do not fill a batch are left out (a different set in every pass). With `num_batches`, passes repeat with
fresh shuffles until enough batches exist; batches of one pass appear in a seeded random order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mgiqa.errors import DataIntegrityError

log = logging.getLogger(__name__)
SCOPES = ("group", "dataset", "domain", "mixed")
PLAN_COLUMNS = ["batch", "position", "dataset", "image", "domain", "group", "mos"]
_SCOPE_KEYS = {"group": ["dataset", "group"], "dataset": ["dataset"], "domain": ["domain"], "mixed": []}
_SPREAD_TOL = 1e-9


def build_batch_plan(
    table: pd.DataFrame,
    images_per_batch: int,
    *,
    scope: str = "group",
    min_mos_spread: float = 0.5,
    num_batches: int | None = None,
    seed: int = 0,
    source: str = "<table>",
    datasets: Sequence[str] = (),
) -> pd.DataFrame:
    """The plan (columns PLAN_COLUMNS, ordered by batch then position); its report is in `plan.attrs["report"]`.

    `num_batches=None` makes one pass over every scope unit. Each of `datasets` (the configured training
    datasets) must have images in the plan: one with no row in `table`, or whose scope units are all smaller
    than a batch, fails, named, rather than silently contributing nothing to GRPO.
    """
    if scope not in SCOPES:
        raise DataIntegrityError(f"unknown batch scope {scope!r}; known: {list(SCOPES)}")
    size = int(images_per_batch)
    if size < 2:
        raise DataIntegrityError(f"images_per_batch must be at least 2, got {images_per_batch}")
    if num_batches is not None and num_batches < 1:
        raise DataIntegrityError(f"num_batches must be positive, got {num_batches}")
    table = _checked_table(table, source)
    mos = table["mos"].to_numpy(dtype=float)
    keys = _SCOPE_KEYS[scope]
    units, first_rows = _key_codes(table, keys)
    unit_size = np.bincount(units, minlength=len(first_rows))
    per_unit = unit_size // size
    too_small = {
        "/".join(str(table[k].iat[first_rows[u]]) for k in keys) or "all": int(unit_size[u])
        for u in np.flatnonzero(per_unit == 0)
    }
    if per_unit.sum() == 0:
        raise DataIntegrityError(
            f"{source}: no {scope} unit has {size} images for one batch (unit sizes: {too_small})"
        )
    rng = np.random.default_rng(seed)
    per_pass = int(per_unit.sum())
    n_passes = 1 if num_batches is None else -(-num_batches // per_pass)
    passes = []
    for _ in range(n_passes):
        members = _one_pass(units, mos, per_unit, size, min_mos_spread, rng)  # [per_pass, B], unit by unit
        members = members[rng.permutation(per_pass)]  # interleave the units
        passes.append(np.take_along_axis(members, np.argsort(rng.random(members.shape), axis=1), axis=1))
    members = np.concatenate(passes)[:num_batches]
    index = members.ravel()
    planned = set(table["dataset"].astype(str).to_numpy()[index])
    _check_contributions(table, datasets, planned, too_small, source)
    plan = pd.DataFrame(
        {
            "batch": np.repeat(np.arange(members.shape[0]), size),
            "position": np.tile(np.arange(size), members.shape[0]),
            **{c: table[c].to_numpy()[index] for c in PLAN_COLUMNS[2:]},
        }
    )
    spreads = np.ptp(mos[members], axis=1)
    below = int((spreads < min_mos_spread - _SPREAD_TOL).sum())
    plan.attrs["report"] = {
        "scope": scope,
        "images_per_batch": size,
        "min_mos_spread": float(min_mos_spread),
        "seed": int(seed),
        "n_images": len(table),
        "n_batches": int(members.shape[0]),
        "n_passes": n_passes,
        "batches_per_pass": per_pass,
        "scope_units": len(first_rows),
        "units_too_small": too_small,
        "images_left_out_per_pass": int((unit_size % size)[per_unit > 0].sum() + sum(too_small.values())),
        "batches_below_spread": below,
        "min_batch_spread": float(spreads.min()),
        "mean_batch_spread": float(spreads.mean()),
        "images_without_group_partner": _images_without_partner(table, members),
    }
    if below:
        log.warning(
            "%s: %d of %d batches have a MOS spread below %s", source, below, len(spreads), min_mos_spread
        )
    if too_small:
        log.warning(
            "%s: %d %s units are smaller than one batch: %s", source, len(too_small), scope, too_small
        )
    return plan


def _check_contributions(table, datasets, planned: set, too_small: dict, source: str) -> None:
    present = set(table["dataset"].astype(str))
    absent = [d for d in datasets if d not in present]
    if absent:
        raise DataIntegrityError(f"{source}: training datasets {absent} have no rows to plan batches from")
    unplanned = [d for d in datasets if d not in planned]
    if unplanned:
        raise DataIntegrityError(
            f"{source}: training datasets {unplanned} contribute no batch (scope units smaller than one "
            f"batch: {too_small}); lower batches.images_per_batch or drop them from training"
        )


def batches_per_pass(table: pd.DataFrame, images_per_batch: int, scope: str = "group") -> int:
    """How many batches one pass over `table` makes (sum over scope units of size // images_per_batch)."""
    if scope not in SCOPES:
        raise DataIntegrityError(f"unknown batch scope {scope!r}; known: {list(SCOPES)}")
    units, _ = _key_codes(table, _SCOPE_KEYS[scope])
    return int((np.bincount(units) // int(images_per_batch)).sum())


def _checked_table(table: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in PLAN_COLUMNS[2:] if c not in table.columns]
    if missing:
        raise DataIntegrityError(f"{source}: missing columns {missing}")
    table = table.reset_index(drop=True)
    mos = pd.to_numeric(table["mos"], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(mos.to_numpy(dtype=float)))
    if bad.size:
        raise DataIntegrityError(f"{source}: row {int(bad[0])}: mos is missing or not a number")
    for column in ("dataset", "image", "domain", "group"):
        empty = np.flatnonzero(table[column].isna().to_numpy())
        if empty.size:
            raise DataIntegrityError(f"{source}: row {int(empty[0])}: {column} is empty")
    dup = np.flatnonzero(table.duplicated(["dataset", "image"]).to_numpy())
    if dup.size:
        row = table.iloc[dup[0]]
        raise DataIntegrityError(
            f"{source}: row {int(dup[0])}: image {row['dataset']}/{row['image']} repeats"
        )
    return table.assign(mos=mos.astype(float))


def _one_pass(units, mos, per_unit, size, min_spread, rng) -> np.ndarray:
    """One pass over every unit: row indices [batches, B], batches unit by unit, columns by MOS stratum."""
    n = units.size
    unit_size = np.bincount(units, minlength=per_unit.size)
    by_mos = np.lexsort((rng.random(n), mos, units))  # unit, then MOS (random tie-break)
    unit_start = np.concatenate([[0], np.cumsum(unit_size)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[by_mos] = np.arange(n) - unit_start[units[by_mos]]
    stratum = rank * size // unit_size[units]
    slot = _rank_within(units * size + stratum, rng.random(n))  # random order inside each stratum
    keep = slot < per_unit[units]
    batch_start = np.concatenate([[0], np.cumsum(per_unit)[:-1]])
    members = _members(units, stratum, slot, keep, batch_start, per_unit.sum(), size)
    spreads = np.ptp(mos[members], axis=1)
    batch_unit = np.repeat(np.arange(per_unit.size), per_unit)
    failing = np.bincount(batch_unit, weights=spreads < min_spread - _SPREAD_TOL, minlength=per_unit.size)
    if failing.any():
        # re-pair the lowest and highest strata of the failing units in sorted MOS order
        extreme = keep & failing[units].astype(bool) & ((stratum == 0) | (stratum == size - 1))
        sorted_slot = slot.copy()
        sorted_slot[extreme] = _rank_within((units * size + stratum)[extreme], mos[extreme])
        resorted = _members(units, stratum, sorted_slot, keep, batch_start, per_unit.sum(), size)
        new_spreads = np.ptp(mos[resorted], axis=1)
        new_failing = np.bincount(
            batch_unit, weights=new_spreads < min_spread - _SPREAD_TOL, minlength=per_unit.size
        )
        better = (new_failing < failing)[batch_unit]
        members = np.where(better[:, None], resorted, members)
    return members


def _rank_within(keys: np.ndarray, order_by: np.ndarray) -> np.ndarray:
    """0-based rank of every element among those with the same key, ordered by `order_by`."""
    order = np.lexsort((order_by, keys))
    sorted_keys = keys[order]
    first = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    block_start = np.maximum.accumulate(np.where(first, np.arange(keys.size), 0))
    rank = np.empty(keys.size, dtype=np.int64)
    rank[order] = np.arange(keys.size) - block_start
    return rank


def _members(units, stratum, slot, keep, batch_start, n_batches, size) -> np.ndarray:
    """Row indices [n_batches, size]: batch = unit offset + slot, column = stratum."""
    members = np.full((int(n_batches), size), -1, dtype=np.int64)
    rows = np.flatnonzero(keep)
    members[batch_start[units[rows]] + slot[rows], stratum[rows]] = rows
    if (members < 0).any():  # an internal invariant: every stratum holds at least per_unit images
        raise AssertionError("batch plan: a batch slot stayed empty")
    return members


def _key_codes(table: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..U-1 of the distinct values of the `keys` columns (in order of appearance), and each one's first row."""
    combined = np.zeros(len(table), dtype=np.int64)
    for key in keys:
        codes, uniques = pd.factorize(table[key])
        combined = combined * len(uniques) + codes
    _, first_rows, inverse = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(first_rows)  # number the units in order of appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.ravel()], first_rows[order]


def _images_without_partner(table: pd.DataFrame, members: np.ndarray) -> int:
    """Images whose comparison group has no other image in their batch (the reward gives them 0)."""
    g = np.sort(_key_codes(table, ["dataset", "group"])[0][members], axis=1)
    alone = np.ones(g.shape, dtype=bool)
    same_next = g[:, 1:] == g[:, :-1]
    alone[:, 1:] &= ~same_next
    alone[:, :-1] &= ~same_next
    return int(alone.sum())
