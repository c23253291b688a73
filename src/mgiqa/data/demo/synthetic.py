"""KADID-like sets: pristine references, each with single distortions of the 25 KADID types at levels 1..5.

File names follow KADID-10K: reference `I07.png`, distorted `I07_10_03.png` (reference 7, type 10 = JPEG,
level 3), so the distortion type and level, and with them the attribute labels, come from the name.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from mgiqa.data.demo.distortions import KADID_TYPES, LEVEL_STRENGTH
from mgiqa.data.demo.samples import Context, Sample
from mgiqa.data.demo.scenes import render_scene, scene_specs

N_TYPES = len(KADID_TYPES)
N_LEVELS = len(LEVEL_STRENGTH)
ALL_TYPES = tuple(range(1, N_TYPES + 1))
# The demo's four defect families, each tied to one attribute and shared by the training sets and the
# benchmarks (the authentic-like profiles draw from the same ones): blur -> sharpness; noise and JPEG -> noise;
# exposure, contrast and saturation -> color. KADID type numbers (1-based), so file names stay KADID's.
FAMILY_TYPES = tuple(
    index + 1
    for index, (name, _) in enumerate(KADID_TYPES)
    if name in {"gaussian_blur", "lens_blur", "motion_blur", "white_noise", "chroma_noise", "jpeg", "darken",
                "brighten", "contrast_change", "desaturation"}
)  # fmt: skip


def combinations(
    per_reference: int, rng: np.random.Generator, types: tuple[int, ...] = ALL_TYPES
) -> list[tuple[int, int]]:
    """(type, level) pairs for one reference: every type of `types` about equally often, distinct levels."""
    per_reference = min(per_reference, len(types) * N_LEVELS)
    base, extra = divmod(per_reference, len(types))
    counts = np.full(len(types), base)
    counts[rng.choice(len(types), extra, replace=False)] += 1
    pairs = []
    for kind, count in zip(types, counts, strict=True):
        levels = rng.choice(N_LEVELS, int(count), replace=False) + 1
        pairs += [(kind, int(level)) for level in levels]
    return sorted(pairs)


def kadid_plan(ctx: Context, per_reference: int, types: tuple[int, ...] = ALL_TYPES) -> Iterator[Sample]:
    """`ctx.count` distorted images on ceil(count / per_reference) references of the context's pool, with
    the KADID types `types` (1-based)."""
    n_refs = math.ceil(ctx.count / per_reference)
    width = max(2, len(str(n_refs)))
    left = ctx.count
    for number, spec in enumerate(scene_specs(ctx.pool, ctx.key, n_refs, ctx.seed), start=1):
        rng = ctx.rng("reference", number)
        pairs = combinations(per_reference, rng, types)
        take = min(len(pairs), left)
        if take < len(pairs):
            pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), take, replace=False))]
        left -= take
        reference = render_scene(spec, ctx.size)
        ref_name = f"I{number:0{width}d}.png"
        yield Sample(ref_name, reference, [], spec.scene_id, labelled=False)
        for kind, level in pairs:
            name, op = KADID_TYPES[kind - 1]
            strength = LEVEL_STRENGTH[level - 1]
            image = op(reference, strength, ctx.rng("distort", number, kind, level))
            yield Sample(
                f"I{number:0{width}d}_{kind:02d}_{level:02d}.png",
                image,
                [(name, strength)],
                spec.scene_id,
                meta={"reference": ref_name, "distortion": name, "level": level},
            )
