"""Authentic-like photographs: several co-occurring, graded camera defects per image, then JPEG.

Each image gets a latent "how bad was this shot" z in [0, 1]; every defect of the set's profile shows with
its probability and a strength that grows with z, so bad photographs tend to have several problems at once,
as in KonIQ, SPAQ or LIVE Challenge. Profiles differ in what dominates: BID is blur, CLIVE low light, KonIQ
web compression, SPAQ smartphone shake, noise and exposure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from mgiqa.data.demo.distortions import OPS, jpeg_quality
from mgiqa.data.demo.samples import Context, Sample
from mgiqa.data.demo.scenes import Composition, render_scene, scene_specs

# the camera pipeline: optics, exposure, sensor noise, colour processing (JPEG is applied when saving)
APPLY_ORDER = (
    "gaussian_blur", "lens_blur", "motion_blur", "darken", "brighten", "contrast_change",
    "white_noise", "chroma_noise", "desaturation",
)  # fmt: skip
COMPOSITION = ("off_centre", "tilt", "clutter")
MIN_JPEG = 0.03  # camera JPEGs are never lossless (quality <= 92)

# defect -> (probability that it shows, strength at z = 1)
PROFILES: dict[str, dict[str, tuple[float, float]]] = {
    "mixed": {
        "lens_blur": (0.35, 0.8), "motion_blur": (0.3, 0.8), "gaussian_blur": (0.15, 0.6),
        "darken": (0.25, 0.6), "brighten": (0.15, 0.5), "contrast_change": (0.2, 0.6),
        "white_noise": (0.35, 0.6), "chroma_noise": (0.2, 0.5), "desaturation": (0.2, 0.6),
        "jpeg": (1.0, 0.6),
        "off_centre": (0.4, 1.0), "tilt": (0.25, 0.7), "clutter": (0.25, 0.7),
    },
    "blur": {
        "lens_blur": (0.6, 1.0), "motion_blur": (0.5, 1.0), "gaussian_blur": (0.25, 0.8),
        "darken": (0.2, 0.4), "white_noise": (0.2, 0.3), "contrast_change": (0.1, 0.3), "jpeg": (1.0, 0.3),
        "off_centre": (0.3, 0.6), "tilt": (0.2, 0.4), "clutter": (0.1, 0.3),
    },
    "lowlight": {
        "motion_blur": (0.35, 0.7), "lens_blur": (0.25, 0.6), "darken": (0.5, 0.8), "brighten": (0.15, 0.6),
        "white_noise": (0.55, 0.8), "chroma_noise": (0.4, 0.7), "contrast_change": (0.25, 0.5),
        "desaturation": (0.2, 0.5), "jpeg": (1.0, 0.4),
        "off_centre": (0.35, 0.8), "tilt": (0.3, 0.6), "clutter": (0.3, 0.6),
    },
    "web": {
        "lens_blur": (0.3, 0.7), "gaussian_blur": (0.25, 0.6), "motion_blur": (0.15, 0.5),
        "white_noise": (0.2, 0.4), "darken": (0.2, 0.5), "brighten": (0.2, 0.5), "desaturation": (0.25, 0.6),
        "contrast_change": (0.2, 0.5), "jpeg": (1.0, 0.9),
        "off_centre": (0.4, 0.9), "tilt": (0.2, 0.5), "clutter": (0.35, 0.8),
    },
    "smartphone": {
        "motion_blur": (0.45, 0.9), "lens_blur": (0.3, 0.7), "white_noise": (0.4, 0.7),
        "chroma_noise": (0.3, 0.6), "darken": (0.35, 0.7), "brighten": (0.25, 0.6),
        "contrast_change": (0.25, 0.6), "desaturation": (0.2, 0.6),
        "jpeg": (1.0, 0.5), "off_centre": (0.4, 0.9), "tilt": (0.3, 0.6), "clutter": (0.3, 0.7),
    },
}  # fmt: skip


def draw_strengths(profile: str, rng: np.random.Generator) -> dict[str, float]:
    """Defect strengths of one photograph (0 = the defect does not show)."""
    z = float(rng.uniform()) ** 0.8
    strengths = {}
    for name, (probability, top) in PROFILES[profile].items():
        shows = rng.random() < probability
        strengths[name] = float(top * np.clip(z * rng.uniform(0.5, 1.5), 0.0, 1.0)) if shows else 0.0
    return strengths


def authentic_plan(ctx: Context, profile: str, names: Callable[[Context], list[str]]) -> Iterator[Sample]:
    """`ctx.count` photographs named `names(ctx)`."""
    files = names(ctx)
    for index, spec in enumerate(scene_specs(ctx.pool, ctx.key, ctx.count, ctx.seed)):
        rng = ctx.rng("photo", index)
        strengths = draw_strengths(profile, rng)
        composition = Composition(*(strengths.get(c, 0.0) for c in COMPOSITION))
        image = render_scene(spec, ctx.size, composition)
        applied = [(d, strengths[d]) for d in APPLY_ORDER if strengths.get(d, 0.0) > 0]
        for defect, strength in applied:
            image = OPS[defect](image, strength, rng)
        quality = jpeg_quality(max(MIN_JPEG, strengths.get("jpeg", 0.0)))
        defects = [*composition.defects(), *applied, ("jpeg", (95 - quality) / 90)]
        yield Sample(
            files[index], image, defects, spec.scene_id, jpeg_quality=quality, meta={"source": spec.source}
        )
