"""Error types with messages that name the file, line or field at fault."""

from __future__ import annotations


class MgiqaError(Exception):
    """Base class: the CLI prints these without a traceback and exits 2."""


class ConfigError(MgiqaError):
    """Invalid configuration (schema violation, unknown dataset, ...)."""


class LabelFileError(MgiqaError):
    """A malformed label file; the message names file and line."""

    def __init__(self, path, line: int | None, message: str):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class DownloadError(MgiqaError):
    """A download failed, was truncated or did not match its checksum."""


class ArchiveError(MgiqaError):
    """An archive is corrupt or tries to write outside its target."""


class ManualDownloadRequired(MgiqaError):
    """A dataset without an automatable source: the message says what to fetch and where to put it."""


class DataIntegrityError(MgiqaError):
    """Missing or corrupt images, or partial data."""
