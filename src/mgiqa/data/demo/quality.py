"""The demo's quality model: defect strengths -> attribute scores -> overall score -> simulated raters.

Every generated image carries a list of defects `(name, strength)` with strength in [0, 1] (0 = absent).
`IMPACT[name]` says how much that defect at full strength impairs each attribute. Per attribute a:

    impairment_a = 1 - prod_d (1 - IMPACT[d][a] * s_d)        (in [0, 1]; monotone in every s_d)
    score_a      = 5 - 4 * impairment_a                        (in [1, 5]; 5 = pristine)

The overall score is a fixed monotone combination of u_a = (score_a - 1) / 4:

    q       = MEAN_SHARE * sum_a WEIGHTS[a] * u_a + (1 - MEAN_SHARE) * min_a (1 - MIN_GAIN[a] * (1 - u_a))
    overall = 1 + 4 * q

The min-term lets one severe defect dominate, as it does for human raters; composition enters it with a
smaller gain (a tilted but clean photo is still a good photo). A simulated rater panel then turns the true
score into published-style labels: integer 1..5 votes (mean, SD and vote histogram) or continuous slider
ratings, each rater with a personal bias and a per-image disagreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

ATTRIBUTES = ("sharpness", "color", "noise", "composition")
WEIGHTS = {"sharpness": 0.3, "color": 0.25, "noise": 0.3, "composition": 0.15}
MIN_GAIN = {"sharpness": 1.0, "color": 1.0, "noise": 1.0, "composition": 0.4}
MEAN_SHARE = 0.3

# defect -> {attribute: impairment at strength 1}
IMPACT: dict[str, dict[str, float]] = {
    # the 25 KADID-10K distortion types (demo.distortions)
    "gaussian_blur": {"sharpness": 0.95},
    "lens_blur": {"sharpness": 0.95},
    "motion_blur": {"sharpness": 0.95},
    "color_diffusion": {"color": 0.8, "sharpness": 0.15},
    "color_shift": {"color": 0.8, "sharpness": 0.2},
    "color_quantization": {"color": 0.75, "noise": 0.3},
    "desaturation": {"color": 0.9},
    "oversaturation": {"color": 0.85},
    "jpeg2000": {"noise": 0.75, "sharpness": 0.45},
    "jpeg": {"noise": 0.9, "sharpness": 0.2},
    "white_noise": {"noise": 0.95},
    "chroma_noise": {"noise": 0.85, "color": 0.3},
    "impulse_noise": {"noise": 0.95},
    "multiplicative_noise": {"noise": 0.9},
    "denoise": {"sharpness": 0.75, "noise": 0.35},
    "brighten": {"color": 0.7},
    "darken": {"color": 0.8},
    "mean_shift": {"color": 0.7},
    "jitter": {"sharpness": 0.6, "noise": 0.6},
    "patch_shift": {"noise": 0.8},
    "pixelate": {"sharpness": 0.9, "noise": 0.3},
    "quantization": {"noise": 0.7, "color": 0.5},
    "color_block": {"noise": 0.8, "color": 0.35},
    "high_sharpen": {"noise": 0.8, "color": 0.1},
    "contrast_change": {"color": 0.8},
    # procedural "AI-generated" artefacts (demo.generated)
    "diffusion_residue": {"noise": 0.85, "sharpness": 0.3},
    "checkerboard": {"noise": 0.85},
    "banding": {"color": 0.6, "noise": 0.4},
    "warp": {"composition": 0.6, "sharpness": 0.3},
    "waxy": {"sharpness": 0.8},
    "color_cast": {"color": 0.8},
    # composition (demo.scenes)
    "off_centre": {"composition": 0.55},
    "tilt": {"composition": 0.6},
    "clutter": {"composition": 0.6, "noise": 0.1},
}

# SPAQ also publishes brightness and contrast scores; they follow the same rule from these defects
SPAQ_EXTRA_IMPACT: dict[str, dict[str, float]] = {
    "brightness": {"darken": 0.9, "brighten": 0.85, "mean_shift": 0.8},
    "contrast": {"contrast_change": 0.9, "darken": 0.3, "brighten": 0.3},
}

Defects = Iterable[tuple[str, float]]


def attribute_scores(defects: Defects) -> dict[str, float]:
    """Attribute scores in [1, 5] (5 = pristine) of an image with these defects."""
    keep = dict.fromkeys(ATTRIBUTES, 1.0)
    for name, strength in defects:
        if name not in IMPACT:
            raise KeyError(f"defect {name!r} has no entry in demo.quality.IMPACT")
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"defect {name!r}: strength {strength} is outside [0, 1]")
        for attr, weight in IMPACT[name].items():
            keep[attr] *= 1.0 - weight * strength
    return {attr: 1.0 + 4.0 * keep[attr] for attr in ATTRIBUTES}


def overall_score(attributes: Mapping[str, float]) -> float:
    """The overall score in [1, 5] from the attribute scores (see the module docstring)."""
    u = {a: (attributes[a] - 1.0) / 4.0 for a in ATTRIBUTES}
    mean = sum(WEIGHTS[a] * u[a] for a in ATTRIBUTES)
    worst = min(1.0 - MIN_GAIN[a] * (1.0 - u[a]) for a in ATTRIBUTES)
    return 1.0 + 4.0 * (MEAN_SHARE * mean + (1.0 - MEAN_SHARE) * worst)


def true_scores(defects: Defects) -> dict[str, float]:
    """Attribute scores plus `overall`, all noise-free."""
    scores = attribute_scores(list(defects))
    scores["overall"] = overall_score(scores)
    return scores


def spaq_extra_scores(defects: Defects) -> dict[str, float]:
    """SPAQ's brightness and contrast scores in [1, 5] (5 = well exposed, full contrast)."""
    strengths = dict(defects)
    return {
        what: 1.0 + 4.0 * float(np.prod([1.0 - w * strengths.get(name, 0.0) for name, w in impact.items()]))
        for what, impact in SPAQ_EXTRA_IMPACT.items()
    }


def _disagreement(true: float, base: float) -> float:
    """Raters agree most on the extremes of the scale and least in its middle."""
    middle = 1.0 - abs(true - 3.0) / 2.0
    return base * (0.7 + 0.6 * middle)


def panel_votes(true: float, n_raters: int, rng: np.random.Generator, spread: float = 0.7) -> np.ndarray:
    """Integer 1..5 votes (ACR) of `n_raters` simulated raters for an image of true score `true`."""
    bias = rng.normal(0.0, 0.25, n_raters)
    noise = rng.normal(0.0, _disagreement(true, spread), n_raters)
    return np.clip(np.rint(true + bias + noise), 1, 5).astype(int)


def panel_ratings(true: float, n_raters: int, rng: np.random.Generator, spread: float = 0.6) -> np.ndarray:
    """Continuous 1..5 slider ratings (SPAQ-style) of `n_raters` simulated raters."""
    bias = rng.normal(0.0, 0.2, n_raters)
    noise = rng.normal(0.0, _disagreement(true, spread), n_raters)
    return np.clip(true + bias + noise, 1.0, 5.0)


def vote_histogram(votes: np.ndarray) -> list[float]:
    """Fractions of votes on 1..5 (KonIQ's c1..c5)."""
    counts = np.bincount(np.asarray(votes, dtype=int), minlength=6)[1:6]
    return (counts / counts.sum()).tolist()
