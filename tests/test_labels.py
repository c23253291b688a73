"""Label parsing: every published layout (synthetic fixtures), the pitfalls, malformed input, the CLI."""

from __future__ import annotations

import argparse
import copy
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgiqa.commands import labels as labels_command
from mgiqa.data.label_layouts import LAYOUTS
from mgiqa.data.labels import ATTRIBUTES, CANONICAL_COLUMNS, parse_label_file
from mgiqa.data.registry import load_registry
from mgiqa.errors import LabelFileError, MgiqaError
from mgiqa.io import read_table

FIXTURES = Path(__file__).parent / "fixtures" / "labels"

# fixture file, dataset key, layout it must be recognised as, rows
CASES = [
    ("vqr1_koniq.txt", "koniq10k", "vqr1_koniq", 6),
    ("vqr1_spaq.txt", "spaq", "vqr1_spaq", 5),
    ("vqr1_clive.txt", "clive", "vqr1_clive", 6),
    ("vqr1_agiqa3k.txt", "agiqa3k", "vqr1_agiqa3k", 5),
    ("vqr1_bid_mixed_newlines.txt", "bid", "vqr1_bid", 5),
    ("vqr1_liu13.txt", "liu13", "vqr1_ref_dis_mos_1to5", 11),
    ("vqr1_shrq.txt", "shrq", "vqr1_ref_dis_mos_1to5", 9),
    ("sriqa.txt", "sriqa_bench", "vqr1_sriqa", 10),
    ("vqr1_kadid_mos.txt", "kadid10k", "vqr1_kadid", 20),
    ("vqr1_kadid_normalized.txt", "kadid10k", "vqr1_kadid_normalized", 20),
    ("pyiqa_kadid.csv", "kadid10k", "pyiqa_kadid", 20),
    ("kadid_official_dmos.csv", "kadid10k", "kadid_official", 20),
    ("pyiqa_koniq.csv", "koniq10k", "pyiqa_koniq", 6),
    ("pyiqa_koniq_metainfo.csv", "koniq10k", "pyiqa_koniq_metainfo", 6),
    ("koniq_official.csv", "koniq10k", "koniq_official", 6),
    ("pyiqa_koniqpp.csv", "koniq10kpp", "pyiqa_koniqpp", 6),
    ("pyiqa_spaq.csv", "spaq", "pyiqa_spaq", 5),
    ("pyiqa_clive.csv", "clive", "pyiqa_clive", 10),
    ("pyiqa_tid2013.csv", "tid2013", "pyiqa_tid", 12),
    ("pyiqa_pipal.csv", "pipal", "pyiqa_pipal", 6),
    ("pyiqa_csiq.csv", "csiq", "pyiqa_csiq", 5),
    ("pyiqa_live.csv", "live", "pyiqa_live", 5),
    ("pyiqa_livemd.csv", "livemd", "pyiqa_livemd", 5),
    ("agiqa3k_data.csv", "agiqa3k", "agiqa3k_official", 5),
    ("agiqa1k_bom.csv", "agiqa1k", "agiqa1k_official", 5),
]


@pytest.fixture(scope="module")
def registry() -> dict:
    return load_registry()


def parse(registry, dataset: str, name_or_path) -> pd.DataFrame:
    path = name_or_path if isinstance(name_or_path, Path) else FIXTURES / name_or_path
    return parse_label_file(dataset, path, registry[dataset])


def test_every_layout_has_a_fixture():
    assert {layout for _, _, layout, _ in CASES} == set(LAYOUTS)


@pytest.mark.parametrize(("fixture", "dataset", "layout", "rows"), CASES, ids=[c[0] for c in CASES])
def test_layout_is_recognised_and_table_is_canonical(registry, fixture, dataset, layout, rows):
    table = parse(registry, dataset, fixture)
    assert table.attrs["layout"] == layout
    assert list(table.columns) == list(CANONICAL_COLUMNS)
    assert len(table) == rows
    assert (table["dataset"] == dataset).all()
    assert (table["domain"] == registry[dataset]["domain"]).all()
    assert table["mos"].between(1 - 1e-9, 5 + 1e-9).all()
    assert (table["mos_std"].dropna() >= 0).all()
    assert table["split"].isin(["train", "val", "test"]).all()
    assert table["image"].is_unique and not table["image"].str.contains("\\\\", regex=False).any()
    for attribute in ATTRIBUTES:
        assert table[attribute].dropna().between(1, 5).all()


def test_kadid_layouts_agree_and_variance_becomes_std(registry):
    pyiqa = parse(registry, "kadid10k", "pyiqa_kadid.csv")
    # var 0.25 / 0.49 / 0.36 / 0.64 -> std 0.5 / 0.7 / 0.6 / 0.8 (1..5 scale, already [1,5] units)
    assert pyiqa["mos_std"].iloc[:4].tolist() == pytest.approx([0.5, 0.7, 0.6, 0.8])
    assert pyiqa["mos"].tolist() == pytest.approx(pyiqa["mos_raw"].tolist())
    for other in ("vqr1_kadid_mos.txt", "kadid_official_dmos.csv"):
        table = parse(registry, "kadid10k", other)
        pd.testing.assert_frame_equal(table, pyiqa, check_like=False, check_exact=False, rtol=1e-12)
    # VQ-R1's min-max copy: MOS already on [1,5]; std still in raw units, 3.93 raw span -> 4
    normalized = parse(registry, "kadid10k", "vqr1_kadid_normalized.txt")
    assert normalized["mos"].tolist() == pytest.approx((1 + 4 * (pyiqa["mos_raw"] - 1) / 3.93).tolist())
    assert normalized["mos_std"].iloc[0] == pytest.approx(0.5 * 4 / 3.93)


def test_kadid_distortions_attributes_and_reference_split(registry):
    table = parse(registry, "kadid10k", "pyiqa_kadid.csv")
    first = table.iloc[:4]  # I01_01_01, I01_01_05, I01_04_01, I01_04_05
    assert first["distortion"].tolist() == ["01", "01", "04", "04"]
    assert first["distortion_level"].tolist() == [1, 5, 1, 5]
    # blur type 01 -> sharpness, level 1 -> 5, level 5 -> 1; color type 04 -> color; others empty
    assert first["sharpness"].tolist()[:2] == [5.0, 1.0] and first["sharpness"].iloc[2:].isna().all()
    assert first["color"].tolist()[2:] == [5.0, 1.0] and first["color"].iloc[:2].isna().all()
    assert table["noise"].isna().all() and table["composition"].isna().all()
    assert (table["group"] == "kadid10k").all()
    refs = table["image"].str.extract(r"(I\d\d)_")[0]
    per_ref = table.groupby(refs)["split"].agg(lambda s: set(s))
    assert all(len(s) == 1 for s in per_ref)  # whole reference contents per split
    assert table["split"].value_counts().to_dict() == {
        "train": 12,
        "val": 4,
        "test": 4,
    }  # VisualQuality-R1's lists: I01-I03 train, I07 val, I19 test
    assert set(table.loc[refs == "I07", "split"]) == {"val"} and set(table.loc[refs == "I19", "split"]) == {
        "test"
    }
    assert table["image"].iloc[0] == "images/I01_01_01.png"


def test_reference_lists_split_names_an_unlisted_reference(registry, tmp_path):
    entry = copy.deepcopy(registry["kadid10k"])
    entry["splits"]["lists"]["test"].remove("I19.png")
    with pytest.raises(LabelFileError, match=r"I19\.png.*none of the registry's splits\.lists"):
        parse_label_file("kadid10k", FIXTURES / "pyiqa_kadid.csv", entry)


def test_koniq_layouts_agree_on_observed_range_and_official_split(registry):
    official = parse(registry, "koniq10k", "koniq_official.csv")
    # observed 10..90 -> [1,5]: 50 -> 3; SD 0.5 on the 1-5 scale whose 0..100 is 1.051..4.646
    mos = dict(zip(official["image"].str.split("/").str[-1], official["mos"], strict=True))
    assert mos["10007903636.jpg"] == pytest.approx(1.0) and mos["10009096245.jpg"] == pytest.approx(5.0)
    assert mos["10010000001.jpg"] == pytest.approx(3.0)
    width = 0.8 * (4.646 - 1.051)
    assert official["mos_std"].iloc[0] == pytest.approx(0.5 * 4 / width)
    assert official["split"].tolist() == ["train", "test", "train", "val", "test", "train"]
    for other in ("pyiqa_koniq.csv", "pyiqa_koniq_metainfo.csv"):
        pd.testing.assert_frame_equal(parse(registry, "koniq10k", other), official)


def test_koniq_table_without_split_is_all_test_with_a_warning(registry, caplog):
    with caplog.at_level(logging.WARNING):
        table = parse(registry, "koniq10k", "vqr1_koniq.txt")
    assert (table["split"] == "test").all()
    assert "no official split" in caplog.text
    entry = copy.deepcopy(registry["koniq10k"])
    entry["splits"] = {"kind": "official"}
    with pytest.raises(LabelFileError, match="no official split column"):
        parse_label_file("koniq10k", FIXTURES / "vqr1_koniq.txt", entry)


def test_spaq_attributes_and_duplicate_brightness_header(registry):
    table = parse(registry, "spaq", "pyiqa_spaq.csv")
    # 00003: Sharpness 100 -> 5, Noisiness 25 -> 2, Colorfulness 0 -> 1; MOS 0..100 -> 1..5
    row = table.iloc[2]
    assert (row["sharpness"], row["noise"], row["color"], row["mos"]) == (5.0, 2.0, 1.0, 1.0)
    assert table["mos_std"].isna().all() and table["composition"].isna().all()
    # the first `Brightness` (column 2, human score) is read, not the EXIF one (column 20: -1.21, 3.0, ...)
    entry = copy.deepcopy(registry["spaq"])
    entry["attributes"]["color"] = {"column": "Brightness", "range": [0, 100]}
    brightness = parse_label_file("spaq", FIXTURES / "pyiqa_spaq.csv", entry)["color"]
    assert brightness.tolist() == pytest.approx([1 + 4 * v / 100 for v in (47.5, 55.0, 10.0, 90.0, 30.2)])


def test_spaq_table_without_attribute_columns_leaves_them_empty(registry):
    table = parse(registry, "spaq", "vqr1_spaq.txt")
    assert table[list(ATTRIBUTES)].isna().all().all()
    # VQ-R1 std in 0-100 units of the original 2..96 range: 12 -> 12 * 4 / 94
    assert table["mos_std"].iloc[4] == pytest.approx(12 * 4 / 94)


def test_clive_rater_training_images_and_std_units(registry):
    table = parse(registry, "clive", "pyiqa_clive.csv")
    names = table["image"].str.split("/").str[-1]
    assert set(names[table["split"] == "train"]) == {f"t{i}.bmp" for i in range(1, 8)}
    assert (table["split"] == "test").sum() == 3
    assert table["image"].iloc[0] == "Images/t1.bmp"
    # nominal 0..100: 25 -> 2, std 20 -> 0.8
    row = table[names == "100.bmp"].iloc[0]
    assert (row["mos"], row["mos_std"]) == (pytest.approx(2.0), pytest.approx(0.8))
    vqr1 = parse(registry, "clive", "vqr1_clive.txt")
    assert vqr1["mos_std"].iloc[0] == pytest.approx(18.0 * 4 / (92.432 - 3.42))


@pytest.mark.parametrize(
    ("dataset", "fixture", "expected"),
    [
        ("csiq", "pyiqa_csiq.csv", [5.0, 1.0, 4.0, 3.0, 2.0]),  # DMOS 0..1, lower is better
        ("live", "pyiqa_live.csv", [4.2, 3.4, 2.4, 3.56, 1.8]),  # `mos` holds DMOS 0..100
        ("livemd", "pyiqa_livemd.csv", [4.2, 3.4, 3.91, 2.6, 5.0]),
    ],
)
def test_lower_is_better_scales_are_flipped(registry, dataset, fixture, expected):
    assert parse(registry, dataset, fixture)["mos"].tolist() == pytest.approx(expected)


def test_folders_and_spaces_in_image_names(registry):
    table = parse(registry, "livemd", "pyiqa_livemd.csv")
    assert table["image"].iloc[0] == "Part 1/blurjpeg/babygirl_blur1.bmp"


def test_liu13_groups_by_prefix_with_a_missing_image(registry):
    table = parse(registry, "liu13", "vqr1_liu13.txt")
    assert table["group"].value_counts().sort_index().to_dict() == {"0": 4, "1": 3, "2": 4}
    assert table["image"].iloc[0] == "images/0_1.png"
    assert (table["split"] == "test").all()


def test_shrq_and_sriqa_group_by_reference(registry):
    shrq = parse(registry, "shrq", "vqr1_shrq.txt")
    assert shrq["group"].unique().tolist() == ["Adirondack", "Art", "viaduct"]
    sriqa = parse(registry, "sriqa_bench", "sriqa.txt")
    assert sriqa["group"].value_counts().to_dict() == {"001_HR": 5, "002_HR": 5}
    assert sriqa["mos"].iloc[:3].tolist() == [1.0, 2.5, 5.0]


def test_agiqa3k_quoted_commas_and_observed_range(registry):
    table = parse(registry, "agiqa3k", "agiqa3k_data.csv")
    assert table["image"].iloc[-1] == "images/xl2.2_normal_299.jpg"
    # observed 0.5..4.5 -> [1,5]: 2.0 -> 2.5; std 0.5 in the same units (span 4) stays 0.5
    assert table["mos"].tolist() == pytest.approx([1.5, 2.5, 1.0, 5.0, 4.0])
    assert table["mos_std"].iloc[1] == pytest.approx(0.5)


def test_bom_crlf_and_mixed_newlines(registry):
    agiqa1k = parse(registry, "agiqa1k", "agiqa1k_bom.csv")
    assert agiqa1k["image"].iloc[0] == "images/dreamStudio_6_2_0_1.jpg"
    bid = parse(registry, "bid", "vqr1_bid_mixed_newlines.txt")
    assert bid["mos"].tolist() == pytest.approx([1.0, 3.0, 5.0, 2.0, 4.0])


def test_tid_mixed_case_names_and_scale(registry):
    table = parse(registry, "tid2013", "pyiqa_tid2013.csv")
    assert table["distortion"].unique().tolist() == ["01", "08"]
    assert set(table["distortion_level"]) == {1, 5}
    assert table["mos"].iloc[0] == pytest.approx(1 + 4 * 5.5 / 9)
    # type 01 (additive Gaussian noise) -> noise, type 08 (Gaussian blur) -> sharpness; level 1 -> 5, 5 -> 1
    noise, blur = table["distortion"] == "01", table["distortion"] == "08"
    assert table.loc[noise, "noise"].tolist() == [5.0, 1.0] * 3 and table.loc[noise, "sharpness"].isna().all()
    assert table.loc[blur, "sharpness"].tolist() == [5.0, 1.0] * 3 and table.loc[blur, "noise"].isna().all()
    assert table["color"].isna().all() and table["composition"].isna().all()


def test_pipal_elo_uses_the_observed_range(registry):
    table = parse(registry, "pipal", "pyiqa_pipal.csv")
    assert table["mos"].tolist() == pytest.approx([3.5, 3.25, 1.0, 5.0, 2.25, 3.0])


# ------------------------------------------------------------------------------------------- malformed input


def write(tmp_path: Path, text: str | bytes, name: str = "labels.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    ("dataset", "content", "line", "message"),
    [
        ("bid", "a.jpg 1.0\nb.jpg 2.0\nc.jpg 3.0 9\n", 3, "expected 2 whitespace-separated fields, found 3"),
        ("csiq", "ref_name,dist_name,dmos\r\nr,a,0.1\r\nr,b,0.2\r\nr,c\r\n", 4, "expected 3 comma-separated"),
        ("bid", "a.jpg 1.0\nb.jpg abc\n", 2, "MOS 'abc' is not a number"),
        ("clive", "img_name,mos,std\nt1.bmp,,3\n", 2, "MOS '' is not a number"),
        ("clive", "img_name,mos,std\nt1.bmp,50,-1\n", 2, "std -1.0 is negative"),
        ("clive", "img_name,mos,std\nt1.bmp,50,1\nt2.bmp,150,1\n", 3, "outside the nominal scale"),
        ("bid", "a.jpg 1.0\n\nb.jpg 2.0\na.jpg 3.0\n", 4, "listed twice"),
        ("bid", "a.jpg 1.0\n../b.jpg 2.0\n", 2, "leaves the dataset root"),
        (
            "koniq10k",
            "image_name,MOS,SD,set\nx.jpg,50,0.5,training\ny.jpg,60,0.5,holdout\n",
            3,
            "split value",
        ),
        ("kadid10k", "I01.png I01_01_01.png 4.5 0.5\nI01.png I01_x.png 4.0 0.5\n", 2, "distortion pattern"),
        ("kadid10k", "I01.png I01_01_01.png 4.5 0.5\nI01.png I01_01_07.png 4.0 0.5\n", 2, "outside 1..5"),
        ("liu13", "0_0.png 0_1.png 3.0\n0_0.png 01.png 3.0\n", 2, "no group prefix"),
        ("bid", "img,mos\na.jpg,1\n", 1, "unknown layout for parser 'bid'"),
        ("clive", "name,score\na.bmp,1\n", 1, "unknown layout for parser 'clive'"),
        ("csiq", "ref_name,dist_name,dmos\n", 1, "no data rows"),
        ("bid", b"a.jpg 1.0\n\xff\xfe.jpg 2.0\n", 2, "not UTF-8"),
    ],
)
def test_malformed_input_names_file_and_line(registry, tmp_path, dataset, content, line, message):
    path = write(tmp_path, content)
    with pytest.raises(LabelFileError, match=message) as info:
        parse(registry, dataset, path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert info.value.line == line


@pytest.mark.parametrize("content", ["", "\n\n  \r\n"])
def test_empty_file(registry, tmp_path, content):
    path = write(tmp_path, content)
    with pytest.raises(LabelFileError, match="empty label file") as info:
        parse(registry, "bid", path)
    assert str(info.value).startswith(f"{path}:1: ")


def test_attribute_and_group_columns_missing_from_the_header(registry, tmp_path):
    path = write(tmp_path, "\n\nImage name,MOS,Sharpness\n00001.jpg,50,40\n", "spaq.csv")
    with pytest.raises(LabelFileError, match="attributes.color: column 'Colorfulness'") as info:
        parse(registry, "spaq", path)
    assert info.value.line == 3
    entry = copy.deepcopy(registry["clive"])
    entry["groups"] = {"kind": "column", "column": "scene"}
    with pytest.raises(LabelFileError, match="groups: column 'scene'") as info:
        parse_label_file("clive", FIXTURES / "pyiqa_clive.csv", entry)
    assert info.value.line == 1


def test_missing_file(registry, tmp_path):
    with pytest.raises(LabelFileError, match="not found"):
        parse(registry, "bid", tmp_path / "absent.txt")


def test_kadid_layouts_with_equal_structure_are_told_apart_by_values(registry, tmp_path):
    raw = write(tmp_path, "I01.png I01_01_01.png 4.25 0.5\nI02.png I02_01_01.png 1.5 0.5\n", "raw.txt")
    scaled = write(
        tmp_path, "I01.png I01_01_01.png 4.2512 0.5\nI02.png I02_01_01.png 1.5 0.5\n", "scaled.txt"
    )
    assert parse(registry, "kadid10k", raw).attrs["layout"] == "vqr1_kadid"
    assert parse(registry, "kadid10k", scaled).attrs["layout"] == "vqr1_kadid_normalized"


def test_a_10k_row_table_parses_in_well_under_a_second(registry, tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        f"I{r:02d}.png I{r:02d}_{t:02d}_{lv:02d}.png {m:.2f} {s}"
        for (r, t, lv), m, s in zip(
            [(r, t, lv) for r in range(1, 82) for t in range(1, 26) for lv in range(1, 6)],
            rng.uniform(1, 5, 10125), rng.uniform(0, 1, 10125), strict=True,
        )
    ]  # fmt: skip
    path = write(tmp_path, "\n".join(rows))
    parse(registry, "kadid10k", path)  # warm caches (imports, regex compilation)
    start = time.perf_counter()
    table = parse(registry, "kadid10k", path)
    assert time.perf_counter() - start < 1.0
    assert len(table) == 10125


# ------------------------------------------------------------------------------------------------------ CLI


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    labels_command.add_arguments(parser)
    return labels_command.run(parser.parse_args(argv))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_writes_the_table_and_prints_a_summary(tmp_path, capsys, suffix):
    out = tmp_path / f"csiq{suffix}"
    assert run_cli(["csiq", str(FIXTURES / "pyiqa_csiq.csv"), "-o", str(out)]) == 0
    table = read_table(out)
    assert list(table.columns) == list(CANONICAL_COLUMNS) and len(table) == 5
    assert table["mos"].tolist() == pytest.approx([5.0, 1.0, 4.0, 3.0, 2.0])
    printed = capsys.readouterr().out
    assert "layout: pyiqa_csiq" in printed and "rows: 5 (registry expects 866 !)" in printed
    assert "lower is better" in printed


def test_cli_writes_csv_to_stdout_and_the_summary_to_stderr(capsys):
    assert run_cli(["liu13", str(FIXTURES / "vqr1_liu13.txt")]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == ",".join(CANONICAL_COLUMNS)
    assert len(captured.out.splitlines()) == 12
    assert "groups: 3" in captured.err


def test_cli_extra_registry(tmp_path, capsys, registry):
    extra = copy.deepcopy(registry["bid"])
    extra["title"] = "My blur set"
    path = tmp_path / "mine.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"my_blur": extra}))
    assert run_cli(["my_blur", str(FIXTURES / "vqr1_bid_mixed_newlines.txt"), "--registry", str(path)]) == 0
    assert "dataset: my_blur (authentic)" in capsys.readouterr().err


def test_cli_errors_are_mgiqa_errors(tmp_path):
    with pytest.raises(LabelFileError):
        run_cli(["bid", str(FIXTURES / "pyiqa_csiq.csv")])
    with pytest.raises(MgiqaError, match="unknown dataset 'nope'"):
        run_cli(["nope", str(FIXTURES / "pyiqa_csiq.csv")])
    with pytest.raises(MgiqaError, match=".csv or .parquet"):
        run_cli(["csiq", str(FIXTURES / "pyiqa_csiq.csv"), "-o", str(tmp_path / "x.json")])
