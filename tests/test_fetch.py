"""fetch_dataset(): registry entry -> complete raw folder, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from httpserver import (
    FixtureServer,
    bid_members,
    kadid_members,
    koniq_members,
    make_tar,
    make_zip,
    sha256_bytes,
)

from mgiqa.commands.fetch import format_plan
from mgiqa.data.fetch import COMPLETE, fetch_dataset, plan_fetch
from mgiqa.errors import ArchiveError, ConfigError, DataIntegrityError, DownloadError, ManualDownloadRequired

FAST = {"backoff": 0.001, "timeout": 5}
KONIQ_LABELS = "koniq10k_distributions_sets.csv"


@pytest.fixture
def server():
    with FixtureServer() as srv:
        yield srv


@pytest.fixture
def koniq_tgz(tmp_path):
    """(bytes of a koniq10k.tgz in pyiqa's layout, its members)."""
    members = koniq_members()
    (tmp_path / "build").mkdir()
    return make_tar(tmp_path / "build" / "koniq10k.tgz", members).read_bytes(), members


def koniq_entry(*sources, **overrides):
    entry = {"sources": list(sources), "archive": "tgz", "root": "koniq10k", "images": "1024x768"}
    return entry | {"labels": {"file": KONIQ_LABELS}} | overrides


def _content(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != COMPLETE
    }


def _stripped(members, prefix):
    return {name.removeprefix(prefix): data for name, data in members.items()}


def _leftovers(raw_root):
    return sorted(p.name for p in raw_root.iterdir() if p.name.startswith(".") and p.name != ".downloads")


def test_url_source_tgz(server, tmp_path, koniq_tgz):
    data, members = koniq_tgz
    url = server.add("/archives/koniq10k.tgz", data)
    raw = tmp_path / "raw"
    dest = fetch_dataset(
        "koniq", koniq_entry({"kind": "url", "url": url, "sha256": sha256_bytes(data)}), raw, **FAST
    )
    assert dest == raw / "koniq"
    assert _content(dest) == _stripped(members, "koniq10k/")
    record = json.loads((dest / COMPLETE).read_text())
    assert record == {
        "key": "koniq",
        "source": "url",
        "origin": "network",
        "path": str(raw / ".downloads" / "koniq10k.tgz"),
        "url": url,
        "sha256": sha256_bytes(data),
        "labels": None,
        "n_files": len(members),
    }
    assert _leftovers(raw) == []


def test_empty_destination_folder_is_filled(server, tmp_path, koniq_tgz):
    """Snakemake creates data/raw/KEY/ before running `mgiqa fetch` for data/raw/KEY/.complete."""
    data, members = koniq_tgz
    (tmp_path / "raw" / "koniq").mkdir(parents=True)
    entry = koniq_entry(
        {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": sha256_bytes(data)}
    )
    assert _content(fetch_dataset("koniq", entry, tmp_path / "raw", **FAST)) == _stripped(
        members, "koniq10k/"
    )


def test_rerun_is_a_no_op(server, tmp_path, koniq_tgz):
    data, _ = koniq_tgz
    entry = koniq_entry(
        {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": sha256_bytes(data)}
    )
    dest = fetch_dataset("koniq", entry, tmp_path / "raw", **FAST)
    marker = (dest / COMPLETE).stat()
    n_requests = len(server.requests)
    assert fetch_dataset("koniq", entry, tmp_path / "raw", **FAST) == dest
    assert len(server.requests) == n_requests
    assert (dest / COMPLETE).stat().st_mtime_ns == marker.st_mtime_ns


def test_complete_folder_that_lost_its_labels_is_an_error(server, tmp_path, koniq_tgz):
    data, _ = koniq_tgz
    entry = koniq_entry(
        {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": sha256_bytes(data)}
    )
    dest = fetch_dataset("koniq", entry, tmp_path / "raw", **FAST)
    (dest / KONIQ_LABELS).unlink()
    with pytest.raises(DataIntegrityError, match=KONIQ_LABELS):
        fetch_dataset("koniq", entry, tmp_path / "raw", **FAST)


def test_huggingface_source_goes_through_hf_hub_download(tmp_path, monkeypatch):
    """A Hub dataset source is fetched with huggingface_hub.hf_hub_download (the Hub is unreachable here: the
    call is replaced, its arguments checked); the sha256 check and the safe extraction still run."""
    import huggingface_hub

    members = kadid_members()
    (tmp_path / "hub").mkdir()
    archive = make_tar(tmp_path / "hub" / "kadid10k.tgz", members)
    data = archive.read_bytes()
    calls = []

    def fake_download(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OSError("connection reset")  # transient: retried
        return str(archive)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_TOKEN", "secret")
    source = {"kind": "huggingface", "repo": "chaofengc/IQA-PyTorch-Datasets", "file": "kadid10k.tgz"}
    entry = {
        "sources": [source | {"sha256": sha256_bytes(data), "revision": "abc123"}],
        "archive": "tgz",
        "root": "kadid10k",
        "labels": {"file": "dmos.csv"},
        "images": "images",
    }
    dest = fetch_dataset("kadid10k", entry, tmp_path / "raw", downloads_dir=tmp_path / "dl", **FAST)
    assert _content(dest) == _stripped(members, "kadid10k/")
    assert len(calls) == 2
    assert calls[-1] | {"etag_timeout": None} == {
        "repo_id": "chaofengc/IQA-PyTorch-Datasets",
        "filename": "kadid10k.tgz",
        "repo_type": "dataset",
        "revision": "abc123",
        "token": "secret",
        "endpoint": "http://127.0.0.1:9",
        "etag_timeout": None,
    }
    record = json.loads((dest / ".complete").read_text())
    assert record["sha256"] == sha256_bytes(data) and record["url"].endswith("/resolve/abc123/kadid10k.tgz")

    # the sha256 is checked on what the Hub client returns
    entry["sources"] = [source | {"sha256": "0" * 64}]
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch_dataset("kadid_bad", entry, tmp_path / "raw2", downloads_dir=tmp_path / "dl", **FAST)


def test_zip_source(server, tmp_path):
    members = bid_members()
    data = make_zip(tmp_path / "BID.zip", members).read_bytes()
    source = {"kind": "url", "url": server.add("/BID.zip", data), "sha256": sha256_bytes(data)}
    entry = {"sources": [source], "archive": "zip", "root": "BID", "labels": {"file": "DatabaseGrades.csv"}}
    dest = fetch_dataset("bid", entry, tmp_path / "raw", **FAST)
    assert _content(dest) == _stripped(members, "BID/")


def test_plain_file_source(server, tmp_path):
    table = b"img mos\na.png 3.0\n"
    source = {
        "kind": "url",
        "url": server.add("/labels/BID_test_all.txt", table),
        "sha256": sha256_bytes(table),
    }
    entry = {"sources": [source], "archive": "none", "labels": {"file": "BID_test_all.txt"}}
    dest = fetch_dataset("bid_labels", entry, tmp_path / "raw", **FAST)
    assert _content(dest) == {"BID_test_all.txt": table}


def test_mirror_hit_needs_no_network(server, tmp_path, koniq_tgz):
    data, members = koniq_tgz
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "koniq10k.tgz").write_bytes(data)
    source = {"kind": "url", "url": server.base_url + "/nowhere/koniq10k.tgz", "sha256": sha256_bytes(data)}
    dest = fetch_dataset("koniq", koniq_entry(source), tmp_path / "raw", mirror=mirror, **FAST)
    assert server.requests == []
    assert _content(dest) == _stripped(members, "koniq10k/")
    record = json.loads((dest / COMPLETE).read_text())
    assert record["origin"] == "mirror" and record["path"] == str(mirror / "koniq10k.tgz")


def test_mirror_file_with_wrong_checksum_is_refused(server, tmp_path, koniq_tgz):
    data, _ = koniq_tgz
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "koniq10k.tgz").write_bytes(data[:-10])
    source = {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": sha256_bytes(data)}
    with pytest.raises(DownloadError, match=r"mirror/koniq10k.tgz: sha256 mismatch"):
        fetch_dataset("koniq", koniq_entry(source), tmp_path / "raw", mirror=mirror, **FAST)
    assert not (tmp_path / "raw" / "koniq").exists()


def test_manual_source_says_what_to_do(tmp_path):
    source = {
        "kind": "manual",
        "instructions": "Request SRIQA-Bench from the authors (https://example.org/sriqa).",
        "file": "SRIQA-Bench.zip",
        "sha256": "ab" * 32,
    }
    entry = {"sources": [source], "archive": "zip", "root": "SRIQA-Bench", "labels": {"file": "mos.txt"}}
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with pytest.raises(ManualDownloadRequired) as info:
        fetch_dataset("sriqa", entry, tmp_path / "raw", mirror=mirror, **FAST)
    message = str(info.value)
    assert "https://example.org/sriqa" in message
    assert (
        f"Put SRIQA-Bench.zip (sha256 {'ab' * 32}) into the offline mirror {mirror} under that name"
        in message
    )
    raw = tmp_path / "raw" / "sriqa"
    assert f"place the images in {raw} and the label file as {raw / 'mos.txt'}" in message


def test_manual_source_satisfied_by_the_mirror(tmp_path):
    members = {"SRIQA-Bench/mos.txt": b"ref dis mos\n", "SRIQA-Bench/img/a.png": b"png"}
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    data = make_zip(mirror / "SRIQA-Bench.zip", members).read_bytes()
    source = {
        "kind": "manual",
        "instructions": "by hand",
        "file": "SRIQA-Bench.zip",
        "sha256": sha256_bytes(data),
    }
    entry = {"sources": [source], "archive": "zip", "root": "SRIQA-Bench", "labels": {"file": "mos.txt"}}
    dest = fetch_dataset("sriqa", entry, tmp_path / "raw", mirror=mirror, **FAST)
    assert _content(dest) == _stripped(members, "SRIQA-Bench/")


def test_folder_placed_by_hand_is_adopted(tmp_path):
    dest = tmp_path / "raw" / "liu13"
    (dest / "images").mkdir(parents=True)
    (dest / "images" / "1_1.png").write_bytes(b"x")
    (dest / "Deblur_test_all.txt").write_text("1_ 1_1.png 3.0\n")
    entry = {
        "sources": [{"kind": "manual", "instructions": "by hand"}],
        "labels": {"file": "Deblur_test_all.txt"},
    }
    assert fetch_dataset("liu13", entry, tmp_path / "raw") == dest
    record = json.loads((dest / COMPLETE).read_text())
    assert record["source"] == "existing" and record["n_files"] == 2


def test_partial_folder_is_an_error(tmp_path):
    (tmp_path / "raw" / "liu13" / "images").mkdir(parents=True)
    entry = {
        "sources": [{"kind": "manual", "instructions": "by hand"}],
        "labels": {"file": "Deblur_test_all.txt"},
    }
    with pytest.raises(DataIntegrityError, match="Deblur_test_all.txt is missing.*remove the folder"):
        fetch_dataset("liu13", entry, tmp_path / "raw")


def test_missing_label_file_after_extraction(server, tmp_path):
    members = {k: v for k, v in koniq_members().items() if not k.endswith(".csv")}
    data = make_tar(tmp_path / "koniq10k.tgz", members).read_bytes()
    source = {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": sha256_bytes(data)}
    raw = tmp_path / "raw"
    with pytest.raises(DataIntegrityError, match=f"label file {KONIQ_LABELS} is missing"):
        fetch_dataset("koniq", koniq_entry(source), raw, **FAST)
    assert not (raw / "koniq").exists() and _leftovers(raw) == []


def test_wrong_root_is_an_error(server, tmp_path, koniq_tgz):
    data, _ = koniq_tgz
    source = {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": sha256_bytes(data)}
    with pytest.raises(DataIntegrityError, match="no folder 'KonIQ'.*koniq10k"):
        fetch_dataset("koniq", koniq_entry(source, root="KonIQ"), tmp_path / "raw", **FAST)
    assert not (tmp_path / "raw" / "koniq").exists()


def test_malicious_archive_leaves_nothing(server, tmp_path):
    data = make_tar(tmp_path / "evil.tgz", {"koniq10k/../../evil.txt": b"x"}).read_bytes()
    source = {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": sha256_bytes(data)}
    raw = tmp_path / "raw"
    with pytest.raises(ArchiveError, match="outside"):
        fetch_dataset("koniq", koniq_entry(source), raw, **FAST)
    assert not list(tmp_path.rglob("evil.txt")) and not (raw / "koniq").exists() and _leftovers(raw) == []


def test_next_source_after_a_failure(server, tmp_path, koniq_tgz):
    data, _ = koniq_tgz
    dead = {"kind": "url", "url": server.base_url + "/gone/koniq10k.tgz", "sha256": sha256_bytes(data)}
    good = {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": sha256_bytes(data)}
    dest = fetch_dataset("koniq", koniq_entry(dead, good), tmp_path / "raw", **FAST)
    assert json.loads((dest / COMPLETE).read_text())["url"] == good["url"]


def test_every_source_failing_is_reported(server, tmp_path, koniq_tgz):
    data, _ = koniq_tgz
    bad_sum = {"kind": "url", "url": server.add("/koniq10k.tgz", data), "sha256": "0" * 64}
    dead = {"kind": "url", "url": server.base_url + "/gone.tgz"}
    manual = {"kind": "manual", "instructions": "Ask the authors."}
    with pytest.raises(
        DownloadError, match=r"(?s)source 1 \(url\).*sha256 mismatch.*source 2 \(url\).*HTTP 404"
    ):
        fetch_dataset("koniq", koniq_entry(bad_sum, dead), tmp_path / "raw", **FAST)
    with pytest.raises(
        ManualDownloadRequired, match=r"(?s)Ask the authors.*Earlier sources failed.*HTTP 404"
    ):
        fetch_dataset("koniq", koniq_entry(dead, manual), tmp_path / "raw", **FAST)
    assert not (tmp_path / "raw" / "koniq").exists()


def _demo_entry():
    return {
        "sources": [{"kind": "generated", "recipe": "demo"}],
        "labels": {"file": "labels.csv"},
        "images": "images",
    }


def test_generated_source(tmp_path):
    calls = []

    def generate(key, entry, out_dir):
        calls.append((key, out_dir.name))
        (out_dir / "images").mkdir()
        (out_dir / "images" / "0.png").write_bytes(b"png")
        (out_dir / "labels.csv").write_text("image,mos\nimages/0.png,3\n")

    dest = fetch_dataset("demo_koniq", _demo_entry(), tmp_path / "raw", generate=generate)
    assert calls == [("demo_koniq", "content")]
    assert _content(dest) == {"images/0.png": b"png", "labels.csv": b"image,mos\nimages/0.png,3\n"}
    record = json.loads((dest / COMPLETE).read_text())
    assert record["source"] == "generated" and record["recipe"] == "demo" and record["n_files"] == 2


def test_generated_source_errors(tmp_path):
    raw = tmp_path / "raw"
    with pytest.raises(ConfigError, match="needs a generator"):
        fetch_dataset("demo_koniq", _demo_entry(), raw)

    def forgets_labels(key, entry, out_dir):
        (out_dir / "images").mkdir()

    with pytest.raises(DataIntegrityError, match="generator of demo_koniq.*labels.csv is missing"):
        fetch_dataset("demo_koniq", _demo_entry(), raw, generate=forgets_labels)
    assert list(raw.iterdir()) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"sources": [], "labels": {"file": "x"}}, "non-empty list"),
        ({"sources": [{"kind": "ftp"}], "labels": {"file": "x"}}, r"sources\[0\].kind 'ftp'"),
        ({"sources": [{"kind": "huggingface", "repo": "a/b"}], "labels": {"file": "x"}}, "needs `file`"),
        (
            {
                "sources": [{"kind": "url", "url": "http://127.0.0.1:9/x.tgz"}],
                "archive": "rar",
                "labels": {"file": "x"},
            },
            "rar",
        ),
        ({"sources": [{"kind": "generated"}]}, "labels.file"),
    ],
)
def test_bad_registry_entries(tmp_path, entry, message):
    with pytest.raises(ConfigError, match=message):
        fetch_dataset("bad", entry, tmp_path / "raw", generate=lambda *a: None, retries=0, **FAST)


def test_plan_needs_no_network(server, tmp_path, koniq_tgz, monkeypatch):
    data, _ = koniq_tgz
    monkeypatch.setenv("HF_ENDPOINT", server.base_url)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "koniq10k.tgz").write_bytes(data)
    sources = [
        {
            "kind": "huggingface",
            "repo": "chaofengc/IQA-PyTorch-Datasets",
            "file": "koniq10k.tgz",
            "sha256": "a" * 64,
        },
        {"kind": "url", "url": server.base_url + "/koniq10k_1024x768.zip", "archive": "zip"},
        {"kind": "manual", "instructions": "Download from\n  the KonIQ site."},
    ]
    plan = plan_fetch(
        "koniq", koniq_entry(*sources), tmp_path / "raw", mirror=mirror, downloads_dir=tmp_path / "dl"
    )
    assert server.requests == []
    assert plan["state"] == "missing" and plan["destination"] == str(tmp_path / "raw" / "koniq")
    hf, url, manual = plan["sources"]
    assert hf["url"] == server.base_url + "/datasets/chaofengc/IQA-PyTorch-Datasets/resolve/main/koniq10k.tgz"
    assert (
        hf["mirror"] == str(mirror / "koniq10k.tgz") and hf["sha256"] == "a" * 64 and hf["archive"] == "tgz"
    )
    assert url["mirror"] is None and url["download_to"] == str(tmp_path / "dl" / "koniq10k_1024x768.zip")
    assert url["archive"] == "zip" and manual["instructions"].startswith("Download from")
    text = format_plan(plan)
    assert "source 1: huggingface" in text and f"sha256: {'a' * 64}" in text
    assert (
        "mirror: no copy in the offline mirror" in text
        and "instructions: Download from the KonIQ site." in text
    )


# --- label files fetched apart from the archive (labels.sources), as the registry does for most datasets --------


def _kadid_entry(archive_url, archive_sha, label_url, label_sha):
    return {
        "sources": [{"kind": "url", "url": archive_url, "sha256": archive_sha}],
        "archive": "tgz",
        "root": "kadid10k",
        "images": "images",
        "labels": {
            "file": "meta_info_KADID10kDataset.csv",
            "sources": [{"kind": "url", "url": label_url, "sha256": label_sha}],
        },
    }


META = b"ref_name,dist_name,dmos,std\nI01.png,I01_01_01.png,4.57,0.496\n"


def test_label_file_from_its_own_source(server, tmp_path):
    members = kadid_members()
    data = make_tar(tmp_path / "kadid10k.tgz", members).read_bytes()
    archive_url = server.add("/kadid10k.tgz", data)
    label_url = server.add("/meta/meta_info_KADID10kDataset.csv", META, fail_first=1)
    entry = _kadid_entry(archive_url, sha256_bytes(data), label_url, sha256_bytes(META))
    dest = fetch_dataset("kadid10k", entry, tmp_path / "raw", downloads_dir=tmp_path / "dl", **FAST)
    assert _content(dest) == _stripped(members, "kadid10k/") | {"meta_info_KADID10kDataset.csv": META}
    record = json.loads((dest / COMPLETE).read_text())
    assert record["labels"]["url"] == label_url and record["labels"]["sha256"] == sha256_bytes(META)
    assert record["n_files"] == len(members) + 1


def test_label_file_in_the_archive_is_kept(server, tmp_path):
    members = kadid_members() | {"kadid10k/meta_info_KADID10kDataset.csv": b"from the archive\n"}
    data = make_tar(tmp_path / "kadid10k.tgz", members).read_bytes()
    entry = _kadid_entry(
        server.add("/kadid10k.tgz", data), sha256_bytes(data), server.base_url + "/meta.csv", None
    )
    dest = fetch_dataset("kadid10k", entry, tmp_path / "raw", **FAST)
    assert (dest / "meta_info_KADID10kDataset.csv").read_bytes() == b"from the archive\n"
    assert [p for p, _ in server.requests] == ["/kadid10k.tgz"]


def test_label_source_failure_is_fatal_and_leaves_nothing(server, tmp_path):
    data = make_tar(tmp_path / "kadid10k.tgz", kadid_members()).read_bytes()
    label_url = server.add("/meta_info_KADID10kDataset.csv", META)
    entry = _kadid_entry(server.add("/kadid10k.tgz", data), sha256_bytes(data), label_url, "f" * 64)
    raw = tmp_path / "raw"
    with pytest.raises(
        DownloadError, match=r"(?s)label file meta_info_KADID10kDataset.csv failed.*sha256 mismatch"
    ):
        fetch_dataset("kadid10k", entry, raw, **FAST)
    assert not (raw / "kadid10k").exists() and _leftovers(raw) == []


def test_images_placed_by_hand_get_their_label_file(server, tmp_path):
    """The manual route of BID, Liu13, SHRQ, AGIQA: images by hand, the pinned label table by itself."""
    table = b"DatabaseImage0001.JPG 63.2\n"
    dest = tmp_path / "raw" / "bid"
    (dest / "images").mkdir(parents=True)
    (dest / "images" / "DatabaseImage0001.JPG").write_bytes(b"jpg")
    entry = {
        "sources": [{"kind": "manual", "instructions": "Download BID by hand."}],
        "archive": "none",
        "root": ".",
        "images": "images",
        "labels": {
            "file": "BID_test_all.txt",
            "sources": [
                {"kind": "url", "url": server.add("/BID_test_all.txt", table), "sha256": sha256_bytes(table)}
            ],
        },
    }
    assert fetch_dataset("bid", entry, tmp_path / "raw", **FAST) == dest
    assert (dest / "BID_test_all.txt").read_bytes() == table
    record = json.loads((dest / COMPLETE).read_text())
    assert (
        record["source"] == "existing" and record["labels"]["origin"] == "network" and record["n_files"] == 2
    )


def test_manual_message_with_a_label_source(tmp_path):
    entry = {
        "sources": [{"kind": "manual", "instructions": "Download BID by hand."}],
        "images": "images",
        "labels": {
            "file": "BID_test_all.txt",
            "sources": [{"kind": "url", "url": "http://127.0.0.1:9/BID.txt"}],
        },
    }
    with pytest.raises(ManualDownloadRequired, match="fetched by itself") as info:
        fetch_dataset("bid", entry, tmp_path / "raw", **FAST)
    assert f"place the images in {tmp_path / 'raw' / 'bid' / 'images'}" in str(info.value)
    assert "offline mirror" not in str(info.value)


def test_source_overrides_archive_and_root(server, tmp_path):
    """KonIQ's second source: the Konstanz zip holds 1024x768/ at its top level, not under koniq10k/."""
    members = _stripped(koniq_members(), "koniq10k/")
    data = make_zip(tmp_path / "koniq10k_1024x768.zip", members).read_bytes()
    source = {"kind": "url", "url": server.add("/koniq10k_1024x768.zip", data), "archive": "zip", "root": "."}
    dest = fetch_dataset(
        "koniq", koniq_entry(source | {"sha256": sha256_bytes(data)}), tmp_path / "raw", **FAST
    )
    assert _content(dest) == members


def test_unverifiable_broken_download_is_not_reused(server, tmp_path):
    source = {"kind": "url", "url": server.add("/koniq10k.tgz", b"an error page, not a tgz"), "sha256": None}
    with pytest.raises(ArchiveError, match="corrupt"):
        fetch_dataset("koniq", koniq_entry(source), tmp_path / "raw", downloads_dir=tmp_path / "dl", **FAST)
    assert list((tmp_path / "dl").iterdir()) == []


# --- the real registry: every entry plans without network ------------------------------------------------------


def test_every_registry_entry_plans_offline(tmp_path, monkeypatch):
    from mgiqa.data.registry import load_registry

    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    for key, entry in load_registry().items():
        plan = plan_fetch(key, entry, tmp_path / "raw", downloads_dir=tmp_path / "dl")
        assert plan["state"] == "missing" and plan["sources"], key
        for row in plan["sources"] + plan["label_sources"]:
            assert row["kind"] != "manual" or row["instructions"], key
            assert row["kind"] not in ("huggingface", "url") or row["url"].startswith("https://"), key
        assert format_plan(plan).startswith(f"{key}: destination")


def test_cli_dry_run(capsys, monkeypatch, tmp_path):
    from mgiqa.cli import main

    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv("MGIQA_MIRROR", raising=False)
    assert main(["fetch", "kadid10k", "--dry-run", "--raw-root", str(tmp_path / "raw")]) == 0
    out = capsys.readouterr().out
    assert f"kadid10k: destination {tmp_path / 'raw' / 'kadid10k'} (missing)" in out
    assert "https://huggingface.co/datasets/chaofengc/IQA-PyTorch-Datasets/resolve/main/kadid10k.tgz" in out
    assert "841396f9237e68c8e6614d5dc907a8fd83d4f403cce89ee2c14524406405b14a" in out
    assert "label source 1: url" in out
    assert not (tmp_path / "raw").exists()
    assert main(["fetch", "no_such_dataset", "--dry-run"]) == 2
    assert "not in the registry" in capsys.readouterr().err
