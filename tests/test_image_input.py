"""Hostile images and prepared tables: decompression bombs, paths that leave the dataset root, and the
report of many missing images (counted right, written before the stage fails)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mgiqa import cli
from mgiqa.data.images import DEFAULT_MAX_IMAGE_PIXELS, check_image, prepare_table
from mgiqa.errors import DataIntegrityError


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height (8-bit RGB) with one tiny IDAT chunk: a header-only bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "raw" / "toy"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(root / "images" / "good.png")
    return root


def toy_table(*names: str) -> pd.DataFrame:
    return pd.DataFrame({"image": list(names), "mos": np.linspace(1, 5, len(names))})


def test_a_png_header_claiming_100000_by_100000_is_a_corrupt_image(root):
    (root / "images" / "bomb.png").write_bytes(png_header_claiming(100_000, 100_000))
    reason = check_image(root / "images" / "bomb.png")
    assert reason.startswith("DecompressionBombError: Image size (10000000000 pixels) exceeds limit")
    _, report = prepare_table(
        toy_table("images/good.png", "images/bomb.png"), root, "toy", allow_missing=True
    )
    assert list(report.corrupt) == ["images/bomb.png"]


def test_a_real_144_megapixel_png_is_over_the_default_cap(root):
    Image.new("1", (12_000, 12_000)).save(root / "images" / "huge.png")  # 144 Mpx, 1 bit each
    reason = check_image(root / "images" / "huge.png")
    assert reason == (
        f"12000x12000 = 144,000,000 pixels, more than the {DEFAULT_MAX_IMAGE_PIXELS:,} allowed "
        "(datasets.max_image_pixels)"
    )
    assert check_image(root / "images" / "huge.png", max_pixels=200_000_000) is None


def test_prepare_reports_a_bomb_from_the_command_line_with_the_configured_cap(root, tmp_path, repo_root):
    (root / "images" / "bomb.png").write_bytes(png_header_claiming(100_000, 100_000))
    config = tmp_path / "config.yaml"
    text = (repo_root / "config" / "config.yaml").read_text()
    config.write_text(text.replace("datasets:\n", "datasets:\n  max_image_pixels: 32\n", 1))
    table, out, report = tmp_path / "t.csv", tmp_path / "p.csv", tmp_path / "r.json"
    toy_table("images/good.png", "images/bomb.png").to_csv(table, index=False)
    argv = ["prepare", "--config", str(config), "--dataset", "toy", "--table", str(table)]
    argv += ["--dataset-root", str(root), "-o", str(out), "--report", str(report)]
    assert cli.main(argv) == 2
    written = json.loads(report.read_text())
    assert written["ok"] is False and written["n_kept"] == 0
    assert written["corrupt"]["images/good.png"].startswith("8x8 = 64 pixels, more than the 32 allowed")
    assert written["corrupt"]["images/bomb.png"].startswith("DecompressionBombError")
    assert not out.exists()


@pytest.mark.parametrize("name", ["1024x768/../../outside.jpg", "/etc/passwd", "C:/x.jpg", "images\\..\\x"])
def test_a_prepared_table_path_leaving_the_dataset_root_is_refused_with_its_row(root, tmp_path, name):
    (tmp_path / "outside.jpg").write_bytes((root / "images" / "good.png").read_bytes())
    with pytest.raises(DataIntegrityError) as info:
        prepare_table(toy_table("images/good.png", name), root, "toy", allow_missing=True, source="t.csv")
    assert str(info.value).startswith(f"t.csv:3: image {name!r} is empty or leaves the dataset root")


def test_thirty_missing_images_are_counted_and_reported_before_failing(root, tmp_path):
    names = ["images/good.png"] + [f"images/gone{i:02d}.png" for i in range(30)]
    report_path = tmp_path / "report.json"
    with pytest.raises(DataIntegrityError) as info:
        prepare_table(toy_table(*names), root, "toy", allow_missing=False, report_path=report_path)
    text = str(info.value)
    assert "toy: 30 missing and 0 corrupt of 31 images" in text
    assert text.count("  missing: ") == 10 and "... and 20 more (see the JSON report)" in text
    report = json.loads(report_path.read_text())
    assert report["n_missing"] == 30 and len(report["missing"]) == 30 and report["ok"] is False


def test_the_summary_counts_hidden_missing_and_corrupt_separately(root):
    (root / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    names = [f"images/gone{i:02d}.png" for i in range(12)] + ["images/broken.png", "images/good.png"]
    with pytest.raises(DataIntegrityError, match=r"\.\.\. and 2 more \(see the JSON report\)"):
        prepare_table(toy_table(*names), root, "toy", allow_missing=False)
