"""Every real label table in ../shared/mos_tables parses, with the published row counts and sane ranges.

Skipped when ../shared is absent (the tables are third-party labels and are never committed here).
"""

from __future__ import annotations

import csv
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from mgiqa.data.labels import ATTRIBUTES, parse_label_file
from mgiqa.data.registry import load_registry
from mgiqa.data.shared_tables import SHARED_TABLE_DATASETS

pytestmark = pytest.mark.shared

SHARED = Path(__file__).resolve().parents[2] / "shared"
TABLES = SHARED / "mos_tables"

DATASET_OF = SHARED_TABLE_DATASETS
# rows per README.md (the MANIFEST newline counts, less the header, plus a last line without newline)
README_ROWS = {
    "AIGC_all.csv": 1080, "data.csv": 2982, "koniq10k_distributions_sets.csv": 10073,
    "meta_info_CSIQDataset.csv": 866, "meta_info_KADID10kDataset.csv": 10125,
    "meta_info_KonIQ10k++Dataset.csv": 10073, "meta_info_KonIQ10kDataset.csv": 10073,
    "meta_info_LIVEChallengeDataset.csv": 1169, "meta_info_LIVEIQADataset.csv": 779,
    "meta_info_LIVEMDDataset.csv": 450, "meta_info_PIPALDataset.csv": 23200, "meta_info_SPAQDataset.csv": 11125,
    "meta_info_TID2008Dataset.csv": 1700, "meta_info_TID2013Dataset.csv": 3000, "KADID-10K_mos.txt": 10125,
    "KADID-10K_normalized_mos.txt": 10125, "KADID-10K_test_set.txt": 2000, "KADID-10K_train_set.txt": 6125,
    "KADID-10K_val_set.txt": 2000, "AGIQA-3K_test_all.txt": 2982, "BID_test_all.txt": 586,
    "Deblur_test_all.txt": 1199, "KONIQ-10K_test_all.txt": 10073, "LIVEC_test_all.txt": 1169,
    "SPAQ_test_all.txt": 11125, "dehaze_test_all.txt": 600,
}  # fmt: skip


@pytest.fixture(scope="module")
def manifest() -> list[dict]:
    if not TABLES.is_dir():
        pytest.skip(f"real label tables not available ({TABLES} is absent)")
    with open(TABLES / "MANIFEST.tsv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.fixture(scope="module")
def registry() -> dict:
    return load_registry()


@pytest.fixture(scope="module")
def parsed(manifest, registry) -> dict[str, pd.DataFrame]:
    return {
        row["local_path"]: parse_label_file(
            DATASET_OF[row["local_path"]], TABLES / row["local_path"], registry[DATASET_OF[row["local_path"]]]
        )
        for row in manifest
    }


def test_every_manifest_file_is_covered(manifest):
    assert {row["local_path"] for row in manifest} == set(DATASET_OF)


def test_row_counts_match_manifest_and_readme(manifest, parsed):
    for row in manifest:
        path = TABLES / row["local_path"]
        header = 1 if path.suffix == ".csv" else 0
        missing_final_newline = 0 if path.read_bytes().endswith(b"\n") else 1
        expected = int(row["newlines"]) - header + missing_final_newline
        assert len(parsed[row["local_path"]]) == expected == README_ROWS[path.name], row["local_path"]


def test_ranges(parsed):
    for name, table in parsed.items():
        assert table["mos"].between(1 - 1e-9, 5 + 1e-9).all(), name
        assert np.isfinite(table["mos_raw"]).all(), name
        assert (table["mos_std"].dropna() >= 0).all(), name
        assert table["image"].is_unique, name
        for attribute in ATTRIBUTES:
            assert table[attribute].dropna().between(1, 5).all(), (name, attribute)


def test_koniq_official_split(parsed):
    for name in (
        "official/koniq10k/koniq10k_distributions_sets.csv",
        "pyiqa-meta_info-2022/meta_info_KonIQ10kDataset.csv",
    ):
        counts = parsed[name]["split"].value_counts().to_dict()
        assert counts == {"train": 7058, "val": 1000, "test": 2015}, name
    assert (parsed["visualquality-r1/test_data_label/KONIQ-10K_test_all.txt"]["split"] == "test").all()


def _reference_splits(table: pd.DataFrame) -> dict[str, set[str]]:
    refs = table["image"].str.extract(r"(I\d\d)_\d\d_\d\d\.png$")[0]
    return {split: set(refs[table["split"] == split]) for split in ("train", "val", "test")}


def test_kadid_split_is_visualquality_r1s(parsed):
    vq_refs = {
        split: set(
            parsed[f"visualquality-r1/KADID-10K/KADID-10K_{split}_set.txt"]["image"].str.extract(r"(I\d\d)_")[
                0
            ]
        )
        for split in ("train", "val", "test")
    }
    assert {s: len(r) for s, r in vq_refs.items()} == {"train": 49, "val": 16, "test": 16}
    for name in (
        "pyiqa-meta_info-2022/meta_info_KADID10kDataset.csv",
        "visualquality-r1/KADID-10K/KADID-10K_mos.txt",
        "visualquality-r1/KADID-10K/KADID-10K_normalized_mos.txt",
    ):
        table = parsed[name]
        assert table["split"].value_counts().to_dict() == {"train": 6125, "val": 2000, "test": 2000}, name
        ours = _reference_splits(table)
        assert {s: len(r) for s, r in ours.items()} == {"train": 49, "val": 16, "test": 16}
        assert ours == _reference_splits(parsed["pyiqa-meta_info-2022/meta_info_KADID10kDataset.csv"])
        assert ours == vq_refs, name  # the registry's reference lists are theirs
    # image by image, too
    table = parsed["visualquality-r1/KADID-10K/KADID-10K_mos.txt"].set_index("image")["split"]
    for split in ("train", "val", "test"):
        images = parsed[f"visualquality-r1/KADID-10K/KADID-10K_{split}_set.txt"]["image"]
        assert (table[images] == split).all(), split


def test_kadid_attributes_from_distortion_families(parsed):
    table = parsed["pyiqa-meta_info-2022/meta_info_KADID10kDataset.csv"]
    # 81 references x 5 levels x (3 blur | 5 color | 7 compression + noise) types
    assert table[list(ATTRIBUTES)].notna().sum().to_dict() == {
        "sharpness": 1215, "color": 2025, "noise": 2835, "composition": 0,
    }  # fmt: skip
    assert table["distortion"].nunique() == 25 and set(table["distortion_level"]) == {1, 2, 3, 4, 5}
    # the pyiqa `std` is a variance: its square root is VQ-R1's std column
    vq = parsed["visualquality-r1/KADID-10K/KADID-10K_mos.txt"]
    assert np.allclose(table["mos_std"], vq["mos_std"], atol=1e-9)


def test_liu13_and_shrq_groups(parsed):
    liu = parsed["visualquality-r1/test_data_label/Deblur_test_all.txt"]["group"].value_counts()
    assert len(liu) == 40 and liu["1"] == 29 and (liu.drop("1") == 30).all()
    shrq = parsed["visualquality-r1/test_data_label/dehaze_test_all.txt"]["group"].value_counts()
    assert len(shrq) == 75 and (shrq == 8).all()


def test_spaq_attributes(parsed):
    pyiqa = parsed["pyiqa-meta_info-2022/meta_info_SPAQDataset.csv"]
    assert pyiqa[["sharpness", "color", "noise"]].notna().all().all()
    assert pyiqa["composition"].isna().all()
    # the human Brightness (column 2) correlates with the MOS; the EXIF one (column 20) is not read
    assert np.corrcoef(pyiqa["sharpness"], pyiqa["mos"])[0, 1] > 0.9
    assert parsed["visualquality-r1/test_data_label/SPAQ_test_all.txt"][list(ATTRIBUTES)].isna().all().all()


def test_clive_rater_training_images(parsed):
    for name in (
        "pyiqa-meta_info-2022/meta_info_LIVEChallengeDataset.csv",
        "visualquality-r1/test_data_label/LIVEC_test_all.txt",
    ):
        table = parsed[name]
        assert len(table) == 1169
        train = table.loc[table["split"] == "train", "image"].str.split("/").str[-1]
        assert sorted(train) == [f"t{i}.bmp" for i in range(1, 8)]
        assert (table["split"] == "test").sum() == 1162


def test_layouts_of_one_dataset_agree(parsed):
    def by_name(name):
        table = parsed[name]
        return table.set_index(table["image"].str.split("/").str[-1])

    pairs = [
        (
            "official/koniq10k/koniq10k_distributions_sets.csv",
            "visualquality-r1/test_data_label/KONIQ-10K_test_all.txt",
            True,
        ),
        ("official/AGIQA-3K/data.csv", "visualquality-r1/test_data_label/AGIQA-3K_test_all.txt", True),
        (
            "pyiqa-meta_info-2022/meta_info_KADID10kDataset.csv",
            "visualquality-r1/KADID-10K/KADID-10K_mos.txt",
            True,
        ),
        (
            "pyiqa-meta_info-2022/meta_info_LIVEChallengeDataset.csv",
            "visualquality-r1/test_data_label/LIVEC_test_all.txt",
            False,
        ),
        (
            "pyiqa-meta_info-2022/meta_info_SPAQDataset.csv",
            "visualquality-r1/test_data_label/SPAQ_test_all.txt",
            False,
        ),
    ]
    for first, second, same_scale in pairs:
        a = by_name(first)
        b = by_name(second).loc[a.index]
        if same_scale:  # same MOS after normalization, std in the same units
            assert np.allclose(a["mos"], b["mos"], atol=1e-4), first
            assert np.allclose(a["mos_std"], b["mos_std"], atol=1e-3, equal_nan=True), first
        else:  # nominal scale vs VQ-R1's min-max stretch: the same order
            assert a["mos"].corr(b["mos"], method="spearman") > 0.9999, first
            assert a["mos"].corr(b["mos"]) > 0.9999, first


def test_pinned_label_sources_match_the_manifest(manifest, registry):
    digests = {
        f"https://raw.githubusercontent.com/{r['source_repo']}/{r['source_commit']}/{quote(r['source_path'])}": r[
            "sha256"
        ]
        for r in manifest
    }
    pinned = [
        (key, source)
        for key, entry in registry.items()
        for source in entry["labels"].get("sources", [])
        if source["kind"] == "url"
    ]
    assert len(pinned) >= 15
    for key, source in pinned:
        assert digests.get(source["url"]) == source["sha256"], key
