"""The paper's base model: a pinned huggingface_hub snapshot (or a local copy) in the model-directory layout."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

from mgiqa.errors import ConfigError, DownloadError
from mgiqa.io import write_json
from mgiqa.model.loading import Describe, atomic_dir, check_model_dir

log = logging.getLogger(__name__)

# Weights as safetensors only (never pickles), plus configs, tokenizer and chat template.
ALLOW_PATTERNS = [
    "*.safetensors",
    "*.safetensors.index.json",
    "*.json",
    "*.jinja",
    "merges.txt",
    "vocab.json",
]
SOURCE_FILE = "mgiqa_source.json"


def snapshot_hub_model(
    hub_id: str,
    revision: str,
    out_dir: str | os.PathLike,
    *,
    endpoint: str | None = None,
    describe: Describe | None = None,
) -> Path:
    """Download `hub_id`@`revision` into `out_dir`, pinned to the commit the revision resolves to.

    The files land in `.{name}.partial/` first (a restart resumes there) and the directory is renamed into
    place only once complete; `mgiqa_source.json` records the repo, revision and resolved commit.
    `describe(folder)` (e.g. `stage_info.record_base`) writes into the complete folder before the rename.
    """
    import httpx2
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    out_dir = Path(out_dir)
    partial = out_dir.parent / f".{out_dir.name}.partial"
    try:
        commit = HfApi(endpoint=endpoint).model_info(hub_id, revision=revision).sha
        log.info("snapshot %s@%s (commit %s) -> %s", hub_id, revision, commit, out_dir)
        snapshot_download(
            repo_id=hub_id,
            revision=commit,
            local_dir=partial,
            allow_patterns=ALLOW_PATTERNS,
            endpoint=endpoint,
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, httpx2.HTTPError, OSError) as exc:
        raise DownloadError(f"{hub_id}@{revision}: snapshot download failed: {exc}") from exc
    check_model_dir(partial)
    write_json(
        partial / SOURCE_FILE, {"source": "hub", "hub_id": hub_id, "revision": revision, "commit": commit}
    )
    shutil.rmtree(partial / ".cache", ignore_errors=True)
    if describe is not None:
        describe(partial)
    with atomic_dir(out_dir) as tmp:
        os.rmdir(tmp)
        os.replace(partial, tmp)
    return out_dir


def copy_local_model(
    local_path: str | os.PathLike, out_dir: str | os.PathLike, describe: Describe | None = None
) -> Path:
    """Copy (hard-link where the filesystem allows) a local model directory into `out_dir`, all or nothing;
    `describe(folder)` writes into the copy before it is renamed into place."""
    src = check_model_dir(local_path)
    with atomic_dir(out_dir) as tmp:
        os.rmdir(tmp)
        shutil.copytree(src, tmp, copy_function=_link_or_copy)
        write_json(Path(tmp) / SOURCE_FILE, {"source": "local", "local_path": str(Path(src).resolve())})
        if describe is not None:
            describe(tmp)
    return Path(out_dir)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(src, dst)


def build_base_model(config: dict, out_dir: str | os.PathLike, describe: Describe | None = None) -> Path:
    """The base model per config model.source: tiny (built offline), hub (snapshot) or local (copied).

    `describe(folder)` (`stage_info.record_base`) writes the model's info and card into the folder before it
    is renamed into place, so `out_dir` never exists without them."""
    source = config["model"]["source"]
    if source == "tiny":
        from mgiqa.model.tiny import build_tiny_model

        return build_tiny_model(out_dir, config, describe=describe)
    if source == "hub":
        hub_id = config["model"].get("hub_id")
        if not hub_id:
            raise ConfigError("model.hub_id: required when model.source is hub")
        return snapshot_hub_model(hub_id, config["model"]["revision"], out_dir, describe=describe)
    if source == "local":
        local_path = config["model"].get("local_path")
        if not local_path:
            raise ConfigError("model.local_path: required when model.source is local")
        return copy_local_model(local_path, out_dir, describe=describe)
    raise ConfigError(f"model.source: unknown source {source!r}")
