"""Correlation metrics for IQA: SRCC, PLCC (raw and after the VQEG logistic fit), KRCC, pairwise
ranking accuracy, seeded bootstrap confidence intervals, within-group correlations, and the paired
bootstrap test of one method against another.

Conventions (see docs/ARCHITECTURE.md, "Parse failures in metrics"):
- an unparseable score is set to the scale midpoint ``FAILED_SCORE`` (3.0): a constant that can only tie;
- the correlation of a constant prediction is defined as 0.0 (no ranking information) and flagged;
- pairs whose ground truth ties are excluded from the pairwise accuracy; predicted ties count 0.5.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize, stats

from mgiqa.errors import MgiqaError

FAILED_SCORE = 3.0


class LogisticFitError(MgiqaError):
    """The 4-parameter logistic mapping could not be fitted."""


def _is_constant(x: np.ndarray) -> bool:
    return x.size == 0 or bool(np.all(x == x[0]))


def _check_pair(y, pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    if y.shape != pred.shape or y.ndim != 1:
        raise ValueError(
            f"ground truth and predictions must be 1-D of equal length, got {y.shape} and {pred.shape}"
        )
    if y.size < 2:
        raise ValueError(f"need at least 2 samples for a correlation, got {y.size}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(pred))):
        raise ValueError("ground truth and predictions must be finite (apply the failure rule first)")
    return y, pred


def srcc(y, pred) -> float:
    """Spearman rank correlation; 0.0 for a constant prediction."""
    y, pred = _check_pair(y, pred)
    return 0.0 if _is_constant(pred) or _is_constant(y) else float(stats.spearmanr(y, pred).statistic)


def plcc(y, pred) -> float:
    """Pearson linear correlation of the raw scores; 0.0 for a constant prediction."""
    y, pred = _check_pair(y, pred)
    return 0.0 if _is_constant(pred) or _is_constant(y) else float(stats.pearsonr(y, pred).statistic)


def krcc(y, pred) -> float:
    """Kendall rank correlation (tau-b); 0.0 for a constant prediction."""
    y, pred = _check_pair(y, pred)
    return 0.0 if _is_constant(pred) or _is_constant(y) else float(stats.kendalltau(y, pred).statistic)


def logistic4(x, b1, b2, b3, b4):
    """VQEG 4-parameter logistic: (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2."""
    z = np.clip(-(np.asarray(x, dtype=float) - b3) / np.abs(b4), -500.0, 500.0)
    return (b1 - b2) / (1.0 + np.exp(z)) + b2


MIN_LOGISTIC_WIDTH = 1e-2  # b4 on standardized predictions: narrower is a step function (a degenerate fit)
LOGISTIC_DIGITS = 6  # significant digits of the reported fit; PLCC is computed through the rounded curve


def fit_logistic(pred, y, maxfev: int = 20000) -> np.ndarray:
    """Least-squares fit of `logistic4` mapping predictions to MOS; returns (b1, b2, b3, b4) on the raw
    prediction scale, to LOGISTIC_DIGITS significant digits. Raises LogisticFitError when the fit does not
    converge or is degenerate."""
    y, pred = _check_pair(y, pred)
    if y.size <= 4:  # four parameters: a fit through at most four points is exact, whatever they are
        raise LogisticFitError(f"{y.size} images: the 4-parameter logistic needs at least 5")
    if _is_constant(pred):
        raise LogisticFitError("constant predictions: the logistic mapping is undefined")
    # fit on standardized predictions for conditioning, then map b3, b4 back to the raw scale
    loc, scale = float(pred.mean()), float(pred.std())
    x = (pred - loc) / scale
    sign = 1.0 if stats.pearsonr(x, y).statistic >= 0 else -1.0
    hi, lo = float(y.max()), float(y.min())
    p0 = [hi, lo, 0.0, 1.0] if sign > 0 else [lo, hi, 0.0, 1.0]
    try:
        with warnings.catch_warnings():
            # "Covariance of the parameters could not be estimated" says nothing about the fit itself (the
            # covariance is not used), and whether LAPACK raises it for a near-singular Jacobian depends on
            # the thread count: the same predictions gave a fit under one tool and none under the other.
            # Degeneracy is judged on the parameters below instead, the same way everywhere.
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            params, _ = optimize.curve_fit(logistic4, x, y, p0=p0, maxfev=maxfev)
    except (RuntimeError, ValueError) as exc:
        raise LogisticFitError(f"logistic fit failed: {exc}") from exc
    if not np.all(np.isfinite(params)):
        raise LogisticFitError(f"logistic fit diverged: parameters {params.tolist()}")
    if abs(params[3]) < MIN_LOGISTIC_WIDTH:
        # no parameter values in the message: a step's are not determined (the same predictions gave
        # 4.06423854359053 in one process and 4.064238566488546 in another), so they would make the report
        # differ between two runs of the same job
        raise LogisticFitError(
            f"logistic fit is degenerate (a step, not a curve): width |b4| = {abs(params[3]):.1g} on standardized"
            f" predictions, below {MIN_LOGISTIC_WIDTH:g}"
        )
    b1, b2, b3, b4 = params
    return _significant(np.array([b1, b2, b3 * scale + loc, abs(b4) * scale]))


def _significant(values: np.ndarray, digits: int = LOGISTIC_DIGITS) -> np.ndarray:
    """Round to `digits` significant digits: an iterative fit's trailing digits are not reproducible between
    processes when it is ill-conditioned, and the reported curve should be the one that is evaluated."""
    return np.array([float(f"{v:.{digits}g}") for v in values])


def plcc_logistic(y, pred) -> tuple[float, np.ndarray]:
    """PLCC after the logistic mapping; returns (plcc, params). Raises LogisticFitError."""
    params = fit_logistic(pred, y)
    return plcc(y, logistic4(np.asarray(pred, dtype=float), *params)), params


def pairwise_accuracy(y, pred, groups=None, chunk: int = 1024) -> tuple[float, int]:
    """Fraction of image pairs ranked like the ground truth, pairs formed only inside a group.

    Pairs tied in the ground truth are excluded; a predicted tie counts 0.5. Returns (accuracy, n_pairs).
    """
    y, pred = _check_pair(y, pred)
    groups = np.zeros(y.size, dtype=int) if groups is None else np.asarray(groups)
    score, n_pairs = 0.0, 0
    for g in np.unique(groups):
        yg, pg = y[groups == g], pred[groups == g]
        for start in range(0, yg.size, chunk):
            higher = yg[start : start + chunk, None] > yg[None, :]  # ordered pairs (i better than j)
            dp = pg[start : start + chunk, None] - pg[None, :]
            score += float(np.sum(higher & (dp > 0)) + 0.5 * np.sum(higher & (dp == 0)))
            n_pairs += int(higher.sum())
    if n_pairs == 0:
        raise ValueError("no pair with different ground truth: pairwise accuracy undefined")
    return score / n_pairs, n_pairs


# ---- vectorized statistics for the bootstrap (axis = -1 holds the samples) ----


def _pearson_along(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=-1) / den
    return np.where(den > 0, r, 0.0)  # constant resample -> 0, the same rule as `srcc`


def _srcc_along(y: np.ndarray, pred: np.ndarray, axis: int = -1) -> np.ndarray:
    return _pearson_along(stats.rankdata(y, axis=axis), stats.rankdata(pred, axis=axis))


def _plcc_along(y: np.ndarray, pred: np.ndarray, axis: int = -1) -> np.ndarray:
    return _pearson_along(y, pred)


def _srcc_diff_along(y, pred_a, pred_b, axis: int = -1) -> np.ndarray:
    ry = stats.rankdata(y, axis=axis)
    return _pearson_along(ry, stats.rankdata(pred_a, axis=axis)) - _pearson_along(
        ry, stats.rankdata(pred_b, axis=axis)
    )


BOOTSTRAP_STATISTICS = {"srcc": _srcc_along, "plcc": _plcc_along}


def bootstrap_ci(y, pred, metric: str, n_resamples: int, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap CI of `metric` (srcc | plcc) over images resampled with replacement (paired)."""
    y, pred = _check_pair(y, pred)
    res = stats.bootstrap(
        (y, pred), BOOTSTRAP_STATISTICS[metric], n_resamples=n_resamples, paired=True, vectorized=True,
        confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed), batch=200,
    )  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def mean_ci(values, n_resamples: int, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of `values` (e.g. per-group correlations: a cluster bootstrap)."""
    values = np.asarray(values, dtype=float)
    if values.size < 2 or _is_constant(values):
        return float(values.mean()), float(values.mean())
    res = stats.bootstrap(
        (values,), np.mean, n_resamples=n_resamples, vectorized=True, confidence_level=confidence,
        method="percentile", rng=np.random.default_rng(seed),
    )  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_bootstrap_test(y, pred_a, pred_b, n: int, seed: int, confidence: float = 0.95) -> dict:
    """Paired bootstrap of SRCC(a) - SRCC(b) on the same resampled images.

    Returns the observed difference, its percentile CI and the two-sided p-value
    2 * min(P*(d <= 0), P*(d >= 0)) from the bootstrap distribution (with the +1 correction, capped at 1).
    """
    y, pred_a = _check_pair(y, pred_a)
    _, pred_b = _check_pair(y, pred_b)
    if n < 1:
        raise ValueError(f"need at least one bootstrap resample, got n={n}")
    res = stats.bootstrap(
        (y, pred_a, pred_b), _srcc_diff_along, n_resamples=n, paired=True, vectorized=True,
        confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed), batch=200,
    )  # fmt: skip
    d = res.bootstrap_distribution
    tail = min(np.sum(d <= 0), np.sum(d >= 0))
    return {
        "srcc_diff": srcc(y, pred_a) - srcc(y, pred_b),
        "ci_low": float(res.confidence_interval.low),
        "ci_high": float(res.confidence_interval.high),
        "p_value": float(min(1.0, 2.0 * (tail + 1) / (d.size + 1))),
        "n_resamples": int(n),
    }


def within_group(y, pred, groups) -> dict:
    """Per-group SRCC and PLCC (groups with fewer than 2 distinct MOS values are excluded)."""
    y, pred = _check_pair(y, pred)
    groups = np.asarray(groups)
    per_srcc, per_plcc, n_constant, n_excluded = [], [], 0, 0
    for g in np.unique(groups):
        yg, pg = y[groups == g], pred[groups == g]
        if _is_constant(yg):
            n_excluded += 1
            continue
        n_constant += _is_constant(pg)
        per_srcc.append(srcc(yg, pg))
        per_plcc.append(plcc(yg, pg))
    if not per_srcc:
        raise ValueError("no group with at least 2 distinct MOS values: within-group correlation undefined")
    return {
        "per_group_srcc": np.array(per_srcc),
        "per_group_plcc": np.array(per_plcc),
        "n_groups_used": len(per_srcc),
        "n_groups_excluded": n_excluded,
        "n_groups_constant_prediction": n_constant,
    }


def aggregate_seeds(values) -> dict:
    """Mean and sample std (ddof=1; None for a single seed) of a metric over seeds; NaNs are an error."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"cannot aggregate over seeds: {arr.tolist()}")
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if arr.size > 1 else None,
        "n": int(arr.size),
    }
