"""The schema's `default:`s are applied at validation (snakemake.utils.validate(set_default=True)
semantics): a minimal config comes out with every default filled, the defaults are the values the code
fell back to, and the CLI and the workflow get the same effective config."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from mgiqa.config import load_schema, schema_defaults, validate_config

REPO = Path(__file__).resolve().parents[1]

MINIMAL = {
    "name": "minimal",
    "seed": 0,
    "seeds": [0],
    "paths": {"data": "data", "models": "models", "results": "results"},
    "datasets": {"train": ["demo_synthetic"], "benchmarks": ["demo_bid"]},
    "model": {
        "source": "hub",
        "hub_id": "Qwen/Qwen2.5-VL-7B-Instruct",
        "dtype": "bfloat16",
        "image_size": 448,
    },
    "pretrain": {"steps": 0},
    "generation": {"max_new_tokens": 64},
    "sft": {"steps": 1, "batch_size": 1, "learning_rate": 1.0e-5},
    "grpo": {"steps": 1, "num_generations": 2, "learning_rate": 1.0e-6, "beta": 0.04},
    "batches": {"images_per_batch": 2},
    "reward": {"attributes": ["sharpness"], "weights": {"sharpness": 0.5}, "ground_truth": "hard"},
    "ablations": {
        "mg_iqa": {"prompt": "attribute", "multi_reward": True, "alignment": True, "sft": True, "grpo": True}
        | {"train": "all"}
    },
    "evaluation": {"batch_size": 1},
    "compute": {},
}


def _get(tree, dotted):
    for part in dotted.split("."):
        tree = tree[part]
    return tree


def test_a_minimal_config_validates_to_one_with_every_default_filled():
    config = validate_config(copy.deepcopy(MINIMAL), "minimal")
    defaults = schema_defaults()
    # model.tiny is no section with a default (the tiny model's sizes have none): its keys only come with it
    for key, value in defaults.items():
        if key.startswith("model.tiny."):
            continue
        if value == {}:  # a section defaulting to {} is then filled with its own keys' defaults
            assert isinstance(_get(config, key), dict), key
            continue
        assert _get(config, key) == value, key
    assert config["compute"]["threads_per_job"] == 2 and config["evaluation"]["readout"] == "text"
    assert config["sft"]["lora"] == {"enabled": False} and config["grpo"]["probe"] is None
    # given values stay; validating again changes nothing
    assert config["model"]["dtype"] == "bfloat16" and config["reward"]["weights"]["overall"] == 1.0
    assert validate_config(copy.deepcopy(config), "again") == config


def test_defaults_fill_each_entry_of_a_list_and_never_share_one_object():
    config = copy.deepcopy(MINIMAL)
    config["evaluation"]["external"] = [
        {"name": "a", "hub_id": "org/a", "prompt": "overall"},
        {"name": "b", "local_path": "/m/b", "prompt": "overall", "splits": "all"},
    ]
    config["model"]["tiny"] = {"vocab_size": 300}
    out = validate_config(config, "lists")
    assert [e["splits"] for e in out["evaluation"]["external"]] == ["test", "all"]
    assert out["model"]["tiny"]["patch_embedding"] == "random" and out["model"]["tiny"]["patch_size"] == 14
    first = validate_config(copy.deepcopy(MINIMAL), "one")
    first["datasets"]["pretrain"].append("x")
    assert validate_config(copy.deepcopy(MINIMAL), "two")["datasets"]["pretrain"] == []


def test_schema_defaults_are_the_values_the_code_fell_back_to():
    """The `.get(key, default)` fallbacks the code had before the schema held the defaults."""
    from dataclasses import fields

    from mgiqa.data.archive_limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_MEMBERS, DEFAULT_MAX_RATIO
    from mgiqa.data.images import DEFAULT_MAX_IMAGE_PIXELS
    from mgiqa.model.pretrain import PretrainSettings
    from mgiqa.model.tiny import PATCH_SIZE, SPATIAL_MERGE_SIZE

    fallbacks = {
        "paths.logs": "logs",
        "paths.benchmarks": "benchmarks",
        "paths.mirror": None,
        "datasets.registry": None,
        "datasets.pretrain": [],
        "datasets.allow_missing_images": False,
        "datasets.max_image_pixels": DEFAULT_MAX_IMAGE_PIXELS,
        "datasets.extraction.max_bytes": DEFAULT_MAX_BYTES,
        "datasets.extraction.max_members": DEFAULT_MAX_MEMBERS,
        "datasets.extraction.max_ratio": DEFAULT_MAX_RATIO,
        "demo": {},
        "model.revision": "main",
        "model.resolution": "square",
        "model.gradient_checkpointing": False,
        "model.tiny.patch_embedding": "random",
        "model.tiny.patch_size": PATCH_SIZE,
        "model.tiny.spatial_merge_size": SPATIAL_MERGE_SIZE,
        "generation.temperature": 1.0,
        "generation.top_p": 1.0,
        "generation.top_k": 0,
        "generation.min_p": 0.0,
        "generation.repetition_penalty": 1.0,
        "sft.gradient_accumulation_steps": 1,
        "sft.target_style": "short",
        "sft.freeze_vision_tower": False,
        "sft.lora.enabled": False,
        "grpo.gradient_accumulation_steps": 1,
        "grpo.temperature": 1.0,
        "grpo.epsilon": 0.2,
        "grpo.loss_type": "grpo",
        "grpo.log_completions": False,
        "grpo.freeze_vision_tower": False,
        "grpo.probe": None,
        "batches.min_mos_spread": 0.5,
        "reward.weights.overall": 1.0,
        "reward.gamma": 1e-6,
        "reward.format_weight": 1.0,
        "evaluation.num_samples": 1,
        "evaluation.readout": "text",
        "evaluation.bootstrap": 1000,
        "evaluation.confidence": 0.95,
        "evaluation.classical": [],
        "evaluation.main_methods": [],
        "evaluation.reported_rows": False,
        "evaluation.external": [],
        "compute.backend": "cpu",
        "compute.report_to": "none",
        "compute.num_processes": 1,
        "compute.threads_per_job": 2,
        "compute.accelerate_config": None,
        "compute.gpus": 0,
        "compute.mem_mb": 8000,
        "compute.runtime_min": 60,
        "compute.partition": None,
        "compute.vllm": False,
        "compute.vllm_mode": "colocate",
        "compute.vllm_max_model_len": None,
        "compute.vllm_gpu_memory_utilization": None,
    }
    for field in fields(PretrainSettings):  # the pretraining settings' own defaults
        if field.name != "steps":
            value = list(field.default) if isinstance(field.default, tuple) else field.default
            fallbacks[f"pretrain.{field.name}"] = value
    defaults = schema_defaults()
    assert {k: defaults.get(k, "<no default>") for k in fallbacks} == fallbacks
    # no default hides anywhere else (e.g. inside a oneOf branch, where a failing branch would leave it)
    assert set(defaults) <= set(fallbacks) | {"datasets.extraction", "sft.lora"}
    assert "default" not in json.dumps([_one_of_branches(load_schema())])


def _one_of_branches(node):
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("oneOf", "anyOf"):
                found.extend(value)
            else:
                found.extend(_one_of_branches(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_one_of_branches(value))
    return found


def test_the_cli_and_the_workflow_write_the_same_effective_config(tmp_path):
    from mgiqa.cli import main
    from mgiqa.rule_config import config_json

    raw = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    assert (
        main(
            ["validate-config", str(REPO / "config" / "test.yaml"), "--write-effective", str(tmp_path / "a")]
        )
        == 0
    )
    # the workflow validates the config in memory (common.smk), then rule effective_config writes it
    workflow_config = validate_config(copy.deepcopy(raw), "snakemake config")
    assert (
        main(
            [
                "validate-config",
                "--json",
                config_json(workflow_config),
                "--write-effective",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    assert (tmp_path / "a").read_text() == (tmp_path / "b").read_text()
    effective = yaml.safe_load((tmp_path / "a").read_text())
    assert effective["compute"]["vllm_mode"] == "colocate" and effective["generation"]["top_p"] == 1.0
