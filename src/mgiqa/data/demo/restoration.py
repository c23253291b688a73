"""Restoration-like outputs: deblurring (Liu13), x4 super-resolution (SRIQA-Bench), contrast restoration (Min19).

Each benchmark's group is one clean scene J, one degraded input (motion-blurred, down-sampled or washed out)
and several "method outputs" that recover a fraction `recovered` of the way back to J and add the method's
own artefacts. The remaining degradation is scored as the defect it is, with strength
input strength x (1 - recovered) ** RESIDUAL_EXPONENT. Every defect here belongs to the demo's four families
that the training sets share (`demo.synthetic.FAMILY_TYPES`: blur, noise / JPEG, exposure / contrast /
saturation) and is drawn by the same operators (`demo.distortions`), so what the benchmarks test is what
training can teach; they differ from training in mix, strength and grouping, as the real ones do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage

from mgiqa.data.demo.distortions import (
    clip01,
    contrast_change,
    darken,
    desaturation,
    from_pil,
    jpeg,
    motion_kernel,
    pixel_scale,
    to_pil,
    white_noise,
)

# a blend that recovers a fraction r of the way back still shows (1 - r) ** 0.7 of the degradation
RESIDUAL_EXPONENT = 0.7


@dataclass
class Output:
    """One method output: pixels and the defects that describe it."""

    image: np.ndarray
    defects: list[tuple[str, float]] = field(default_factory=list)


def recover(degraded: np.ndarray, clean: np.ndarray, recovered: float) -> np.ndarray:
    return degraded + recovered * (clean - degraded)


def residual(strength: float, recovered: float) -> float:
    return strength * (1 - recovered) ** RESIDUAL_EXPONENT


def artefacts(image: np.ndarray, defects: list[tuple[str, float]], rng: np.random.Generator) -> Output:
    """Apply the named family operators with strength > 0, in order; the output lists every defect."""
    operators = {"white_noise": white_noise, "jpeg": jpeg, "darken": darken, "desaturation": desaturation}
    for name, strength in defects:
        if strength > 0 and name in operators:
            image = operators[name](image, strength, rng)
    return Output(clip01(image), defects)


# --- Liu13: deblurring -------------------------------------------------------------------------------------
def blur_input(clean: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """The blurred photograph a deblurring method starts from (camera shake: a motion kernel)."""
    px = pixel_scale(clean)
    kernel = motion_kernel((3.0 + 10.0 * strength) * px, rng.uniform(0, np.pi))
    return clip01(ndimage.convolve(clean, (kernel / kernel.sum())[:, :, None], mode="reflect"))


def deblur_output(clean, blurred, blur_strength, recovered, amplified_noise, rng) -> Output:
    """Part of the shake removed; deconvolution amplifies noise."""
    image = recover(blurred, clean, recovered)
    defects = [("motion_blur", residual(blur_strength, recovered)), ("white_noise", amplified_noise)]
    return artefacts(image, defects, rng)


# --- SRIQA-Bench: x4 super-resolution ------------------------------------------------------------------------
SR_FACTOR = 4


def downsample(clean: np.ndarray) -> Image.Image:
    h, w = clean.shape[:2]
    return to_pil(clean).resize((max(1, w // SR_FACTOR), max(1, h // SR_FACTOR)), Image.Resampling.BOX)


def sr_output(clean, low, recovered, grain, compression, rng) -> Output:
    """Bicubic up-sampling with detail recovered towards the truth; fake grain and a compressed delivery."""
    h, w = clean.shape[:2]
    smooth = from_pil(low.resize((w, h), Image.Resampling.BICUBIC))
    image = recover(smooth, clean, recovered)
    defects = [
        ("gaussian_blur", residual(0.8, recovered)),
        ("white_noise", grain),
        ("jpeg", compression),
    ]
    return artefacts(image, defects, rng)


# --- Min19 / SHRQ: contrast restoration (a washed-out, low-contrast input) ---------------------------------
def washed_out(clean: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """The degraded input: contrast reduced towards the mean luminance (KADID's contrast change)."""
    return contrast_change(clean, strength, rng)


def contrast_output(clean, degraded, strength, recovered, overshoot, faded, amplified_noise, rng) -> Output:
    """Contrast partly restored; methods may crush the shadows (darken), fade colours, amplify noise."""
    image = recover(degraded, clean, recovered)
    defects = [
        ("contrast_change", residual(strength, recovered)),
        ("darken", overshoot),
        ("desaturation", faded),
        ("white_noise", amplified_noise),
    ]
    return artefacts(image, defects, rng)
