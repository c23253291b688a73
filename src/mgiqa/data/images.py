"""Join a canonical label table with the extracted image files, and check every image decodes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError

from mgiqa.errors import DataIntegrityError

log = logging.getLogger(__name__)


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
        if self.n_bad > 2 * limit:
            lines.append(f"  ... and {self.n_bad - 2 * limit} more (see the JSON report)")
        return "\n".join(lines)


def check_image(path: Path) -> str | None:
    """None if the image decodes fully, else the reason it does not."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.width < 1 or im.height < 1:
                return "empty image"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def join_images(
    table: pd.DataFrame, dataset_root: Path, dataset: str
) -> tuple[pd.DataFrame, ImageCheckReport]:
    """Add a `path` column (dataset_root / image) and check every file; return (table, report)."""
    dataset_root = Path(dataset_root)
    report = ImageCheckReport(dataset=dataset, n_rows=len(table))
    paths = [dataset_root / rel for rel in table["image"].astype(str)]
    for rel, path in zip(table["image"].astype(str), paths, strict=True):
        if not path.is_file():
            report.missing.append(rel)
            continue
        reason = check_image(path)
        if reason is not None:
            report.corrupt[rel] = reason
    out = table.copy()
    out["path"] = [str(p) for p in paths]
    return out, report


def prepare_table(
    table: pd.DataFrame, dataset_root: Path, dataset: str, *, allow_missing: bool
) -> tuple[pd.DataFrame, ImageCheckReport]:
    """Joined, checked table. Bad images fail the stage unless `allow_missing`, which drops them (reported)."""
    joined, report = join_images(table, dataset_root, dataset)
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
