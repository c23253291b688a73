"""The embedded demo suite: small, deterministic IQA datasets generated offline.

`generate_dataset(key, entry, out_dir, config)` writes one registry_demo.yaml dataset into `out_dir` (its
dataset root): the images under `entry["images"]` and, last, the label file `entry["labels"]["file"]` in the
layout of the real dataset it stands for. Everything later (label parsing, normalization, groups, splits,
batches) runs exactly as for real data. The output depends only on `config["seed"]`, the key, the recipe,
`config["demo"]` and the installed numpy / scipy / Pillow / scikit-image (byte-identical on reruns).

How it works: `scenes` (base images, two disjoint pools), `distortions` / `restoration` / `generated`
(the defects), `quality` (defects -> attribute and overall scores -> simulated raters), `recipes` (what each
dataset contains), `layouts` (label files).
"""

from __future__ import annotations

import os
from pathlib import Path

from mgiqa.data.demo.distortions import jpeg_roundtrip, to_pil
from mgiqa.data.demo.layouts import Record, write_labels
from mgiqa.data.demo.quality import true_scores
from mgiqa.data.demo.recipes import POOL_ROLES, RECIPES, Recipe, families
from mgiqa.data.demo.samples import Context, Sample
from mgiqa.errors import ConfigError
from mgiqa.io import atomic_path

__all__ = ["dataset_context", "generate_dataset", "iter_samples", "recipe_of"]


def recipe_of(key: str, entry: dict) -> Recipe:
    """The entry's generated recipe, checked against its role and parser family."""
    generated = [s for s in entry.get("sources", []) if s.get("kind") == "generated"]
    if not generated:
        raise ConfigError(f"registry entry {key}: no `generated` source, so no demo recipe")
    name = generated[0].get("recipe")
    if name not in RECIPES:
        raise ConfigError(f"registry entry {key}: sources.recipe {name!r} is not one of {sorted(RECIPES)}")
    recipe = RECIPES[name]
    if entry["role"] not in POOL_ROLES[recipe.pool]:
        raise ConfigError(
            f"registry entry {key}: recipe {name!r} draws {recipe.pool} scenes, which role {entry['role']!r} "
            f"may not use (base images of benchmarks and of training sets must stay disjoint)"
        )
    parser = entry["labels"]["parser"]
    if parser not in families(recipe.layout):
        raise ConfigError(
            f"registry entry {key}: recipe {name!r} writes the {recipe.layout} layout, which parser "
            f"{parser!r} does not read (use {' or '.join(families(recipe.layout))})"
        )
    return recipe


def dataset_context(key: str, entry: dict, config: dict) -> Context:
    """Size (config demo.images: the key, else `benchmark` for benchmarks), image side and seed."""
    demo = config["demo"]
    images = demo.get("images") or {}
    if key in images:
        count = images[key]
    elif entry["role"] == "benchmark" and "benchmark" in images:
        count = images["benchmark"]
    else:
        raise ConfigError(
            f"config demo.images: no size for demo dataset {key!r} (nor `benchmark` for benchmarks)"
        )
    if "image_size" not in demo:
        raise ConfigError("config demo.image_size: required to generate demo datasets")
    return Context(key, int(count), int(demo["image_size"]), int(config["seed"]), recipe_of(key, entry).pool)


def iter_samples(key: str, entry: dict, config: dict):
    """The dataset's samples (images in memory, labelled or not), in file order, without writing anything."""
    return recipe_of(key, entry).plan(dataset_context(key, entry, config))


def write_image(path: Path, sample: Sample) -> None:
    """PNG, JPEG (at the sample's quality) or BMP by the file's suffix, atomically, with fixed encoder settings."""
    suffix = path.suffix.lower()
    image = sample.image
    if suffix in (".jpg", ".jpeg"):
        if sample.jpeg_quality is None:
            raise ValueError(f"{path}: a JPEG sample needs a jpeg_quality")
        with atomic_path(path) as tmp:
            to_pil(image).save(tmp, format="JPEG", quality=sample.jpeg_quality, subsampling=2, optimize=False)
        return
    if sample.jpeg_quality is not None:
        image = jpeg_roundtrip(image, sample.jpeg_quality)
    formats = {".png": {"format": "PNG", "compress_level": 1}, ".bmp": {"format": "BMP"}}
    if suffix not in formats:
        raise ValueError(f"{path}: unsupported image type {suffix!r}")
    with atomic_path(path) as tmp:
        to_pil(image).save(tmp, **formats[suffix])


def generate_dataset(key: str, entry: dict, out_dir: str | os.PathLike, config: dict) -> None:
    """Write demo dataset `key` (registry entry `entry`) into `out_dir`; the label file is written last."""
    recipe = recipe_of(key, entry)
    ctx = dataset_context(key, entry, config)
    out_dir = Path(out_dir)
    images_dir = out_dir / entry["images"]
    records: list[Record] = []
    for sample in recipe.plan(ctx):
        write_image(images_dir / sample.name, sample)
        if sample.labelled:
            scores = true_scores(sample.defects)
            records.append(Record(len(records), sample.name, scores, sample.defects, sample.meta))
    if len(records) != ctx.count:
        raise RuntimeError(f"demo recipe of {key} produced {len(records)} labelled images, not {ctx.count}")
    write_labels(recipe.layout, out_dir / entry["labels"]["file"], records, ctx)
