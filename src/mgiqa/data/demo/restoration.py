"""Restoration-like outputs: deblurring (Liu13), x4 super-resolution (SRIQA-Bench), dehazing (Min19 / SHRQ).

Each benchmark's group is one clean scene J, one degraded input (blurred, down-sampled or hazy) and several
"method outputs" that recover a fraction `recovered` of the way back to J and add the method's own
artefacts. The remaining degradation (scored as the blur or haze it is, with strength
input strength x (1 - recovered) ** RESIDUAL_EXPONENT) and every artefact is a defect scored by `demo.quality`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage

from mgiqa.data.demo.distortions import (
    clip01,
    from_pil,
    gaussian,
    motion_kernel,
    pixel_scale,
    saturate,
    to_pil,
)
from mgiqa.data.demo.procedural import value_noise

# a blend that recovers a fraction r of the way back still shows (1 - r) ** 0.7 of the degradation
RESIDUAL_EXPONENT = 0.7


@dataclass
class Output:
    """One method output: pixels and the defects that describe it."""

    image: np.ndarray
    defects: list[tuple[str, float]] = field(default_factory=list)


def recover(degraded: np.ndarray, clean: np.ndarray, recovered: float) -> np.ndarray:
    return degraded + recovered * (clean - degraded)


def ringing(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Deconvolution ringing: over-shooting halos at edges plus a faint echo of them."""
    px = pixel_scale(image)
    detail = image - gaussian(image, 2.2 * px)
    angle = rng.uniform(0, 2 * np.pi)
    echo = ndimage.shift(detail, (3 * px * np.sin(angle), 3 * px * np.cos(angle), 0), order=1, mode="nearest")
    return clip01(image + strength * (2.5 * detail + 1.2 * echo))


def noise(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    return clip01(image + rng.normal(0.0, 0.1 * strength, image.shape))


# --- Liu13: deblurring -------------------------------------------------------------------------------------
def blur_input(clean: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """The blurred photograph a deblurring method starts from (camera shake: a motion kernel + defocus)."""
    px = pixel_scale(clean)
    kernel = motion_kernel((3.0 + 10.0 * strength) * px, rng.uniform(0, np.pi))
    kernel = ndimage.gaussian_filter(kernel, 0.6 * px)
    return clip01(ndimage.convolve(clean, (kernel / kernel.sum())[:, :, None], mode="reflect"))


def deblur_output(clean, blurred, blur_strength, recovered, ring, amplified_noise, rng) -> Output:
    image = recover(blurred, clean, recovered)
    image = ringing(image, ring, rng)
    image = noise(image, amplified_noise, rng)
    residual = blur_strength * (1 - recovered) ** RESIDUAL_EXPONENT
    defects = [("motion_blur", residual), ("ringing", ring), ("white_noise", amplified_noise)]
    return Output(clip01(image), defects)


# --- SRIQA-Bench: x4 super-resolution ------------------------------------------------------------------------
SR_FACTOR = 4


def downsample(clean: np.ndarray) -> Image.Image:
    h, w = clean.shape[:2]
    return to_pil(clean).resize((max(1, w // SR_FACTOR), max(1, h // SR_FACTOR)), Image.Resampling.BOX)


def sr_output(clean, low, recovered, alias, hallucinate, ring, rng) -> Output:
    """Bicubic up-sampling, detail recovered towards the truth, nearest-neighbour jaggies, fake texture."""
    h, w = clean.shape[:2]
    smooth = from_pil(low.resize((w, h), Image.Resampling.BICUBIC))
    blocky = from_pil(low.resize((w, h), Image.Resampling.NEAREST))
    image = recover(smooth, clean, recovered)
    image = image + alias * (blocky - smooth)
    edges = np.hypot(*np.gradient(gaussian(clean, pixel_scale(clean)).mean(axis=2)))
    edges = (edges / max(float(edges.max()), 1e-6))[..., None]
    fake = gaussian(rng.normal(0.0, 1.0, clean.shape).astype(np.float32), 0.5 * pixel_scale(clean))
    image = image + hallucinate * 0.35 * (0.3 + edges) * fake
    image = ringing(clip01(image), 0.7 * ring, rng)
    defects = [
        ("gaussian_blur", 0.8 * (1 - recovered) ** RESIDUAL_EXPONENT),
        ("aliasing", alias),
        ("hallucination", hallucinate),
        ("ringing", 0.7 * ring),
    ]
    return Output(image, defects)


# --- Min19 / SHRQ: dehazing ----------------------------------------------------------------------------------
def depth_map(rng: np.random.Generator, size: int) -> np.ndarray:
    """Scene depth in [0.3, 1]: farther towards the top, with smooth random relief."""
    rows = np.linspace(1.0, 0.3, size)[:, None]
    return np.clip(0.6 * rows + 0.4 * value_noise(rng, size, cells=3, octaves=3), 0.3, 1.0).astype(np.float32)


def haze(clean: np.ndarray, strength: float, depth: np.ndarray, airlight: np.ndarray) -> np.ndarray:
    """Koschmieder's model I = J t + A (1 - t), t = exp(-beta d), beta up to 3."""
    t = np.exp(-3.0 * strength * depth)[..., None]
    return clip01(clean * t + airlight * (1 - t))


def overenhance(image: np.ndarray, strength: float) -> np.ndarray:
    """Over-dehazed look: boosted chroma, crushed shadows."""
    return clip01(saturate(image, 1.0 + 1.5 * strength) ** (1.0 + 0.8 * strength))


def dehaze_output(clean, hazy, haze_strength, recovered, enhance, halo, amplified_noise, rng) -> Output:
    image = recover(hazy, clean, recovered)
    image = overenhance(clip01(image), enhance)
    image = ringing(image, 0.8 * halo, rng)
    image = noise(image, amplified_noise, rng)
    defects = [
        ("haze", haze_strength * (1 - recovered) ** RESIDUAL_EXPONENT),
        ("overenhance", enhance),
        ("ringing", 0.8 * halo),
        ("white_noise", amplified_noise),
    ]
    return Output(clip01(image), defects)
