"""Reading a file a user names (a config, a label file): a regular file of bounded size, or a named error.

A FIFO, a device such as ``/dev/zero`` or a directory would otherwise hang the reader or feed it until memory
runs out; the file is opened without blocking (a FIFO with no writer) and checked before a byte is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_regular_file(path: str | os.PathLike, max_bytes: int, error: Callable[[str], Exception]) -> bytes:
    """The bytes of `path`; `error(message)` is raised when it is missing, not a regular file, unreadable or
    larger than `max_bytes`. The message has no subject, to follow "config file" or "label file": "not
    found", "is a FIFO (named pipe), not a regular file", ..."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise error("not found") from exc
    except OSError as exc:
        raise error(f"cannot be opened: {exc.strerror}") from exc
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"is {_KINDS.get(stat.S_IFMT(mode), 'a special file')}, not a regular file")
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(f"is larger than the {max_bytes:,} bytes allowed")
    return data
