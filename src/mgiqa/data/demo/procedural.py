"""Procedural scenes drawn with numpy and PIL: gradients, shapes, landscapes, textures, stripes, cells.

Each renderer takes `(rng, size, palette)` and returns a float RGB array (size, size, 3) in [0, 1] with its
main subject at the centre (composition is applied later by cropping off-centre). A palette is an (n, 3)
array of RGB colours from `random_palette`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw
from scipy.spatial import cKDTree
from skimage import color as skcolor

Renderer = Callable[[np.random.Generator, int, np.ndarray], np.ndarray]


def random_palette(
    rng: np.random.Generator,
    n: int = 5,
    saturation: tuple[float, float] = (0.35, 0.95),
    value: tuple[float, float] = (0.25, 1.0),
) -> np.ndarray:
    """n colours around a random base hue (analogous plus one complementary accent)."""
    base = rng.random()
    hues = (base + rng.normal(0, 0.08, n)) % 1.0
    hues[rng.integers(n)] = (base + 0.5) % 1.0
    hsv = np.stack([hues, rng.uniform(*saturation, n), rng.uniform(*value, n)], axis=1)
    return skcolor.hsv2rgb(hsv[None])[0].astype(np.float32)


def value_noise(rng: np.random.Generator, size: int, cells: int = 4, octaves: int = 4) -> np.ndarray:
    """Fractal value noise in [0, 1] (a Perlin-like texture): bicubic upsampled random grids, summed."""
    total = np.zeros((size, size), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        grid = cells * 2**octave + 1
        if grid > size:
            break
        layer = Image.fromarray(rng.random((grid, grid)).astype(np.float32), mode="F")
        total += amplitude * np.asarray(layer.resize((size, size), Image.Resampling.BICUBIC))
        norm += amplitude
        amplitude *= 0.5
    total /= norm
    return (total - total.min()) / max(float(np.ptp(total)), 1e-6)


def gradient_map(field: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Colour a [0, 1] field through the palette (piecewise linear)."""
    stops = np.linspace(0.0, 1.0, len(palette))
    return np.stack([np.interp(field, stops, palette[:, c]) for c in range(3)], axis=-1).astype(np.float32)


def linear_gradient(size: int, top: np.ndarray, bottom: np.ndarray, angle: float = 0.0) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    t = np.clip((yy - 0.5) * np.cos(angle) + (xx - 0.5) * np.sin(angle) + 0.5, 0.0, 1.0)[..., None]
    return (top * (1 - t) + bottom * t).astype(np.float32)


def _rgb255(colour: np.ndarray) -> tuple[int, int, int]:
    return tuple(int(round(float(c) * 255)) for c in np.clip(colour, 0, 1))


def _draw_on(image: np.ndarray, draw: Callable[[ImageDraw.ImageDraw], None]) -> np.ndarray:
    pil = Image.fromarray(np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8), mode="RGB")
    draw(ImageDraw.Draw(pil))
    return np.asarray(pil, dtype=np.float32) / 255.0


def draw_shape(d: ImageDraw.ImageDraw, rng: np.random.Generator, centre, radius: float, fill) -> None:
    """One random shape (ellipse, rectangle, triangle, star-ish polygon) around `centre`."""
    cx, cy = centre
    kind = rng.integers(4)
    if kind == 0:
        rx, ry = radius, radius * rng.uniform(0.6, 1.0)
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=fill)
    elif kind == 1:
        rx, ry = radius, radius * rng.uniform(0.5, 1.0)
        d.rectangle([cx - rx, cy - ry, cx + rx, cy + ry], fill=fill)
    else:
        corners = 3 if kind == 2 else 2 * int(rng.integers(4, 7))
        angles = np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, np.pi)
        radii = radius * (np.where(np.arange(corners) % 2, 0.5, 1.0) if kind == 3 else np.ones(corners))
        d.polygon(
            [(cx + r * np.cos(a), cy + r * np.sin(a)) for r, a in zip(radii, angles, strict=True)], fill=fill
        )


def shapes(rng: np.random.Generator, size: int, palette: np.ndarray) -> np.ndarray:
    image = linear_gradient(size, palette[0], palette[1], rng.uniform(-0.6, 0.6))

    def draw(d):
        for _ in range(int(rng.integers(3, 9))):
            centre = rng.uniform(0.05, 0.95, 2) * size
            draw_shape(
                d, rng, centre, size * rng.uniform(0.03, 0.1), _rgb255(palette[rng.integers(2, len(palette))])
            )
        draw_shape(d, rng, (size / 2, size / 2), size * rng.uniform(0.12, 0.2), _rgb255(palette[-1]))

    return _draw_on(image, draw)


def landscape(rng: np.random.Generator, size: int, palette: np.ndarray) -> np.ndarray:
    sky = linear_gradient(size, palette[0] * 0.6 + 0.4, palette[1])
    xs = np.arange(size)
    image = sky
    for layer, level in enumerate((0.45, 0.58, 0.72)):
        ridge = value_noise(rng, size, cells=3 + 2 * layer, octaves=3)[size // 2]
        height = (level + 0.18 * (ridge - 0.5)) * size
        mask = (np.arange(size)[:, None] > height[None, xs])[..., None]
        tone = palette[2 + layer % (len(palette) - 2)] * (0.55 + 0.15 * layer)
        texture = 0.85 + 0.15 * value_noise(rng, size, cells=8, octaves=2)[..., None]
        image = np.where(mask, tone * texture, image)

    def draw(d):
        r = size * rng.uniform(0.05, 0.09)
        cx, cy = size * rng.uniform(0.42, 0.58), size * rng.uniform(0.2, 0.35)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_rgb255(0.6 + 0.4 * palette[-1]))

    return _draw_on(image, draw)


def texture(rng: np.random.Generator, size: int, palette: np.ndarray) -> np.ndarray:
    field = value_noise(rng, size, cells=int(rng.integers(2, 6)), octaves=5)
    warp = value_noise(rng, size, cells=3, octaves=3)
    return gradient_map((field + 0.5 * np.sin(6 * np.pi * warp)) % 1.0, palette)


def stripes(rng: np.random.Generator, size: int, palette: np.ndarray) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, np.pi)
    warp = value_noise(rng, size, cells=3, octaves=2)
    phase = (xx * np.cos(angle) + yy * np.sin(angle)) * rng.uniform(4, 14) + 1.5 * warp
    if rng.random() < 0.3:
        phase = np.floor(phase) + np.floor(yy * rng.uniform(4, 10))
    field = 0.5 + 0.5 * np.sin(2 * np.pi * phase)
    image = gradient_map(field, palette[: max(2, len(palette) - 1)])

    def draw(d):
        draw_shape(d, rng, (size / 2, size / 2), size * rng.uniform(0.1, 0.18), _rgb255(palette[-1]))

    return _draw_on(image, draw)


def cells(rng: np.random.Generator, size: int, palette: np.ndarray) -> np.ndarray:
    """Voronoi cells (a low-poly / mosaic look) with dark borders."""
    n = int(rng.integers(12, 40))
    points = rng.uniform(0, size, (n, 2))
    yy, xx = np.mgrid[0:size, 0:size]
    dist, index = cKDTree(points).query(np.stack([yy.ravel(), xx.ravel()], axis=1), k=2)
    order = dist.reshape(size, size, 2)
    owner = index[:, 0].reshape(size, size)
    colours = palette[rng.integers(0, len(palette), n)] * rng.uniform(0.75, 1.1, (n, 1))
    border = np.clip((order[..., 1] - order[..., 0]) / (0.015 * size), 0.0, 1.0)[..., None]
    return np.clip(colours[owner] * (0.35 + 0.65 * border), 0, 1).astype(np.float32)


def stilllife(rng: np.random.Generator, size: int, palette: np.ndarray) -> np.ndarray:
    """Shaded spheres on a table in front of a wall."""
    horizon = int(size * rng.uniform(0.55, 0.7))
    image = linear_gradient(size, palette[0] * 0.9, palette[0] * 0.6)
    image[horizon:] = linear_gradient(size, palette[1] * 0.8, palette[1] * 0.45)[horizon:]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    n = int(rng.integers(2, 6))
    for i in range(n):
        r = size * rng.uniform(0.07, 0.16)
        cx = size * (0.5 + (i - (n - 1) / 2) * rng.uniform(0.12, 0.2))
        cy = horizon - r * rng.uniform(0.2, 0.8)
        d = np.hypot(yy - cy, xx - cx) / r
        inside = d < 1
        light = np.clip(1.15 - np.hypot(yy - (cy - 0.4 * r), xx - (cx - 0.4 * r)) / (1.6 * r), 0.25, 1.0)
        image[inside] = (palette[2 + i % (len(palette) - 2)] * light[..., None])[inside]
    return np.clip(image, 0, 1)


def blocks(rng: np.random.Generator, size: int, palette: np.ndarray) -> np.ndarray:
    """A skyline of blocks with lit windows."""
    image = linear_gradient(size, palette[0] * 0.5, palette[1] * 0.9 + 0.1)

    def draw(d):
        x = -rng.uniform(0, 0.05) * size
        while x < size:
            w = size * rng.uniform(0.06, 0.16)
            top = size * (0.25 + 0.5 * rng.random() * (0.4 + abs(x / size - 0.5)))
            body = palette[rng.integers(2, len(palette))] * rng.uniform(0.35, 0.8)
            d.rectangle([x, top, x + w, size], fill=_rgb255(body))
            step = max(3.0, size / 40)
            for wy in np.arange(top + step, size - step, 2 * step):
                for wx in np.arange(x + step / 2, x + w - step, 2 * step):
                    if rng.random() < 0.5:
                        d.rectangle(
                            [wx, wy, wx + step * 0.8, wy + step * 0.8], fill=_rgb255(0.7 + 0.3 * palette[-1])
                        )
            x += w + size * rng.uniform(0.0, 0.03)

    return _draw_on(image, draw)


RENDERERS: dict[str, Renderer] = {
    "shapes": shapes,
    "landscape": landscape,
    "texture": texture,
    "stripes": stripes,
    "cells": cells,
    "stilllife": stilllife,
    "blocks": blocks,
}


def render(kind: str, rng: np.random.Generator, size: int, palette: np.ndarray | None = None) -> np.ndarray:
    """One scene of `kind`, with a fine surface texture so that blur, noise and compression show."""
    if palette is None:
        palette = random_palette(rng, int(rng.integers(4, 7)))
    image = RENDERERS[kind](rng, size, palette)
    detail = value_noise(rng, size, cells=max(4, size // 8), octaves=2)[..., None]
    amount = rng.uniform(0.1, 0.3)
    return np.clip(image * (1.0 - amount / 2 + amount * detail), 0.0, 1.0).astype(np.float32)
