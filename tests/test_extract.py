"""safe_extract(): real layouts extract atomically; malicious and corrupt archives are refused cleanly."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest
from httpserver import kadid_members, koniq_members, make_tar, make_zip

from mgiqa.data.extract import safe_extract
from mgiqa.errors import ArchiveError, DataIntegrityError


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _assert_nothing_written(work, archive):
    """Only the archive itself remains in the work folder: no target, no temp folder, no escaped file."""
    assert [p for p in work.rglob("*") if p != archive] == []
    assert not (work.parent / "evil.txt").exists()


@pytest.mark.parametrize(("kind", "members"), [("tgz", koniq_members()), ("tar", kadid_members())])
def test_tar_layouts(tmp_path, kind, members):
    archive = make_tar(tmp_path / f"a.{kind}", members, gz=kind == "tgz")
    target = safe_extract(archive, tmp_path / "out", kind)
    assert _files(target) == members
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_zip_layout(tmp_path):
    members = kadid_members()
    archive = make_zip(tmp_path / "a.zip", members)
    assert _files(safe_extract(archive, tmp_path / "out", "zip")) == members


def test_existing_target_is_refused(tmp_path):
    archive = make_tar(tmp_path / "a.tgz", koniq_members(1))
    (tmp_path / "out").mkdir()
    with pytest.raises(DataIntegrityError, match="already exists"):
        safe_extract(archive, tmp_path / "out", "tgz")


def test_unknown_kind_and_missing_archive(tmp_path):
    with pytest.raises(ArchiveError, match="unknown archive kind"):
        safe_extract(tmp_path / "a.rar", tmp_path / "out", "rar")
    with pytest.raises(ArchiveError, match="not found"):
        safe_extract(tmp_path / "a.tgz", tmp_path / "out", "tgz")


def _tar_with(path, *infos):
    """A tgz holding one good file then the given (TarInfo, data) members."""
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo("koniq10k/ok.txt")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"ok"))
        for info, data in infos:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([(tarfile.TarInfo("../evil.txt"), b"x")], r"outside the archive folder"),
        ([(tarfile.TarInfo("koniq10k/../../evil.txt"), b"x")], r"outside the archive folder"),
        ([(tarfile.TarInfo("/tmp/evil.txt"), b"x")], r"absolute path"),
        (
            [(_link("koniq10k/link", "../../"), None), (tarfile.TarInfo("koniq10k/link/evil.txt"), b"x")],
            r"is a link",
        ),
        ([(_link("koniq10k/inside", "ok.txt"), None)], r"is a link"),
        ([(_link("koniq10k/hard", "/etc/passwd", tarfile.LNKTYPE), None)], r"is a link -> '/etc/passwd'"),
        ([(_link("koniq10k/dev", "", tarfile.CHRTYPE), None)], r"special file"),
        ([(_link("koniq10k/fifo", "", tarfile.FIFOTYPE), None)], r"special file"),
    ],
    ids=[
        "dotdot",
        "nested-dotdot",
        "absolute",
        "symlink-escape",
        "symlink-inside",
        "hardlink",
        "device",
        "fifo",
    ],
)
def test_malicious_tar_is_refused(tmp_path, members, message):
    work = tmp_path / "work"
    work.mkdir()
    archive = _tar_with(work / "evil.tgz", *members)
    with pytest.raises(ArchiveError, match=message) as info:
        safe_extract(archive, work / "out", "tgz")
    assert str(archive) in str(info.value)
    _assert_nothing_written(work, archive)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.txt", "outside"),
        ("BID/../../evil.txt", "outside"),
        ("/evil.txt", "absolute"),
        ("C:/evil.txt", "absolute"),
    ],
)
def test_zip_slip_is_refused(tmp_path, name, message):
    work = tmp_path / "work"
    work.mkdir()
    archive = work / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("BID/ok.txt", b"ok")
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(ArchiveError, match=message):
        safe_extract(archive, work / "out", "zip")
    _assert_nothing_written(work, archive)


def test_zip_symlink_is_refused(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    archive = work / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("BID/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../evil.txt")
    with pytest.raises(ArchiveError, match="is a link"):
        safe_extract(archive, work / "out", "zip")
    _assert_nothing_written(work, archive)


@pytest.mark.parametrize(
    ("kind", "damage"),
    [
        ("tgz", lambda data: data[: len(data) * 2 // 3]),
        ("zip", lambda data: data[: len(data) * 2 // 3]),
        ("tar", lambda data: data[:5000]),  # inside the 4th member's data
        ("tar", lambda data: data[:4608]),  # exactly at the 4th member's header: tarfile alone sees no error
        ("tar", lambda data: data[:4608] + b"garbage!" * 64 + data[5120:]),  # a garbled header mid-archive
    ],
    ids=["tgz-cut", "zip-cut", "tar-cut-in-member", "tar-cut-at-header", "tar-garbled-header"],
)
def test_damaged_archive_is_refused_and_cleaned_up(tmp_path, kind, damage):
    work = tmp_path / "work"
    work.mkdir()
    full = tmp_path / f"full.{kind}"
    members = koniq_members(6)
    make_zip(full, members) if kind == "zip" else make_tar(full, members, gz=kind == "tgz")
    archive = work / f"cut.{kind}"
    archive.write_bytes(damage(full.read_bytes()))
    with pytest.raises(ArchiveError, match="corrupt") as info:
        safe_extract(archive, work / "out", kind)
    assert str(archive) in str(info.value)
    _assert_nothing_written(work, archive)


@pytest.mark.parametrize("kind", ["tgz", "tar", "zip"])
def test_garbage_is_refused(tmp_path, kind):
    archive = tmp_path / f"junk.{kind}"
    archive.write_bytes(b"this is not an archive at all" * 50)
    with pytest.raises(ArchiveError, match=f"{archive}: (corrupt|the archive is empty)"):
        safe_extract(archive, tmp_path / "out", kind)
    assert not (tmp_path / "out").exists()


def test_zip_crc_error_is_refused(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"BID/x.csv": b"a,b\n" * 200})
    data = bytearray(archive.read_bytes())
    start = data.index(b"BID/x.csv") + len(b"BID/x.csv")  # first byte after the local header's name
    data[start + 3] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="corrupt"):
        safe_extract(archive, tmp_path / "out", "zip")
    assert not (tmp_path / "out").exists()
