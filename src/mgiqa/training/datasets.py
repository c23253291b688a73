"""Prepared label tables -> Hugging Face `datasets.Dataset` rows for TRL's SFT and GRPO trainers.

A row holds the image (decoded lazily from `path`, resized to `model.image_size` squared on access), the
conversational `prompt` of the run's prompt kind, the labels, and `item_id` (`dataset/image`), the key the
GRPO reward uses to regroup the flat completions into [B, K]. SFT rows also carry the `completion` (the
target response rendered from the labels). The prompt and target are added by an on-access transform, so
the Arrow table only stores strings and numbers.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mgiqa.errors import ConfigError, DataIntegrityError
from mgiqa.io import read_table

DOMAINS = ("synthetic", "authentic", "ai-generated", "restoration")
ATTRIBUTES = ("sharpness", "color", "noise", "composition")
REQUIRED_COLUMNS = ("image", "dataset", "domain", "group", "split", "mos", "mos_std", *ATTRIBUTES, "path")
LABEL_COLUMNS = ("mos", "mos_std", *ATTRIBUTES)
ROW_COLUMNS = ("item_id", "dataset", "domain", "group", *LABEL_COLUMNS)


def read_prepared_tables(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate prepared tables (canonical columns + `path`), checked."""
    if not paths:
        raise ConfigError("no prepared tables given (--tables)")
    frames = []
    for path in paths:
        table = read_table(path)
        missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
        if missing:
            raise DataIntegrityError(f"{path}: missing columns {missing}")
        if table.empty:
            raise DataIntegrityError(f"{path}: no rows")
        bad_mos = table["mos"].isna() | ~table["mos"].between(1.0, 5.0)
        if bad_mos.any():
            line = int(np.flatnonzero(bad_mos.to_numpy())[0]) + 2  # header is line 1
            raise DataIntegrityError(f"{path}:{line}: mos missing or outside [1, 5]")
        frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    duplicated = table.duplicated(["dataset", "image"])
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise DataIntegrityError(
            f"image {first['dataset']}/{first['image']} appears in more than one table row"
        )
    return table


def training_datasets(table: pd.DataFrame, train: str | list, config: dict) -> list[str]:
    """The dataset keys an ablation's `train` selects: 'all', a domain name, or a list of keys."""
    configured = list(config["datasets"]["train"])
    present = set(table["dataset"].astype(str))
    if train == "all":
        selected = configured
    elif isinstance(train, str):
        if train not in DOMAINS:
            raise ConfigError(f"ablation train: {train!r} is neither 'all', a domain {DOMAINS} nor a list")
        in_domain = set(table.loc[table["domain"] == train, "dataset"].astype(str))
        selected = [d for d in configured if d in in_domain]
        if not selected:
            raise ConfigError(f"ablation train: no training dataset of domain {train!r} among the tables")
    else:
        selected = list(train)
    missing = [d for d in selected if d not in present]
    if missing:
        raise ConfigError(f"ablation train: datasets {missing} have no prepared table among --tables")
    return selected


def training_rows(table: pd.DataFrame, datasets: Sequence[str]) -> pd.DataFrame:
    """The `split == train` rows of `datasets`, in table order. Every one of `datasets` must contribute:
    a configured training dataset without train rows (e.g. a registry split that makes it all test) fails,
    named, instead of silently dropping out of training."""
    rows = table[table["dataset"].astype(str).isin(set(datasets)) & (table["split"] == "train")]
    present = set(rows["dataset"].astype(str))
    empty = [d for d in datasets if d not in present]
    if empty:
        raise DataIntegrityError(
            f"training datasets {empty} have no split=train rows (see their `splits` in the dataset "
            "registry); remove them from datasets.train / the ablation's train, or give them a train split"
        )
    return rows.reset_index(drop=True)


def item_ids(rows: pd.DataFrame) -> list[str]:
    return [f"{d}/{i}" for d, i in zip(rows["dataset"].astype(str), rows["image"].astype(str), strict=True)]


def build_dataset(
    rows: pd.DataFrame, prompt_kind: str, image_size: int, *, with_target: bool, target_style: str = "short"
):
    """A `datasets.Dataset` of `rows` with image, prompt (and target completion), labels and item ids."""
    import datasets

    data = {"item_id": item_ids(rows), "image": rows["path"].astype(str).tolist()}
    for column in ("dataset", "domain", "group"):
        data[column] = rows[column].astype(str).tolist()
    for column in LABEL_COLUMNS:
        data[column] = pd.to_numeric(rows[column], errors="raise").astype(float).tolist()
    features = datasets.Features(
        {
            "item_id": datasets.Value("string"),
            "image": datasets.Image(),
            **{c: datasets.Value("string") for c in ("dataset", "domain", "group")},
            **{c: datasets.Value("float64") for c in LABEL_COLUMNS},
        }
    )
    dataset = datasets.Dataset.from_dict(data, features=features)
    return dataset.with_transform(RowTransform(prompt_kind, image_size, with_target, target_style))


class RowTransform:
    """On-access transform: resized RGB image, the prompt messages, and (SFT) the target completion."""

    def __init__(self, prompt_kind: str, image_size: int, with_target: bool, target_style: str = "short"):
        from mgiqa import prompts

        self.prompt_kind = prompt_kind
        from mgiqa.model import Resolution

        # an int side (square) or a `Resolution` (model.resolution: native), as prepare_image takes
        self.image_size = image_size if isinstance(image_size, Resolution) else int(image_size)
        self.with_target = with_target
        self.target_style = target_style
        self.messages = prompts.build_messages(prompt_kind)
        self._prompts = prompts

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        from mgiqa.model import prepare_image

        n = len(batch["item_id"])
        out = dict(batch)
        out["image"] = [prepare_image(image, self.image_size) for image in batch["image"]]
        out["prompt"] = [copy.deepcopy(self.messages) for _ in range(n)]
        if self.with_target:
            out["completion"] = [self._target(batch, i) for i in range(n)]
        return out

    def _target(self, batch: dict[str, list], i: int) -> list[dict]:
        labels = self._prompts.labels_from_row({k: batch[k][i] for k in LABEL_COLUMNS})
        text = self._prompts.render_target(self.prompt_kind, labels, style=self.target_style)
        return [{"role": "assistant", "content": text}]
