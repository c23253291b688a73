"""SFT and GRPO on the tiny Qwen2.5-VL for a few steps: they run, log, save reloadable models, and resume."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from mgiqa.training.checkpoints import work_dir_for

B = 4  # images per batch (test config)
N_PER_DATASET = 8


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="module")
def base_model(tmp_path_factory, _test_config):
    from mgiqa.model.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("base") / "base", _test_config)


@pytest.fixture(scope="module")
def data(tmp_path_factory, _test_config):
    """Two prepared tables (synthetic with attribute labels, authentic without) and their batch plan."""
    from mgiqa.data.batches import build_batch_plan

    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    size = _test_config["model"]["image_size"]
    tables, train_rows = [], []
    specs = (("demo_synthetic", "synthetic", True), ("demo_authentic", "authentic", False))
    for dataset, domain, has_attr in specs:
        rows = []
        for i in range(N_PER_DATASET + 2):
            image = f"img_{i:02d}.png"
            path = root / dataset / image
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (size + 8, size, 3), dtype=np.uint8)).save(path)
            mos = 1.0 + 4.0 * i / (N_PER_DATASET + 1)
            attr = (lambda v: v) if has_attr else (lambda v: np.nan)
            rows.append(
                {
                    "image": image, "dataset": dataset, "domain": domain, "group": dataset,
                    "split": "train" if i < N_PER_DATASET else "test", "mos_raw": mos, "mos": mos,
                    "mos_std": 0.3, "sharpness": attr(5.0 - mos / 2), "color": np.nan,
                    "noise": attr(mos), "composition": np.nan, "path": str(path),
                }
            )  # fmt: skip
        table = root / f"{dataset}.csv"
        pd.DataFrame(rows).to_csv(table, index=False)
        tables.append(table)
        train_rows.extend(r for r in rows if r["split"] == "train")
    plan = root / "group.csv"
    build_batch_plan(pd.DataFrame(train_rows), B, scope="group", min_mos_spread=0.2, seed=0).to_csv(
        plan, index=False
    )
    return {"tables": tables, "plan": plan}


@pytest.fixture
def config(test_config):
    config = copy.deepcopy(test_config)
    config["datasets"]["train"] = ["demo_synthetic", "demo_authentic"]
    config["sft"] |= {"steps": 2, "batch_size": 2, "save_steps": 1}
    config["grpo"] |= {"steps": 2, "num_generations": 2, "save_steps": 1}
    config["generation"]["max_new_tokens"] = 12
    return config


def test_dataset_rows(data, config):
    from mgiqa.training import datasets as ds

    table = ds.read_prepared_tables(data["tables"])
    assert ds.training_datasets(table, "synthetic", config) == ["demo_synthetic"]
    rows = ds.training_rows(table, ds.training_datasets(table, "all", config))
    assert len(rows) == 2 * N_PER_DATASET
    dataset = ds.build_dataset(rows, "attribute", config["model"]["image_size"], with_target=True)
    row = dataset[0]
    assert row["image"].size == (config["model"]["image_size"],) * 2
    assert row["item_id"] == "demo_synthetic/img_00.png"
    assert row["prompt"][0]["content"][0] == {"type": "image"}
    assert "Overall: 1.0" in row["completion"][0]["content"]
    assert next(iter(dataset))["item_id"] == row["item_id"]


@pytest.mark.slow
def test_sft_runs_saves_and_reloads(tmp_path, base_model, data, config):
    from mgiqa.model.loading import load_model, load_processor
    from mgiqa.training.sft import train_sft

    out = tmp_path / "sft" / "attribute" / "seed0"
    result = train_sft(config, "attribute", 0, base_model, data["tables"], out)
    assert result["global_step"] == 2 and result["resumed_from"] is None
    assert (out / "model.safetensors").is_file() and not (out / "training_args.bin").exists()
    log = pd.read_csv(out / "train_log.csv")
    assert log["step"].tolist() == [1, 2] and log["loss"].notna().all()
    assert not work_dir_for(out).exists()
    load_model(out)
    load_processor(out)


@pytest.mark.slow
def test_a_frozen_vision_tower_keeps_its_weights_while_the_language_model_trains(
    tmp_path, base_model, data, config
):
    from mgiqa.model.loading import load_model
    from mgiqa.training.sft import train_sft

    config["sft"] |= {"freeze_vision_tower": True, "learning_rate": 1e-2}
    out = tmp_path / "sft_frozen"
    train_sft(config, "attribute", 0, base_model, data["tables"], out)
    before = dict(load_model(base_model).named_parameters())
    after = dict(load_model(out).named_parameters())
    moved = {n for n, p in after.items() if not torch.equal(p, before[n])}
    assert moved, "nothing trained"
    assert not {n for n in moved if ".visual." in f".{n}"}, "the frozen tower moved"
    assert {n for n in moved if "language_model" in n}


@pytest.mark.slow
def test_sft_lora_is_merged(tmp_path, base_model, data, config):
    from mgiqa.model.loading import load_model
    from mgiqa.training.sft import train_sft

    config["sft"]["lora"] = {"enabled": True, "r": 4, "alpha": 8, "dropout": 0.0}
    config["sft"]["steps"] = 1
    out = tmp_path / "sft_lora"
    train_sft(config, "overall", 0, base_model, data["tables"], out)
    assert not (out / "adapter_config.json").exists()
    model = load_model(out)
    assert not any("lora" in name for name, _ in model.named_parameters())


@pytest.mark.slow
def test_grpo_batches_logs_and_reload(tmp_path, base_model, data, config, monkeypatch):
    from mgiqa.model.loading import load_model
    from mgiqa.training.grpo import train_grpo
    from mgiqa.training.reward_adapter import MultiDimensionalReward

    calls = []
    original = MultiDimensionalReward.compute

    def recording(self, texts, item_ids, columns):
        calls.append((len(texts), set(columns["dataset"]), len(set(item_ids))))
        return original(self, texts, item_ids, columns)

    monkeypatch.setattr(MultiDimensionalReward, "compute", recording)
    out = tmp_path / "grpo" / "mg_iqa" / "seed0"
    result = train_grpo(config, "mg_iqa", 0, base_model, data["tables"], data["plan"], out)
    assert result["global_step"] == 2
    k = config["grpo"]["num_generations"]
    assert [c[0] for c in calls] == [B * k] * 2  # one reward call per step sees the whole B x K batch
    assert all(len(c[1]) == 1 and c[2] == B for c in calls)  # one dataset (scale) per batch
    log = pd.read_csv(out / "train_log.csv")
    for column in (
        "step",
        "loss",
        "kl",
        "reward_total",
        "reward_format",
        "reward_overall",
        "reward_sharpness",
        "reward_color",
        "reward_noise",
        "reward_composition",
        "parse_failure_rate",
        "learning_rate",
    ):
        assert column in log.columns  # fmt: skip
    assert log["step"].tolist() == [1, 2]
    assert log["reward_total"].notna().all() and log["parse_failure_rate"].between(0, 1).all()
    load_model(out)


class KillAfterSave:
    """A callback that aborts the run right after the checkpoint of `step` is written (a simulated kill)."""

    def __new__(cls, step):
        from transformers import TrainerCallback

        class _Kill(TrainerCallback):
            def on_save(self, args, state, control, **kwargs):
                if state.global_step == step:
                    raise KeyboardInterrupt(f"killed after step {step}")

        return _Kill()


@pytest.mark.slow
def test_grpo_resumes_from_last_checkpoint(tmp_path, base_model, data, config):
    from mgiqa.training.grpo import train_grpo

    config["grpo"] |= {"steps": 4, "save_steps": 2}
    out = tmp_path / "grpo" / "rl2r" / "seed0"
    args = (config, "rl2r", 0, base_model, data["tables"], data["plan"], out)
    with pytest.raises(KeyboardInterrupt):
        train_grpo(*args, callbacks=[KillAfterSave(2)])
    work = work_dir_for(out)
    assert (work / "checkpoint-2" / "trainer_state.json").is_file() and not out.exists()
    result = train_grpo(*args)
    assert result["resumed_from"] == work / "checkpoint-2"
    assert result["global_step"] == 4
    log = pd.read_csv(out / "train_log.csv")
    assert log["step"].tolist() == [1, 2, 3, 4]  # steps 1-2 from the killed run, 3-4 resumed
    assert log["reward_sharpness"].isna().all()  # rl2r: overall reward only


@pytest.mark.slow
def test_grpo_plan_checks(tmp_path, base_model, data, config):
    from mgiqa.data.batches import build_batch_plan
    from mgiqa.errors import ConfigError, DataIntegrityError
    from mgiqa.training import datasets as ds
    from mgiqa.training.grpo import train_grpo

    rows = ds.training_rows(ds.read_prepared_tables(data["tables"]), config["datasets"]["train"])
    mixed = tmp_path / "mixed.csv"
    plan = build_batch_plan(rows, B, scope="mixed", min_mos_spread=0.2, seed=3)
    assert (plan.groupby("batch")["dataset"].nunique() > 1).any()
    plan.to_csv(mixed, index=False)
    with pytest.raises(DataIntegrityError, match="mix datasets"):  # mg_iqa compares within one scale
        train_grpo(config, "mg_iqa", 0, base_model, data["tables"], mixed, tmp_path / "out")
    with pytest.raises(ConfigError, match="grpo is false"):
        train_grpo(config, "sft_only", 0, base_model, data["tables"], data["plan"], tmp_path / "out")
    config["batches"]["images_per_batch"] = 2
    with pytest.raises(ConfigError, match="images_per_batch"):
        train_grpo(config, "mg_iqa", 0, base_model, data["tables"], data["plan"], tmp_path / "out")


def test_tracker_and_completion_logging_come_from_the_config(tmp_path, test_config):
    from mgiqa.training.grpo import grpo_args
    from mgiqa.training.trainer_args import common_args

    assert common_args(test_config, tmp_path, 0, test_config["sft"], 1)["report_to"] == "none"
    test_config["compute"]["report_to"] = "tensorboard"
    assert common_args(test_config, tmp_path, 0, test_config["sft"], 1)["report_to"] == "tensorboard"
    test_config["compute"]["report_to"] = "none"
    assert grpo_args(test_config, tmp_path, 0).log_completions is False
    test_config["grpo"]["log_completions"] = True
    assert grpo_args(test_config, tmp_path, 0).log_completions is True


def test_progress_bars_only_where_a_terminal_is_attached(tmp_path, test_config, monkeypatch):
    import sys

    from mgiqa.training.trainer_args import common_args

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert common_args(test_config, tmp_path, 0, test_config["sft"], 1)["disable_tqdm"] is True
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert common_args(test_config, tmp_path, 0, test_config["sft"], 1)["disable_tqdm"] is False
