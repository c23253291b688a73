"""Ground-truth preferences between images: hard (RL2R) or Thurstone probabilities, only inside a group.

`P[i, j]` is the probability that image i is better than image j:

- ``hard`` (RL2R): 1 if MOS_i > MOS_j, 0.5 if equal, 0 otherwise.
- ``thurstone``: Phi((MOS_i - MOS_j) / sqrt(s_i^2 + s_j^2)) for a pair whose two stds are both known (finite)
  and not both 0; every other pair (a std missing, or both 0: no uncertainty to spread) falls back to the hard
  label, which is the Thurstone limit of a vanishing std.

Pairs are only ever formed inside one comparison group (`groups`; e.g. one reference scene of a restoration
set): `valid[i, j]` is False across groups and on the diagonal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from mgiqa.errors import DataIntegrityError

GROUND_TRUTHS = ("hard", "thurstone")


def group_codes(groups, n: int) -> np.ndarray:
    """Integer codes of the group labels ([n]); all zeros when `groups` is None."""
    if groups is None:
        return np.zeros(n, dtype=np.int64)
    groups = np.asarray(groups, dtype=object).ravel()
    if groups.shape != (n,):
        raise ValueError(f"groups has {groups.shape[0]} entries for {n} images")
    codes, _ = pd.factorize(pd.Series(groups, dtype=object))
    if (codes < 0).any():
        raise ValueError(f"groups: missing group label at index {int(np.flatnonzero(codes < 0)[0])}")
    return codes


def preference_matrix(mos, std=None, groups=None, kind: str = "hard") -> tuple[np.ndarray, np.ndarray]:
    """(P [N, N] ground-truth preference of i over j, valid [N, N] bool: same group and i != j)."""
    mos = np.asarray(mos, dtype=float)
    if mos.ndim != 1:
        raise ValueError(f"mos must be 1-D, got shape {mos.shape}")
    if not np.isfinite(mos).all():
        raise ValueError(f"mos: non-finite value at index {int(np.flatnonzero(~np.isfinite(mos))[0])}")
    if kind not in GROUND_TRUTHS:
        raise ValueError(f"unknown ground truth {kind!r}; known: {list(GROUND_TRUTHS)}")
    n = mos.shape[0]
    if kind == "thurstone" and std is not None:
        std = _checked_std(std, n)
        prefs, _ = pair_preferences(mos[:, None], mos[None, :], std[:, None], std[None, :])
    else:
        prefs, _ = pair_preferences(mos[:, None], mos[None, :])
    codes = group_codes(groups, n)
    valid = codes[:, None] == codes[None, :]
    np.fill_diagonal(valid, False)
    return prefs, valid


def pairs_table(
    df: pd.DataFrame,
    *,
    kind: str = "hard",
    max_pairs_per_group: int | None = None,
    seed: int = 0,
    source: str = "<table>",
) -> pd.DataFrame:
    """Every unordered within-group pair (i before j in table order) of a canonical table, with P(i > j).

    Columns: dataset, group, image_i, image_j, mos_i, mos_j, p, ground_truth (the label used for that pair:
    ``thurstone`` or ``hard``, the fallback). With `max_pairs_per_group`, groups with more pairs keep a seeded
    uniform sample of that many (a 10k-image group has 50M pairs).
    """
    needed = ["dataset", "image", "group", "mos"] + (["mos_std"] if kind == "thurstone" else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataIntegrityError(f"{source}: missing columns {missing}")
    mos = pd.to_numeric(df["mos"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(mos).all():
        raise DataIntegrityError(f"{source}: row {int(np.flatnonzero(~np.isfinite(mos))[0])}: mos is missing")
    std = None
    if kind == "thurstone":
        std = pd.to_numeric(df["mos_std"], errors="coerce").to_numpy(dtype=float)
        if (std < 0).any():
            raise DataIntegrityError(f"{source}: row {int(np.flatnonzero(std < 0)[0])}: negative mos_std")
    rng = np.random.default_rng(seed)
    codes = group_codes(df["group"].astype(str).to_numpy(), len(df))
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for code in range(codes.max() + 1 if len(df) else 0):
        members = np.flatnonzero(codes == code)
        first, second = np.triu_indices(len(members), k=1)
        if max_pairs_per_group is not None and len(first) > max_pairs_per_group:
            keep = np.sort(rng.choice(len(first), size=max_pairs_per_group, replace=False))
            first, second = first[keep], second[keep]
        parts.append((members[first], members[second]))
    left = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    right = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    if std is None:
        p, used = pair_preferences(mos[left], mos[right])
    else:
        p, used = pair_preferences(mos[left], mos[right], std[left], std[right])
    return pd.DataFrame(
        {
            "dataset": df["dataset"].to_numpy()[left],
            "group": df["group"].to_numpy()[left],
            "image_i": df["image"].to_numpy()[left],
            "image_j": df["image"].to_numpy()[right],
            "mos_i": mos[left],
            "mos_j": mos[right],
            "p": p,
            "ground_truth": np.where(used, "thurstone", "hard"),
        }
    )


def pair_preferences(mos_i, mos_j, std_i=None, std_j=None) -> tuple[np.ndarray, np.ndarray]:
    """P(i > j) for broadcastable arrays, and where the Thurstone label applied (else the hard label)."""
    diff = np.asarray(mos_i, dtype=float) - np.asarray(mos_j, dtype=float)
    prefs = 0.5 * (1.0 + np.sign(diff))
    if std_i is None or std_j is None:
        return prefs, np.zeros(diff.shape, dtype=bool)
    spread = np.asarray(std_i, dtype=float) ** 2 + np.asarray(std_j, dtype=float) ** 2
    usable = np.isfinite(spread) & (spread > 0)
    thurstone = ndtr(diff / np.sqrt(np.where(usable, spread, 1.0)))
    return np.where(usable, thurstone, prefs), usable


def _checked_std(std, n: int) -> np.ndarray:
    std = np.asarray(std, dtype=float)
    if std.shape != (n,):
        raise ValueError(f"std has shape {std.shape}, expected ({n},)")
    if (std < 0).any():
        raise ValueError(f"std: negative value at index {int(np.flatnonzero(std < 0)[0])}")
    return std
