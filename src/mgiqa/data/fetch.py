"""Produce `raw_root/KEY/` for one registry entry: mirror, download, extract, add labels, check, mark complete.

The entry's `sources` are tried in order until one yields an archive. A `huggingface` or `url` source is
taken from the offline mirror when it holds a file of that name (checked against its sha256), else downloaded
into `downloads_dir` (kept as a cache); a source that cannot be downloaded passes to the next one. A `manual`
source is satisfied by a mirror file of its `file` name, else raises ManualDownloadRequired saying what to
fetch and where to put it. A `generated` source calls the generator.

The dataset root (`root` inside the extraction, "." = the top) gets the label file from `labels.sources` when
the archive does not hold it, must then hold `labels.file` and the `images` folder, and is renamed onto
`raw_root/KEY` (replacing the empty folder Snakemake makes); `raw_root/KEY/.complete` is written last.
A folder with `.complete` is left alone (a rerun is a no-op). A folder without it but with content was placed
by hand (the manual route): it gets its label file the same way, is checked, and is adopted.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from mgiqa.data.archive_limits import ExtractLimits
from mgiqa.data.completion import COMPLETE, read_complete, remove_stale_staging, staging_dir, write_complete
from mgiqa.data.download import find_in_mirror, from_mirror, from_network, source_file_name, source_url
from mgiqa.data.extract import ARCHIVE_KINDS, safe_extract
from mgiqa.data.locks import exclusive_lock
from mgiqa.errors import ArchiveError, ConfigError, DataIntegrityError, DownloadError, ManualDownloadRequired
from mgiqa.io import atomic_path

log = logging.getLogger(__name__)

Generator = Callable[[str, dict, Path], object]
_REQUIRED = {"huggingface": ("repo", "file"), "url": ("url",), "manual": ("instructions",), "generated": ()}


def fetch_dataset(
    key: str,
    entry: dict,
    raw_root: str | os.PathLike,
    *,
    mirror: str | os.PathLike | None = None,
    downloads_dir: str | os.PathLike | None = None,
    generate: Generator | None = None,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    extraction: dict | None = None,
) -> Path:
    """Make `raw_root/key` complete (see the module docstring); return it. `extraction`: the config's
    `datasets.extraction` limits (`mgiqa.data.archive_limits`). One fetch of a dataset runs at a time (a lock
    file beside it); it first removes the staging folders of fetches that were killed."""
    raw_root = Path(raw_root)
    raw_root.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(raw_root / f".{key}.fetch.lock"):
        remove_stale_staging(raw_root / key)
        options = {"retries": retries, "backoff": backoff, "timeout": timeout}
        limits = ExtractLimits.for_dataset(entry, extraction)
        return _fetch_locked(key, entry, raw_root, mirror, downloads_dir, generate, options, limits)


def _fetch_locked(key, entry, raw_root: Path, mirror, downloads_dir, generate, options, limits) -> Path:
    sources, dest = _sources(key, entry), raw_root / key
    downloads = Path(downloads_dir) if downloads_dir else raw_root / ".downloads"
    if (dest / COMPLETE).is_file():
        read_complete(dest, key)
        check_dataset_root(key, entry, dest, origin=dest / COMPLETE)
        log.info("%s: already complete (%s)", key, dest)
        return dest
    if dest.exists() and not _is_empty_dir(dest):
        labels = _add_label_file(key, entry, dest, mirror, downloads, options)
        check_dataset_root(key, entry, dest, origin=dest, hint=" (remove the folder to fetch it again)")
        write_complete(dest, key, {"source": "existing", "url": None, "sha256": None, "labels": labels})
        return dest
    failures: list[str] = []
    for index, source in enumerate(sources):
        if source["kind"] == "generated":
            record = _from_generator(key, entry, source, dest, generate)
            break
        try:
            archive, record = _obtain_archive(key, entry, source, dest, mirror, downloads, options, failures)
        except DownloadError as exc:
            log.warning("%s: source %d (%s) failed: %s", key, index + 1, source["kind"], exc)
            failures.append(f"source {index + 1} ({source['kind']}): {exc}")
            continue
        try:
            record["labels"] = _install_archive(
                key, entry, source, archive, dest, mirror, downloads, options, limits
            )
        except ArchiveError:
            if record["origin"] == "network" and not source.get("sha256"):
                archive.unlink()  # unverifiable and unusable: do not reuse it on the next run
                log.warning(
                    "%s: removed %s (no sha256 to verify it); the next run downloads it again", key, archive
                )
            raise
        break
    else:
        raise DownloadError(f"{key}: every source failed:\n  " + "\n  ".join(failures))
    write_complete(dest, key, {"source": source["kind"], **record})
    return dest


def plan_fetch(
    key: str,
    entry: dict,
    raw_root: str | os.PathLike,
    *,
    mirror: str | os.PathLike | None = None,
    downloads_dir: str | os.PathLike | None = None,
) -> dict:
    """What fetch_dataset would do, without network access: the folder's state, the sources, the label sources."""
    raw_root = Path(raw_root)
    dest = raw_root / key
    downloads = Path(downloads_dir) if downloads_dir else raw_root / ".downloads"
    state = "complete" if (dest / COMPLETE).is_file() else ("present" if dest.exists() else "missing")

    def row(source: dict, archive: str | None) -> dict:
        out = {
            "kind": source["kind"],
            "recipe": source.get("recipe"),
            "instructions": source.get("instructions"),
        }
        if source["kind"] != "generated" and (source["kind"] != "manual" or source.get("file")):
            name, hit = source_file_name(source), find_in_mirror(mirror, source_file_name(source))
            out |= {
                "url": source_url(source),
                "file": name,
                "sha256": source.get("sha256"),
                "archive": archive,
            }
            out |= {"mirror": str(hit) if hit else None}
            to = {"manual": None, "huggingface": "the Hugging Face cache (huggingface_hub.hf_hub_download)"}
            out |= {"download_to": to.get(source["kind"], str(downloads / name))}
        return out

    rows = [row(s, _archive_kind(key, entry, s)) for s in _sources(key, entry)]
    label_rows = [row(s, None) for s in _label_sources(key, entry)]
    return {
        "key": key,
        "destination": str(dest),
        "state": state,
        "sources": rows,
        "label_sources": label_rows,
    }


def check_dataset_root(key: str, entry: dict, root: Path, *, origin, hint: str = "") -> None:
    """Refuse partial data: the registry's label file and image folder must exist under `root`."""
    label = _label_file(key, entry)
    if not (root / label).is_file():
        raise DataIntegrityError(
            f"{origin}: {key}: label file {label} is missing (expected {root / label}){hint}"
        )
    images = entry.get("images") or "."
    if not (root / images).is_dir():
        raise DataIntegrityError(
            f"{origin}: {key}: image folder {images} is missing (expected {root / images}){hint}"
        )


# --- the registry entry --------------------------------------------------------------------------------------


def _sources(key: str, entry: dict) -> list[dict]:
    sources = entry.get("sources")
    if not isinstance(sources, list) or not sources:
        raise ConfigError(f"registry entry {key}: `sources` must be a non-empty list")
    for index, source in enumerate(sources):
        _check_source(key, f"sources[{index}]", source)
        _archive_kind(key, entry, source)
    _label_file(key, entry)
    for index, source in enumerate(_label_sources(key, entry)):
        _check_source(key, f"labels.sources[{index}]", source)
        if source["kind"] == "generated":
            raise ConfigError(f"registry entry {key}: labels.sources[{index}] cannot be generated")
    return sources


def _check_source(key: str, where: str, source) -> None:
    kind = source.get("kind") if isinstance(source, dict) else None
    if kind not in _REQUIRED:
        raise ConfigError(f"registry entry {key}: {where}.kind {kind!r} is not one of {sorted(_REQUIRED)}")
    for field in _REQUIRED[kind]:
        if not source.get(field):
            raise ConfigError(f"registry entry {key}: {where} ({kind}) needs `{field}`")


def _archive_kind(key: str, entry: dict, source: dict) -> str:
    kind = source.get("archive", entry.get("archive", "none"))
    if kind not in (*ARCHIVE_KINDS, "none"):
        raise ConfigError(f"registry entry {key}: archive {kind!r} is not one of {[*ARCHIVE_KINDS, 'none']}")
    return kind


def _label_file(key: str, entry: dict) -> str:
    label = (entry.get("labels") or {}).get("file")
    if not label:
        raise ConfigError(f"registry entry {key}: `labels.file` is required")
    return label


def _label_sources(key: str, entry: dict) -> list[dict]:
    return list((entry.get("labels") or {}).get("sources") or [])


# --- obtaining files -----------------------------------------------------------------------------------------


def _obtain_archive(key, entry, source, dest, mirror, downloads, options, failures) -> tuple[Path, dict]:
    """(archive, provenance) from the mirror or the network; a manual source without a mirror copy raises."""
    if source["kind"] != "manual" or source.get("file"):
        found = from_mirror(source, mirror)
        if found is not None:
            return found
    if source["kind"] == "manual":
        raise ManualDownloadRequired(_manual_message(key, entry, source, dest, mirror, failures))
    return from_network(source, downloads, **options)


def _add_label_file(key, entry, root: Path, mirror, downloads, options) -> dict | None:
    """Copy the label file from `labels.sources` into `root` when it is not there; its provenance, or None."""
    label = _label_file(key, entry)
    if (root / label).is_file() or not _label_sources(key, entry):
        return None
    failures: list[str] = []
    for index, source in enumerate(_label_sources(key, entry)):
        try:
            path, record = _obtain_archive(key, entry, source, root, mirror, downloads, options, failures)
        except DownloadError as exc:
            failures.append(f"label source {index + 1} ({source['kind']}): {exc}")
            continue
        with atomic_path(root / label) as tmp:
            shutil.copyfile(path, tmp)
        return record
    raise DownloadError(f"{key}: every source of the label file {label} failed:\n  " + "\n  ".join(failures))


def _manual_message(key, entry, source, dest, mirror, failures) -> str:
    label, images = _label_file(key, entry), entry.get("images") or "."
    lines = [
        f"{key}: no automatable source is left; get it by hand.",
        "  " + " ".join(source["instructions"].split()),
    ]
    if source.get("file"):
        where = (
            f"the offline mirror {mirror}" if mirror else "an offline mirror (paths.mirror or MGIQA_MIRROR)"
        )
        digest = f" (sha256 {source['sha256']})" if source.get("sha256") else ""
        lines.append(f"  Put {source['file']}{digest} into {where} under that name and rerun, or instead")
    if _label_sources(key, entry):
        lines.append(
            f"  place the images in {dest / images} (the label file is fetched by itself) and rerun."
        )
    else:
        lines.append(
            f"  place the images in {dest / images} and the label file as {dest / label}, and rerun."
        )
    if failures:
        lines.append("  Earlier sources failed:\n    " + "\n    ".join(failures))
    return "\n".join(lines)


# --- installing ----------------------------------------------------------------------------------------------


def _install_archive(
    key, entry, source, archive: Path, dest: Path, mirror, downloads, options, limits: ExtractLimits
) -> dict | None:
    """Extract (or copy) the archive beside `dest`, add the label file, check, rename; the label provenance."""
    kind = _archive_kind(key, entry, source)
    with staging_dir(dest) as staging:
        content = staging / "content"
        if kind == "none":
            content.mkdir()
            shutil.copyfile(archive, content / archive.name)
            root = content
        else:
            safe_extract(archive, content, kind, limits)
            root = _dataset_root(key, source.get("root", entry.get("root")), content)
        labels = _add_label_file(key, entry, root, mirror, downloads, options)
        check_dataset_root(key, entry, root, origin=archive)
        os.replace(root, dest)
    return labels


def _from_generator(key: str, entry: dict, source: dict, dest: Path, generate: Generator | None) -> dict:
    if generate is None:
        raise ConfigError(f"registry entry {key}: a generated source needs a generator, and none was given")
    with staging_dir(dest) as staging:
        content = staging / "content"
        content.mkdir()
        generate(key, entry, content)
        check_dataset_root(key, entry, content, origin=f"generator of {key}")
        os.replace(content, dest)
    return {"origin": "generated", "recipe": source.get("recipe"), "url": None, "sha256": None}


def _dataset_root(key: str, root_rel: str | None, content: Path) -> Path:
    root_rel = root_rel or "."
    parts = PurePosixPath(root_rel).parts
    if PurePosixPath(root_rel).is_absolute() or ".." in parts:
        raise ConfigError(
            f"registry entry {key}: root {root_rel!r} must be a relative path inside the archive"
        )
    root = content.joinpath(*parts)
    if not root.is_dir():
        found = sorted(p.name for p in content.iterdir())[:10]
        raise DataIntegrityError(
            f"{key}: the archive has no folder {root_rel!r} (registry `root`); top level: {found}"
        )
    return root


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and next(path.iterdir(), None) is None
