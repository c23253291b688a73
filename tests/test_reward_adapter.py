"""The TRL reward adapter on literal completions reproduces mgiqa.rewards on the same numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mgiqa.errors import DataIntegrityError
from mgiqa.rewards import fidelity_reward, format_reward, multi_attribute_reward
from mgiqa.training.reward_adapter import (
    REWARD_NAME,
    MultiDimensionalReward,
    RewardSpec,
    group_by_item,
    reward_from_config,
)

WEIGHTS = {"overall": 1.0, "sharpness": 0.5, "color": 0.5, "noise": 0.5, "composition": 0.5}


def attr_text(s, c, n, comp, o):
    return f"<think>fine</think>\nSharpness: {s}, Color: {c}, Noise: {n}, Composition: {comp}, Overall: {o}"


def overall_text(o):
    return f"<think>ok</think>\n<answer>{o}</answer>"


# 3 images x K=3; image "b" has one unparseable response and one response with a bad format
ATTR_SCORES = {
    "a": [(4, 3, 4, 3, 4.2), (4.5, 3, 4, 3, 4.0), (3, 3, 3, 3, 3.0)],
    "b": [(2, 2, 2, 2, 2.0), None, (2.5, 2, 3, 3, 2.5)],
    "c": [(3, 4, 2, 3, 3.0), (3, 4, 2, 3, 3.5), (1, 1, 1, 1, 1.0)],
}
LABELS = {  # mos, mos_std, sharpness, color, noise, composition, group
    "a": (4.1, 0.3, 4.0, math.nan, 4.2, math.nan, "g"),
    "b": (2.2, 0.5, 1.5, math.nan, math.nan, math.nan, "g"),
    "c": (3.0, math.nan, math.nan, math.nan, 2.5, math.nan, "g"),
}


def flat_batch(order):
    """TRL's flat call: item ids in `order` (images need not be contiguous), texts, columns."""
    texts, ids = [], []
    counters = dict.fromkeys(ATTR_SCORES, 0)
    for item in order:
        k = counters[item]
        counters[item] += 1
        scores = ATTR_SCORES[item][k]
        if scores is None:
            texts.append("I cannot tell.")
        elif item == "b" and k == 2:
            texts.append("Sharpness: 2.5, Color: 2, Noise: 3, Composition: 3, Overall: 2.5")  # no <think>
        else:
            texts.append(attr_text(*scores))
        ids.append(item)
    keys = ("mos", "mos_std", "sharpness", "color", "noise", "composition", "group")
    columns = {key: [LABELS[i][j] for i in ids] for j, key in enumerate(keys)}
    columns["dataset"] = ["d"] * len(ids)
    return texts, ids, columns


def expected_grid():
    names = ("sharpness", "color", "noise", "composition", "overall")
    scores = np.full((3, 3, 5), np.nan)
    for b, item in enumerate("abc"):
        for k, s in enumerate(ATTR_SCORES[item]):
            if s is not None:
                scores[b, k] = s
    labels = np.array([[LABELS[i][2], LABELS[i][3], LABELS[i][4], LABELS[i][5], LABELS[i][0]] for i in "abc"])
    std = np.full((3, 5), np.nan)
    std[:, 4] = [LABELS[i][1] for i in "abc"]
    format_ok = np.array([[True, True, True], [True, False, False], [True, True, True]])
    return names, scores, labels, std, format_ok


def test_multi_attribute_matches_rewards_module():
    spec = RewardSpec(
        "attribute", ("sharpness", "color", "noise", "composition", "overall"), WEIGHTS, "thurstone"
    )
    reward = MultiDimensionalReward(spec)
    texts, ids, columns = flat_batch(list("aaabbbccc"))
    out = reward.compute(texts, ids, columns)
    names, scores, labels, std, format_ok = expected_grid()
    ref = multi_attribute_reward(
        scores, labels, None, WEIGHTS, names=names, std=std, groups=["g"] * 3, format_ok=format_ok,
        format_weight=1.0, ground_truth="thurstone",
    )  # fmt: skip
    for key in ("total", "fidelity", "format", *names):
        np.testing.assert_allclose(out[key], ref[key].ravel(), equal_nan=True)
    # the TRL call returns the total, in TRL's order
    logged = {}
    total = reward(
        prompts=[None] * 9, completions=texts, item_id=ids, log_metric=logged.__setitem__, **columns
    )
    np.testing.assert_allclose(total, ref["total"].ravel())
    assert logged["parse_failure_rate"] == pytest.approx(1 / 9)
    assert logged["reward/format"] == pytest.approx(7 / 9)
    assert "reward/color" not in logged and "reward/composition" not in logged  # no labels in the batch
    assert logged["reward/sharpness"] == pytest.approx(np.nanmean(ref["sharpness"]))
    assert logged["reward/overall"] == pytest.approx(ref["overall"].mean())


def test_regroups_interleaved_completions_by_item_id():
    spec = RewardSpec("attribute", ("sharpness", "overall"), WEIGHTS)
    reward = MultiDimensionalReward(spec)
    contiguous = reward.compute(*flat_batch(list("aaabbbccc")))
    order = list("abcabccba")
    texts, ids, columns = flat_batch(order)
    shuffled = reward.compute(texts, ids, columns)
    # the same (item, k) pairs get the same reward wherever TRL put them
    positions = {}
    for i, item in enumerate(order):
        positions.setdefault(item, []).append(i)
    for b, item in enumerate("abc"):
        for k, i in enumerate(positions[item]):
            assert shuffled["total"][i] == pytest.approx(contiguous["total"][3 * b + k])


def test_overall_only_is_rl2r_fidelity_plus_format():
    spec = RewardSpec("overall", ("overall",), {"overall": 1.0}, format_weight=1.0)
    reward = MultiDimensionalReward(spec)
    scores = [[4.0, 3.5, 4.5], [2.0, None, 2.5], [3.0, 3.2, 1.0]]
    texts, ids = [], []
    for item, row in zip("abc", scores, strict=True):
        for s in row:
            texts.append(overall_text(s) if s is not None else "<think>hm</think><answer>great</answer>")
            ids.append(item)
    mos = {"a": 4.1, "b": 2.2, "c": 3.0}
    columns = {
        "mos": [mos[i] for i in ids],
        "group": ["g"] * 9,
        "dataset": ["d"] * 9,
        "mos_std": [math.nan] * 9,
    }
    out = reward.compute(texts, ids, columns)
    grid = np.array([[np.nan if s is None else s for s in row] for row in scores])
    fid = fidelity_reward(grid, np.array([4.1, 2.2, 3.0]))
    fmt = format_reward(~np.isnan(grid))
    np.testing.assert_allclose(out["total"], (fid + fmt).ravel())
    # the parse failure gets the worst-answer reward: far below every parsed response, and no format reward
    failed = 4
    assert out["format"][failed] == 0
    assert out["overall"][failed] == pytest.approx(2 * math.sqrt(1e-6), abs=1e-9)
    assert out["overall"][failed] < np.delete(out["overall"], failed).min()


def test_alignment_off_pairs_across_groups():
    texts, ids, columns = flat_batch(list("aaabbbccc"))
    columns["group"] = [{"a": "x", "b": "y", "c": "y"}[i] for i in ids]
    within = MultiDimensionalReward(RewardSpec("attribute", ("overall",), WEIGHTS, within_groups=True))
    across = MultiDimensionalReward(RewardSpec("attribute", ("overall",), WEIGHTS, within_groups=False))
    a_within = within.compute(texts, ids, columns)
    a_across = across.compute(texts, ids, columns)
    assert np.isnan(a_within["overall"][:3]).all()  # image a has no partner in its own group
    assert (a_within["fidelity"][:3] == 0).all()
    assert (a_across["overall"][:3] > 0).all()
    # the same group id in two datasets is two groups
    columns["group"] = ["g"] * 9
    columns["dataset"] = [{"a": "d1", "b": "d2", "c": "d2"}[i] for i in ids]
    assert np.isnan(within.compute(texts, ids, columns)["overall"][:3]).all()


def test_group_by_item_and_errors():
    np.testing.assert_array_equal(group_by_item(["x", "y", "x", "y"]), [[0, 2], [1, 3]])
    with pytest.raises(DataIntegrityError, match="different numbers"):
        group_by_item(["x", "x", "y"])
    reward = MultiDimensionalReward(RewardSpec("overall", ("overall",), {"overall": 1.0}))
    with pytest.raises(DataIntegrityError, match="differs"):
        reward.compute(
            [overall_text(3)] * 2, ["x", "x"], {"mos": [3.0, 4.0], "group": ["g"] * 2, "dataset": ["d"] * 2}
        )


def test_reward_from_config(demo_config):
    spec = dict(demo_config["ablations"]["mg_iqa"])
    reward = reward_from_config(demo_config, spec)
    assert reward.__name__ == REWARD_NAME
    assert reward.spec.names == (*demo_config["reward"]["attributes"], "overall")
    rl2r = reward_from_config(demo_config, demo_config["ablations"]["rl2r"])
    assert rl2r.spec.names == ("overall",) and rl2r.fields == ("overall",)
    no_multi = reward_from_config(demo_config, demo_config["ablations"]["no_multi_reward"])
    assert no_multi.spec.names == ("overall",) and "sharpness" in no_multi.fields
    assert not reward_from_config(demo_config, demo_config["ablations"]["no_alignment"]).spec.within_groups
