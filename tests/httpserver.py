"""Download test fixtures: a real HTTP file server on 127.0.0.1 with switchable misbehaviour, and archives.

    with FixtureServer() as server:
        url = server.add("/koniq10k.tgz", data, fail_first=1, truncate_first=1, ignore_range=False)
        ...
        server.requests  # [(path, headers dict), ...] in arrival order

`fail_first=n` answers the first n requests for that path with HTTP 500; `truncate_first=n` sends the full
Content-Length header but only half of the body on the next n successful answers, then closes the connection;
`ignore_range=True` always answers 200 with the whole body. Range requests are otherwise answered 206.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"^bytes=(\d+)-$")


@dataclass
class _File:
    data: bytes
    fail_first: int = 0
    truncate_first: int = 0
    ignore_range: bool = False


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.requests.append((self.path, dict(self.headers)))
            spec = srv.files.get(self.path)
            if spec is None:
                self.send_error(404)
                return
            if spec.fail_first > 0:
                spec.fail_first -= 1
                self.send_error(500, "fixture: failing on purpose")
                return
            truncate = spec.truncate_first > 0
            spec.truncate_first -= int(truncate)
        data, start = spec.data, 0
        match = _RANGE.match(self.headers.get("Range", ""))
        if match and not spec.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)
        self.wfile.flush()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.files: dict[str, _File] = {}
        self.requests: list[tuple[str, dict]] = []


class FixtureServer:
    """Start on enter (ephemeral port, loopback only), stop on exit."""

    def __enter__(self) -> FixtureServer:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[tuple[str, dict]]:
        with self._server.lock:
            return list(self._server.requests)

    def add(self, path: str, data: bytes, **behaviour) -> str:
        """Serve `data` at `path`; return its URL."""
        with self._server.lock:
            self._server.files[path] = _File(data, **behaviour)
        return self.base_url + path


# --- fixture archives in the real published layouts ------------------------------------------------------------


def tiny_jpeg(seed: int, size: int = 8) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG")
    return buf.getvalue()


def koniq_members(n: int = 3) -> dict[str, bytes]:
    """koniq10k/1024x768/*.jpg + koniq10k/koniq10k_distributions_sets.csv (as in pyiqa's koniq10k.tgz)."""
    names = [f"{1000 + i}.jpg" for i in range(n)]
    rows = ["image_name,c1,c2,c3,c4,c5,c_total,MOS,SD,set"]
    rows += [f"{name},1,2,3,2,1,9,{50 + i}.5,0.8,test" for i, name in enumerate(names)]
    members = {f"koniq10k/1024x768/{name}": tiny_jpeg(i) for i, name in enumerate(names)}
    members["koniq10k/koniq10k_distributions_sets.csv"] = ("\n".join(rows) + "\n").encode()
    return members


def kadid_members(n: int = 2) -> dict[str, bytes]:
    """kadid10k/images/*.png + kadid10k/dmos.csv."""
    rows = ["dist_img,ref_img,dmos,var"]
    members = {}
    for i in range(n):
        members[f"kadid10k/images/I{i + 1:02d}_01_01.png"] = tiny_jpeg(100 + i)
        rows.append(f"I{i + 1:02d}_01_01.png,I{i + 1:02d}.png,{4.5 - i:.2f},0.1")
    members["kadid10k/dmos.csv"] = ("\n".join(rows) + "\n").encode()
    return members


def bid_members(n: int = 2) -> dict[str, bytes]:
    """BID/ImageDatabase/*.JPG + BID/DatabaseGrades.csv (served as a zip)."""
    members = {f"BID/ImageDatabase/DatabaseImage{i + 1:04d}.JPG": tiny_jpeg(200 + i) for i in range(n)}
    rows = ["Image Number,Average Subjective Grade"] + [f"{i + 1},{3.0 + i / 2}" for i in range(n)]
    members["BID/DatabaseGrades.csv"] = ("\n".join(rows) + "\n").encode()
    return members


def make_tar(path, members: dict[str, bytes], gz: bool = True):
    """Write a tar(.gz) with these regular files (folders implied by the names); return the path."""
    import io
    import tarfile

    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def make_zip(path, members: dict[str, bytes]):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
