"""MOS and std normalization onto the common scale [1, 5], higher is better. Pure functions.

Which interval maps onto [1, 5]:
- the NOMINAL rating scale when the registry (or the label layout) declares one (`mos.nominal: true`: KADID's
  1..5 ACR scale, SPAQ's and CLIVE's 0..100 sliders, ...). A table that does not use the whole scale keeps that
  (CLIVE's 3.4..92.4 becomes 1.14..4.70): the numbers stay comparable to the raters' scale;
- else the OBSERVED min..max of the parsed table (`mos.nominal: false`: z-score MOS such as KonIQ's, Elo
  scores), since such scales have no meaningful ends.

A std is converted into the units of the normalized MOS. The layout says on which interval the std is
expressed (`std_scale`): the interval that corresponds, in the std's own units, to the interval that is
mapped onto [1, 5] (see `map_interval` to carry an interval from one scale onto another). A variance is
square-rooted first.
"""

from __future__ import annotations

import numpy as np

TARGET = (1.0, 5.0)
STD_KINDS = ("std", "variance", "none")


def _interval(name: str, interval) -> tuple[float, float]:
    lo, hi = (float(v) for v in interval)
    if not np.isfinite(lo) or not np.isfinite(hi) or not hi > lo:
        raise ValueError(f"{name}: an interval needs finite lo < hi, got [{lo}, {hi}]")
    return lo, hi


def normalize_mos(raw, lo: float, hi: float, higher_is_better: bool = True, target=TARGET) -> np.ndarray:
    """Map scores on [lo, hi] linearly onto `target` ([1, 5]); a lower-is-better scale is flipped."""
    lo, hi = _interval("mos scale", (lo, hi))
    t_lo, t_hi = _interval("target", target)
    unit = (np.asarray(raw, dtype=float) - lo) / (hi - lo)
    if not higher_is_better:
        unit = 1.0 - unit
    return t_lo + unit * (t_hi - t_lo)


def normalize_std(std, kind: str, std_scale, target=TARGET) -> np.ndarray:
    """A std (or variance) expressed on `std_scale` = (lo, hi), in the units of `target` onto which that
    interval is mapped: sqrt for a variance, then times (target span / std_scale span). `kind` "none" gives NaN.
    """
    if kind not in STD_KINDS:
        raise ValueError(f"std kind {kind!r} is not one of {STD_KINDS}")
    values = np.asarray(std, dtype=float)
    if kind == "none":
        return np.full(values.shape, np.nan)
    if np.any(values < 0):
        raise ValueError(f"a {kind} cannot be negative")
    if kind == "variance":
        values = np.sqrt(values)
    lo, hi = _interval("std scale", std_scale)
    t_lo, t_hi = _interval("target", target)
    return values * (t_hi - t_lo) / (hi - lo)


def map_interval(interval, source, destination) -> tuple[float, float]:
    """Carry `interval` linearly from the `source` scale onto the `destination` scale (both (lo, hi) pairs that
    correspond to each other), e.g. an observed MOS range onto the scale a std is expressed on."""
    s_lo, s_hi = _interval("source", source)
    d_lo, d_hi = _interval("destination", destination)
    factor = (d_hi - d_lo) / (s_hi - s_lo)
    a, b = (d_lo + (float(v) - s_lo) * factor for v in interval)
    return a, b


def observed_range(values) -> tuple[float, float]:
    """(min, max) of the finite values; ValueError when there are none or all are equal (nothing to scale)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no finite values")
    lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        raise ValueError(f"all values equal {lo}: an observed range cannot be normalized")
    return lo, hi
