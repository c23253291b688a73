"""Archive bombs and broken archives: refused with the numbers before the member over a limit is written;
OS errors while writing name the member; a killed fetch's staging folder is removed by the next fetch."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from mgiqa.data import archive_limits
from mgiqa.data.archive_limits import ExtractLimits
from mgiqa.data.extract import safe_extract
from mgiqa.data.fetch import fetch_dataset
from mgiqa.errors import ArchiveError

GIB = 1 << 30


def sparse_tgz(path: Path, apparent: int) -> Path:
    """A tgz whose one member is a GNU sparse file (PAX 0.1 map) of `apparent` bytes holding one data byte."""
    info = tarfile.TarInfo("big.bin")
    info.size = 1
    info.pax_headers = {
        "GNU.sparse.map": "0,1",
        "GNU.sparse.size": str(apparent),
        "GNU.sparse.name": "big.bin",
    }
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b"x"))
    return path


def assert_nothing_left(tmp_path: Path, target: Path) -> None:
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []


def test_a_tiny_tgz_with_a_20_gib_sparse_member_is_refused(tmp_path):
    archive = sparse_tgz(tmp_path / "bomb.tgz", 20 * GIB)
    assert archive.stat().st_size < 400
    with tarfile.open(archive) as tar:  # tarfile itself would write a 20 GiB (sparse) file
        assert tar.getmembers()[0].size == 20 * GIB and tar.getmembers()[0].sparse == [(0, 1)]
    target = tmp_path / "out" / "content"
    with pytest.raises(ArchiveError) as info:
        safe_extract(archive, target, "tgz")
    message = str(info.value)
    assert f"refusing to extract (at member 'big.bin'): {20 * GIB:,} bytes uncompressed so far" in message
    assert_nothing_left(tmp_path, target)


@pytest.fixture(scope="module")
def zeros_zip(tmp_path_factory) -> Path:
    """About 2 MB of zip holding 2 GiB of zeros."""
    path = tmp_path_factory.mktemp("bomb") / "zeros.zip"
    block = bytes(1 << 20)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("zeros.bin", "w", force_zip64=True) as f,
    ):
        for _ in range(2048):
            f.write(block)
    return path


def test_a_2_mb_zip_of_2_gib_of_zeros_is_refused_by_its_ratio(zeros_zip, tmp_path):
    assert zeros_zip.stat().st_size < 3_000_000
    target = tmp_path / "content"
    with pytest.raises(ArchiveError) as info:
        safe_extract(zeros_zip, target, "zip")
    size = zeros_zip.stat().st_size
    assert f"{2 * GIB:,} bytes uncompressed so far from a {size:,}-byte archive, more than 100 times" in str(
        info.value
    )
    assert_nothing_left(tmp_path, target)


def test_the_size_limit_and_free_space_are_checked_before_writing(zeros_zip, tmp_path, monkeypatch):
    limits = ExtractLimits(max_bytes=GIB, max_ratio=1e9)
    with pytest.raises(ArchiveError, match=f"{2 * GIB:,} bytes uncompressed so far, more than the {GIB:,}"):
        safe_extract(zeros_zip, tmp_path / "a", "zip", limits)
    usage = archive_limits.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(archive_limits.shutil, "disk_usage", lambda _p: usage._replace(free=10**6))
    with pytest.raises(ArchiveError, match=r"more than the 1,000,000 bytes free on the file system of"):
        safe_extract(zeros_zip, tmp_path / "b", "zip", ExtractLimits(max_ratio=1e9))
    assert_nothing_left(tmp_path, tmp_path / "b")


def test_100000_empty_files_are_refused_past_the_member_limit(tmp_path):
    archive = tmp_path / "many.tar"
    with tarfile.open(archive, "w") as tar:
        for i in range(100_000):
            tar.addfile(tarfile.TarInfo(f"d/{i:06d}.jpg"))
    target = tmp_path / "content"
    with pytest.raises(ArchiveError, match=r"at member 'd/050000\.jpg'\): more than 50,000 members"):
        safe_extract(archive, target, "tar")
    assert_nothing_left(tmp_path, target)


def test_limits_come_from_the_registry_then_the_config():
    assert ExtractLimits.for_dataset({}) == ExtractLimits(200 * GIB, 50_000, 100.0)
    config = {"max_bytes": 5, "max_members": 6, "max_ratio": 7}
    assert ExtractLimits.for_dataset({"expected_rows": None}, config) == ExtractLimits(5, 6, 7.0)
    declared = {"extracted": {"bytes": 1000, "files": 10}, "expected_rows": 5}
    assert ExtractLimits.for_dataset(declared, config) == ExtractLimits(1100, 111, 7.0)
    koniq = ExtractLimits.for_dataset({"expected_rows": 10_073}, config)  # 3 x its rows + 1,000
    assert koniq.max_members == 31_219


@pytest.mark.parametrize("kind", ["tgz", "zip"])
def test_a_member_under_a_file_is_an_archive_error_naming_it(tmp_path, kind):
    archive = tmp_path / f"clash.{kind}"
    members = {"d/a": b"a file", "d/a/b": b"needs d/a to be a folder"}
    if kind == "tgz":
        with tarfile.open(archive, "w:gz") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    else:
        with zipfile.ZipFile(archive, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    target = tmp_path / "content"
    with pytest.raises(ArchiveError) as info:
        safe_extract(archive, target, kind)
    assert str(info.value).startswith(f"{archive}: cannot extract member 'd/a/b': NotADirectoryError")
    assert "an earlier member is a file where this one needs a folder" in str(info.value)
    assert_nothing_left(tmp_path, target)


def test_a_killed_fetchs_staging_folder_is_removed_by_the_next_fetch(tmp_path):
    raw = tmp_path / "raw"
    stale = raw / ".demo_koniq.fetch-k9k9k9"
    (stale / "content" / "images").mkdir(parents=True)
    (stale / "content" / "images" / "half.png").write_bytes(bytes(1000))
    other = raw / ".demo_koniq10k.fetch-live"  # another dataset's: left alone
    other.mkdir()

    def generate(key, entry, out_dir):
        (out_dir / "images").mkdir()
        (out_dir / "images" / "0.png").write_bytes(b"png")
        (out_dir / "labels.csv").write_text("image,mos\nimages/0.png,3\n")

    entry = {"sources": [{"kind": "generated", "recipe": "demo"}], "labels": {"file": "labels.csv"}}
    fetch_dataset("demo_koniq", entry | {"images": "images"}, raw, generate=generate)
    assert sorted(p.name for p in raw.iterdir()) == [".demo_koniq10k.fetch-live", "demo_koniq"]
