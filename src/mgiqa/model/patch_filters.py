"""A frequency filter bank as the tiny ViT's patch embedding (`model.tiny.patch_embedding: dct`).

A pretrained vision tower's first layer responds to edges and textures at every scale; a randomly initialised
one mostly averages the patch, and the token normalisation that follows divides the little fine-scale signal
left by the patch's brightness. Blur, noise and compression live in exactly that fine-scale signal. Here the
patch embedding starts as the 2-D DCT-II basis of the patch, in an opponent colour space:

- luminance `Y = (R + G + B) / sqrt(3)` gets most filters, spread over the whole spectrum (every frequency
  band `u + v` up to the patch's highest is represented), and colour opponents `(R - G) / sqrt(2)` and
  `(R + G - 2B) / sqrt(6)` get the lowest frequencies (colour casts and saturation are coarse);
- filter `(u, v)` has gain `1 + sqrt(u^2 + v^2)`, the inverse of natural images' 1/f amplitude spectrum,
  so fine-scale components arrive at about the same variance as coarse ones;
- the two temporal frames of a still image (the processor repeats it) are averaged.

Measured in the demo's learnability study (shared/docs/demo-learnability.md): a vision tower + regression head
reached average benchmark SRCC .401 with a DCT bank against .110 with the PCA-whitening init, at 1,000 steps.
"""

from __future__ import annotations

import math

import numpy as np

from mgiqa.errors import ConfigError

COLOUR_SHARE = 0.25  # share of the filters given to the two colour-opponent channels together
OPPONENTS = np.array(
    [
        [1 / math.sqrt(3), 1 / math.sqrt(3), 1 / math.sqrt(3)],
        [1 / math.sqrt(2), -1 / math.sqrt(2), 0.0],
        [1 / math.sqrt(6), 1 / math.sqrt(6), -2 / math.sqrt(6)],
    ]
)


def dct_basis(n: int, u: int, v: int) -> np.ndarray:
    """The orthonormal 2-D DCT-II basis function (u, v) on an n x n patch, indexed [row, column]."""
    x = np.arange(n)
    cu = math.sqrt((1 if u == 0 else 2) / n)
    cv = math.sqrt((1 if v == 0 else 2) / n)
    return (
        cu
        * cv
        * np.outer(np.cos(math.pi * (2 * x + 1) * u / (2 * n)), np.cos(math.pi * (2 * x + 1) * v / (2 * n)))
    )


def frequencies_by_band(n: int) -> list[tuple[int, int]]:
    """Every (u, v) of an n x n patch, lowest band (u + v) first, then by u."""
    return sorted(((u, v) for u in range(n) for v in range(n)), key=lambda f: (f[0] + f[1], f[0]))


def spread_over_bands(n: int, count: int) -> list[tuple[int, int]]:
    """`count` frequencies: all of the lowest bands, then an even sample of the rest of the spectrum."""
    ordered = frequencies_by_band(n)
    if count >= len(ordered):
        return ordered
    low = ordered[: count // 2]
    rest = ordered[count // 2 :]
    picks = np.linspace(0, len(rest) - 1, count - len(low)).round().astype(int)
    return low + [rest[i] for i in dict.fromkeys(picks.tolist())]


def dct_filter_bank(out_channels: int, patch_size: int, temporal: int) -> np.ndarray:
    """Weights of shape (out_channels, 3, temporal, patch_size, patch_size) for the patch embedding's Conv3d."""
    n_colour = max(2, round(out_channels * COLOUR_SHARE)) if out_channels >= 8 else 0
    n_luma = out_channels - n_colour
    if n_luma < 1 or n_luma > patch_size * patch_size or n_colour > 2 * patch_size * patch_size:
        raise ConfigError(
            f"model.tiny: a DCT patch embedding of {out_channels} filters does not fit {patch_size}x{patch_size} patches"
        )
    filters = [(0, f) for f in spread_over_bands(patch_size, n_luma)]
    lowest = frequencies_by_band(patch_size)
    filters += [(1 + i % 2, lowest[i // 2]) for i in range(n_colour)]  # alternate the two opponents
    weight = np.zeros((out_channels, 3, temporal, patch_size, patch_size))
    for k, (channel, (u, v)) in enumerate(filters):
        spatial = dct_basis(patch_size, u, v) * (1.0 + math.hypot(u, v))
        for c in range(3):
            weight[k, c] = OPPONENTS[channel, c] * spatial / temporal
    return weight


def apply_dct_patch_embedding(model) -> None:
    """Overwrite the Qwen2.5-VL vision tower's patch embedding with `dct_filter_bank` (in place)."""
    import torch

    proj = model.model.visual.patch_embed.proj.weight
    out_channels, channels, temporal, patch, _ = proj.shape
    if channels != 3:
        raise ConfigError(f"DCT patch embedding: expected 3 input channels, the model has {channels}")
    weight = dct_filter_bank(out_channels, patch, temporal)
    with torch.no_grad():
        proj.copy_(torch.from_numpy(weight).to(proj.dtype))
