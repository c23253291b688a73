"""Streaming, resumable, retried, sha256-verified downloads, and the offline mirror.

`download()` streams into `DEST.part`, resumes it with an HTTP Range request when it exists (and starts over
when the server ignores the Range), retries connection errors, 5xx/429 answers and truncated bodies with
exponential backoff, checks the sha256 and only then renames the file onto `DEST`. A failed download leaves
no `DEST`; a `.part` left by an interrupted transfer is resumed by the next call, a `.part` that failed its
checksum is deleted. Every byte received is kept: the body is read with `read1` (what has arrived, up to a
chunk), so a connection that breaks in the middle of a chunk still moves the `.part` forward.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import requests
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from mgiqa.data.locks import exclusive_lock
from mgiqa.errors import ConfigError, DownloadError

log = logging.getLogger(__name__)

HF_DEFAULT_ENDPOINT = "https://huggingface.co"
MIRROR_ENV = "MGIQA_MIRROR"
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class _RetryableError(Exception):
    """A transfer failure worth another attempt (connection error, 5xx, truncated body)."""


def huggingface_url(repo: str, file: str, revision: str = "main") -> str:
    """The resolve URL of `file` in the Hugging Face dataset `repo`; HF_ENDPOINT overrides the host."""
    endpoint = os.environ.get("HF_ENDPOINT", HF_DEFAULT_ENDPOINT).rstrip("/")
    return f"{endpoint}/datasets/{repo}/resolve/{quote(revision, safe='')}/{quote(file)}"


def huggingface_headers() -> dict[str, str]:
    """Authorization for Hugging Face requests when HF_TOKEN is set (sent to the HF endpoint only)."""
    token = os.environ.get("HF_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def url_file_name(url: str) -> str:
    """The file name a URL points to (last path component, percent-decoded)."""
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    if not name:
        raise DownloadError(f"{url}: cannot tell the file name from the URL")
    return name


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str | None, origin: str) -> str:
    """Return the file's digest; raise DownloadError naming `origin` when it differs from `expected`."""
    actual = sha256_file(path)
    if expected is not None and actual != expected.lower():
        raise DownloadError(f"{origin}: sha256 mismatch: expected {expected.lower()}, got {actual} ({path})")
    return actual


def resolve_mirror(configured: str | os.PathLike | None) -> Path | None:
    """The offline mirror folder: env MGIQA_MIRROR overrides the config's paths.mirror."""
    value = os.environ.get(MIRROR_ENV) or configured
    return Path(value) if value else None


def find_in_mirror(mirror: str | os.PathLike | None, file_name: str) -> Path | None:
    """`mirror/file_name` if the mirror is set and holds that file, else None."""
    if mirror is None:
        return None
    mirror = Path(mirror)
    if not mirror.is_dir():
        raise DownloadError(f"{mirror}: the offline mirror folder does not exist")
    candidate = mirror / file_name
    return candidate if candidate.is_file() else None


def source_url(source: dict) -> str | None:
    """The URL of a registry source ({kind: huggingface, repo, file, [revision]} or {kind: url, url}), if any."""
    if source["kind"] == "huggingface":
        return huggingface_url(source["repo"], source["file"], source.get("revision", "main"))
    return source.get("url")


def source_file_name(source: dict) -> str:
    """The file name a source is stored under in the mirror and the downloads folder."""
    if source.get("file"):
        name = source["file"].replace("\\", "/").rsplit("/", 1)[-1]
    elif source.get("url"):
        name = url_file_name(source["url"])
    else:
        raise ConfigError(f"source {source}: names no file")
    if name in ("", ".", ".."):
        raise ConfigError(f"source {source}: {name!r} is not a file name")
    return name


def from_mirror(source: dict, mirror: str | os.PathLike | None) -> tuple[Path, dict] | None:
    """(mirror file, provenance) when the mirror holds the source's file; its sha256 must match."""
    hit = find_in_mirror(mirror, source_file_name(source))
    if hit is None:
        return None
    digest = verify_sha256(hit, source.get("sha256"), str(hit))
    log.info("using %s from the offline mirror", hit)
    return hit, {"origin": "mirror", "path": str(hit), "url": source_url(source), "sha256": digest}


def from_network(source: dict, downloads_dir: str | os.PathLike, **options) -> tuple[Path, dict]:
    """(downloaded file, provenance) for a huggingface or url source.

    A huggingface source goes through `huggingface_hub.hf_hub_download` (`from_hub`: its cache, resume,
    token, endpoint and progress bar); a url source through download(), kept in `downloads_dir` as a cache.
    `options` go to download() (retries, backoff, timeout). Either way the sha256 is checked.
    """
    if source["kind"] == "huggingface":
        return from_hub(source, **options)
    url, expected = source_url(source), source.get("sha256")
    log.info("downloading %s", url)
    path = download(url, Path(downloads_dir) / source_file_name(source), expected, **options)
    if expected is None:
        log.warning("%s: the registry gives no sha256; recording the digest of what was downloaded", url)
    digest = expected.lower() if expected else sha256_file(path)
    return path, {"origin": "network", "path": str(path), "url": url, "sha256": digest}


def from_hub(
    source: dict, *, retries: int = 4, backoff: float = 1.0, timeout: float = 60, **_
) -> tuple[Path, dict]:
    """(file in the Hugging Face cache, provenance) for {kind: huggingface, repo, file, [revision]}.

    `hf_hub_download(repo_type="dataset")` resumes an interrupted transfer, keeps the file in the Hub cache
    (HF_HOME / HF_HUB_CACHE), shows a progress bar and honours HF_ENDPOINT and HF_TOKEN (read here, at call
    time). Transient failures are retried with exponential backoff; a missing repository, revision or file
    is not. The sha256 is checked on the result, as for every other source."""
    import huggingface_hub
    from huggingface_hub import errors as hub_errors

    permanent = (
        hub_errors.RepositoryNotFoundError,
        hub_errors.RevisionNotFoundError,
        hub_errors.EntryNotFoundError,
        hub_errors.GatedRepoError,
    )
    repo, file, revision = source["repo"], source["file"], source.get("revision", "main")
    url, expected = source_url(source), source.get("sha256")
    log.info("downloading %s (huggingface_hub)", url)
    for attempt in range(retries + 1):
        try:
            path = Path(
                huggingface_hub.hf_hub_download(
                    repo_id=repo,
                    filename=file,
                    repo_type="dataset",
                    revision=revision,
                    token=os.environ.get("HF_TOKEN") or None,
                    endpoint=os.environ.get("HF_ENDPOINT") or None,
                    etag_timeout=timeout,
                )
            )
            break
        except permanent as exc:
            raise DownloadError(f"{url}: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # connection errors, 5xx, timeouts: the Hub client's own types vary
            if attempt == retries:
                raise DownloadError(f"{url}: download failed after {retries + 1} attempts: {exc}") from exc
            delay = backoff * 2**attempt
            log.warning("%s: attempt %d failed (%s); retrying in %.2f s", url, attempt + 1, exc, delay)
            time.sleep(delay)
    digest = verify_sha256(path, expected, url)
    if expected is None:
        log.warning("%s: the registry gives no sha256; recording the digest of what was downloaded", url)
    return path, {"origin": "network", "path": str(path), "url": url, "sha256": digest}


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    *,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    chunk: int = 1 << 20,
    session: requests.Session | None = None,
    headers: dict[str, str] | None = None,
) -> Path:
    """Download `url` to `dest` (resumable, retried, verified); return `dest`.

    An existing `dest` whose digest matches `sha256` (or any existing `dest` when no digest is given: it
    only ever appears by an atomic rename after a complete transfer) is returned without network access.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(dest.with_name(dest.name + ".lock")):
        return _download_locked(url, dest, sha256, retries, backoff, timeout, chunk, session, headers or {})


def _download_locked(url, dest: Path, sha256, retries, backoff, timeout, chunk, session, headers) -> Path:
    if dest.is_file():
        if sha256 is None or sha256_file(dest) == sha256.lower():
            log.info("%s: already downloaded", dest)
            return dest
        log.warning("%s: exists with another sha256; downloading it again", dest)
        dest.unlink()
    part = dest.with_name(dest.name + ".part")
    own_session = session is None
    session = session or requests.Session()
    try:
        _transfer_with_retries(url, part, session, retries, backoff, timeout, chunk, headers)
    finally:
        if own_session:
            session.close()
    try:
        verify_sha256(part, sha256, url)
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


def _transfer_with_retries(url, part, session, retries, backoff, timeout, chunk, headers) -> None:
    for attempt in range(retries + 1):
        try:
            _transfer_once(url, part, session, timeout, chunk, headers)
            return
        except (
            _RetryableError,
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            if attempt == retries:
                kept = f" (the partial file {part} is resumed by the next run)" if part.exists() else ""
                raise DownloadError(
                    f"{url}: download failed after {retries + 1} attempts: {exc}{kept}"
                ) from exc
            delay = backoff * 2**attempt
            log.warning("%s: attempt %d failed (%s); retrying in %.2f s", url, attempt + 1, exc, delay)
            time.sleep(delay)


def _transfer_once(url, part: Path, session: requests.Session, timeout, chunk, headers) -> None:
    """One request: resume `part` if it exists, append the body, check the length against the headers."""
    offset = part.stat().st_size if part.exists() else 0
    request_headers = {"Accept-Encoding": "identity", **headers}
    if offset:
        request_headers["Range"] = f"bytes={offset}-"
    with session.get(url, headers=request_headers, stream=True, timeout=timeout) as resp:
        if resp.status_code == 416 and offset:
            total = _content_range_total(resp.headers.get("Content-Range"))
            if total == offset:
                return  # the partial file is already complete
            part.unlink()
            raise _RetryableError(f"range {offset}- not satisfiable (size {total}); starting over")
        if resp.status_code in _RETRY_STATUS:
            raise _RetryableError(f"HTTP {resp.status_code}")
        if resp.status_code not in (200, 206):
            raise DownloadError(f"{url}: HTTP {resp.status_code} {resp.reason}")
        if resp.status_code == 206:
            start = _content_range_start(resp.headers.get("Content-Range"))
            if start != offset:
                part.unlink(missing_ok=True)
                raise _RetryableError(f"server resumed at byte {start}, not {offset}; starting over")
            mode = "ab"
        else:
            if offset:
                log.info("%s: server ignored the Range request; downloading from the start", url)
            offset, mode = 0, "wb"
        length = resp.headers.get("Content-Length")
        encoded = resp.headers.get("Content-Encoding", "identity").lower() != "identity"
        # a body sent encoded despite Accept-Encoding: identity is decoded, so its length says nothing
        expected = offset + int(length) if length is not None and not encoded else None
        _append_body(resp, part, mode, chunk)
    size = part.stat().st_size
    if expected is not None and size > expected:
        part.unlink()
        raise _RetryableError(f"got {size} bytes, more than the announced {expected}; starting over")
    if expected is not None and size < expected:
        raise _RetryableError(f"truncated: {size} of {expected} bytes")


def _append_body(resp: requests.Response, part: Path, mode: str, chunk: int) -> None:
    """Write the body into `part` as it arrives; a broken connection keeps what came (then retries)."""
    with open(part, mode) as f:
        try:
            while block := resp.raw.read1(chunk, decode_content=True):
                f.write(block)
        except (ProtocolError, ReadTimeoutError) as exc:
            raise _RetryableError(
                f"connection broken after {f.tell():,} bytes of {part.name}: {exc}"
            ) from exc


def _content_range_start(value: str | None) -> int | None:
    # "bytes START-END/TOTAL"
    if not value or not value.startswith("bytes ") or "-" not in value:
        return None
    start = value[len("bytes ") :].split("-", 1)[0]
    return int(start) if start.isdigit() else None


def _content_range_total(value: str | None) -> int | None:
    # "bytes */TOTAL" (416) or "bytes START-END/TOTAL"
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1]
    return int(total) if total.isdigit() else None
