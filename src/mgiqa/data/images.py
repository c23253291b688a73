"""Join a canonical label table with the extracted image files, and check every image decodes.

An image name must stay inside the dataset root (relative, no ``..``); a table that is not (edited by hand,
or from elsewhere) fails naming its row. An image whose header claims more than `max_pixels` pixels
(`datasets.max_image_pixels`, default `DEFAULT_MAX_IMAGE_PIXELS`) is reported as corrupt before a byte of it
is decoded, as are those PIL itself refuses as decompression bombs.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd
from PIL import Image, UnidentifiedImageError

from mgiqa.errors import DataIntegrityError

log = logging.getLogger(__name__)

DEFAULT_MAX_IMAGE_PIXELS = 50_000_000  # 4x the largest image of the registry's datasets (SPAQ's phones)


def max_image_pixels(config: dict) -> int:
    """The pixel cap of the config (`datasets.max_image_pixels`)."""
    return int(config["datasets"]["max_image_pixels"])


@dataclass
class ImageCheckReport:
    dataset: str
    n_rows: int
    missing: list[str] = field(default_factory=list)
    corrupt: dict[str, str] = field(default_factory=dict)  # image -> reason

    @property
    def n_bad(self) -> int:
        return len(self.missing) + len(self.corrupt)

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "n_rows": self.n_rows,
            "n_missing": len(self.missing),
            "n_corrupt": len(self.corrupt),
            "missing": self.missing,
            "corrupt": self.corrupt,
        }

    def summary(self, limit: int = 10) -> str:
        lines = [
            f"{self.dataset}: {len(self.missing)} missing and {len(self.corrupt)} corrupt of {self.n_rows} images"
        ]
        lines += [f"  missing: {m}" for m in self.missing[:limit]]
        lines += [f"  corrupt: {k} ({v})" for k, v in list(self.corrupt.items())[:limit]]
        hidden = max(0, len(self.missing) - limit) + max(0, len(self.corrupt) - limit)
        if hidden:
            lines.append(f"  ... and {hidden} more (see the JSON report)")
        return "\n".join(lines)


def check_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> str | None:
    """None if the image decodes fully, else the reason it does not (too many pixels is a reason)."""
    try:
        with Image.open(path) as im:
            if im.width * im.height > max_pixels:
                return (
                    f"{im.width}x{im.height} = {im.width * im.height:,} pixels, more than the "
                    f"{max_pixels:,} allowed (datasets.max_image_pixels)"
                )
            im.load()
            if im.width < 1 or im.height < 1:
                return "empty image"
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_image_names(names: pd.Series, source: str) -> None:
    """DataIntegrityError naming the first row (CSV line) whose image name is not a plain relative path."""
    for index, name in enumerate(names):
        parts = PurePosixPath(name).parts
        if (
            not name.strip()
            or "\\" in name
            or PurePosixPath(name).is_absolute()
            or PureWindowsPath(name).drive
            or ".." in parts
        ):
            raise DataIntegrityError(
                f"{source}:{index + 2}: image {name!r} is empty or leaves the dataset root "
                "(absolute, a drive, '..' or a backslash)"
            )


def join_images(
    table: pd.DataFrame,
    dataset_root: Path,
    dataset: str,
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    source: str = "<table>",
) -> tuple[pd.DataFrame, ImageCheckReport]:
    """Add a `path` column (dataset_root / image) and check every file; return (table, report)."""
    dataset_root = Path(dataset_root)
    names = table["image"].astype(str)
    check_image_names(names, source)
    report = ImageCheckReport(dataset=dataset, n_rows=len(table))
    paths = [dataset_root / rel for rel in names]
    for rel, path in zip(names, paths, strict=True):
        if not path.is_file():
            report.missing.append(rel)
            continue
        reason = check_image(path, max_pixels)
        if reason is not None:
            report.corrupt[rel] = reason
    out = table.copy()
    out["path"] = [str(p) for p in paths]
    return out, report


def prepare_table(
    table: pd.DataFrame,
    dataset_root: Path,
    dataset: str,
    *,
    allow_missing: bool,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    source: str = "<table>",
    report_path: str | os.PathLike | None = None,
) -> tuple[pd.DataFrame, ImageCheckReport]:
    """Joined, checked table. Bad images fail the stage unless `allow_missing`, which drops them (reported).
    The JSON report goes to `report_path` (when given) before any failure."""
    joined, report = join_images(table, dataset_root, dataset, max_pixels=max_pixels, source=source)
    if report_path is not None:
        from mgiqa.io import write_json

        usable = allow_missing or not report.n_bad
        kept = report.n_rows - report.n_bad if usable else 0
        write_json(report_path, report.as_dict() | {"n_kept": kept, "ok": usable and kept > 0})
    if report.n_bad:
        if not allow_missing:
            raise DataIntegrityError(
                report.summary() + "\nFix the data, or set datasets.allow_missing_images: true to drop them."
            )
        log.warning("dropping bad images:\n%s", report.summary())
        bad = set(report.missing) | set(report.corrupt)
        joined = joined[~joined["image"].astype(str).isin(bad)].reset_index(drop=True)
    if joined.empty:
        raise DataIntegrityError(f"{dataset}: no usable images under {dataset_root}")
    return joined, report
