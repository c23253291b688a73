"""The dataset registry: contents, schema validation with clear errors, merging, lookups."""

from __future__ import annotations

import copy

import pytest
import yaml

from mgiqa.data import registry as registry_module
from mgiqa.data.label_layouts import FAMILIES
from mgiqa.data.registry import get_dataset, load_registry, validate_entry
from mgiqa.errors import ConfigError

BENCHMARKS = ("bid", "clive", "koniq10k", "spaq", "liu13", "sriqa_bench", "shrq", "agiqa3k")
TRAINING = ("kadid10k", "tid2013", "pipal")
PUBLISHED_SHA256 = {  # docs/method.md: pyiqa's Hugging Face mirror
    "koniq10k": "18f4b664fed41ffdf37dd5cae6921901d86afddd952fdfa3d77eda25cc48370b",
    "spaq": "54e0cb49dc8359f9293e746d452d8b12ec653056c9b12a4f97798a984c7418f7",
    "kadid10k": "841396f9237e68c8e6614d5dc907a8fd83d4f403cce89ee2c14524406405b14a",
    "clive": "cdd7a6227de40df10cfd5daf8d19894e95200fa0ca5655bbe50fd433d3b31f25",
}


@pytest.fixture(scope="module")
def registry() -> dict:
    return load_registry()


@pytest.fixture
def kadid(registry) -> dict:
    return copy.deepcopy(registry["kadid10k"])


def test_real_datasets_are_registered(registry):
    for key in BENCHMARKS:
        assert registry[key]["role"] == "benchmark", key
    for key in TRAINING:
        assert registry[key]["role"] == "train", key
    assert registry["kadid10k"]["domain"] == "synthetic"
    assert registry["agiqa3k"]["domain"] == "ai-generated"
    assert {registry[k]["domain"] for k in ("liu13", "sriqa_bench", "shrq")} == {"restoration"}
    assert {registry[k]["domain"] for k in ("bid", "clive", "koniq10k", "spaq")} == {"authentic"}
    assert all(entry["labels"]["parser"] in FAMILIES for entry in registry.values())


def test_sources_follow_pyiqa_and_the_manual_sets(registry):
    for key, digest in PUBLISHED_SHA256.items():
        first = registry[key]["sources"][0]
        assert (first["kind"], first["repo"], first["sha256"]) == (
            "huggingface", "chaofengc/IQA-PyTorch-Datasets", digest,
        )  # fmt: skip
    assert registry["koniq10k"]["sources"][1]["url"].startswith("https://datasets.vqa.mmsp-kn.de/archives/")
    assert registry["kadid10k"]["sources"][1]["url"].startswith("https://datasets.vqa.mmsp-kn.de/archives/")
    for key in ("sriqa_bench", "liu13", "shrq"):
        assert [s["kind"] for s in registry[key]["sources"]] == ["manual"], key
        assert len(registry[key]["sources"][0]["instructions"]) > 100
    # label files fetched by themselves are pinned to a commit and a digest
    for key, entry in registry.items():
        for source in entry["labels"].get("sources", []):
            if source["kind"] == "url" and not key.startswith("demo_"):
                assert source["sha256"] and "raw.githubusercontent.com" in source["url"], key


def test_get_dataset_returns_a_copy_and_lists_known_keys(registry):
    entry = get_dataset("kadid10k", registry)
    entry["title"] = "changed"
    assert registry["kadid10k"]["title"] == "KADID-10k"
    with pytest.raises(ConfigError, match="unknown dataset 'kadid'.*kadid10k.*koniq10k"):
        get_dataset("kadid", registry)
    assert get_dataset("liu13")["labels"]["parser"] == "liu13"  # the packaged registry by default


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda e: e.update(role="eval"), "kadid10k.role", "is not one of"),
        (lambda e: e["labels"].pop("parser"), "kadid10k.labels", "'parser' is a required property"),
        (lambda e: e["labels"].update(parser="nope"), "kadid10k.labels.parser", "is not one of"),
        (lambda e: e["sources"][0].update(sha256="abc"), "kadid10k.sources.0.sha256", "does not match"),
        (lambda e: e["sources"][0].pop("file"), "kadid10k.sources.0", "'file' is a required property"),
        (lambda e: e["sources"][1].update(kind="ftp"), "kadid10k.sources.1.kind", "is not one of"),
        (lambda e: e.update(std={"kind": "std"}), "kadid10k.std", "'scale' is a required property"),
        (lambda e: e["mos"].update(nominal="yes"), "kadid10k.mos.nominal", "is not of type 'boolean'"),
        (
            lambda e: e.__setitem__(
                "splits", {"kind": "by_reference", "ratios": [0.6, 0.2, 0.2], "seed": -1}
            ),
            "kadid10k.splits.seed",
            "less than the minimum",
        ),
        (lambda e: e.update(colour=1), "kadid10k", "Additional properties"),
        (
            lambda e: e["attributes"].update(contrast={"column": "C", "range": [0, 1]}),
            "kadid10k.attributes",
            "",
        ),
        (lambda e: e["distortion"].update(levels=1), "kadid10k.distortion.levels", "less than the minimum"),
    ],
)
def test_schema_errors_name_the_entry_and_field(kadid, change, field, message):
    change(kadid)
    with pytest.raises(ConfigError, match="invalid registry entry 'kadid10k'") as info:
        validate_entry("kadid10k", kadid, "reg.yaml")
    text = str(info.value)
    assert text.startswith("reg.yaml: ") and f"  {field}" in text and message in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["mos"].update(min=5, max=1), "kadid10k.mos: max must be greater than min"),
        (lambda e: e["std"].update(scale=[5, 1]), "kadid10k.std.scale"),
        (lambda e: e.pop("distortion"), "kadid10k.attributes.sharpness: distortion_types needs"),
        (lambda e: e["distortion"].update(pattern="(?P<type>x"), "kadid10k.distortion.pattern: not a valid"),
        (lambda e: e["distortion"].update(pattern="(?P<kind>x)"), "named groups"),
        (
            lambda e: e.__setitem__(
                "splits", {"kind": "by_reference", "ratios": [0.6, 0.3, 0.2], "seed": 42}
            ),
            "kadid10k.splits.ratios: must sum to 1",
        ),
        (
            lambda e: e["splits"]["lists"]["val"].append("I01.png"),
            "kadid10k.splits.lists.val: reference 'I01.png' is also in train",
        ),
        (lambda e: e.update(root="../x"), "kadid10k.root"),
        (lambda e: e["labels"].update(file="/etc/passwd"), "kadid10k.labels.file"),
    ],
)
def test_cross_field_rules(kadid, change, message):
    change(kadid)
    with pytest.raises(ConfigError, match="invalid registry entry") as info:
        validate_entry("kadid10k", kadid)
    assert message in str(info.value)


def test_demo_registry_is_merged_and_extra_paths_override(tmp_path, monkeypatch, registry):
    demo = copy.deepcopy(registry["bid"])
    demo.update(role="pretrain", sources=[{"kind": "generated", "recipe": "tiny"}], expected_rows=None)
    demo_path = tmp_path / "registry_demo.yaml"
    demo_path.write_text(yaml.safe_dump({"demo_bid": demo}))
    monkeypatch.setattr(registry_module, "DEMO_REGISTRY_PATH", demo_path)
    merged = load_registry()
    assert merged["demo_bid"]["sources"] == [{"kind": "generated", "recipe": "tiny"}]
    assert "kadid10k" in merged

    override = copy.deepcopy(registry["bid"])
    override["title"] = "BID, locally"
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"bid": override}))
    assert load_registry([extra])["bid"]["title"] == "BID, locally"
    assert load_registry(str(extra))["bid"]["title"] == "BID, locally"

    demo_path.write_text(yaml.safe_dump({"bid": demo}))  # a packaged file may not redefine a key
    with pytest.raises(ConfigError, match="'bid' is already defined"):
        load_registry()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "must be a mapping"),
        ("a: [\n", "not valid YAML"),
        ("Bad-Key: {}\n", "lower-case"),
        ("x: {title: X}\n", "invalid registry entry 'x'"),
    ],
)
def test_bad_registry_files(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_registry([path])
    assert str(path) in str(info.value)
    with pytest.raises(ConfigError, match="not found"):
        load_registry([tmp_path / "absent.yaml"])
