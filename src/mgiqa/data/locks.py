"""An exclusive lock file (flock): two processes working on the same download or dataset take turns."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (two jobs working on one file take turns); delete it after.

    The lock file is unlinked while still held; a waiter that then gets the lock on the unlinked file notices
    (the path is gone or is another file) and tries again. Where the file system has no flock, a warning says
    that concurrent jobs on the same file are not guarded.
    """
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("%s: waiting for another process holding this lock", lock_path)
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            os.close(fd)
            log.warning(
                "%s: no file locking here (%s); concurrent jobs on this file are not guarded",
                lock_path,
                exc,
            )
            lock_path.unlink(missing_ok=True)
            yield
            return
        try:
            current = os.stat(lock_path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        os.close(fd)
