"""Config validation (schema + cross checks) and the workflow's path/target functions."""

from __future__ import annotations

import pytest
import yaml

from mgiqa import pipeline as P
from mgiqa.config import derive_seed, load_config, validate_config
from mgiqa.errors import ConfigError


@pytest.mark.parametrize("name", ["config.yaml", "test.yaml", "paper.yaml"])
def test_shipped_configs_validate(repo_root, name):
    config = load_config(repo_root / "config" / name)
    assert config["ablations"]


def test_missing_field_is_named(demo_config):
    del demo_config["grpo"]["num_generations"]
    with pytest.raises(ConfigError, match=r"grpo: 'num_generations' is a required property"):
        validate_config(demo_config, "my.yaml")


def test_wrong_type_is_named_with_path(demo_config):
    demo_config["ablations"]["mg_iqa"]["prompt"] = "verbose"
    with pytest.raises(ConfigError, match=r"my.yaml: invalid config:\n  ablations.mg_iqa.prompt"):
        validate_config(demo_config, "my.yaml")


def test_unknown_key_rejected(demo_config):
    demo_config["grpo"]["num_generation"] = 4  # typo
    with pytest.raises(ConfigError, match="num_generation"):
        validate_config(demo_config)


def test_ablation_without_training_rejected(demo_config):
    demo_config["ablations"]["nothing"] = dict(demo_config["ablations"]["mg_iqa"], sft=False, grpo=False)
    with pytest.raises(ConfigError, match=r"ablations.nothing: neither sft nor grpo"):
        validate_config(demo_config)


def test_missing_attribute_weight_rejected(demo_config):
    del demo_config["reward"]["weights"]["noise"]
    with pytest.raises(ConfigError, match=r"reward.weights: no weight for attribute 'noise'"):
        validate_config(demo_config)


def test_unparseable_yaml_names_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_derive_seed_is_stable_and_distinct(demo_config):
    a = derive_seed(demo_config, "grpo", "mg_iqa", 0)
    assert a == derive_seed(demo_config, "grpo", "mg_iqa", 0)
    assert a != derive_seed(demo_config, "grpo", "mg_iqa", 1)
    assert 0 <= a < 2**31
    demo_config["seed"] += 1
    assert a != derive_seed(demo_config, "grpo", "mg_iqa", 0)


FAKE_REGISTRY = {
    "demo_synthetic": {"domain": "synthetic"},
    "demo_authentic": {"domain": "authentic"},
    "demo_generated": {"domain": "ai-generated"},
}


def test_ablation_train_datasets(demo_config):
    assert P.ablation_train_datasets(demo_config, FAKE_REGISTRY, "mg_iqa") == [
        "demo_synthetic",
        "demo_authentic",
        "demo_generated",
    ]
    assert P.ablation_train_datasets(demo_config, FAKE_REGISTRY, "rl2r") == ["demo_synthetic"]
    demo_config["ablations"]["rl2r"]["train"] = "restoration"
    with pytest.raises(ConfigError, match="selects no dataset"):
        P.ablation_train_datasets(demo_config, FAKE_REGISTRY, "rl2r")


def test_method_models_and_prompts(demo_config):
    assert P.method_model(demo_config, "zero_shot", 0) == "models/base"
    assert P.method_model(demo_config, "mg_iqa", 1) == "models/grpo/mg_iqa/seed1"
    assert P.method_model(demo_config, "sft_only", 0) == "models/sft/attribute/seed0"
    assert P.grpo_start_model(demo_config, "no_sft", 0) == "models/base"
    assert P.grpo_start_model(demo_config, "no_attr_prompt", 0) == "models/sft/overall/seed0"
    assert P.method_prompt(demo_config, "rl2r") == "overall"
    assert P.sft_prompts(demo_config) == ["attribute", "overall"]
    assert P.batch_scope(demo_config, "no_alignment") == "mixed"
    assert P.batch_scope(demo_config, "mg_iqa") == "group"


def test_all_metrics_covers_every_method_seed_and_benchmark(demo_config):
    demo_config["seeds"] = [0, 1]
    paths = P.all_metrics(demo_config)
    n_bench = len(demo_config["datasets"]["benchmarks"])
    n_trained = len(demo_config["ablations"])
    n_classical = len(demo_config["evaluation"]["classical"])
    assert len(paths) == n_bench * (1 + 2 * n_trained + n_classical)
    assert len(set(paths)) == len(paths)
    assert "results/metrics/classical_colorfulness/seed0/demo_bid.json" in paths


def test_launcher(demo_config):
    assert P.launcher(demo_config) == "mgiqa"
    demo_config["compute"].update(num_processes=2, accelerate_config="ddp")
    assert P.launcher(demo_config) == (
        "accelerate launch --config_file workflow/accelerate/ddp.yaml --num_processes 2 -m mgiqa"
    )


def test_job_threads_and_thread_env(demo_config):
    demo_config["compute"].pop("threads_per_job", None)
    assert P.job_threads(validate_config(demo_config)) == 2  # the schema's default
    demo_config["compute"]["threads_per_job"] = 1
    assert P.job_threads(demo_config) == 1
    assert P.thread_env(demo_config) == "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "
    assert P.pretrain_threads(demo_config) == 2  # alone on the critical path
    assert P.thread_env(demo_config, 2) == "OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 "
    demo_config["compute"].update(num_processes=4)
    assert P.job_threads(demo_config) == 4  # at least one core per process
    assert P.thread_env(demo_config) == ""  # torchrun / accelerate set their own
    demo_config["compute"].update(num_processes=1, backend="cuda")
    assert P.thread_env(demo_config) == ""


def test_effective_config_rewritten_only_on_change(tmp_path, demo_config):
    from mgiqa.config import write_effective_config

    path = tmp_path / "cfg.yaml"
    write_effective_config(demo_config, path)
    mtime = path.stat().st_mtime_ns
    write_effective_config(demo_config, path)
    assert path.stat().st_mtime_ns == mtime
    demo_config["grpo"]["steps"] += 1
    write_effective_config(demo_config, path)
    assert yaml.safe_load(path.read_text())["grpo"]["steps"] == demo_config["grpo"]["steps"]
