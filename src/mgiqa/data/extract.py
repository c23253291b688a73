"""Safe, atomic extraction of dataset archives (tgz, tar, zip).

Policy: a dataset archive may hold regular files and directories only. Any member with an absolute path, a
`..` component, or of another type (symbolic link, hard link, device, FIFO) is refused with an ArchiveError
naming the archive and the member, whatever the link points to: image datasets have no use for links, and
refusing them all is simpler to get right than judging where each one leads. Tar members additionally pass
Python's `data` extraction filter (no setuid bits, no paths outside the target).

Extraction goes into a temporary folder beside `target`, which is renamed onto `target` only when every
member was written; on any error the temporary folder is deleted, so `target` is either complete or absent.
Before each member is written it is counted against the archive's budget (`mgiqa.data.archive_limits`: total
size, member count, compression ratio, free disk space); an OS error while writing one (a member ``d/a/b``
after a file ``d/a``: NotADirectoryError) is an ArchiveError naming the member.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import secrets
import shutil
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from mgiqa.data.archive_limits import ExtractBudget, ExtractLimits
from mgiqa.errors import ArchiveError, DataIntegrityError

log = logging.getLogger(__name__)

ARCHIVE_KINDS = ("tgz", "tar", "zip")
_TAR_MODES = {"tgz": "r:gz", "tar": "r:"}
_TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)
_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError)
_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_extract(
    archive: str | os.PathLike, target: str | os.PathLike, kind: str, limits: ExtractLimits | None = None
) -> Path:
    """Extract `archive` (kind tgz, tar or zip) into the new folder `target`, atomically; return `target`."""
    archive, target = Path(archive), Path(target)
    if kind not in ARCHIVE_KINDS:
        raise ArchiveError(f"{archive}: unknown archive kind {kind!r}; expected one of {ARCHIVE_KINDS}")
    if not archive.is_file():
        raise ArchiveError(f"{archive}: archive not found")
    if target.exists():
        raise DataIntegrityError(f"{target}: already exists; refusing to extract {archive.name} over it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.extract-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()  # not mkdtemp: the folder keeps the usual (umask) permissions once renamed onto target
    try:
        budget = ExtractBudget(archive, tmp, limits or ExtractLimits())
        if kind in _TAR_MODES:
            n_members = _extract_tar(archive, tmp, kind, budget)
        else:
            n_members = _extract_zip(archive, tmp, budget)
        if n_members == 0:
            raise ArchiveError(f"{archive}: the archive is empty")
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, onerror=lambda _f, path, exc: log.warning("could not remove %s: %s", path, exc[1]))
        raise
    return target


def check_member_name(archive: Path, name: str) -> None:
    """Refuse empty, absolute and `..` member names."""
    if not name or name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise ArchiveError(f"{archive}: member {name!r} has an absolute path")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        raise ArchiveError(f"{archive}: member {name!r} points outside the archive folder (..)")


def _check_inside(archive: Path, root: Path, name: str) -> None:
    resolved = (root / name).resolve()
    if resolved != root and root not in resolved.parents:
        raise ArchiveError(f"{archive}: member {name!r} would be written outside {root}")


def _extract_tar(archive: Path, tmp: Path, kind: str, budget: ExtractBudget) -> int:
    root = tmp.resolve()
    current = None  # the member being written

    def record(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
        nonlocal current
        current = member.name
        return tarfile.data_filter(member, dest)

    try:
        with tarfile.open(archive, _TAR_MODES[kind]) as tar:
            tar.errorlevel = 2  # every extraction problem raises
            members = tar.getmembers()  # every header is read and checked before a byte is written
            _check_end_of_archive(archive, tar)
            for member in members:
                _check_tar_member(archive, root, member)
                budget.admit(member.name, member.size if member.isfile() else 0)
            tar.extractall(tmp, members=members, filter=record)
    except tarfile.FilterError as exc:
        raise ArchiveError(f"{archive}: unsafe member refused: {exc}") from exc
    except _TAR_ERRORS as exc:
        raise ArchiveError(
            f"{archive}: corrupt or unreadable {kind} archive: {type(exc).__name__}: {exc}"
        ) from exc
    except OSError as exc:
        raise _write_error(archive, current, exc) from exc
    return len(members)


def _check_tar_member(archive: Path, root: Path, member: tarfile.TarInfo) -> None:
    check_member_name(archive, member.name)
    if not (member.isfile() or member.isdir()):
        what = "link" if (member.issym() or member.islnk()) else "special file"
        target = f" -> {member.linkname!r}" if member.linkname else ""
        raise ArchiveError(
            f"{archive}: member {member.name!r} is a {what}{target}; only files and folders are allowed"
        )
    _check_inside(archive, root, member.name)


def _write_error(archive: Path, member: str | None, exc: OSError) -> ArchiveError:
    detail = f"{type(exc).__name__}: {exc.strerror or exc}"
    if isinstance(exc, NotADirectoryError):
        detail += " (an earlier member is a file where this one needs a folder)"
    return ArchiveError(f"{archive}: cannot extract member {member!r}: {detail}")


def _check_end_of_archive(archive: Path, tar: tarfile.TarFile) -> None:
    """tarfile stops quietly at a truncated or garbled header; require the zero blocks that end a whole tar.

    Reading on to the end also makes gzip check its length and CRC trailer.
    """
    tar.fileobj.seek(tar.offset)
    n_bytes = 0
    while block := tar.fileobj.read(1 << 20):
        if block.strip(b"\0"):
            raise ArchiveError(
                f"{archive}: corrupt tar: unreadable data at byte {tar.offset} (truncated or garbled)"
            )
        n_bytes += len(block)
    if n_bytes < tarfile.BLOCKSIZE:
        raise ArchiveError(f"{archive}: corrupt tar: it ends without an end-of-archive marker (truncated)")


def _extract_zip(archive: Path, tmp: Path, budget: ExtractBudget) -> int:
    root = tmp.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:  # check every member before writing any
                check_member_name(archive, info.filename)
                file_type = stat.S_IFMT(info.external_attr >> 16)
                if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
                    kind = "link" if file_type == stat.S_IFLNK else "special file"
                    raise ArchiveError(
                        f"{archive}: member {info.filename!r} is a {kind}; only files and folders are allowed"
                    )
                _check_inside(archive, root, info.filename)
                budget.admit(info.filename, 0 if info.is_dir() else info.file_size)
            for info in members:
                try:
                    zf.extract(info, tmp)
                except OSError as exc:
                    raise _write_error(archive, info.filename, exc) from exc
    except _ZIP_ERRORS as exc:
        raise ArchiveError(
            f"{archive}: corrupt or unreadable zip archive: {type(exc).__name__}: {exc}"
        ) from exc
    return len(members)
