"""RL2R fidelity, multi-attribute and format rewards: hand-computed cases, a loop reference, invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mgiqa.errors import ConfigError
from mgiqa.rewards import (
    fidelity_details,
    fidelity_reward,
    format_reward,
    multi_attribute_reward,
)

EPS = 1e-6
GAMMA = 1e-6


def phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def fid(p: float, pk: float) -> float:
    return math.sqrt(p * pk + EPS) + math.sqrt((1 - p) * (1 - pk) + EPS)


def reference(scores, mos, std=None, groups=None, kind="hard", gamma=GAMMA, eps=EPS):
    """A straightforward loop implementation of the documented rules (ragged lists, None = parse failure)."""
    n = len(scores)
    valid = [[q for q in row if q is not None] for row in scores]
    mu = [sum(v) / len(v) if v else None for v in valid]
    var = [
        sum((q - mu[i]) ** 2 for q in v) / (len(v) - 1) if len(v) > 1 else 0.0 for i, v in enumerate(valid)
    ]

    def truth(i, j):
        hard = 1.0 if mos[i] > mos[j] else (0.5 if mos[i] == mos[j] else 0.0)
        if kind == "thurstone" and std is not None:
            s2 = std[i] ** 2 + std[j] ** 2
            if math.isfinite(s2) and s2 > 0:
                return phi((mos[i] - mos[j]) / math.sqrt(s2))
        return hard

    out = []
    for i in range(n):
        partners = [j for j in range(n) if j != i and valid[j] and (groups is None or groups[j] == groups[i])]
        row = []
        for q in scores[i]:
            if not partners:
                row.append(0.0)
                continue
            total = 0.0
            for j in partners:
                p = truth(i, j)
                if q is None:
                    pk = 1.0 if p < 0.5 else 0.0
                else:
                    pk = phi((q - mu[j]) / math.sqrt(var[i] + var[j] + gamma))
                total += math.sqrt(p * pk + eps) + math.sqrt((1 - p) * (1 - pk) + eps)
            row.append(total / len(partners))
        out.append(row)
    return np.array(out)


# ----------------------------------------------------------------------------- hand-computed RL2R cases
def test_rl2r_two_images_two_responses_by_hand():
    # image 0: scores 3, 4 -> mu 3.5, var 0.5 (unbiased); image 1: 2, 2 -> mu 2, var 0; MOS 4 > 1
    r = fidelity_reward([[3.0, 4.0], [2.0, 2.0]], [4.0, 1.0])
    scale = math.sqrt(0.5 + 0.0 + GAMMA)
    assert r[0, 0] == pytest.approx(math.sqrt(phi((3 - 2) / scale) + EPS) + math.sqrt(EPS), abs=1e-14)
    assert r[0, 1] == pytest.approx(math.sqrt(phi((4 - 2) / scale) + EPS) + math.sqrt(EPS), abs=1e-14)
    assert r[1, 0] == pytest.approx(math.sqrt(EPS) + math.sqrt(1 - phi((2 - 3.5) / scale) + EPS), abs=1e-14)
    np.testing.assert_allclose(
        r, [[0.960870402148755, 0.9998303719062809], [0.9924905365357107] * 2], atol=1e-12
    )


def test_rl2r_three_images_three_responses_with_a_tie_by_hand():
    scores = [[4.0, 3.0, 5.0], [2.0, 3.0, 1.0], [3.0, 3.0, 3.0]]
    mos = [4.0, 2.0, 4.0]  # images 0 and 2 tie: ground truth 0.5
    mu = [4.0, 2.0, 3.0]
    var = [1.0, 1.0, 0.0]
    r = fidelity_reward(scores, mos)

    def by_hand(i, q):
        terms = []
        for j in range(3):
            if j == i:
                continue
            p = 1.0 if mos[i] > mos[j] else (0.5 if mos[i] == mos[j] else 0.0)
            terms.append(fid(p, phi((q - mu[j]) / math.sqrt(var[i] + var[j] + GAMMA))))
        return sum(terms) / 2

    for i in range(3):
        for k in range(3):
            assert r[i, k] == pytest.approx(by_hand(i, scores[i][k]), abs=1e-14)
    # image 2 response 0 (q = 3): vs image 0 (tie, mu 4, var 1): Phi(-1); vs image 1 (better, mu 2): Phi(1)
    expected = (fid(0.5, phi(-1 / math.sqrt(1 + GAMMA))) + fid(1.0, phi(1 / math.sqrt(1 + GAMMA)))) / 2
    assert r[2, 0] == pytest.approx(expected, abs=1e-14)
    assert r[2, 0] == pytest.approx(0.9242478829459446, abs=1e-12)


def test_ties_and_undecided_predictions():
    # identical MOS (p = 0.5) and predictions equal to the partner's mean (p_k = 0.5): 2 * sqrt(0.25 + eps)
    r = fidelity_reward([[3.0, 3.0], [3.0, 3.0]], [2.5, 2.5])
    np.testing.assert_allclose(r, 2 * math.sqrt(0.25 + EPS), atol=1e-15)
    # a clear ground truth (p = 1 / 0) but undecided predictions (p_k = 0.5): sqrt(0.5 + eps) + sqrt(eps)
    prefs_equal = fidelity_reward([[3.0, 3.0], [3.0, 3.0]], [4.0, 1.0])
    np.testing.assert_allclose(prefs_equal, math.sqrt(0.5 + EPS) + math.sqrt(EPS), atol=1e-15)


# ----------------------------------------------------------------------------- equivalence with the loop reference
@pytest.mark.parametrize("b,k", [(2, 2), (3, 3), (8, 6), (16, 4)])
def test_matches_loop_reference_on_random_arrays(b, k):
    rng = np.random.default_rng(b * 100 + k)
    scores = np.round(rng.uniform(1, 5, (b, k)), 1)
    mos = np.round(rng.uniform(1, 5, b), 1)
    mos[: b // 3] = mos[0]  # force ties
    np.testing.assert_allclose(
        fidelity_reward(scores, mos), reference(scores.tolist(), mos.tolist()), atol=1e-12
    )


def test_matches_reference_with_groups_thurstone_and_failures():
    rng = np.random.default_rng(7)
    b, k = 12, 5
    scores = rng.uniform(1, 5, (b, k))
    scores[rng.random((b, k)) < 0.2] = np.nan
    scores[3, :] = np.nan  # an image without any valid response
    mos = rng.uniform(1, 5, b)
    std = rng.uniform(0, 0.8, b)
    std[[1, 5]] = np.nan
    std[[2, 6]] = 0.0
    groups = np.array(list("aaabbbbccccd"))  # "d" has no partner
    got = fidelity_details(scores, mos, std, groups, ground_truth="thurstone")
    ragged = [[None if np.isnan(q) else float(q) for q in row] for row in scores]
    want = reference(ragged, mos.tolist(), std.tolist(), groups.tolist(), kind="thurstone")
    np.testing.assert_allclose(got.reward, want, atol=1e-12)
    assert got.partners[-1] == 0 and (got.reward[-1] == 0).all()
    assert got.valid_responses[3] == 0


# ----------------------------------------------------------------------------- groups, thurstone, failures
def test_groups_equal_separate_computations():
    rng = np.random.default_rng(1)
    scores, mos = rng.uniform(1, 5, (6, 4)), rng.uniform(1, 5, 6)
    groups = ["x", "y", "x", "y", "x", "y"]
    r = fidelity_reward(scores, mos, groups=groups)
    for g in ("x", "y"):
        idx = [i for i, v in enumerate(groups) if v == g]
        np.testing.assert_allclose(r[idx], fidelity_reward(scores[idx], mos[idx]), atol=1e-15)


def test_image_without_partner_gets_zero_and_is_reported(caplog):
    res = fidelity_details([[3.0, 4.0], [2.0, 1.0], [4.0, 4.5]], [3.0, 2.0, 5.0], groups=["a", "a", "b"])
    assert res.partners.tolist() == [1, 1, 0]
    assert (res.reward[2] == 0).all() and np.isfinite(res.reward).all()
    assert "no partner" in caplog.text


def test_thurstone_ground_truth_and_hard_fallback():
    scores = np.array([[3.0, 3.5], [2.0, 2.5]])
    # both stds known: p = Phi((4 - 3) / sqrt(0.3^2 + 0.4^2)) = Phi(2)
    r = fidelity_reward(scores, [4.0, 3.0], std=[0.3, 0.4], ground_truth="thurstone")
    scale = math.sqrt(0.125 + 0.125 + GAMMA)
    assert r[0, 0] == pytest.approx(fid(phi(2.0), phi((3.0 - 2.25) / scale)), abs=1e-14)
    hard = fidelity_reward(scores, [4.0, 3.0])
    for std in ([np.nan, 0.4], [0.0, 0.0]):  # a missing std or both 0: the hard label
        np.testing.assert_array_equal(
            fidelity_reward(scores, [4.0, 3.0], std=std, ground_truth="thurstone"), hard
        )
    np.testing.assert_array_equal(fidelity_reward(scores, [4.0, 3.0], ground_truth="thurstone"), hard)


def test_parse_failure_gets_the_worst_possible_reward():
    scores = np.array([[np.nan, 4.0, 4.5], [2.0, 2.5, 1.5], [3.0, 3.0, 3.0]])
    mos = [4.0, 1.0, 4.0]  # image 0 beats image 1, ties image 2
    r = fidelity_reward(scores, mos)
    expected = ((math.sqrt(EPS) + math.sqrt(EPS)) + (math.sqrt(EPS) + math.sqrt(0.5 + EPS))) / 2
    assert r[0, 0] == pytest.approx(expected, abs=1e-15)
    # no prediction in [0, 1] does worse on those pairs
    for pk in np.linspace(0, 1, 101):
        assert r[0, 0] <= (fid(1.0, pk) + fid(0.5, pk)) / 2 + 1e-15
    # the failed response is left out of image 0's mean and variance (mu 4.25, var 0.125)
    scale = math.sqrt(0.125 + 0.25 + GAMMA)
    assert r[1, 0] == pytest.approx(
        (fid(0.0, phi((2.0 - 4.25) / scale)) + fid(0.0, phi((2.0 - 3.0) / 0.5))) / 2
    )
    # a single valid response: variance 0
    single = fidelity_reward([[np.nan, 4.0], [2.0, 2.0]], [4.0, 1.0])
    assert single[0, 1] == pytest.approx(fid(1.0, phi((4.0 - 2.0) / math.sqrt(GAMMA))), abs=1e-15)


# ----------------------------------------------------------------------------- invariances
def test_permuting_images_and_responses_permutes_rewards():
    rng = np.random.default_rng(3)
    scores, mos = rng.uniform(1, 5, (7, 5)), np.round(rng.uniform(1, 5, 7), 1)
    groups = np.array(list("aabbaab"))
    base = fidelity_reward(scores, mos, groups=groups)
    perm = rng.permutation(7)
    np.testing.assert_allclose(
        fidelity_reward(scores[perm], mos[perm], groups=groups[perm]), base[perm], atol=1e-14
    )
    kperm = rng.permutation(5)
    np.testing.assert_allclose(
        fidelity_reward(scores[:, kperm], mos, groups=groups), base[:, kperm], atol=1e-14
    )


def test_shift_of_scores_and_monotone_mos_transform_leave_rewards_unchanged():
    rng = np.random.default_rng(4)
    scores, mos = rng.uniform(1, 4, (5, 4)), rng.uniform(1, 5, 5)
    base = fidelity_reward(scores, mos)
    np.testing.assert_allclose(fidelity_reward(scores + 0.75, mos), base, atol=1e-12)
    np.testing.assert_allclose(fidelity_reward(scores, np.exp(mos)), base, atol=0)


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        fidelity_reward([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        fidelity_reward([[1.0, 2.0]], [1.0, 2.0])
    with pytest.raises(ValueError):
        fidelity_reward([[1.0, 2.0], [3.0, 4.0]], [1.0, np.nan])
    with pytest.raises(ValueError):
        fidelity_reward([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0], gamma=0.0)


# ----------------------------------------------------------------------------- multi-attribute and format
NAMES = ("sharpness", "color", "noise", "composition", "overall")


def test_multi_attribute_masks_and_weight_renormalization():
    rng = np.random.default_rng(5)
    b, k = 4, 3
    scores = rng.uniform(1, 5, (b, k, 5))
    labels = rng.uniform(1, 5, (b, 5))
    labels[:, 3] = np.nan  # composition unknown everywhere
    labels[0, 1] = np.nan  # color unknown for image 0
    weights = {"sharpness": 0.5, "color": 2.0, "noise": 0.5, "composition": 0.5, "overall": 1.0}
    out = multi_attribute_reward(scores, labels, weights=weights)
    assert np.isnan(out["composition"]).all()
    assert np.isnan(out["color"][0]).all() and np.isfinite(out["color"][1:]).all()
    # color is computed over images 1..3 only
    np.testing.assert_allclose(out["color"][1:], fidelity_reward(scores[1:, :, 1], labels[1:, 1]), atol=1e-15)
    np.testing.assert_allclose(out["overall"], fidelity_reward(scores[:, :, 4], labels[:, 4]), atol=1e-15)
    w0 = 0.5 * out["sharpness"][0] + 0.5 * out["noise"][0] + 1.0 * out["overall"][0]
    np.testing.assert_allclose(out["fidelity"][0], w0 / 2.0, atol=1e-15)
    w1 = 0.5 * out["sharpness"][1] + 2.0 * out["color"][1] + 0.5 * out["noise"][1] + out["overall"][1]
    np.testing.assert_allclose(out["fidelity"][1], w1 / 4.0, atol=1e-15)
    np.testing.assert_array_equal(out["total"], out["fidelity"])


def test_multi_attribute_with_format_and_explicit_mask():
    scores = np.full((2, 2, 2), 3.0)
    scores[0, :, 1] = [4.0, 5.0]
    labels = np.array([[4.0, 3.0], [2.0, 1.0]])
    mask = np.array([[True, True], [True, True]])
    fmt = np.array([[True, False], [True, True]])
    out = multi_attribute_reward(
        scores, labels, mask, [1.0, 1.0], names=("a", "overall"), format_ok=fmt, format_weight=0.5
    )
    np.testing.assert_allclose(out["format"], [[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(out["total"], out["fidelity"] + 0.5 * out["format"], atol=1e-15)
    # an attribute whose only labelled image lacks a partner drops out instead of counting 0
    labels2 = labels.copy()
    labels2[1, 0] = np.nan
    out2 = multi_attribute_reward(scores, labels2, names=("a", "overall"))
    assert np.isnan(out2["a"][0]).all()
    np.testing.assert_allclose(out2["fidelity"][0], out2["overall"][0], atol=1e-15)


def test_multi_attribute_rejects_inconsistent_inputs():
    scores, labels = np.full((2, 2, 2), 3.0), np.array([[4.0, np.nan], [2.0, 1.0]])
    with pytest.raises(ValueError):  # mask claims a NaN label is known
        multi_attribute_reward(scores, labels, np.ones((2, 2), bool), names=("a", "overall"))
    with pytest.raises(ValueError):  # reserved name
        multi_attribute_reward(scores, labels, names=("total", "overall"))
    with pytest.raises(ConfigError):
        multi_attribute_reward(scores, labels, weights={"a": 1.0}, names=("a", "overall"))


def test_format_reward():
    np.testing.assert_array_equal(format_reward([[True, False]]), [[1.0, 0.0]])


# ----------------------------------------------------------------------------- the TRL-style registry
def _completion(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]
