"""Base scenes of the demo suite and their composition (framing, tilt, clutter).

A scene is a crop of one of scikit-image's bundled photographs (offline, in the wheel) or a procedural
drawing (`demo.procedural`). Scenes come from two disjoint pools: `development` (pretraining and training
sets) and `evaluation` (benchmarks). The pools split the bundled photographs between them, and a procedural
scene's generator is seeded with its pool's code, so no base image is shared between the roles.

Composition is a defect like any other (see `demo.quality`): `off_centre` moves the subject (the centre of
the source) towards the frame edge, `tilt` rotates the frame up to 25 degrees, `clutter` draws distracting
small shapes on top.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from skimage import data as skdata

from mgiqa.data.demo.procedural import RENDERERS, random_palette, render

NATURAL_POOLS: dict[str, tuple[str, ...]] = {
    "development": (
        "chelsea", "motorcycle_left", "hubble_deep_field", "retina", "immunohistochemistry", "colorwheel",
        "logo", "page", "text", "grass", "gravel", "cell", "horse", "microaneurysms", "shepp_logan_phantom",
        "checkerboard",
    ),
    "evaluation": ("astronaut", "coffee", "rocket", "camera", "coins", "moon", "clock", "brick"),
}  # fmt: skip
POOL_CODE = {"development": 1, "evaluation": 2}
PROCEDURAL_KINDS = tuple(sorted(RENDERERS))
NATURAL_SHARE = 0.35
MAX_TILT_DEGREES = 25.0
OFF_CENTRE_REACH = 0.35  # subject displacement at off_centre = 1, as a fraction of the frame


@dataclass(frozen=True)
class SceneSpec:
    """One base scene: a source image (a photograph's name or `procedural:<kind>`) and its seed."""

    pool: str
    source: str
    seed: tuple[int, ...]

    @property
    def scene_id(self) -> str:
        return f"{self.pool}/{self.source}/" + "-".join(map(str, self.seed))

    @property
    def procedural(self) -> bool:
        return self.source.startswith("procedural:")


@dataclass(frozen=True)
class Composition:
    off_centre: float = 0.0
    tilt: float = 0.0
    clutter: float = 0.0

    def defects(self) -> list[tuple[str, float]]:
        return [("off_centre", self.off_centre), ("tilt", self.tilt), ("clutter", self.clutter)]


def stream_code(name: str) -> int:
    """A stable 32-bit code of a string (dataset key, stream name) for seeding."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def scene_specs(pool: str, stream: str, count: int, master_seed: int) -> list[SceneSpec]:
    """`count` scenes of one pool for one stream (a dataset): about NATURAL_SHARE photographs, cycled."""
    if pool not in POOL_CODE:
        raise ValueError(f"unknown scene pool {pool!r}; known: {sorted(POOL_CODE)}")
    base = (int(master_seed), POOL_CODE[pool], stream_code(stream))
    rng = np.random.default_rng(base)
    naturals = list(rng.permutation(NATURAL_POOLS[pool]))
    specs, used = [], 0
    for index in range(count):
        if rng.random() < NATURAL_SHARE:
            source = str(naturals[used % len(naturals)])
            used += 1
        else:
            source = "procedural:" + str(rng.choice(PROCEDURAL_KINDS))
        specs.append(SceneSpec(pool, source, (*base, index)))
    return specs


@functools.cache
def _natural_pyramid(name: str) -> tuple[Image.Image, ...]:
    """A bundled photograph as RGB, halved repeatedly (box filter) down to about 64 px."""
    array = np.asarray(
        skdata.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skdata, name)()
    )
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.rint(255 * (array - array.min()) / max(float(np.ptp(array)), 1e-9)).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 4:
        alpha = array[..., 3:4] / 255.0
        array = np.rint(array[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    image = Image.fromarray(array).convert("RGB")
    levels = [image]
    while min(levels[-1].size) >= 128:
        levels.append(levels[-1].reduce(2))
    return tuple(levels)


@functools.cache
def is_gray(name: str) -> bool:
    """Whether a bundled photograph is greyscale (it is then given a random duotone)."""
    array = np.asarray(_natural_pyramid(name)[-1])
    return bool((array[..., 0] == array[..., 1]).all() and (array[..., 1] == array[..., 2]).all())


def source_image(spec: SceneSpec, size: int) -> tuple[Image.Image, ...]:
    """The scene's source as a pyramid (full resolution first); procedural sources are drawn at 2 x size."""
    if spec.procedural:
        rng = np.random.default_rng((*spec.seed, 0))
        array = render(spec.source.split(":", 1)[1], rng, 2 * size)
        image = Image.fromarray(np.rint(array * 255).astype(np.uint8), mode="RGB")
        return (image, image.reduce(2))
    return _natural_pyramid(spec.source)


def _frame(source: tuple[Image.Image, ...], size: int, comp: Composition, rng) -> Image.Image:
    """Crop a (rotated) square frame whose centre is moved off the source's centre, resampled to size."""
    angle = math.radians(MAX_TILT_DEGREES * comp.tilt) * rng.choice((-1.0, 1.0))
    direction = rng.uniform(0, 2 * np.pi)
    zoom = rng.uniform(0.55, 1.0)
    width, height = source[0].size
    spread = abs(math.cos(angle)) + abs(math.sin(angle)) + 2 * OFF_CENTRE_REACH * comp.off_centre
    side = zoom * min(width, height) / spread
    level = 0
    while level + 1 < len(source) and side / 2 ** (level + 1) / size >= 1.0:
        level += 1
    image, scale = source[level], 2.0**-level
    shift = OFF_CENTRE_REACH * comp.off_centre * side
    cx = (width / 2 + shift * math.cos(direction)) * scale
    cy = (height / 2 + shift * math.sin(direction)) * scale
    k = side * scale / size
    a, b = k * math.cos(angle), -k * math.sin(angle)
    d, e = k * math.sin(angle), k * math.cos(angle)
    c, f = cx - (a + b) * size / 2, cy - (d + e) * size / 2
    return image.transform((size, size), Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BICUBIC)


def _duotone(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour a grey photograph with a random dark and light tone (colour must be judgeable)."""
    dark = random_palette(rng, 1, saturation=(0.4, 0.9), value=(0.1, 0.35))[0]
    light = random_palette(rng, 1, saturation=(0.2, 0.6), value=(0.85, 1.0))[0]
    gray = image[..., :1]
    return (dark + (light - dark) * gray).astype(np.float32)


def _clutter(image: Image.Image, amount: float, rng: np.random.Generator) -> Image.Image:
    draw = ImageDraw.Draw(image)
    size = image.size[0]
    for _ in range(int(round(12 * amount))):
        x, y = rng.uniform(0, size, 2)
        r = size * rng.uniform(0.03, 0.09)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
        elif kind == 1:
            draw.rectangle([x - r, y - r / 2, x + r, y + r / 2], fill=fill)
        else:
            x2, y2 = x + rng.uniform(-3, 3) * r, y + rng.uniform(-3, 3) * r
            draw.line([x, y, x2, y2], fill=fill, width=max(1, size // 40))
    return image


def render_scene(spec: SceneSpec, size: int, comp: Composition = Composition()) -> np.ndarray:
    """The scene framed with this composition: float RGB (size, size, 3) in [0, 1]."""
    rng = np.random.default_rng((*spec.seed, 1))
    framed = _frame(source_image(spec, size), size, comp, rng)
    array = np.asarray(framed, dtype=np.float32) / 255.0
    if not spec.procedural and is_gray(spec.source):
        array = _duotone(array, rng)
    if comp.clutter > 0:
        pil = Image.fromarray(np.rint(array * 255).astype(np.uint8), mode="RGB")
        array = np.asarray(_clutter(pil, comp.clutter, rng), dtype=np.float32) / 255.0
    return normalise_exposure(array)


BASE_LUMINANCE_MEAN = 0.45
BASE_LUMINANCE_STD = 0.2
MAX_CONTRAST_GAIN = 4.0  # a nearly flat source is not stretched into noise


def normalise_exposure(array: np.ndarray) -> np.ndarray:
    """Every clean base image at one luminance mean and spread, so that darkening, brightening and contrast
    defects are visible without a reference (as a rater judges a real photograph's exposure)."""
    luma = array @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gain = min(MAX_CONTRAST_GAIN, BASE_LUMINANCE_STD / max(float(luma.std()), 1e-6))
    out = (array - float(luma.mean())) * gain + BASE_LUMINANCE_MEAN
    return np.clip(out, 0.0, 1.0).astype(np.float32)
