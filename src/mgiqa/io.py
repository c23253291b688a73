"""Atomic output helpers: every artifact is written to a temp file and renamed into place."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it onto `path`, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs follow the umask
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_yaml(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, yaml.safe_dump(obj, sort_keys=False))


def write_table(path: str | os.PathLike, df) -> None:
    """Write a pandas DataFrame as CSV or Parquet, chosen by the extension."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif path.suffix in (".csv", ""):
            df.to_csv(tmp, index=False, lineterminator="\n")
        else:
            raise ValueError(f"{path}: unsupported table extension {path.suffix!r} (use .csv or .parquet)")


def read_table(path: str | os.PathLike):
    import pandas as pd

    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=True)


def _json_default(obj: Any):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


HASHED_IN_FULL = 64 * 2**20  # files up to this size are hashed whole
HASHED_ENDS = 2**20  # of larger files (model shards), the first and last MiB beside size and mtime


def content_identity(path: str | os.PathLike) -> str:
    """sha256 naming the contents of a file, or of every file under a folder (relative names included).

    Small files (configs, indexes, tables) are hashed whole. A large file (a weights shard) contributes its
    size, modification time and the hash of its first and last MiB (a safetensors header holds every tensor's
    name, shape and offset): a retrained model written at the same path differs in time and in content,
    while hashing 15 GB of weights on every prediction job would cost minutes.
    """
    import hashlib

    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for f in files:
        st = f.stat()
        name = f.relative_to(path).as_posix() if path.is_dir() else f.name
        digest.update(f"{name}\0{st.st_size}\0".encode())
        with open(f, "rb") as handle:
            if st.st_size <= HASHED_IN_FULL:
                for chunk in iter(lambda: handle.read(2**20), b""):
                    digest.update(chunk)
            else:
                digest.update(f"{st.st_mtime_ns}\0".encode())
                digest.update(handle.read(HASHED_ENDS))
                handle.seek(-HASHED_ENDS, os.SEEK_END)
                digest.update(handle.read(HASHED_ENDS))
    return digest.hexdigest()
