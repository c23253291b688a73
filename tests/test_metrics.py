"""Metrics against hand-computed values on tiny literal arrays; failure rule; within-group metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mgiqa.errors import DataIntegrityError
from mgiqa.evaluation import metrics
from mgiqa.evaluation.predictions import (
    PREDICTION_COLUMNS,
    attach_labels,
    evaluate_predictions,
    read_predictions,
    scored,
)


def test_correlations_on_literal_arrays():
    y = [1, 2, 3, 4, 5]
    assert metrics.srcc(y, [10, 20, 30, 40, 50]) == pytest.approx(1.0)
    assert metrics.srcc(y, [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    assert metrics.krcc(y, [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # x = [1, 2, 3], y = [1, 3, 2]: Pearson = Spearman = 0.5; Kendall = (2 - 1) / 3
    assert metrics.plcc([1, 3, 2], [1, 2, 3]) == pytest.approx(0.5)
    assert metrics.srcc([1, 3, 2], [1, 2, 3]) == pytest.approx(0.5)
    assert metrics.krcc([1, 3, 2], [1, 2, 3]) == pytest.approx(1 / 3)
    # Pearson of a monotone but non-linear prediction is below 1 while SRCC is 1
    assert metrics.plcc(y, [1, 2, 3, 4, 100]) < 0.8
    assert metrics.srcc(y, [1, 2, 3, 4, 100]) == pytest.approx(1.0)


def test_constant_prediction_has_zero_correlation_and_bad_input_raises():
    assert metrics.srcc([1, 2, 3], [3, 3, 3]) == 0.0
    assert metrics.plcc([1, 2, 3], [3, 3, 3]) == 0.0
    with pytest.raises(ValueError, match="finite"):
        metrics.srcc([1, 2, 3], [1, np.nan, 2])
    with pytest.raises(ValueError, match="equal length"):
        metrics.srcc([1, 2, 3], [1, 2])


@pytest.mark.parametrize("scale, shift", [(1.0, 0.0), (250.0, 1000.0), (-3.0, 2.0)])
def test_logistic_fit_recovers_known_parameters(scale, shift):
    x = np.linspace(-4, 4, 120)
    true = (4.5, 1.2, 0.4, 0.9)
    y = metrics.logistic4(x, *true)
    raw = x * scale + shift  # the fit is reported on the raw prediction scale
    params = metrics.fit_logistic(raw, y)
    mapped = metrics.logistic4(raw, *params)
    np.testing.assert_allclose(mapped, y, atol=1e-6)
    if scale > 0:
        np.testing.assert_allclose(
            params, [true[0], true[1], true[2] * scale + shift, true[3] * scale], rtol=1e-4
        )
    value, _ = metrics.plcc_logistic(y, raw)
    assert value == pytest.approx(1.0)


def test_logistic_fit_failure_is_explicit():
    with pytest.raises(metrics.LogisticFitError, match="constant"):
        metrics.fit_logistic([2.0, 2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0, 5.0])


def test_a_logistic_fit_through_four_images_or_fewer_is_refused_with_its_reason():
    # scipy's curve_fit raises TypeError below four points, and four points fit any four-parameter curve
    for n in (3, 4):
        with pytest.raises(metrics.LogisticFitError, match=f"{n} images"):
            metrics.fit_logistic(np.arange(n, dtype=float), np.arange(n, dtype=float) ** 2)


def test_pairwise_accuracy_hand_computed():
    # pairs (mos): 2>1 ok, 3>1 ok, 3>2 wrong
    assert metrics.pairwise_accuracy([1, 2, 3], [1, 3, 2]) == (pytest.approx(2 / 3), 3)
    # the MOS tie (0, 1) is excluded; a predicted tie counts 0.5
    assert metrics.pairwise_accuracy([1, 1, 2], [1, 2, 2]) == (pytest.approx(0.75), 2)
    # pairs only inside a group: across groups the ranking is wrong, but never compared
    acc, n = metrics.pairwise_accuracy([1, 2, 3, 4], [3, 4, 1, 2], groups=["a", "a", "b", "b"])
    assert (acc, n) == (1.0, 2)
    with pytest.raises(ValueError, match="no pair"):
        metrics.pairwise_accuracy([2, 2], [1, 2])


def test_bootstrap_ci_contains_estimate_and_is_seeded():
    rng = np.random.default_rng(0)
    y = rng.uniform(1, 5, 80)
    p = y + rng.normal(0, 1, 80)
    for m, fn in (("srcc", metrics.srcc), ("plcc", metrics.plcc)):
        lo, hi = metrics.bootstrap_ci(y, p, m, 200, 0.95, seed=7)
        assert lo < fn(y, p) < hi
        assert (lo, hi) == metrics.bootstrap_ci(y, p, m, 200, 0.95, seed=7)
        assert (lo, hi) != metrics.bootstrap_ci(y, p, m, 200, 0.95, seed=8)


def test_paired_bootstrap_test():
    rng = np.random.default_rng(1)
    y = rng.uniform(1, 5, 100)
    good = y + rng.normal(0, 0.3, 100)
    bad = y + rng.normal(0, 3.0, 100)
    res = metrics.paired_bootstrap_test(y, good, bad, n=300, seed=3)
    assert res["srcc_diff"] > 0 and res["p_value"] < 0.01 and res["ci_low"] > 0
    assert res == metrics.paired_bootstrap_test(y, good, bad, n=300, seed=3)
    same = metrics.paired_bootstrap_test(y, good, good, n=100, seed=3)
    assert same["srcc_diff"] == 0 and same["p_value"] == 1.0


def test_aggregate_seeds():
    assert metrics.aggregate_seeds([0.5, 0.7]) == {
        "mean": pytest.approx(0.6),
        "std": pytest.approx(0.1414, abs=1e-4),
        "n": 2,
    }
    assert metrics.aggregate_seeds([0.5])["std"] is None
    with pytest.raises(ValueError):
        metrics.aggregate_seeds([0.5, np.nan])


def _pred_df(mos, pred, group="bench", parse_ok=True, **extra):
    n = len(mos)
    df = pd.DataFrame(
        {"image": [f"img{i}.png" for i in range(n)], "mos": mos, "group": group, "pred_overall": pred}
    )
    for attr in ("sharpness", "color", "noise", "composition"):
        df[f"pred_{attr}"] = np.nan
    df["parse_ok"] = parse_ok
    df["failed_fields"] = ""
    df["raw_text"] = ""
    for k, v in extra.items():
        df[k] = v
    return df


def test_failure_rule_midpoint_and_rate():
    mos = [1.0, 2.0, 3.5, 4.0, 5.0, 1.5]
    pred = [1.0, 2.0, np.nan, 4.0, 1.0, 1.5]
    df = _pred_df(mos, pred, parse_ok=[True, True, False, True, False, True])
    df.loc[4, "failed_fields"] = "overall"
    scores, failed = scored(df)
    np.testing.assert_array_equal(scores, [1.0, 2.0, 3.0, 4.0, 3.0, 1.5])  # parse_ok False wins over a value
    assert failed.tolist() == [False, False, True, False, True, False]
    res = evaluate_predictions(df, bootstrap=0, confidence=0.95, seed=0)
    assert res["n"] == 6 and res["n_failed"] == 2 and res["parse_failure_rate"] == pytest.approx(1 / 3)
    assert res["srcc"] == pytest.approx(metrics.srcc(mos, scores))
    assert "3.0" in res["failure_rule"]
    json.dumps(res)  # JSON-serialisable


def test_all_failed_gives_zero_and_explicit_fit_failure():
    df = _pred_df([1.0, 2.0, 3.0, 4.0], np.nan, parse_ok=False)
    res = evaluate_predictions(df, bootstrap=20, confidence=0.95, seed=0)
    assert res["constant_prediction"] and res["srcc"] == 0.0 and res["pair_acc"] == 0.5
    assert res["plcc_logistic"] is None and not res["logistic_fit"]["ok"] and res["logistic_fit"]["reason"]


def test_within_group_metrics():
    # perfect ranking inside each group, but the groups' offsets are reversed
    mos = [1, 2, 3, 4, 2, 3, 4, 5]
    pred = [11, 12, 13, 14, 1, 2, 3, 4]
    groups = ["a"] * 4 + ["b"] * 4
    res = evaluate_predictions(_pred_df(mos, pred, group=groups), bootstrap=50, confidence=0.9, seed=1)
    assert res["grouped"] and res["n_groups"] == 2
    assert res["within_group"]["srcc"] == pytest.approx(1.0)
    assert res["within_group"]["plcc"] == pytest.approx(1.0)
    assert res["srcc"] < 0.5
    assert res["pair_acc"] == 1.0 and res["n_pairs"] == 12
    assert res["within_group"]["ci"]["srcc"] == {"low": 1.0, "high": 1.0}
    ungrouped = evaluate_predictions(_pred_df(mos, pred), bootstrap=0, confidence=0.9, seed=1)
    assert ungrouped["within_group"] is None and not ungrouped["grouped"]


def test_attribute_srcc_and_failures():
    mos = [1.0, 2.0, 3.0, 4.0, 5.0]
    df = _pred_df(
        mos, mos, sharpness=[1.0, 2.0, 3.0, 4.0, 5.0], noise=[5.0, 4.0, 3.0, 2.0, 1.0], color=np.nan
    )
    df["pred_sharpness"] = [1.0, 2.0, np.nan, 4.0, 5.0]
    df.loc[2, "failed_fields"] = "sharpness"
    df["pred_noise"] = [1.0, 2.0, 3.0, 4.0, 5.0]
    df["pred_color"] = [1.0, 2.0, 3.0, 4.0, 5.0]  # predicted but no label: no attribute metric
    res = evaluate_predictions(df, bootstrap=0, confidence=0.95, seed=0)
    assert res["attribute_srcc"]["noise"] == pytest.approx(-1.0)
    assert res["attribute_srcc"]["sharpness"] == pytest.approx(1.0)  # failure scored 3.0 in the middle
    assert res["attribute_failure_rate"] == {"sharpness": 0.2, "noise": 0.0}
    assert set(res["attribute_srcc"]) == {"sharpness", "noise"}
    df["pred_sharpness"] = np.nan  # an overall-only method: the attribute is not predicted at all
    df["failed_fields"] = ""
    assert "sharpness" not in evaluate_predictions(df, bootstrap=0, confidence=0.95, seed=0)["attribute_srcc"]


def test_read_predictions_and_attach_labels(tmp_path):
    path = tmp_path / "p.csv"
    df = _pred_df([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    df.to_csv(path, index=False)
    got = read_predictions(path)
    assert list(got.columns) == list(PREDICTION_COLUMNS) and got["parse_ok"].dtype == bool
    df.drop(columns="raw_text").to_csv(path, index=False)
    with pytest.raises(DataIntegrityError, match=r"p\.csv.*raw_text"):
        read_predictions(path)
    table = pd.DataFrame(
        {"image": df["image"], "mos": df["mos"], "split": "test", "sharpness": [1.0, 2.0, 3.0]}
    )
    assert attach_labels(df, table)["sharpness"].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(DataIntegrityError, match="t.csv: predicted image 'img2.png' is not among"):
        attach_labels(df, table.iloc[:2], "t.csv")
    with pytest.raises(DataIntegrityError, match="t.csv: predicted image 'img2.png' is not among"):
        attach_labels(df, table.assign(split=["test", "test", "train"]), "t.csv")  # a training image
    with pytest.raises(DataIntegrityError, match="1 evaluated images have no prediction.*img2.png"):
        attach_labels(df.iloc[:2], table, "t.csv")
    with pytest.raises(DataIntegrityError, match="mos differs"):
        attach_labels(df, table.assign(mos=[1.0, 2.0, 4.0]), "t.csv")


def test_metrics_command(tmp_path):
    import argparse

    from mgiqa.commands import metrics as command

    preds = _pred_df([1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 2.0, 2.5, 4.5, 4.0])
    preds.to_csv(tmp_path / "bench.csv", index=False)
    table = pd.DataFrame({"image": preds["image"], "mos": preds["mos"], "sharpness": np.nan})
    table.to_csv(tmp_path / "table.csv", index=False)
    out = tmp_path / "metrics" / "bench.json"
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    argv = [
        "--predictions",
        str(tmp_path / "bench.csv"),
        "--benchmark-table",
        str(tmp_path / "table.csv"),
        "-o",
        str(out),
    ]
    assert command.run(parser.parse_args(argv)) == 0
    result = json.loads(out.read_text())
    assert result["benchmark"] == "bench" and result["n"] == 5 and result["srcc"] == pytest.approx(0.9)
    assert result["ci"]["srcc"]["low"] <= result["srcc"] <= result["ci"]["srcc"]["high"]


def test_a_step_shaped_logistic_fit_is_degenerate_whatever_lapack_warns():
    """Two tight clusters of predictions: the best 'logistic' is a step. Whether curve_fit also warns that the
    covariance is not estimable depends on the BLAS thread count; the verdict must not."""
    from mgiqa.evaluation.metrics import LogisticFitError, fit_logistic

    rng = np.random.default_rng(0)
    pred = np.r_[np.zeros(20), np.ones(20)] + rng.normal(0, 1e-3, 40)
    y = np.r_[np.full(20, 2.0), np.full(20, 4.0)] + rng.normal(0, 0.3, 40)
    with pytest.raises(LogisticFitError, match="degenerate"):
        fit_logistic(pred, y)
    smooth = np.linspace(0, 1, 40)  # a real curve still fits
    assert np.isfinite(fit_logistic(smooth, 1 + 4 / (1 + np.exp(-(smooth - 0.5) / 0.1)))).all()


def test_a_logistic_fit_reports_only_the_digits_that_a_rerun_reproduces():
    """The same predictions with last-bit differences (as two processes' sums can have) give the same
    report: the degenerate verdict names no undetermined parameter, a real fit is rounded to 6 digits."""
    from mgiqa.evaluation.metrics import LogisticFitError, fit_logistic

    rng = np.random.default_rng(0)
    pred = np.r_[np.zeros(20), np.ones(20)] + rng.normal(0, 1e-3, 40)
    y = np.r_[np.full(20, 2.0), np.full(20, 4.0)] + rng.normal(0, 0.3, 40)
    messages = set()
    for eps in (0.0, 1e-15, -3e-15):
        with pytest.raises(LogisticFitError) as err:
            fit_logistic(pred * (1 + eps), y)
        messages.add(str(err.value))
    assert len(messages) == 1 and "width |b4|" in messages.pop()
    smooth = np.linspace(0, 1, 40)
    target = 1 + 4 / (1 + np.exp(-(smooth - 0.5) / 0.1)) + rng.normal(0, 0.05, 40)
    fits = [fit_logistic(smooth * (1 + eps), target).tolist() for eps in (0.0, 1e-15, -3e-15)]
    assert fits[0] == fits[1] == fits[2]
    assert all(float(f"{v:.6g}") == v for v in fits[0]) and len({f"{v:.17g}" for v in fits[0]}) == 4
