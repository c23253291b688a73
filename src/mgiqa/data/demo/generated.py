"""Procedural "AI-generated" images (AGIQA-like): a prompt, a drawing of it, and generator artefacts.

A prompt names a subject, up to two adjectives and a style, as AGIQA-3K's `prompt, adj1, adj2, style`
columns do. The drawing follows the prompt's subject (a procedural scene kind) and adjectives (palette),
except where the simulated generator fails to: a wrong subject or an ignored adjective lowers the
alignment score. Each simulated generator has its own artefact profile, and AGIQA's `lowstep` / `highcorr`
variants add diffusion residue or over-saturation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mgiqa.data.demo.distortions import (
    clip01,
    from_pil,
    gaussian,
    luminance,
    oversaturation,
    pixel_scale,
    to_pil,
)
from mgiqa.data.demo.procedural import random_palette, render, value_noise
from mgiqa.data.demo.samples import Context, Sample
from mgiqa.data.demo.scenes import POOL_CODE

SUBJECTS: dict[str, tuple[str, ...]] = {
    "landscape": ("a mountain range at dusk", "a valley with a lake", "rolling hills under a big sun"),
    "stilllife": ("a bowl of fruit on a table", "three glass balls", "oranges on a wooden table"),
    "blocks": ("a city skyline at night", "a row of tall towers", "a futuristic town"),
    "cells": ("a stained glass window", "a mosaic floor", "a low poly portrait"),
    "stripes": ("ocean waves", "a zebra pattern, close up", "sand dunes, seen from above"),
    "texture": ("a colourful nebula", "marble, polished", "clouds over the sea"),
    "shapes": ("a red kite in the sky", "a star and a moon", "toys on a carpet"),
}
ADJECTIVES: dict[str, dict] = {
    "colorful": {"saturation": (0.75, 1.0)},
    "pastel": {"saturation": (0.15, 0.4), "value": (0.8, 1.0)},
    "dark": {"value": (0.1, 0.45)},
    "bright": {"value": (0.75, 1.0)},
    "muted": {"saturation": (0.05, 0.3)},
    "vivid": {"saturation": (0.85, 1.0), "value": (0.6, 1.0)},
}
STYLES = ("", "oil painting", "digital art", "anime", "photorealistic", "low poly", "baroque")
VARIANTS = ("normal", "lowstep", "highcorr")
# generator -> artefact -> (probability it shows, max strength)
GENERATORS: dict[str, dict[str, tuple[float, float]]] = {
    "procgan": {"checkerboard": (0.9, 0.9), "warp": (0.8, 0.8), "color_cast": (0.3, 0.5)},
    "procdiff": {"diffusion_residue": (0.6, 0.5), "banding": (0.5, 0.5), "waxy": (0.5, 0.6)},
    "procflow": {"warp": (0.5, 0.5), "color_cast": (0.6, 0.6), "banding": (0.6, 0.7)},
    "procmix": {"checkerboard": (0.3, 0.4), "waxy": (0.4, 0.4), "diffusion_residue": (0.3, 0.4)},
}
JPEG_QUALITY = 95
SUBJECT_FAILURE = 0.2
ADJECTIVE_FAILURE = 0.25


@dataclass
class Prompt:
    kind: str
    subject: str
    adjectives: tuple[str, ...]
    style: str

    @property
    def text(self) -> str:
        return self.subject


def random_prompt(rng: np.random.Generator) -> Prompt:
    kind = str(rng.choice(sorted(SUBJECTS)))
    subject = str(rng.choice(SUBJECTS[kind]))
    n_adj = int(rng.choice((0, 1, 2), p=(0.35, 0.35, 0.3)))
    adjectives = tuple(str(a) for a in rng.choice(sorted(ADJECTIVES), n_adj, replace=False))
    return Prompt(kind, subject, adjectives, str(rng.choice(STYLES)))


def draw_prompt(
    prompt: Prompt, size: int, rng: np.random.Generator, faithful: bool
) -> tuple[np.ndarray, float]:
    """(image, alignment defect in [0, 1]); `faithful` (highcorr) never misses the subject."""
    misses = 0.0
    kind = prompt.kind
    if not faithful and rng.random() < SUBJECT_FAILURE:
        kind = str(rng.choice([k for k in sorted(SUBJECTS) if k != prompt.kind]))
        misses = 1 - (1 - misses) * (1 - 0.7)
    palette_args: dict = {}
    for adjective in prompt.adjectives:
        if rng.random() < ADJECTIVE_FAILURE:
            misses = 1 - (1 - misses) * (1 - 0.3)
        else:
            palette_args.update(ADJECTIVES[adjective])
    palette = random_palette(rng, int(rng.integers(4, 7)), **palette_args)
    return render(kind, rng, size, palette), misses


# --- artefacts -----------------------------------------------------------------------------------------------
def diffusion_residue(image, s, rng):
    size = image.shape[0]
    blotches = np.stack([value_noise(rng, size, cells=6, octaves=2) for _ in range(3)], axis=-1) - 0.5
    return clip01(image + s * (0.45 * blotches + rng.normal(0.0, 0.06, image.shape)))


def checkerboard(image, s, rng):
    period = max(2, int(round(2 * pixel_scale(image))))
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    pattern = (((yy // period) + (xx // period)) % 2 - 0.5)[..., None]
    return clip01(image + s * 0.22 * pattern * (0.4 + luminance(image)[..., None]))


def banding(image, s, rng):
    levels = max(3, int(round(40 - 34 * s)))
    smooth = gaussian(image, 1.5 * pixel_scale(image))
    return clip01(image - smooth + np.round(smooth * levels) / levels)


def warp(image, s, rng):
    size = image.shape[0]
    reach = 7.0 * s * pixel_scale(image)
    dy = (value_noise(rng, size, cells=3, octaves=2) - 0.5) * 2 * reach
    dx = (value_noise(rng, size, cells=3, octaves=2) - 0.5) * 2 * reach
    yy, xx = np.mgrid[0:size, 0 : image.shape[1]].astype(np.float32)
    coords = [yy + dy, xx + dx]
    return clip01(
        np.stack(
            [ndimage.map_coordinates(image[..., c], coords, order=1, mode="reflect") for c in range(3)], -1
        )
    )


def waxy(image, s, rng):
    """Plastic-looking skin: fine texture smoothed away, edges mostly kept (median, then light blur)."""
    size = 3 if s < 0.5 else 5
    return clip01(
        gaussian(ndimage.median_filter(image, size=(size, size, 1)), (0.3 + 1.2 * s) * pixel_scale(image))
    )


def color_cast(image, s, rng):
    tint = rng.normal(0.0, 1.0, 3)
    tint /= np.linalg.norm(tint)
    return clip01(image * (1.0 + 0.55 * s * tint))


ARTEFACTS = {
    "warp": warp,
    "waxy": waxy,
    "banding": banding,
    "color_cast": color_cast,
    "diffusion_residue": diffusion_residue,
    "checkerboard": checkerboard,
    "oversaturation": oversaturation,
}


def artefact_strengths(generator: str, variant: str, rng: np.random.Generator) -> list[tuple[str, float]]:
    """The defects one image of this generator and variant shows, in the order they are applied."""
    strengths: dict[str, float] = dict.fromkeys(ARTEFACTS, 0.0)
    for name, (probability, top) in GENERATORS[generator].items():
        if rng.random() < probability:
            strengths[name] = float(rng.uniform(0.1, 1.0) * top)
    if variant == "lowstep":
        strengths["diffusion_residue"] = min(
            1.0, strengths["diffusion_residue"] + float(rng.uniform(0.3, 0.7))
        )
        strengths["waxy"] = min(1.0, strengths["waxy"] + float(rng.uniform(0.0, 0.3)))
    elif variant == "highcorr":
        strengths["oversaturation"] = float(rng.uniform(0.1, 0.5))
    return [(name, strengths[name]) for name in ARTEFACTS]


def apply_artefacts(
    image: np.ndarray, defects: list[tuple[str, float]], rng: np.random.Generator
) -> np.ndarray:
    for name, strength in defects:
        if strength > 0:
            image = ARTEFACTS[name](image, strength, rng)
    return image


def agiqa_plan(ctx: Context) -> Iterator[Sample]:
    """`ctx.count` images `{generator}_{variant}_{nnn}.jpg` with their prompts (AGIQA-3K's naming)."""
    counters: dict[tuple[str, str], int] = {}
    generators = sorted(GENERATORS)
    for index in range(ctx.count):
        rng = ctx.rng("generated", POOL_CODE[ctx.pool], index)
        prompt = random_prompt(rng)
        generator = str(rng.choice(generators))
        variant = str(rng.choice(VARIANTS, p=(0.5, 0.25, 0.25)))
        drawing, misalignment = draw_prompt(prompt, 2 * ctx.size, rng, faithful=variant == "highcorr")
        image = from_pil(to_pil(drawing).reduce(2))
        defects = artefact_strengths(generator, variant, rng)
        image = apply_artefacts(image, defects, rng)
        number = counters.get((generator, variant), 0)
        counters[(generator, variant)] = number + 1
        yield Sample(
            f"{generator}_{variant}_{number:03d}.jpg",
            image,
            [*defects, ("jpeg", (95 - JPEG_QUALITY) / 90)],
            f"{ctx.pool}/generated:{prompt.kind}/{ctx.seed}-{POOL_CODE[ctx.pool]}-{ctx.key}-{index}",
            jpeg_quality=JPEG_QUALITY,
            meta={"prompt": prompt, "misalignment": misalignment},
        )
