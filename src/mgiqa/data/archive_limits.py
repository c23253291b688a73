"""How much an archive may unpack to: a budget checked before each member is written.

An archive bomb (a 158-byte tgz holding a 20 GiB sparse member, 2 MB of compressed zeros that unpack to 2 GiB,
100,000 empty files) is refused, with the numbers, before the member that goes over a limit is written:

- `max_bytes`: the total uncompressed size (members' declared sizes; a sparse tar member counts its full
  size). From the registry's `extracted.bytes` (+10%) when declared, else the config
  (`datasets.extraction.max_bytes`), else `DEFAULT_MAX_BYTES`;
- `max_members`: files and folders. From the registry's `extracted.files` (+10%, +100) when declared, else
  three times its `expected_rows` (+1,000) when declared, else the config (`datasets.extraction.max_members`),
  else `DEFAULT_MAX_MEMBERS`;
- `max_ratio`: uncompressed size over archive size (`datasets.extraction.max_ratio`, default
  `DEFAULT_MAX_RATIO`): image datasets are already compressed, and unpack to a few times their archive at
  most (BMP sets);
- the free space of the file system extracted onto, measured once at the start.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mgiqa.errors import ArchiveError

DEFAULT_MAX_BYTES = 200 << 30
DEFAULT_MAX_MEMBERS = 50_000
DEFAULT_MAX_RATIO = 100.0


@dataclass(frozen=True)
class ExtractLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_members: int = DEFAULT_MAX_MEMBERS
    max_ratio: float = DEFAULT_MAX_RATIO

    @classmethod
    def for_dataset(cls, entry: Mapping, configured: Mapping | None = None) -> ExtractLimits:
        """The limits of one registry entry, the config's `datasets.extraction` filling what it leaves."""
        configured = configured or {}
        declared = entry.get("extracted") or {}
        max_bytes = int(configured.get("max_bytes", DEFAULT_MAX_BYTES))
        if declared.get("bytes"):
            max_bytes = int(declared["bytes"] * 1.1)
        max_members = int(configured.get("max_members", DEFAULT_MAX_MEMBERS))
        if declared.get("files"):
            max_members = int(declared["files"] * 1.1) + 100
        elif entry.get("expected_rows"):
            max_members = 3 * int(entry["expected_rows"]) + 1000
        return cls(max_bytes, max_members, float(configured.get("max_ratio", DEFAULT_MAX_RATIO)))


class ExtractBudget:
    """Running totals of one extraction; `admit` raises ArchiveError before a member over a limit is written."""

    def __init__(self, archive: Path, target: Path, limits: ExtractLimits):
        self.archive, self.limits = archive, limits
        self.archive_bytes = max(archive.stat().st_size, 1)
        self.free_bytes = shutil.disk_usage(target).free
        self.target = target
        self.members = 0
        self.total = 0

    def admit(self, name: str, size: int) -> None:
        self.members += 1
        self.total += max(int(size), 0)
        limits, where = self.limits, f"{self.archive}: refusing to extract (at member {name!r})"
        if self.members > limits.max_members:
            raise ArchiveError(
                f"{where}: more than {limits.max_members:,} members (the limit for this dataset; "
                "registry extracted.files / expected_rows, or datasets.extraction.max_members)"
            )
        if self.total > limits.max_bytes:
            raise ArchiveError(
                f"{where}: {self.total:,} bytes uncompressed so far, more than the {limits.max_bytes:,} "
                "allowed (registry extracted.bytes, or datasets.extraction.max_bytes)"
            )
        if self.total > limits.max_ratio * self.archive_bytes:
            raise ArchiveError(
                f"{where}: {self.total:,} bytes uncompressed so far from a {self.archive_bytes:,}-byte archive, "
                f"more than {limits.max_ratio:g} times its size (datasets.extraction.max_ratio)"
            )
        if self.total > self.free_bytes:
            raise ArchiveError(
                f"{where}: {self.total:,} bytes uncompressed so far, more than the {self.free_bytes:,} bytes "
                f"free on the file system of {self.target}"
            )
