"""The 25 KADID-10K distortion types, re-implemented on float RGB arrays in [0, 1].

`KADID_TYPES[i - 1]` is KADID type i (01 Gaussian blur ... 25 contrast change), so a demo file named
`I03_10_04.png` is reference 3, type 10 (JPEG), level 4, exactly as in KADID-10K. Every function takes
`(image, strength, rng)` with strength in [0, 1] (level l -> `LEVEL_STRENGTH[l - 1]`) and returns a new
array; pixel parameters scale with the image size (calibrated at 112 px). How much each type impairs each
attribute is `demo.quality.IMPACT[name]`.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import color as skcolor

Op = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]
LEVEL_STRENGTH = (0.2, 0.4, 0.6, 0.8, 1.0)
REFERENCE_SIZE = 112


def pixel_scale(image: np.ndarray) -> float:
    """Pixels per calibration pixel (parameters are tuned for 112 px images)."""
    return min(image.shape[:2]) / REFERENCE_SIZE


def clip01(image: np.ndarray) -> np.ndarray:
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8), mode="RGB")


def from_pil(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def luminance(image: np.ndarray) -> np.ndarray:
    return image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0), mode="reflect")


def jpeg_quality(strength: float) -> int:
    """JPEG quality of a JPEG defect of this strength (0 -> 95, 1 -> 5)."""
    return int(round(95 - 90 * strength))


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    to_pil(image).save(buf, format="JPEG", quality=quality, subsampling=2, optimize=False)
    return from_pil(Image.open(buf))


def _convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    kernel = kernel / kernel.sum()
    return ndimage.convolve(image, kernel[:, :, None], mode="reflect")


# --- blur ----------------------------------------------------------------------------------------------------
def gaussian_blur(image, s, rng):
    return clip01(gaussian(image, (0.3 + 3.2 * s) * pixel_scale(image)))


def lens_blur(image, s, rng):
    radius = (0.6 + 4.0 * s) * pixel_scale(image)
    half = int(np.ceil(radius)) + 1
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    disk = np.clip(radius + 0.5 - np.hypot(yy, xx), 0.0, 1.0)
    return clip01(_convolve(image, disk))


def motion_kernel(length: float, angle: float) -> np.ndarray:
    half = int(np.ceil(length / 2)) + 1
    kernel = np.zeros((2 * half + 1, 2 * half + 1))
    t = np.linspace(-length / 2, length / 2, max(8, int(8 * length)))
    ys = np.rint(half + t * np.sin(angle)).astype(int)
    xs = np.rint(half + t * np.cos(angle)).astype(int)
    np.add.at(kernel, (ys, xs), 1.0)
    return kernel


def motion_blur(image, s, rng):
    return clip01(
        _convolve(image, motion_kernel((2.0 + 12.0 * s) * pixel_scale(image), rng.uniform(0, np.pi)))
    )


# --- color ---------------------------------------------------------------------------------------------------
def saturate(image: np.ndarray, factor: float) -> np.ndarray:
    """Scale the colour away from (factor > 1) or towards (factor < 1) the pixel's grey."""
    gray = luminance(image)[..., None]
    return clip01(gray + factor * (image - gray))


def color_diffusion(image, s, rng):
    sigma = (1.0 + 7.0 * s) * pixel_scale(image)
    ycbcr = skcolor.rgb2ycbcr(image)
    ycbcr[..., 1:] = ndimage.gaussian_filter(ycbcr[..., 1:], sigma=(sigma, sigma, 0), mode="reflect")
    return clip01(skcolor.ycbcr2rgb(ycbcr))


def color_shift(image, s, rng):
    out = image.copy()
    angle = rng.uniform(0, 2 * np.pi)
    dist = (1.0 + 5.0 * s) * pixel_scale(image)
    out[..., 1] = ndimage.shift(
        image[..., 1], (dist * np.sin(angle), dist * np.cos(angle)), order=1, mode="nearest"
    )
    return clip01(out)


def color_quantization(image, s, rng):
    colors = max(2, int(round(3 + 45 * (1 - s) ** 2)))
    quantized = to_pil(image).quantize(
        colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    return from_pil(quantized)


def desaturation(image, s, rng):
    return saturate(image, 1.0 - 0.95 * s)


def oversaturation(image, s, rng):
    return saturate(image, 1.0 + 2.5 * s)


# --- compression ---------------------------------------------------------------------------------------------
def jpeg2000(image, s, rng):
    # The target is a signal-to-noise ratio (24 dB at strength 0 down to 8 dB), as a PSNR for the encoder:
    # a fixed compression ratio or PSNR flattens small or low-contrast images to their mean colour.
    snr_db = 24.0 - 16.0 * s
    psnr_db = -10.0 * np.log10(max(float(np.var(image)), 1e-4)) + snr_db
    buf = io.BytesIO()
    to_pil(image).save(buf, format="JPEG2000", quality_mode="dB", quality_layers=[psnr_db])
    return from_pil(Image.open(buf))


def jpeg(image, s, rng):
    return jpeg_roundtrip(image, jpeg_quality(s))


# --- noise ---------------------------------------------------------------------------------------------------
def white_noise(image, s, rng):
    return clip01(image + rng.normal(0.0, 0.012 + 0.14 * s, image.shape))


def chroma_noise(image, s, rng):
    ycbcr = skcolor.rgb2ycbcr(image)
    ycbcr[..., 1:] += rng.normal(0.0, (0.02 + 0.18 * s) * 255, ycbcr[..., 1:].shape)
    return clip01(skcolor.ycbcr2rgb(ycbcr))


def impulse_noise(image, s, rng):
    out = image.copy()
    hit = rng.random(image.shape[:2]) < 0.005 + 0.1 * s
    out[hit] = rng.integers(0, 2, (int(hit.sum()), 1)).astype(np.float32)
    return out


def multiplicative_noise(image, s, rng):
    return clip01(image * (1.0 + rng.normal(0.0, 0.05 + 0.45 * s, image.shape)))


def denoise(image, s, rng):
    """A denoiser's output: noise removed together with fine detail (median, then smoothing)."""
    noisy = np.clip(image + rng.normal(0.0, 0.03 + 0.1 * s, image.shape), 0, 1)
    return clip01(
        gaussian(ndimage.median_filter(noisy, size=(3, 3, 1)), (0.5 + 1.3 * s) * pixel_scale(image))
    )


# --- brightness ----------------------------------------------------------------------------------------------
def brighten(image, s, rng):
    return clip01(1.0 - (1.0 - image) ** (1.0 + 2.5 * s))


def darken(image, s, rng):
    return clip01(image ** (1.0 + 2.5 * s))


def mean_shift(image, s, rng):
    return clip01(image + rng.choice((-1.0, 1.0)) * (0.05 + 0.3 * s))


# --- spatial -------------------------------------------------------------------------------------------------
def jitter(image, s, rng):
    h, w = image.shape[:2]
    reach = (0.5 + 3.5 * s) * pixel_scale(image)
    dy = np.rint(rng.uniform(-reach, reach, (h, w))).astype(int)
    dx = np.rint(rng.uniform(-reach, reach, (h, w))).astype(int)
    yy, xx = np.mgrid[0:h, 0:w]
    return image[np.clip(yy + dy, 0, h - 1), np.clip(xx + dx, 0, w - 1)]


def patch_shift(image, s, rng):
    """KADID's non-eccentricity patch: small patches copied to nearby places."""
    out = image.copy()
    h, w = image.shape[:2]
    patch = max(3, int(round(8 * pixel_scale(image))))
    reach = int(round(10 * pixel_scale(image)))
    for _ in range(int(round(4 + 60 * s))):
        y, x = rng.integers(0, h - patch), rng.integers(0, w - patch)
        ty = int(np.clip(y + rng.integers(-reach, reach + 1), 0, h - patch))
        tx = int(np.clip(x + rng.integers(-reach, reach + 1), 0, w - patch))
        out[ty : ty + patch, tx : tx + patch] = image[y : y + patch, x : x + patch]
    return out


def pixelate(image, s, rng):
    h, w = image.shape[:2]
    factor = 1.5 + 8.0 * s
    small = to_pil(image).resize((max(1, round(w / factor)), max(1, round(h / factor))), Image.Resampling.BOX)
    return from_pil(small.resize((w, h), Image.Resampling.NEAREST))


def quantization(image, s, rng):
    levels = max(2, int(round(2 + 14 * (1 - s) ** 1.5)))
    return clip01((np.minimum(np.floor(image * levels), levels - 1) + 0.5) / levels)


def color_block(image, s, rng):
    out = image.copy()
    h, w = image.shape[:2]
    for _ in range(int(round(1 + 12 * s))):
        bh, bw = (int(rng.integers(max(2, h // 16), max(3, h // 7))) for _ in range(2))
        y, x = rng.integers(0, h - bh), rng.integers(0, w - bw)
        out[y : y + bh, x : x + bw] = rng.random(3)
    return out


# --- sharpness and contrast ----------------------------------------------------------------------------------
def high_sharpen(image, s, rng):
    return clip01(image + (1.0 + 7.0 * s) * (image - gaussian(image, 1.2 * pixel_scale(image))))


def contrast_change(image, s, rng):
    mean = luminance(image).mean()
    return clip01(mean + (image - mean) * (1.0 - 0.8 * s))


KADID_TYPES: tuple[tuple[str, Op], ...] = (
    ("gaussian_blur", gaussian_blur),
    ("lens_blur", lens_blur),
    ("motion_blur", motion_blur),
    ("color_diffusion", color_diffusion),
    ("color_shift", color_shift),
    ("color_quantization", color_quantization),
    ("desaturation", desaturation),
    ("oversaturation", oversaturation),
    ("jpeg2000", jpeg2000),
    ("jpeg", jpeg),
    ("white_noise", white_noise),
    ("chroma_noise", chroma_noise),
    ("impulse_noise", impulse_noise),
    ("multiplicative_noise", multiplicative_noise),
    ("denoise", denoise),
    ("brighten", brighten),
    ("darken", darken),
    ("mean_shift", mean_shift),
    ("jitter", jitter),
    ("patch_shift", patch_shift),
    ("pixelate", pixelate),
    ("quantization", quantization),
    ("color_block", color_block),
    ("high_sharpen", high_sharpen),
    ("contrast_change", contrast_change),
)
OPS: dict[str, Op] = dict(KADID_TYPES)
KADID_ID = {name: index + 1 for index, (name, _) in enumerate(KADID_TYPES)}


def apply(image: np.ndarray, defects: list[tuple[str, float]], rng: np.random.Generator) -> np.ndarray:
    """Apply KADID-type defects in the given order (strength 0 = skipped)."""
    for name, strength in defects:
        if strength > 0:
            image = OPS[name](image, strength, rng)
    return image
