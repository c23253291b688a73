"""The paired bootstrap of an average SRCC difference over benchmarks (`mgiqa.evaluation.average_test`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_tables import results  # noqa: F401  (the synthetic results fixture)

from mgiqa.evaluation import metrics, tables
from mgiqa.evaluation.average_test import average_srcc_test, verdict, with_average_tests


def _benchmark(seed: int, n: int, noise_a: float, noise_ref: float) -> tuple:
    rng = np.random.default_rng(seed)
    mos = rng.uniform(1, 5, n)
    return mos, mos + rng.normal(0, noise_a, n), mos + rng.normal(0, noise_ref, n)


def test_a_clearly_better_method_is_above_and_the_observed_difference_is_the_mean_of_the_benchmarks():
    triples = [_benchmark(s, 60, 0.3, 2.0) for s in range(3)]
    test = average_srcc_test(triples, 300, seed=0)
    expected = np.mean([metrics.srcc(y, a) - metrics.srcc(y, r) for y, a, r in triples])
    assert test["avg_srcc_diff"] == pytest.approx(expected)
    assert 0 < test["ci_low"] < test["avg_srcc_diff"] < test["ci_high"] and test["p_value"] < 0.01
    assert verdict(test["ci_low"], test["ci_high"]) == "above"
    swapped = average_srcc_test([(y, r, a) for y, a, r in triples], 300, seed=0)
    assert verdict(swapped["ci_low"], swapped["ci_high"]) == "below"


def test_two_equally_noisy_methods_tie_and_a_method_against_itself_has_p_one():
    triples = [_benchmark(s, 60, 1.0, 1.0) for s in range(4)]
    test = average_srcc_test(triples, 300, seed=1)
    assert verdict(test["ci_low"], test["ci_high"]) == "tie" and test["p_value"] > 0.05
    same = average_srcc_test([(y, a, a) for y, a, _ in triples], 100, seed=1)
    assert (
        same["avg_srcc_diff"] == 0.0 and same["ci_low"] == same["ci_high"] == 0.0 and same["p_value"] == 1.0
    )


def test_averaging_narrows_the_interval_of_one_benchmark():
    triples = [_benchmark(s, 40, 0.8, 1.2) for s in range(6)]
    one = average_srcc_test(triples[:1], 400, seed=2)
    six = average_srcc_test(triples, 400, seed=2)
    assert six["ci_high"] - six["ci_low"] < one["ci_high"] - one["ci_low"]


def test_the_ablation_table_carries_each_effect_with_its_interval_and_verdict(results):  # noqa: F811
    root, config, methods, long, attrs = results
    abl = tables.ablation_table(long, config, list(config["datasets"]["benchmarks"]))
    tested = with_average_tests(abl, config, Path(config["paths"]["results"]) / "predictions").set_index(
        "method"
    )
    assert tested.loc["mg_iqa", "delta_verdict"] == "reference" and np.isnan(
        tested.loc["mg_iqa", "delta_avg_srcc_p"]
    )
    # the fixture's mg_iqa has the least noise (0.3 against 0.6-0.8): every ablation is below it
    for method in ("rl2r", "sft_only", "no_attr_prompt"):
        row = tested.loc[method]
        assert row["delta_avg_srcc_ci_low"] <= row["delta_avg_srcc"] <= row["delta_avg_srcc_ci_high"] < 0, (
            method
        )
        assert row["delta_verdict"] == "below", method


def test_paired_scores_align_the_second_table_to_the_first_and_name_both_files_when_images_differ(tmp_path):
    import pandas as pd

    from mgiqa.errors import DataIntegrityError
    from mgiqa.evaluation.predictions import paired_scores

    def write(name, images, overall):
        frame = pd.DataFrame({"image": images, "mos": [1.0, 2.0, 3.0][: len(images)], "group": "g",
                              "pred_overall": overall, "parse_ok": True, "failed_fields": "", "raw_text": "x"})  # fmt: skip
        for attr in ("sharpness", "color", "noise", "composition"):
            frame[f"pred_{attr}"] = np.nan
        frame.to_csv(tmp_path / name, index=False)
        return tmp_path / name

    a = write("a.csv", ["x.png", "y.png", "z.png"], [1.0, 2.0, 3.0])
    b = write("b.csv", ["z.png", "x.png", "y.png"], [30.0, 10.0, 20.0])
    left, right = paired_scores(a, b)
    assert list(right.index) == list(left.index) == ["x.png", "y.png", "z.png"]
    assert right["_score"].tolist() == [10.0, 20.0, 30.0]
    other = write("c.csv", ["x.png", "y.png"], [1.0, 2.0])
    with pytest.raises(DataIntegrityError, match=r"a\.csv and .*c\.csv cover different images"):
        paired_scores(a, other)
