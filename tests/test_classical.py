"""Classical measures: monotone under blur / noise / desaturation; file handling; the CLI command."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import ndimage

from mgiqa.errors import DataIntegrityError
from mgiqa.evaluation import classical
from mgiqa.evaluation.predictions import PREDICTION_COLUMNS


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """A seeded synthetic 96x96 RGB scene: coloured gradients, a checkerboard and random discs."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96] / 95.0
    img = np.stack([xx, yy, 1 - xx * yy], axis=-1) * 0.6
    img += 0.3 * (((np.arange(96)[:, None] // 8 + np.arange(96)[None, :] // 8) % 2)[..., None])
    for _ in range(6):
        cy, cx, r = rng.integers(10, 86, 2).tolist() + [int(rng.integers(5, 14))]
        img[(yy * 95 - cy) ** 2 + (xx * 95 - cx) ** 2 < r * r] = rng.uniform(0, 1, 3)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _blur(img, sigma):
    return np.clip(ndimage.gaussian_filter(img.astype(float), sigma=(sigma, sigma, 0)), 0, 255).astype(
        np.uint8
    )


def _noise(img, std, seed=1):
    noisy = img.astype(float) + np.random.default_rng(seed).normal(0, std, img.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _desaturate(img, amount):
    grey = img.astype(float).mean(axis=-1, keepdims=True)
    return np.clip((1 - amount) * img + amount * grey, 0, 255).astype(np.uint8)


def _strictly_decreasing(values):
    return all(a > b for a, b in zip(values, values[1:], strict=False))


def test_laplacian_sharpness_decreases_with_blur(scene):
    assert _strictly_decreasing(
        [classical.laplacian_sharpness(_blur(scene, s)) for s in (0.01, 0.8, 1.6, 3.2)]
    )


def test_wavelet_noise_decreases_with_noise(scene):
    values = [classical.wavelet_noise(_noise(scene, s)) for s in (0.0, 5.0, 15.0, 40.0)]
    assert _strictly_decreasing(values) and all(v <= 0 for v in values)


def test_colorfulness_decreases_with_desaturation(scene):
    values = [classical.colorfulness(_desaturate(scene, a)) for a in (0.0, 0.3, 0.6, 1.0)]
    assert _strictly_decreasing(values)
    assert values[-1] == pytest.approx(0.0, abs=1.0)  # a grey image is (almost) colourless


def test_colorfulness_hand_computed():
    # a uniform pure red image: rg = 255, yb = 127.5, no spread -> 0.3 * hypot(255, 127.5)
    red = np.zeros((4, 4, 3), dtype=np.uint8)
    red[..., 0] = 255
    assert classical.colorfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))


def test_score_images_and_corrupt_file(tmp_path, scene):
    good = tmp_path / "good.png"
    Image.fromarray(scene).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    scores = classical.score_images([good], list(classical.MEASURES))
    assert list(scores.columns) == ["path", *classical.MEASURES] and len(scores) == 1
    with pytest.raises(DataIntegrityError, match="bad.png"):
        classical.score_images([good, bad], ["colorfulness"])
    with pytest.raises(DataIntegrityError, match="missing.png"):
        classical.score_images([tmp_path / "missing.png"], ["colorfulness"])
    with pytest.raises(ValueError, match="unknown classical measure"):
        classical.score_images([good], ["niqe"])


def _benchmark(tmp_path, scene):
    rows = []
    for i, sigma in enumerate((0.01, 1.0, 2.5)):
        path = tmp_path / f"im{i}.png"
        Image.fromarray(_blur(scene, sigma)).save(path)
        rows.append(
            {"image": path.name, "mos": 5.0 - i, "group": "bench", "split": "test", "path": str(path)}
        )
    rows.append({**rows[0], "image": "train.png", "split": "train"})
    return pd.DataFrame(rows)


def test_classical_predictions_format(tmp_path, scene):
    table = _benchmark(tmp_path, scene)
    preds = classical.classical_predictions(table, "laplacian_sharpness")
    assert list(preds.columns) == list(PREDICTION_COLUMNS)
    assert preds["parse_ok"].all() and preds["pred_color"].isna().all()
    np.testing.assert_array_equal(preds["pred_sharpness"], preds["pred_overall"])
    assert _strictly_decreasing(preds["pred_overall"].iloc[:3].tolist())


def test_classical_command(tmp_path, scene):
    from mgiqa.commands import classical as command
    from mgiqa.evaluation.predictions import read_predictions

    table_path = tmp_path / "bench.csv"
    _benchmark(tmp_path, scene).to_csv(table_path, index=False)
    out = tmp_path / "out" / "bench.csv"
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(
        ["--benchmark-table", str(table_path), "--measure", "colorfulness", "-o", str(out)]
    )
    assert command.run(args) == 0
    preds = read_predictions(out)
    assert len(preds) == 3 and "train.png" not in set(preds["image"])  # the test split only
    assert preds["pred_color"].notna().all() and preds["pred_sharpness"].isna().all()
