"""The CPU rehearsal of the paper path (issue 13): config/paper.yaml's whole DAG on this machine, changing only
sizes and sources. Every paper dataset is a fixture archive or a hand-placed folder in its real published
layout, its label file in the published format, all served by a local HTTP server; the model is a tiny random
Qwen2.5-VL of the same class; training runs 2 CPU processes through the same `accelerate launch` line; the
released checkpoint of `evaluation.external` is a local folder. It must reach main.csv: a configured dataset
that contributes no training rows (AGIQA-1K with `all_test`, blocker 2) fails it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from httpserver import FixtureServer, make_tar, sha256_bytes
from PIL import Image
from test_workflow import REPO, snakemake

from mgiqa.data.labels import parse_label_file
from mgiqa.data.registry import load_registry

LABELS = REPO / "tests" / "fixtures" / "labels"
# dataset -> the fixture label table in its published layout, and how its images arrive: a tgz archive in the
# layout of pyiqa's IQA-PyTorch-Datasets (served like the Hub file) or a folder a person fills by hand
PAPER_DATASETS = {
    "kadid10k": ("pyiqa_kadid.csv", "archive"),
    "koniq10k": ("koniq_official.csv", "archive"),
    "agiqa1k": ("agiqa1k_bom.csv", "manual"),
    "bid": ("vqr1_bid_mixed_newlines.txt", "manual"),
    "clive": ("pyiqa_clive.csv", "archive"),
    "spaq": ("pyiqa_spaq.csv", "archive"),
    "liu13": ("vqr1_liu13.txt", "manual"),
    "sriqa_bench": ("sriqa.txt", "manual"),
    "shrq": ("vqr1_shrq.txt", "manual"),
    "agiqa3k": ("agiqa3k_data.csv", "manual"),
}


def image_bytes(name: str, seed: int) -> bytes:
    """A small image in the format its file name says (JPEG, PNG or BMP), with some structure."""
    import io

    rng = np.random.default_rng(seed)
    h, w = 48 + 8 * (seed % 3), 64
    ramp = np.linspace(0, 255, w)[None, :, None] * rng.uniform(0.3, 1.0, (1, 1, 3))
    pixels = np.clip(ramp + rng.normal(0, 10 + 5 * (seed % 4), (h, w, 3)), 0, 255).astype(np.uint8)
    suffix = Path(name).suffix.lower()
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format={".jpg": "JPEG", ".bmp": "BMP"}.get(suffix, "PNG"))
    return buf.getvalue()


def publish_datasets(server: FixtureServer, data: Path) -> Path:
    """Serve every paper dataset from `server` (manual ones placed under data/raw/<key>/<images>/) and write
    a registry override pointing there; return its path."""
    registry = load_registry()
    override = {}
    for index, (key, (label_fixture, delivery)) in enumerate(PAPER_DATASETS.items()):
        entry = {**registry[key], "expected_rows": None}
        label_bytes = (LABELS / label_fixture).read_bytes()
        images = parse_label_file(key, LABELS / label_fixture, entry)["image"].tolist()
        members = {name: image_bytes(name, 97 * index + i) for i, name in enumerate(images)}
        labels = dict(entry["labels"])
        if labels.get("sources"):  # the label file is downloaded by itself
            url = server.add(f"/labels/{key}/{labels['file']}", label_bytes)
            labels["sources"] = [{"kind": "url", "url": url, "sha256": sha256_bytes(label_bytes)}]
        if delivery == "archive":
            tgz = make_tar(
                data.parent / f"{key}.tgz", {f"{entry['root']}/{n}": b for n, b in members.items()}
            )
            if not labels.get("sources"):
                raise AssertionError(f"{key}: an archive dataset whose labels come with it")
            archive = tgz.read_bytes()
            url = server.add(f"/archives/{key}.tgz", archive)
            entry["sources"] = [
                {"kind": "url", "url": url, "sha256": sha256_bytes(archive), "archive": "tgz"}
            ]
        else:
            for name, content in members.items():  # image paths are relative to the dataset's folder
                (data / "raw" / key / name).parent.mkdir(parents=True, exist_ok=True)
                (data / "raw" / key / name).write_bytes(content)
            if not labels.get("sources"):  # SRIQA-Bench: its terms forbid redistribution; placed by hand
                (data / "raw" / key / labels["file"]).write_bytes(label_bytes)
        entry["labels"] = labels
        entry["expected_rows"] = len(images)
        override[key] = entry
    path = data.parent / "registry_rehearsal.yaml"
    path.write_text(yaml.safe_dump(override, sort_keys=False))
    return path


def tiny_qwen(out: Path, config: dict) -> Path:
    """A tiny random Qwen2.5-VL checkpoint (the test config's widths) with this config's processor limits."""
    from mgiqa.config import validate_config
    from mgiqa.model.tiny import build_tiny_model

    test = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    model = config["model"] | {"source": "tiny", "tiny": test["model"]["tiny"], "local_path": None}
    return build_tiny_model(out, validate_config(config | {"model": model}))


def rehearsal_config(tmp_path: Path, registry: Path, released: Path) -> Path:
    """config/paper.yaml with only sizes and sources changed."""
    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    config["paths"] = {"data": str(tmp_path / "data"), "models": str(tmp_path / "models"),
                       "results": str(tmp_path / "results"), "logs": str(tmp_path / "logs"),
                       "mirror": None}  # fmt: skip
    config["datasets"]["registry"] = str(registry)
    config["seeds"] = [0]
    # sources: a local tiny random Qwen2.5-VL instead of the Hub's 7B (fetch_base_model copies it); sizes
    config["model"] |= {"source": "local", "local_path": str(tmp_path / "qwen_tiny"), "max_pixels": 112 * 112}
    config["generation"]["max_new_tokens"] = 24
    config["sft"] |= {"steps": 2, "batch_size": 2, "gradient_accumulation_steps": 1, "save_steps": 2}
    config["grpo"] |= {"steps": 2, "num_generations": 2, "gradient_accumulation_steps": 1, "save_steps": 2}
    config["batches"]["images_per_batch"] = 2
    config["evaluation"] |= {"batch_size": 8, "bootstrap": 50}
    config["evaluation"]["external"][0] = {
        **{k: v for k, v in config["evaluation"]["external"][0].items() if k not in ("hub_id", "revision")},
        "local_path": str(released),
    }
    # the node: 2 CPU processes through the same accelerate launch line (DDP: DeepSpeed is a GPU install)
    config["compute"] |= {"backend": "cpu", "num_processes": 2, "threads_per_job": 1, "accelerate_config": "ddp",
                          "gpus": 0, "mem_mb": 4000, "runtime_min": 60, "partition": None, "vllm": False}  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.slow
def test_the_paper_dag_reaches_main_csv_on_fixture_datasets_with_a_tiny_model(tmp_path):
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    with FixtureServer() as server:
        registry = publish_datasets(server, tmp_path / "data")
        config_path = rehearsal_config(tmp_path, registry, tmp_path / "released")
        config = yaml.safe_load(config_path.read_text())
        tiny_qwen(tmp_path / "qwen_tiny", config)
        tiny_qwen(tmp_path / "released", config)
        target = str(tmp_path / "results" / "tables" / "main.csv")
        snakemake(target, "--cores", "2", "--configfile", str(config_path), "--nolock", timeout=2400)
        fetched = {path for path, _ in server.requests}
    # every download went to the local server: each archive and each published label file
    assert {f"/archives/{k}.tgz" for k, (_, how) in PAPER_DATASETS.items() if how == "archive"} <= fetched

    main = pd.read_csv(target).set_index("method")
    external = [m["name"] for m in paper["evaluation"]["external"]]
    assert set(paper["evaluation"]["main_methods"]) | set(external) <= set(main.index)
    for benchmark in paper["datasets"]["benchmarks"]:
        assert f"{benchmark}_srcc" in main.columns, benchmark
    assert main.loc["visualquality_r1_7b", ["train", "eval_split", "prompt"]].tolist() == [
        "kadid10k", "all", "overall"]  # fmt: skip
    ablations = pd.read_csv(tmp_path / "results" / "tables" / "ablations.csv")
    assert set(paper["ablations"]) - {"mg_iqa"} <= set(ablations["method"])

    # reported rows stand beside their measured twins (same protocol)
    assert {"VisualQuality-R1", "Qwen2.5-VL-7B zero-shot"} <= set(main.index)
    # two ranks trained each model (one batch log per process), and the self-description is in the folder
    for stage in ("sft/attribute/seed0", "grpo/mg_iqa/seed0", "grpo/rl2r/seed0"):
        folder = tmp_path / "models" / stage
        assert {f"batch_log_rank{r}.csv" for r in (0, 1)} | {"mgiqa_model.json", "README.md"} <= {
            p.name for p in folder.iterdir()}, stage  # fmt: skip

    # every configured training dataset trained: each one's rows are in the GRPO batch plan of `train: all`
    for ablation, spec in paper["ablations"].items():
        if not spec["grpo"]:
            continue
        plan = pd.read_csv(tmp_path / "data" / "batches" / f"{ablation}.csv")
        wanted = paper["datasets"]["train"] if spec["train"] == "all" else spec["train"]
        assert set(plan["dataset"]) == set(wanted), ablation
    # KonIQ trains on its train split and is scored on its test split; the VQ-R1 protocol scores every image
    koniq = pd.read_csv(tmp_path / "data" / "prepared" / "koniq10k.csv")
    ours = json.loads((tmp_path / "results" / "metrics" / "mg_iqa" / "seed0" / "koniq10k.json").read_text())
    theirs = json.loads(
        (tmp_path / "results" / "metrics" / "visualquality_r1_7b" / "seed0" / "koniq10k.json").read_text()
    )
    assert ours["n"] == int((koniq["split"] == "test").sum()) < theirs["n"] == len(koniq)
