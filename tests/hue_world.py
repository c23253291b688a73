"""A world the test-size model can learn in seconds: an image's MOS is its hue (red = good, blue = bad).

The demo world needs minutes of pretraining before a model sees its defects; the training tests need a model
whose answers depend on the image after a few seconds of SFT, so that a GRPO update, a resume or a sign error
shows in the weights and in the correlation with MOS. Each image is a flat colour `t * red + (1 - t) * blue`
with pixel noise; its MOS is `1 + 4 t`, and every attribute label is the MOS. Rows are written in the
prepared-table layout (`mgiqa prepare`'s columns).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from PIL import Image

DATASET = "demo_synthetic"
SFT_SETTINGS = {"steps": 200, "batch_size": 8, "learning_rate": 1e-2}  # the hue_models fixture's SFT


def write_hue_table(
    root: Path, *, n_train: int = 48, n_val: int = 16, n_test: int = 32, size: int = 56, seed: int = 0
) -> Path:
    """Images under `root/DATASET/` and their prepared table `root/DATASET.csv` (split train / val / test)."""
    rng = np.random.default_rng(seed)
    rows = []
    splits = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    for i, split in enumerate(splits):
        t = rng.uniform()
        pixels = np.empty((size, size, 3))
        pixels[..., 0], pixels[..., 1], pixels[..., 2] = t, 0.3, 1.0 - t
        pixels = np.clip(pixels + rng.normal(0.0, 0.08, pixels.shape), 0.0, 1.0)
        path = root / DATASET / f"img_{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((pixels * 255).astype(np.uint8)).save(path)
        mos = 1.0 + 4.0 * t
        rows.append(
            {
                "image": path.name, "dataset": DATASET, "domain": "synthetic", "group": DATASET,
                "split": split, "mos_raw": mos, "mos": mos, "mos_std": 0.3,
                "sharpness": mos, "color": mos, "noise": mos, "composition": np.nan, "path": str(path),
            }
        )  # fmt: skip
    table = root / f"{DATASET}.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return table


def with_labels(table: Path, out: Path, transform) -> Path:
    """A copy of `table` at `out` whose MOS and attribute labels are `transform(labels)` (train rows only)."""
    df = pd.read_csv(table)
    train = df["split"] == "train"
    for column in ("mos", "sharpness", "color", "noise"):
        df.loc[train, column] = transform(df.loc[train, column].to_numpy())
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    return out


def reversed_labels(values: np.ndarray) -> np.ndarray:
    """MOS negated, moved back onto the 1..5 scale: the best image becomes the worst."""
    return 6.0 - values


def hue_config(test_config: dict, **sections) -> dict:
    """The test config trained on the hue world: `sections` update config sections (one level deep)."""
    config = copy.deepcopy(test_config)
    config["datasets"]["train"] = [DATASET]
    for name, values in sections.items():
        config[name] = {**config[name], **values}
    return config


def write_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
