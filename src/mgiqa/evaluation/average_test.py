"""Is a method's average SRCC over the benchmarks different from the reference's? A paired bootstrap.

The average SRCC is the mean over B benchmarks of SRCC_b. For methods a and r scored on the same images,

    D = (1/B) sum_b [SRCC_b(a) - SRCC_b(r)]

Each benchmark's images are resampled with replacement (the two methods' scores of an image stay together),
independently across benchmarks (they hold different images); each resample gives one D*, and the percentile
interval of the D* is D's confidence interval. The two-sided p-value is 2 min(P*(D* <= 0), P*(D* >= 0)) with
the +1 correction, as in `metrics.paired_bootstrap_test`, which is this test for one benchmark. A resample on
which a method's scores are constant has SRCC 0 there (as `metrics.srcc` defines it).

`with_average_tests` adds the test of each ablation against `mg_iqa` to the ablation table: an effect is
`above` or `below` only when its interval excludes 0, else a `tie`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from mgiqa.evaluation import metrics


def average_srcc_test(
    benchmarks: Sequence[tuple], n_resamples: int, seed: int, confidence: float = 0.95
) -> dict:
    """`benchmarks`: one (mos, scores_a, scores_ref) per benchmark, aligned by image. The paired bootstrap of
    the average SRCC difference a - ref: observed difference, percentile CI, p-value, resamples."""
    if n_resamples < 1:
        raise ValueError(f"need at least one bootstrap resample, got n={n_resamples}")
    if not benchmarks:
        raise ValueError("no benchmark to average over")
    observed, draws = [], []
    for index, (y, a, ref) in enumerate(benchmarks):
        y, a = metrics._check_pair(y, a)
        _, ref = metrics._check_pair(y, ref)
        observed.append(metrics.srcc(y, a) - metrics.srcc(y, ref))
        res = stats.bootstrap(
            (y, a, ref), metrics._srcc_diff_along, n_resamples=n_resamples, paired=True, vectorized=True,
            method="percentile", rng=np.random.default_rng([seed, index]), batch=200,
        )  # fmt: skip
        draws.append(np.nan_to_num(res.bootstrap_distribution, nan=0.0))
    d = np.mean(draws, axis=0)
    alpha = 1.0 - confidence
    low, high = np.quantile(d, [alpha / 2, 1.0 - alpha / 2])
    tail = min(np.sum(d <= 0), np.sum(d >= 0))
    return {
        "avg_srcc_diff": float(np.mean(observed)),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(min(1.0, 2.0 * (tail + 1) / (d.size + 1))),
        "n_resamples": int(n_resamples),
    }


def verdict(ci_low: float, ci_high: float) -> str:
    """`above` / `below` when the interval excludes 0, else `tie`."""
    return "above" if ci_low > 0 else "below" if ci_high < 0 else "tie"


def with_average_tests(table: pd.DataFrame, config: dict, predictions_root: str | Path) -> pd.DataFrame:
    """The ablation table with, per ablation, the paired bootstrap of its average SRCC minus the reference's
    (`delta_avg_srcc_ci_low/high`, `delta_avg_srcc_p`, `delta_verdict`). With several seeds each seed is
    tested (the reference's own seed) and the test with the largest p-value is kept (conservative)."""
    from mgiqa import pipeline
    from mgiqa.config import derive_seed
    from mgiqa.errors import DataIntegrityError
    from mgiqa.evaluation.predictions import paired_scores
    from mgiqa.evaluation.tables import REFERENCE_METHOD

    n_boot, confidence = int(config["evaluation"]["bootstrap"]), float(config["evaluation"]["confidence"])
    if n_boot < 1:
        raise DataIntegrityError("evaluation.bootstrap is 0: the ablation tests need bootstrap resamples")
    root = Path(predictions_root)

    reference_seeds = pipeline.method_seeds(config, REFERENCE_METHOD)
    tests = {}
    for method in table["method"]:
        if method == REFERENCE_METHOD:
            continue
        per_seed = []
        for seed in pipeline.method_seeds(config, method):
            ref_seed = seed if seed in reference_seeds else reference_seeds[0]
            triples = []
            for bench in config["datasets"]["benchmarks"]:
                a, r = paired_scores(
                    root / method / f"seed{seed}" / f"{bench}.csv",
                    root / REFERENCE_METHOD / f"seed{ref_seed}" / f"{bench}.csv",
                )
                triples.append((a["mos"].to_numpy(), a["_score"].to_numpy(), r["_score"].to_numpy()))
            per_seed.append(
                average_srcc_test(
                    triples, n_boot, derive_seed(config, "ablation-test", method, seed), confidence
                )
            )
        tests[method] = max(per_seed, key=lambda t: t["p_value"])
    out = table.copy()
    rows = [tests.get(m) for m in out["method"]]
    out["delta_avg_srcc_ci_low"] = [t["ci_low"] if t else np.nan for t in rows]
    out["delta_avg_srcc_ci_high"] = [t["ci_high"] if t else np.nan for t in rows]
    out["delta_avg_srcc_p"] = [t["p_value"] if t else np.nan for t in rows]
    out["delta_verdict"] = [verdict(t["ci_low"], t["ci_high"]) if t else "reference" for t in rows]
    return out
