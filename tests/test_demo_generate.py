"""Generating the demo datasets: sizes, determinism, real label layouts read by the real parsers."""

from __future__ import annotations

import copy
import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.stats import spearmanr

from mgiqa.data import demo
from mgiqa.data.demo import generate_dataset, iter_samples
from mgiqa.data.demo.quality import true_scores
from mgiqa.data.demo.recipes import RECIPES
from mgiqa.data.labels import CANONICAL_COLUMNS, parse_label_file
from mgiqa.data.registry import load_registry
from mgiqa.errors import ConfigError
from mgiqa.pipeline import all_datasets

SIZE = 56
LAYOUTS = {
    "demo_pretrain": "pyiqa_kadid",
    "demo_synthetic": "pyiqa_kadid",
    "demo_authentic": "pyiqa_spaq",
    "demo_generated": "agiqa3k_official",
    "demo_bid": "vqr1_bid",
    "demo_clive": "pyiqa_clive",
    "demo_koniq": "koniq_official",
    "demo_spaq": "pyiqa_spaq",
    "demo_liu13": "vqr1_ref_dis_mos_1to5",
    "demo_sriqa": "vqr1_sriqa",
    "demo_min19": "vqr1_ref_dis_mos_1to5",
    "demo_agiqa3k": "agiqa3k_official",
}
WITH_ATTRIBUTES = {"demo_pretrain", "demo_synthetic", "demo_authentic", "demo_spaq"}
WITH_STD = {"demo_pretrain", "demo_synthetic", "demo_generated", "demo_clive", "demo_koniq", "demo_agiqa3k"}
GROUPED = {"demo_liu13", "demo_sriqa", "demo_min19"}


@pytest.fixture(scope="module")
def registry() -> dict:
    return load_registry()


def tiny(config: dict, n: int = 6, **sizes) -> dict:
    config = copy.deepcopy(config)
    config["demo"] = {
        "image_size": SIZE,
        "images": {"benchmark": n} | {k: n for k in all_datasets(config)} | sizes,
    }
    return config


def generate(key: str, registry: dict, config: dict, root: Path):
    entry = registry[key]
    generate_dataset(key, entry, root, config)
    return parse_label_file(key, root / entry["labels"]["file"], entry)


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_demo_registry_covers_the_demo_config(demo_config, registry):
    for key in all_datasets(demo_config):
        entry = registry[key]
        assert entry["sources"] == [{"kind": "generated", "recipe": entry["sources"][0]["recipe"]}]
        assert demo.recipe_of(key, entry) is RECIPES[entry["sources"][0]["recipe"]]
    assert set(LAYOUTS) == set(all_datasets(demo_config))


@pytest.mark.parametrize("key", sorted(LAYOUTS))
def test_every_demo_dataset_parses_with_the_real_parser(key, demo_config, registry, tmp_path):
    table = generate(key, registry, tiny(demo_config, 12), tmp_path)
    entry = registry[key]
    assert table.attrs["layout"] == LAYOUTS[key]
    assert list(table.columns) == list(CANONICAL_COLUMNS)
    assert len(table) == 12 and table["image"].is_unique
    assert table["mos"].between(1.0, 5.0).all() and table["mos"].nunique() > 1
    assert table["domain"].eq(entry["domain"]).all()
    assert table["mos_std"].notna().all() == (key in WITH_STD)
    present = [a for a in ("sharpness", "color", "noise") if table[a].notna().any()]
    assert bool(present) == (key in WITH_ATTRIBUTES)
    assert table["composition"].isna().all()  # no real layout labels composition
    for attr in present:
        assert table[attr].dropna().between(1.0, 5.0).all()
    if key in GROUPED:  # one group per scene, named after its reference, never a group of one image
        assert table.groupby("group").size().min() >= 2 and not table["group"].eq(key).any()
    else:
        assert table["group"].eq(key).all()
    if entry["role"] == "benchmark":
        assert table["split"].eq("test").all()
    for rel in table["image"]:
        with Image.open(tmp_path / rel) as im:
            im.load()
            assert im.size == (SIZE, SIZE) and im.mode == "RGB"


def test_sizes_come_from_the_config(demo_config, registry, tmp_path):
    config = tiny(demo_config, 5, demo_koniq=7)
    assert len(generate("demo_koniq", registry, config, tmp_path / "k")) == 7
    assert len(generate("demo_bid", registry, config, tmp_path / "b")) == 5  # the `benchmark` size
    del config["demo"]["images"]["demo_synthetic"]
    with pytest.raises(ConfigError, match="demo.images"):
        generate_dataset("demo_synthetic", registry["demo_synthetic"], tmp_path / "s", config)


@pytest.mark.parametrize("key", ["demo_synthetic", "demo_koniq", "demo_generated", "demo_clive"])
def test_generation_is_byte_identical(key, demo_config, registry, tmp_path):
    config = tiny(demo_config, 8)
    generate_dataset(key, registry[key], tmp_path / "a", config)
    generate_dataset(key, registry[key], tmp_path / "b", config)
    first = _files(tmp_path / "a")
    assert len(first) >= 9 and first == _files(tmp_path / "b")
    other = copy.deepcopy(config)
    other["seed"] += 1
    generate_dataset(key, registry[key], tmp_path / "c", other)
    assert _files(tmp_path / "c") != first


def test_label_files_keep_the_published_byte_layouts(demo_config, registry, tmp_path):
    config = tiny(demo_config, 10, demo_agiqa3k=40)
    crlf = {"demo_synthetic": "meta_info_KADID10kDataset.csv", "demo_spaq": "meta_info_SPAQDataset.csv",
            "demo_clive": "meta_info_LIVEChallengeDataset.csv", "demo_agiqa3k": "data.csv"}  # fmt: skip
    lf = {"demo_koniq": "koniq10k_distributions_sets.csv", "demo_bid": "BID_test_all.txt",
          "demo_liu13": "Deblur_test_all.txt", "demo_sriqa": "labels.txt"}  # fmt: skip
    for key, name in {**crlf, **lf}.items():
        generate_dataset(key, registry[key], tmp_path / key, config)
        data = (tmp_path / key / name).read_bytes()
        lines = data.count(b"\n")
        assert data.endswith(b"\n") and data.count(b"\r\n") == (lines if key in crlf else 0)
    spaq_header = (tmp_path / "demo_spaq" / crlf["demo_spaq"]).read_text().splitlines()[0].split(",")
    assert spaq_header.count("Brightness") == 2 and spaq_header.index("Brightness") == 2
    with open(tmp_path / "demo_agiqa3k" / "data.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "name",
        "prompt",
        "adj1",
        "adj2",
        "style",
        "mos_quality",
        "std_quality",
        "mos_align",
        "std_align",
    ]
    with_comma = [row for row in rows[1:] if "," in row[1]]
    assert with_comma  # prompts with commas, quoted as in AGIQA-3K
    raw = (tmp_path / "demo_agiqa3k" / "data.csv").read_text(encoding="utf-8")
    assert all(f'{row[0]},"{row[1]}",' in raw for row in with_comma)
    bid = (tmp_path / "demo_bid" / lf["demo_bid"]).read_text().split()
    assert len(bid) == 20 and bid[0].startswith("DatabaseImage") and bid[0].endswith(".JPG")


def test_labels_follow_the_quality_model(demo_config, registry, tmp_path):
    """Published MOS and SPAQ attribute columns track the true (noise-free) scores of each image."""
    config = tiny(demo_config, 40)
    key = "demo_authentic"
    table = generate(key, registry, config, tmp_path).set_index("image")
    truth = {
        f"TestImage/{s.name}": true_scores(s.defects)
        for s in iter_samples(key, registry[key], config)
        if s.labelled
    }
    assert set(truth) == set(table.index)
    names = sorted(truth)
    for column, what in (
        ("mos", "overall"),
        ("sharpness", "sharpness"),
        ("noise", "noise"),
        ("color", "color"),
    ):
        rho = spearmanr(table.loc[names, column], [truth[n][what] for n in names]).statistic
        assert rho > 0.8, (column, rho)


def test_kadid_like_sets_name_type_and_level(demo_config, registry, tmp_path):
    config = tiny(demo_config, 50)
    table = generate("demo_synthetic", registry, config, tmp_path)
    samples = [s for s in iter_samples("demo_synthetic", registry["demo_synthetic"], config) if s.labelled]
    assert [f"images/{s.name}" for s in samples] == list(table["image"])
    from mgiqa.data.demo.synthetic import FAMILY_TYPES

    # the four defect families' 10 KADID types, each at all five levels of one reference
    assert sorted(table["distortion"].astype(int).unique()) == list(FAMILY_TYPES)
    assert table.groupby("distortion")["distortion_level"].nunique().eq(5).all()
    for sample, (_, row) in zip(samples, table.iterrows(), strict=True):
        assert sample.meta["level"] == row["distortion_level"]
    blur = table[table["distortion"].isin(["01", "02", "03"])]
    assert np.allclose(blur["sharpness"], 1 + 4 * (5 - blur["distortion_level"]) / 4)
    by_level = table.groupby("distortion_level")["mos"].mean()
    assert by_level.is_monotonic_decreasing or spearmanr(by_level.index, by_level).statistic < -0.8


def test_within_group_scales(demo_config, registry, tmp_path):
    config = tiny(demo_config, 30)
    sriqa = generate("demo_sriqa", registry, config, tmp_path / "s")
    assert sriqa.groupby("group").size().tolist() == [11, 11, 8]
    spans = sriqa.groupby("group")["mos"].agg(["min", "max"])
    assert np.allclose(spans["min"], 1.0) and np.allclose(spans["max"], 5.0)  # 0-100 within every group
    liu13 = generate("demo_liu13", registry, config, tmp_path / "l")
    assert liu13.groupby("group").size().tolist() == [6, 8, 7, 9]  # 6-8, the remainder joins the last group
    assert (tmp_path / "l" / "images" / "0_0.png").is_file()  # the blurred input ships beside its outputs
    min19 = generate("demo_min19", registry, config, tmp_path / "m")
    assert min19.groupby("group").size().iloc[:-1].eq(8).all()


def test_recipes_refuse_the_wrong_role_or_parser(registry, demo_config, tmp_path):
    entry = copy.deepcopy(registry["demo_bid"])
    entry["role"] = "train"
    with pytest.raises(ConfigError, match="disjoint"):
        demo.recipe_of("demo_bid", entry)
    entry = copy.deepcopy(registry["demo_koniq"])
    entry["labels"]["parser"] = "spaq"
    with pytest.raises(ConfigError, match="koniq10k"):
        demo.recipe_of("demo_koniq", entry)
    entry["sources"] = [{"kind": "generated", "recipe": "nope"}]
    with pytest.raises(ConfigError, match="not one of"):
        demo.recipe_of("demo_koniq", entry)


def test_a_failed_generation_writes_no_label_file(registry, demo_config, tmp_path, monkeypatch):
    recipe = RECIPES["koniq"]

    def failing(ctx):
        for index, sample in enumerate(recipe.plan(ctx)):
            if index == 2:
                raise RuntimeError("disk full")
            yield sample

    monkeypatch.setitem(
        RECIPES, "koniq", type(recipe)(recipe.pool, failing, recipe.layout, recipe.description)
    )
    entry = registry["demo_koniq"]
    with pytest.raises(RuntimeError, match="disk full"):
        generate_dataset("demo_koniq", entry, tmp_path, tiny(demo_config, 6))
    assert not (tmp_path / entry["labels"]["file"]).exists()
    assert len(list((tmp_path / entry["images"]).iterdir())) == 2  # only whole files, no temporaries
