"""The demo quality model: defects -> attribute and overall scores -> simulated raters; the distortions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mgiqa.data.demo import distortions, generated, quality
from mgiqa.data.demo.scenes import Composition, render_scene, scene_specs

STRENGTHS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def test_every_defect_the_generators_use_has_an_impact():
    names = {name for name, _ in distortions.KADID_TYPES} | set(generated.ARTEFACTS)
    names |= {name for name, _ in Composition().defects()}
    assert names <= set(quality.IMPACT)
    for impact in quality.IMPACT.values():
        assert impact and set(impact) <= set(quality.ATTRIBUTES)
        assert all(0 < w <= 1 for w in impact.values())


@pytest.mark.parametrize("defect", sorted(quality.IMPACT))
def test_stronger_defects_lower_the_attributes_they_touch_and_the_overall_score(defect):
    scores = [quality.true_scores([(defect, s)]) for s in STRENGTHS]
    assert scores[0] == dict.fromkeys((*quality.ATTRIBUTES, "overall"), 5.0)
    for weaker, stronger in itertools.pairwise(scores):
        for attr in quality.ATTRIBUTES:
            if attr in quality.IMPACT[defect]:
                assert stronger[attr] < weaker[attr]
            else:
                assert stronger[attr] == weaker[attr] == 5.0
        assert stronger["overall"] < weaker["overall"]


def test_scores_stay_in_range_and_combine_monotonically():
    rng = np.random.default_rng(0)
    names = sorted(quality.IMPACT)
    for _ in range(300):
        picked = rng.choice(names, rng.integers(1, 6), replace=False)
        defects = [(str(n), float(s)) for n, s in zip(picked, rng.random(len(picked)), strict=True)]
        base = quality.true_scores(defects)
        assert all(1.0 <= v <= 5.0 for v in base.values())
        worse = quality.true_scores([*defects, (str(rng.choice(names)), 0.5)])
        assert all(worse[k] <= base[k] + 1e-12 for k in base)


def test_one_severe_defect_dominates_the_overall_score():
    severe = quality.true_scores([("gaussian_blur", 1.0)])
    spread = quality.true_scores([("gaussian_blur", 0.3), ("white_noise", 0.3), ("desaturation", 0.3)])
    assert severe["overall"] < 2.5 < spread["overall"]
    assert quality.true_scores([("tilt", 1.0)])["overall"] > 3.5  # composition weighs less


def test_bad_defects_are_refused():
    with pytest.raises(KeyError, match="no entry"):
        quality.attribute_scores([("sepia", 0.5)])
    with pytest.raises(ValueError, match="outside"):
        quality.attribute_scores([("jpeg", 1.5)])


def test_rater_panels_are_seeded_and_on_scale():
    votes = quality.panel_votes(3.2, 100, np.random.default_rng(1))
    assert votes.dtype.kind == "i" and votes.min() >= 1 and votes.max() <= 5
    assert np.array_equal(votes, quality.panel_votes(3.2, 100, np.random.default_rng(1)))
    assert abs(votes.mean() - 3.2) < 0.3
    hist = quality.vote_histogram(votes)
    assert len(hist) == 5 and np.isclose(sum(hist), 1.0)
    ratings = quality.panel_ratings(1.5, 50, np.random.default_rng(2))
    assert ratings.min() >= 1.0 and ratings.max() <= 5.0 and ratings.dtype.kind == "f"
    means = [quality.panel_votes(t, 400, np.random.default_rng(3)).mean() for t in (1.5, 2.5, 3.5, 4.5)]
    assert means == sorted(means)


def test_spaq_extra_scores():
    assert quality.spaq_extra_scores([]) == {"brightness": 5.0, "contrast": 5.0}
    dark = quality.spaq_extra_scores([("darken", 0.8)])
    assert dark["brightness"] < dark["contrast"] < 5.0


@pytest.fixture(scope="module")
def references():
    return [render_scene(spec, 56) for spec in scene_specs("development", "test-distortions", 3, 7)]


@pytest.mark.parametrize("name", [name for name, _ in distortions.KADID_TYPES])
def test_kadid_types_are_seeded_in_range_and_grow_with_the_level(name, references):
    op = distortions.OPS[name]
    for reference in references:
        outputs = [op(reference, s, np.random.default_rng(5)) for s in distortions.LEVEL_STRENGTH]
        for out in outputs:
            assert out.shape == reference.shape and out.dtype == np.float32
            assert out.min() >= 0.0 and out.max() <= 1.0
        again = op(reference, distortions.LEVEL_STRENGTH[2], np.random.default_rng(5))
        assert np.array_equal(again, outputs[2])
        change = [float(np.abs(out - reference).mean()) for out in outputs]
        assert change[-1] > change[0] > 0.0


def test_kadid_numbering_matches_kadid10k():
    assert distortions.KADID_ID["gaussian_blur"] == 1
    assert distortions.KADID_ID["motion_blur"] == 3
    assert distortions.KADID_ID["oversaturation"] == 8
    assert distortions.KADID_ID["jpeg"] == 10
    assert distortions.KADID_ID["white_noise"] == 11
    assert distortions.KADID_ID["contrast_change"] == 25
    assert len(distortions.KADID_TYPES) == 25


def test_blur_lowers_measured_sharpness(references):
    def laplacian_energy(img):
        gray = distortions.luminance(img)
        return float(
            np.var(gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4 * gray[1:-1, 1:-1])
        )

    for reference in references:
        energies = [
            laplacian_energy(distortions.gaussian_blur(reference, s, np.random.default_rng(0)))
            for s in distortions.LEVEL_STRENGTH
        ]
        assert energies == sorted(energies, reverse=True)


@pytest.mark.parametrize("key", ["bid", "clive", "koniq", "spaq", "liu13", "sriqa", "min19", "agiqa3k"])
def test_every_benchmark_defect_belongs_to_a_family_the_training_sets_share(key):
    from mgiqa.data.demo.recipes import RECIPES
    from mgiqa.data.demo.samples import Context
    from mgiqa.data.demo.synthetic import FAMILY_TYPES

    families = {distortions.KADID_TYPES[t - 1][0] for t in FAMILY_TYPES}
    framing = {name for name, _ in Composition().defects()} | {"clutter"}
    allowed = families | framing | (set(generated.ARTEFACTS) if key == "agiqa3k" else set())
    recipe = RECIPES[key]
    seen = set()
    for sample in recipe.plan(Context(key, 24, 48, 0, recipe.pool)):
        seen |= {name for name, strength in sample.defects if strength > 0}
    assert seen - allowed == set()
    shared = families if key != "agiqa3k" else set(generated.ARTEFACTS)  # demo_generated trains on these
    assert seen & shared, "a benchmark without a defect the training sets have tests nothing training teaches"
