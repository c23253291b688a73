"""The completion marker of a fetched dataset folder, and the staging folder a fetch works in.

`raw_root/KEY/.complete` is written last, once the dataset folder is whole (its JSON names the dataset, the
source and the file count); a folder with it is never fetched again. A fetch builds the folder in a staging
folder beside it (same file system, so the final rename is atomic). A fetch killed with -9 cannot remove its
staging folder: the next fetch of the same dataset removes it (`remove_stale_staging`, called while holding
the dataset's fetch lock, so no live fetch's folder is touched).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mgiqa.errors import DataIntegrityError
from mgiqa.io import write_json

log = logging.getLogger(__name__)

COMPLETE = ".complete"


def read_complete(folder: Path, key: str) -> dict:
    """The `.complete` record of a dataset folder; DataIntegrityError if it is unreadable or for another key."""
    path = Path(folder) / COMPLETE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataIntegrityError(
            f"{path}: unreadable completion marker ({exc}); remove it to fetch again"
        ) from exc
    if not isinstance(record, dict) or record.get("key") != key:
        raise DataIntegrityError(f"{path}: completion marker is not for dataset {key!r}")
    return record


@contextlib.contextmanager
def staging_dir(dest: Path) -> Iterator[Path]:
    """A temporary folder beside `dest` (same file system, so renames are atomic), removed on exit."""
    path = Path(tempfile.mkdtemp(prefix=staging_prefix(dest), dir=dest.parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, onerror=lambda _f, p, exc: log.warning("could not remove %s: %s", p, exc[1]))


def staging_prefix(dest: Path) -> str:
    return f".{dest.name}.fetch-"


def remove_stale_staging(dest: Path) -> list[Path]:
    """Remove the staging folders earlier fetches of `dest` left behind; return them. Call under the lock."""
    stale = sorted(p for p in dest.parent.glob(staging_prefix(dest) + "*") if p.is_dir())
    for path in stale:
        log.warning("%s: removing the staging folder of an interrupted fetch", path)
        shutil.rmtree(path)
    return stale


def write_complete(dest: Path, key: str, record: dict) -> None:
    """Write `dest/.complete` (the key, `record`, the file count): the last step of a successful fetch."""
    n_files = sum(1 for p in dest.rglob("*") if p.is_file() and p.name != COMPLETE)
    write_json(dest / COMPLETE, {"key": key, **record, "n_files": n_files})
    log.info("%s: complete, %d files in %s", key, n_files, dest)
