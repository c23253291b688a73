"""download(): a real HTTP server on 127.0.0.1 that fails, truncates and ignores Range on request."""

from __future__ import annotations

from pathlib import Path

import pytest
from httpserver import FixtureServer, sha256_bytes

from mgiqa.data.download import (
    download,
    find_in_mirror,
    huggingface_headers,
    huggingface_url,
    resolve_mirror,
    url_file_name,
)
from mgiqa.errors import DownloadError

DATA = bytes(range(256)) * 400  # 100 KiB
FAST = {"backoff": 0.001, "timeout": 5, "chunk": 4096}


@pytest.fixture
def server():
    with FixtureServer() as srv:
        yield srv


def _ranges(server, path):
    return [headers.get("Range") for p, headers in server.requests if p == path]


def _range_start(header: str) -> int:
    assert header.startswith("bytes=") and header.endswith("-")
    return int(header[len("bytes=") : -1])


def test_success_with_sha256(server, tmp_path):
    url = server.add("/a.bin", DATA)
    dest = download(url, tmp_path / "a.bin", sha256_bytes(DATA).upper(), **FAST)
    assert dest.read_bytes() == DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    url = server.add("/a.bin", DATA)
    wrong = "0" * 64
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "a.bin", wrong, **FAST)
    message = str(info.value)
    assert url in message and wrong in message and sha256_bytes(DATA) in message
    assert list(tmp_path.iterdir()) == []


def test_truncated_body_is_resumed_with_range(server, tmp_path):
    url = server.add("/a.bin", DATA, truncate_first=1)
    dest = download(url, tmp_path / "a.bin", sha256_bytes(DATA), **FAST)
    assert dest.read_bytes() == DATA
    first, second = _ranges(server, "/a.bin")
    assert first is None and 0 < _range_start(second) <= len(DATA) // 2


def test_interrupted_download_resumes_on_the_next_call(server, tmp_path):
    url = server.add("/a.bin", DATA, truncate_first=1)
    dest = tmp_path / "a.bin"
    with pytest.raises(DownloadError, match="resumed by the next run"):
        download(url, dest, sha256_bytes(DATA), retries=0, **FAST)
    part = tmp_path / "a.bin.part"
    kept = part.read_bytes()
    assert not dest.exists() and 0 < len(kept) <= len(DATA) // 2 and DATA.startswith(kept)
    download(url, dest, sha256_bytes(DATA), retries=0, **FAST)
    assert dest.read_bytes() == DATA and not part.exists()
    assert _ranges(server, "/a.bin")[-1] == f"bytes={len(kept)}-"


def test_a_connection_breaking_inside_every_1_mib_chunk_still_progresses(server, tmp_path):
    # each answer sends half of what is left (under 1 MiB) and closes: with 1 MiB reads nothing was kept
    data = bytes(range(256)) * (6 << 10)  # 1.5 MiB
    url = server.add("/big.bin", data, truncate_first=5)
    dest = tmp_path / "big.bin"
    with pytest.raises(DownloadError, match="resumed by the next run"):
        download(url, dest, sha256_bytes(data), retries=4, backoff=0.001, timeout=5)
    kept = (tmp_path / "big.bin.part").read_bytes()
    left = len(data)
    for _ in range(5):  # every byte each truncated answer sent is in the .part
        left -= left // 2
    assert len(kept) == len(data) - left and data.startswith(kept)
    starts = [_range_start(r) for r in _ranges(server, "/big.bin")[1:]]
    assert starts == sorted(set(starts)) and len(starts) == 4  # every retry resumed further on
    download(url, dest, sha256_bytes(data), retries=0, timeout=5)
    assert dest.read_bytes() == data


def test_retry_after_server_errors(server, tmp_path):
    url = server.add("/a.bin", DATA, fail_first=2)
    dest = download(url, tmp_path / "a.bin", sha256_bytes(DATA), **FAST)
    assert dest.read_bytes() == DATA
    assert len(_ranges(server, "/a.bin")) == 3


def test_gives_up_after_the_retries(server, tmp_path):
    url = server.add("/a.bin", DATA, fail_first=10)
    with pytest.raises(DownloadError, match="after 3 attempts.*HTTP 500"):
        download(url, tmp_path / "a.bin", sha256_bytes(DATA), retries=2, **FAST)
    assert not (tmp_path / "a.bin").exists()


def test_client_error_is_not_retried(server, tmp_path):
    url = server.base_url + "/missing.bin"
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(url, tmp_path / "missing.bin", **FAST)
    assert len(server.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    url = server.add("/a.bin", DATA, ignore_range=True)
    (tmp_path / "a.bin.part").write_bytes(b"stale bytes that must not survive")
    dest = download(url, tmp_path / "a.bin", sha256_bytes(DATA), **FAST)
    assert dest.read_bytes() == DATA
    assert _ranges(server, "/a.bin") == ["bytes=33-"]


def test_truncation_with_a_server_ignoring_range(server, tmp_path):
    url = server.add("/a.bin", DATA, ignore_range=True, truncate_first=2)
    dest = download(url, tmp_path / "a.bin", sha256_bytes(DATA), **FAST)
    assert dest.read_bytes() == DATA
    assert len(_ranges(server, "/a.bin")) == 3


def test_complete_part_file_answered_416(server, tmp_path):
    url = server.add("/a.bin", DATA)
    (tmp_path / "a.bin.part").write_bytes(DATA)
    dest = download(url, tmp_path / "a.bin", sha256_bytes(DATA), **FAST)
    assert dest.read_bytes() == DATA


def test_existing_verified_file_needs_no_network(server, tmp_path):
    (tmp_path / "a.bin").write_bytes(DATA)
    download(server.base_url + "/a.bin", tmp_path / "a.bin", sha256_bytes(DATA), **FAST)
    assert server.requests == []


def test_existing_file_with_another_digest_is_replaced(server, tmp_path):
    url = server.add("/a.bin", DATA)
    (tmp_path / "a.bin").write_bytes(b"old version")
    assert download(url, tmp_path / "a.bin", sha256_bytes(DATA), **FAST).read_bytes() == DATA


def test_concurrent_downloads_of_one_file_take_turns(server, tmp_path):
    """koniq10k and koniq10kpp share koniq10k.tgz: two jobs may fetch it at once."""
    from concurrent.futures import ThreadPoolExecutor

    url = server.add("/shared.tgz", DATA * 8)
    digest = sha256_bytes(DATA * 8)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: download(url, tmp_path / "shared.tgz", digest, **FAST), range(4)))
    assert all(r.read_bytes() == DATA * 8 for r in results)
    assert len(server.requests) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.tgz"]


def test_connection_refused_is_a_download_error(tmp_path):
    with FixtureServer() as srv:
        url = srv.base_url + "/a.bin"
    with pytest.raises(DownloadError, match="after 2 attempts"):
        download(url, tmp_path / "a.bin", retries=1, **FAST)


def test_huggingface_endpoint_and_token(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.base_url + "/")
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    path = "/datasets/chaofengc/IQA-PyTorch-Datasets/resolve/main/koniq10k.tgz"
    server.add(path, DATA)
    url = huggingface_url("chaofengc/IQA-PyTorch-Datasets", "koniq10k.tgz")
    assert url == server.base_url + path
    download(url, tmp_path / "koniq10k.tgz", sha256_bytes(DATA), headers=huggingface_headers(), **FAST)
    assert server.requests[0][1]["Authorization"] == "Bearer hf_test_token"


def test_huggingface_defaults(monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert (
        huggingface_url("o/r", "sub dir/x.tgz")
        == "https://huggingface.co/datasets/o/r/resolve/main/sub%20dir/x.tgz"
    )
    assert huggingface_headers() == {}


def test_url_file_name():
    assert url_file_name("https://example.org/archives/koniq10k_1024x768.zip?x=1") == "koniq10k_1024x768.zip"
    assert url_file_name("https://example.org/a%20b.tgz") == "a b.tgz"
    with pytest.raises(DownloadError, match="file name"):
        url_file_name("https://example.org/")


def test_mirror_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("MGIQA_MIRROR", raising=False)
    assert resolve_mirror(None) is None
    assert resolve_mirror("cfg") == Path("cfg")
    monkeypatch.setenv("MGIQA_MIRROR", str(tmp_path))
    assert resolve_mirror("cfg") == tmp_path
    (tmp_path / "x.tgz").write_bytes(b"x")
    assert find_in_mirror(tmp_path, "x.tgz") == tmp_path / "x.tgz"
    assert find_in_mirror(tmp_path, "y.tgz") is None
    assert find_in_mirror(None, "x.tgz") is None
    with pytest.raises(DownloadError, match="mirror folder does not exist"):
        find_in_mirror(tmp_path / "nope", "x.tgz")
