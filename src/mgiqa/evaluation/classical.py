"""Classical no-reference quality measures, computed locally (no downloaded weights).

Every measure is oriented so that higher means better quality:
- `laplacian_sharpness`: variance of the Laplacian of the grey image (Pech-Pacheco et al. 2000);
- `wavelet_noise`: minus the wavelet-domain (MAD) estimate of the Gaussian noise std
  (Donoho & Johnstone, `skimage.restoration.estimate_sigma`);
- `colorfulness`: Hasler & Suesstrunk (2003), sigma_rgyb + 0.3 * mu_rgyb on 0-255 RGB.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.restoration import estimate_sigma

from mgiqa.errors import DataIntegrityError


def laplacian_sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image in [0, 1]: higher = sharper."""
    return float(ndimage.laplace(rgb2gray(rgb)).var())


def wavelet_noise(rgb: np.ndarray) -> float:
    """Negated wavelet noise-sigma estimate of the grey image in [0, 1]: higher = less noise."""
    return -float(estimate_sigma(rgb2gray(rgb)))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler-Suesstrunk colourfulness of an RGB image (0-255 scale): higher = more colourful."""
    r, g, b = (rgb[..., i].astype(float) for i in range(3))
    if rgb.dtype != np.uint8:
        r, g, b = r * 255.0, g * 255.0, b * 255.0
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = np.hypot(rg.std(), yb.std())
    mu = np.hypot(rg.mean(), yb.mean())
    return float(sigma + 0.3 * mu)


# measure -> (function, the prediction column it also fills besides pred_overall)
MEASURES: dict[str, tuple[Callable[[np.ndarray], float], str]] = {
    "laplacian_sharpness": (laplacian_sharpness, "pred_sharpness"),
    "wavelet_noise": (wavelet_noise, "pred_noise"),
    "colorfulness": (colorfulness, "pred_color"),
}


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode an image to a uint8 RGB array; DataIntegrityError naming the file if it does not decode."""
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except FileNotFoundError as exc:
        raise DataIntegrityError(f"{path}: image file not found") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataIntegrityError(f"{path}: corrupt image ({type(exc).__name__}: {exc})") from exc
    if rgb.ndim != 3 or rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise DataIntegrityError(f"{path}: image too small for a quality measure ({rgb.shape})")
    return rgb


def score_images(paths: Iterable[str | os.PathLike], measures: Iterable[str]) -> pd.DataFrame:
    """One row per image: `path` and one column per measure (higher = better)."""
    measures = list(measures)
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise ValueError(f"unknown classical measure(s) {unknown}; known: {sorted(MEASURES)}")
    rows = []
    for path in paths:
        rgb = load_rgb(path)
        rows.append({"path": str(path), **{m: MEASURES[m][0](rgb) for m in measures}})
    return pd.DataFrame(rows, columns=["path", *measures])


def classical_predictions(table: pd.DataFrame, measure: str, base_dir: Path | None = None) -> pd.DataFrame:
    """A prediction table (the same columns as a model's) for one measure over a prepared benchmark table."""
    from mgiqa.evaluation.predictions import ATTRIBUTES, PREDICTION_COLUMNS

    for column in ("image", "mos", "group", "path"):
        if column not in table.columns:
            raise DataIntegrityError(f"benchmark table lacks column {column!r}")
    base_dir = Path.cwd() if base_dir is None else base_dir
    paths = [p if Path(p).is_absolute() else base_dir / p for p in table["path"].astype(str)]
    scores = score_images(paths, [measure])[measure].to_numpy()
    attribute_column = MEASURES[measure][1]
    out = pd.DataFrame(
        {"image": table["image"], "mos": table["mos"], "group": table["group"], "pred_overall": scores}
    )
    for attr in ATTRIBUTES:
        out[f"pred_{attr}"] = scores if f"pred_{attr}" == attribute_column else np.nan
    out["parse_ok"] = True
    out["failed_fields"] = ""
    out["raw_text"] = [f"{measure}={s:.6g}" for s in scores]
    return out[list(PREDICTION_COLUMNS)]
