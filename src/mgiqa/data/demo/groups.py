"""Grouped restoration benchmarks: one scene per group, one degraded input, several method outputs.

- Liu13-like (deblurring): groups of 6-8 outputs named `{g}_{k}.png`, the blurred input `{g}_0.png`.
- SRIQA-Bench-like (x4 super-resolution): groups of 11 outputs `img{g:03d}_m{k:02d}.png`, input `img{g:03d}_lr.png`.
- Min19 / SHRQ-like (the layout of a dehazing set; here contrast restoration of washed-out inputs): groups of 8
  outputs `scene{g:03d}_m{k}.png`, the washed-out input `scene{g:03d}.png`.
Only comparisons within a group are meaningful (the label files say so by their `ref` column).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mgiqa.data.demo import restoration as rs
from mgiqa.data.demo.distortions import from_pil
from mgiqa.data.demo.samples import Context, Sample, group_sizes
from mgiqa.data.demo.scenes import Composition, render_scene, scene_specs


def _grouped(ctx: Context, low: int, high: int):
    """(group number, scene spec, clean scene, outputs in the group, group rng, framing defects) per group."""
    sizes = group_sizes(ctx.count, low, high, ctx.rng("group sizes"))
    for number, (spec, size) in enumerate(
        zip(scene_specs(ctx.pool, ctx.key, len(sizes), ctx.seed), sizes, strict=True)
    ):
        rng = ctx.rng("group", number)
        composition = Composition(off_centre=float(rng.uniform(0, 0.3)), tilt=float(rng.uniform(0, 0.15)))
        yield number, spec, render_scene(spec, ctx.size, composition), size, rng, composition.defects()


def _maybe(rng: np.random.Generator, probability: float, low: float, high: float) -> float:
    return float(rng.uniform(low, high)) if rng.random() < probability else 0.0


def deblur_plan(ctx: Context) -> Iterator[Sample]:
    for g, spec, clean, size, rng, framing in _grouped(ctx, 6, 8):
        blur = float(rng.uniform(0.5, 1.0))
        blurred = rs.blur_input(clean, blur, rng)
        ref = f"{g}_0.png"
        yield Sample(ref, blurred, [*framing, ("motion_blur", blur)], spec.scene_id, labelled=False)
        for k in range(1, size + 1):
            recovered = float(rng.uniform(0.05, 0.95))
            amplified = _maybe(rng, 0.6, 0.0, 0.8) * recovered
            out = rs.deblur_output(clean, blurred, blur, recovered, amplified, rng)
            yield Sample(
                f"{g}_{k}.png", out.image, [*framing, *out.defects], spec.scene_id, meta={"reference": ref}
            )


def super_resolution_plan(ctx: Context) -> Iterator[Sample]:
    for g, spec, clean, size, rng, framing in _grouped(ctx, 11, 11):
        low = rs.downsample(clean)
        ref = f"img{g:03d}_lr.png"
        yield Sample(ref, from_pil(low), framing, spec.scene_id, labelled=False)
        for k in range(1, size + 1):
            out = rs.sr_output(
                clean,
                low,
                recovered=float(rng.uniform(0.0, 0.9)),
                grain=_maybe(rng, 0.4, 0.1, 0.8),
                compression=_maybe(rng, 0.4, 0.2, 0.9),
                rng=rng,
            )
            name = f"img{g:03d}_m{k:02d}.png"
            yield Sample(name, out.image, [*framing, *out.defects], spec.scene_id, meta={"reference": ref})


def contrast_restoration_plan(ctx: Context) -> Iterator[Sample]:
    for g, spec, clean, size, rng, framing in _grouped(ctx, 8, 8):
        strength = float(rng.uniform(0.5, 1.0))
        degraded = rs.washed_out(clean, strength, rng)
        ref = f"scene{g:03d}.png"
        yield Sample(ref, degraded, [*framing, ("contrast_change", strength)], spec.scene_id, labelled=False)
        for k in range(1, size + 1):
            out = rs.contrast_output(
                clean,
                degraded,
                strength,
                recovered=float(rng.uniform(0.15, 0.95)),
                overshoot=_maybe(rng, 0.4, 0.1, 0.7),
                faded=_maybe(rng, 0.3, 0.2, 0.8),
                amplified_noise=_maybe(rng, 0.3, 0.05, 0.5),
                rng=rng,
            )
            name = f"scene{g:03d}_m{k}.png"
            yield Sample(name, out.image, [*framing, *out.defects], spec.scene_id, meta={"reference": ref})
