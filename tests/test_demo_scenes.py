"""Demo base scenes: offline sources, disjoint pools for training and benchmarks, composition."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mgiqa.data.demo import dataset_context, iter_samples, recipe_of
from mgiqa.data.demo.procedural import RENDERERS, render
from mgiqa.data.demo.scenes import (
    NATURAL_POOLS,
    POOL_CODE,
    Composition,
    is_gray,
    render_scene,
    scene_specs,
    source_image,
)
from mgiqa.data.registry import load_registry
from mgiqa.pipeline import all_datasets

SIZE = 56


def tiny(config: dict, n: int = 6) -> dict:
    config["demo"] = {"image_size": SIZE, "images": {"benchmark": n} | {k: n for k in all_datasets(config)}}
    return config


def test_natural_pools_are_disjoint_and_load_offline():
    development, evaluation = set(NATURAL_POOLS["development"]), set(NATURAL_POOLS["evaluation"])
    assert development and evaluation and not development & evaluation
    for name in development | evaluation:
        spec = scene_specs("development" if name in development else "evaluation", "x", 1, 0)[0]
        spec = type(spec)(spec.pool, name, spec.seed)
        pyramid = source_image(spec, SIZE)
        assert pyramid[0].mode == "RGB" and min(pyramid[0].size) >= 64
        image = render_scene(spec, SIZE)
        assert image.shape == (SIZE, SIZE, 3) and image.min() >= 0.0 and image.max() <= 1.0
        if is_gray(name):  # grey photographs get a colour duotone, so colour can be judged
            assert np.ptp(image, axis=2).max() > 0.05


@pytest.mark.parametrize("kind", sorted(RENDERERS))
def test_procedural_scenes_are_seeded_and_varied(kind):
    first = render(kind, np.random.default_rng(1), 2 * SIZE)
    assert first.shape == (2 * SIZE, 2 * SIZE, 3) and first.dtype == np.float32
    assert np.array_equal(first, render(kind, np.random.default_rng(1), 2 * SIZE))
    assert not np.array_equal(first, render(kind, np.random.default_rng(2), 2 * SIZE))
    assert first.std() > 0.03


def test_scene_specs_are_deterministic_and_mix_sources():
    specs = scene_specs("evaluation", "demo_koniq", 60, 1234)
    assert specs == scene_specs("evaluation", "demo_koniq", 60, 1234)
    assert specs != scene_specs("evaluation", "demo_spaq", 60, 1234)
    assert len({s.scene_id for s in specs}) == 60
    natural = [s for s in specs if not s.procedural]
    assert 0.15 < len(natural) / 60 < 0.6
    assert {s.source for s in natural} <= set(NATURAL_POOLS["evaluation"])
    with pytest.raises(ValueError, match="unknown scene pool"):
        scene_specs("holdout", "x", 1, 0)


def test_composition_changes_the_framing_only_when_asked():
    spec = scene_specs("development", "composition", 1, 3)[0]
    plain = render_scene(spec, SIZE)
    assert np.array_equal(plain, render_scene(spec, SIZE, Composition()))
    for comp in (Composition(off_centre=1.0), Composition(tilt=1.0), Composition(clutter=1.0)):
        assert np.abs(render_scene(spec, SIZE, comp) - plain).mean() > 0.01


def _digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def test_base_images_of_training_and_benchmarks_are_disjoint(demo_config):
    """Pretraining/training sets and benchmarks share no photograph, no procedural seed, no base image."""
    config = tiny(demo_config, 8)
    registry = load_registry()
    roles = {"development": set(), "evaluation": set()}
    sources = {"development": set(), "evaluation": set()}
    digests = {"development": set(), "evaluation": set()}
    for key in all_datasets(config):
        entry = registry[key]
        pool = recipe_of(key, entry).pool
        assert pool == ("evaluation" if entry["role"] == "benchmark" else "development")
        ctx = dataset_context(key, entry, config)
        for spec in scene_specs(pool, key, ctx.count, ctx.seed):
            assert spec.seed[1] == POOL_CODE[pool]
            roles[pool].add(spec.seed)
            if not spec.procedural:
                sources[pool].add(spec.source)
            digests[pool].add(_digest(render_scene(spec, SIZE)))
        for sample in iter_samples(key, entry, config):
            assert sample.scene.startswith(pool + "/")
    assert not roles["development"] & roles["evaluation"]
    assert not sources["development"] & sources["evaluation"]
    assert not digests["development"] & digests["evaluation"]


def test_clean_base_images_share_one_exposure():
    """Exposure and contrast defects are visible without a reference only if clean images agree on them."""
    from mgiqa.data.demo.scenes import BASE_LUMINANCE_MEAN, BASE_LUMINANCE_STD, render_scene, scene_specs

    means, spreads = [], []
    for spec in scene_specs("evaluation", "demo_clive", 24, 7):
        luma = render_scene(spec, 64) @ np.array([0.299, 0.587, 0.114])
        means.append(luma.mean())
        spreads.append(luma.std())
    assert abs(np.median(means) - BASE_LUMINANCE_MEAN) < 0.03  # clipping moves a few a little
    assert abs(np.median(spreads) - BASE_LUMINANCE_STD) < 0.03
    assert np.std(means) < 0.05  # before: mean luminance .28 in CLIVE-like sets vs .39 in training


def test_training_kadid_types_are_the_defect_families_the_benchmarks_use():
    from mgiqa.data.demo.authentic import PROFILES
    from mgiqa.data.demo.distortions import KADID_TYPES
    from mgiqa.data.demo.synthetic import FAMILY_TYPES

    trained = {KADID_TYPES[t - 1][0] for t in FAMILY_TYPES}
    benchmark_defects = {
        d for profile in ("blur", "lowlight", "web", "smartphone") for d in PROFILES[profile]
    }
    photographic = benchmark_defects - {"off_centre", "tilt", "clutter", "oversaturation"}
    assert photographic <= trained, photographic - trained
