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


def combinations(per_reference: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(type, level) pairs for one reference: every type about equally often, distinct levels per type."""
    per_reference = min(per_reference, N_TYPES * N_LEVELS)
    base, extra = divmod(per_reference, N_TYPES)
    counts = np.full(N_TYPES, base)
    counts[rng.choice(N_TYPES, extra, replace=False)] += 1
    pairs = []
    for index, count in enumerate(counts):
        levels = rng.choice(N_LEVELS, int(count), replace=False) + 1
        pairs += [(index + 1, int(level)) for level in levels]
    return sorted(pairs)


def kadid_plan(ctx: Context, per_reference: int) -> Iterator[Sample]:
    """`ctx.count` distorted images on ceil(count / per_reference) references of the context's pool."""
    n_refs = math.ceil(ctx.count / per_reference)
    width = max(2, len(str(n_refs)))
    left = ctx.count
    for number, spec in enumerate(scene_specs(ctx.pool, ctx.key, n_refs, ctx.seed), start=1):
        rng = ctx.rng("reference", number)
        pairs = combinations(per_reference, rng)
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
