"""Released checkpoints and internal models under another protocol (evaluation.external): each is a DAG
branch (fetch -> predict -> metrics -> tables) and a row of main.csv with its protocol."""

from __future__ import annotations

import copy
import json
import re
import shutil

import pandas as pd
import pytest
import yaml
from test_tiny_model import tiny_config
from test_workflow import REPO, job_counts, scratch_config, snakemake

from mgiqa import pipeline
from mgiqa.config import load_config
from mgiqa.errors import ConfigError
from mgiqa.evaluation import external


@pytest.fixture(scope="module")
def paper():
    return load_config(REPO / "config" / "paper.yaml")


def test_paper_external_methods_reuse_models_or_fetch_them(paper):
    assert external.fetched_methods(paper) == ["visualquality_r1_7b"]
    assert pipeline.method_model(paper, "visualquality_r1_7b", 0) == "models/external/visualquality_r1_7b"
    assert pipeline.method_model(paper, "rl2r_vqr1_protocol", 2) == "models/grpo/rl2r/seed2"
    assert pipeline.method_seeds(paper, "rl2r_vqr1_protocol") == [0, 1, 2]
    assert pipeline.method_model(paper, "zero_shot_overall", 0) == "models/base"
    assert pipeline.method_prompt(paper, "zero_shot_overall") == "overall"
    assert external.split_of(paper, "visualquality_r1_7b", "koniq10k") == "all"
    assert external.split_of(paper, "mg_iqa", "koniq10k") == "test"


def test_the_kadid_only_rl2r_protocol_matches_visualquality_r1s(paper):
    from mgiqa.evaluation.protocol import method_protocol
    from mgiqa.evaluation.reported import load_reported, reported_protocol

    data = load_reported()
    published = {m["name"]: reported_protocol(data, m) for m in data["methods"]}
    matched = ("train", "eval_split", "prompt", "resolution", "readout")
    for measured, reported in (("rl2r_vqr1_protocol", "VisualQuality-R1"),
                               ("visualquality_r1_7b", "VisualQuality-R1"),
                               ("zero_shot_overall", "Qwen2.5-VL-7B zero-shot")):  # fmt: skip
        ours = method_protocol(paper, measured)
        assert {k: ours[k] for k in matched} == {k: published[reported][k] for k in matched}, measured
    # the paper's own methods: KonIQ trains on its train split, so they are evaluated on test splits only
    assert method_protocol(paper, "mg_iqa")["eval_split"] == "test"
    assert method_protocol(paper, "mg_iqa")["train"] == "agiqa1k+kadid10k+koniq10k"


def test_an_entry_needs_exactly_one_model_source_and_a_new_name(paper):
    config = copy.deepcopy(paper)
    config["evaluation"]["external"] = [{"name": "x", "prompt": "overall"}]
    with pytest.raises(ConfigError, match="exactly one of"):
        external.external_methods(config)
    config["evaluation"]["external"] = [{"name": "mg_iqa", "method": "rl2r", "prompt": "overall"}]
    with pytest.raises(ConfigError, match="already a method"):
        external.external_methods(config)
    config["evaluation"]["external"] = [{"name": "x", "method": "nope", "prompt": "overall"}]
    with pytest.raises(ConfigError, match="not zero_shot or an ablation"):
        external.external_methods(config)


def test_paper_dry_run_has_a_branch_per_external_method():
    out = snakemake("-n", "-F", "-p", "results/tables/main.csv", "--configfile", "config/paper.yaml").stdout
    counts = job_counts(out)
    assert counts["fetch_external_model"] == 1
    assert counts["predict"] == 1 + 7 * 3 + 1 + 3 + 1  # zero_shot, ablations x seeds, the three externals
    assert "mgiqa fetch-model --config results/config.effective.yaml --method visualquality_r1_7b" in out
    predict = re.findall(r"mgiqa predict .*--method rl2r_vqr1_protocol .*", out)
    assert len(predict) == 3 and all("--model models/grpo/rl2r/seed" in p for p in predict)


def test_a_hub_entry_is_fetched_by_snapshot_download_pinned_to_the_resolved_commit(tmp_path, monkeypatch):
    import huggingface_hub

    from mgiqa.model.tiny import build_tiny_model

    local = build_tiny_model(tmp_path / "released", tiny_config())
    calls = []

    class Info:
        sha = "0123456789abcdef0123456789abcdef01234567"

    def snapshot_download(repo_id, revision, local_dir, **kwargs):  # a local copy stands in for the Hub
        calls.append((repo_id, revision))
        shutil.copytree(local, local_dir, dirs_exist_ok=True)
        return str(local_dir)

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, repo, revision: Info())
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    config = tiny_config()
    config["evaluation"]["external"] = [{"name": "vq", "hub_id": "TianheWu/VisualQuality-R1-7B", "revision": "v1",
                                         "prompt": "overall"}]  # fmt: skip
    out = external.fetch(config, "vq", tmp_path / "models" / "external" / "vq")
    assert calls == [("TianheWu/VisualQuality-R1-7B", Info.sha)]
    source = json.loads((out / "mgiqa_source.json").read_text())
    assert source == {"source": "hub", "hub_id": "TianheWu/VisualQuality-R1-7B", "revision": "v1",
                      "commit": Info.sha}  # fmt: skip


def test_a_local_checkpoint_evaluates_through_the_dag_into_main_csv(tmp_path):
    from mgiqa.model.tiny import build_tiny_model

    checkpoint = build_tiny_model(tmp_path / "released", tiny_config())
    path = scratch_config(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["datasets"] |= {"train": ["demo_synthetic"], "benchmarks": ["demo_bid"]}
    config["pretrain"] |= {"steps": 2}
    config["grpo"] |= {"steps": 1}
    config["ablations"] = {"mg_iqa": {"prompt": "attribute", "multi_reward": True, "alignment": True,
                                      "sft": False, "grpo": True, "train": "synthetic"}}  # fmt: skip
    config["evaluation"] |= {
        "classical": [], "main_methods": ["zero_shot", "mg_iqa"],
        "external": [
            {"name": "released_tiny", "local_path": str(checkpoint), "prompt": "overall", "readout": "text",
             "train": "none", "splits": "all"},
            {"name": "zero_shot_overall", "method": "zero_shot", "prompt": "overall"},
        ],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    target = str(tmp_path / "results" / "tables" / "main.csv")
    snakemake(target, "--cores", "2", "--configfile", str(path), "--nolock")

    main = pd.read_csv(target).set_index("method")
    assert {"zero_shot", "mg_iqa", "released_tiny", "zero_shot_overall"} <= set(main.index)
    assert main.loc["released_tiny", ["train", "eval_split", "prompt", "readout"]].tolist() == [
        "none", "all", "overall", "text"]  # fmt: skip
    assert (
        main.loc["zero_shot", "prompt"] == "attribute"
        and main.loc["zero_shot_overall", "prompt"] == "overall"
    )
    assert (main["source"] == "measured").all()
    copied = json.loads(
        (tmp_path / "models" / "external" / "released_tiny" / "mgiqa_source.json").read_text()
    )
    assert copied["source"] == "local"
    predictions = pd.read_csv(
        tmp_path / "results" / "predictions" / "released_tiny" / "seed0" / "demo_bid.csv"
    )
    table = pd.read_csv(tmp_path / "data" / "prepared" / "demo_bid.csv")
    assert len(predictions) == len(table)  # `all`: every image of the benchmark
    metrics = json.loads(
        (tmp_path / "results" / "metrics" / "released_tiny" / "seed0" / "demo_bid.json").read_text()
    )
    assert metrics["split"] == "all" and metrics["n"] == len(table)
