"""CPU rehearsals of the paper setting (config/paper.yaml): each test would have caught one of the blockers
that kept the paper path from running on a GPU node (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mgiqa.data.batches import build_batch_plan
from mgiqa.data.labels import parse_label_file
from mgiqa.data.registry import load_registry
from mgiqa.errors import DataIntegrityError
from mgiqa.training import datasets as ds

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "tests" / "fixtures" / "labels"
# a label file in each paper training set's published layout
TRAIN_FIXTURES = {
    "kadid10k": "pyiqa_kadid.csv",
    "koniq10k": "koniq_official.csv",
    "agiqa1k": "agiqa1k_bom.csv",
}


@pytest.fixture(scope="module")
def paper(paper_config_outside_checkout) -> dict:
    return paper_config_outside_checkout


@pytest.fixture(scope="module")
def registry() -> dict:
    return load_registry()


def _table(rows: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Prepared-table rows: dataset -> (train rows, test rows)."""
    frames = []
    for dataset, (n_train, n_test) in rows.items():
        n = n_train + n_test
        frames.append(
            pd.DataFrame(
                {
                    "image": [f"images/{i}.png" for i in range(n)],
                    "dataset": dataset,
                    "domain": "synthetic",
                    "group": dataset,
                    "split": ["train"] * n_train + ["test"] * n_test,
                    "mos": [1.0 + 4.0 * i / max(n - 1, 1) for i in range(n)],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------ blocker 2: every training set trains
def test_every_paper_training_dataset_has_train_rows_in_its_published_layout(paper, registry):
    assert sorted(TRAIN_FIXTURES) == sorted(paper["datasets"]["train"])
    for dataset, fixture in TRAIN_FIXTURES.items():
        table = parse_label_file(dataset, LABELS / fixture, registry[dataset])
        assert (table["split"] == "train").any(), f"{dataset}: its registry split gives training no row"


def test_agiqa1k_is_a_training_set_whose_every_image_trains(registry):
    table = parse_label_file("agiqa1k", LABELS / "agiqa1k_bom.csv", registry["agiqa1k"])
    assert registry["agiqa1k"]["role"] == "train"
    assert set(table["split"]) == {"train"}


def test_training_fails_naming_a_configured_dataset_without_train_rows():
    table = _table({"kadid10k": (8, 2), "agiqa1k": (0, 5)})
    with pytest.raises(DataIntegrityError, match=r"\['agiqa1k'\] have no split=train rows"):
        ds.training_rows(table, ["kadid10k", "agiqa1k"])
    assert len(ds.training_rows(table, ["kadid10k"])) == 8


def test_batch_plan_fails_naming_a_dataset_that_forms_no_batch():
    table = _table({"kadid10k": (16, 0), "agiqa1k": (3, 0)})
    with pytest.raises(DataIntegrityError, match=r"\['agiqa1k'\] contribute no batch"):
        build_batch_plan(table, 4, scope="group", datasets=["kadid10k", "agiqa1k"])
    with pytest.raises(DataIntegrityError, match=r"\['pipal'\] have no rows"):
        build_batch_plan(table, 4, scope="group", datasets=["kadid10k", "pipal"])
    mixed = build_batch_plan(table, 4, scope="mixed", datasets=["kadid10k", "agiqa1k"])
    assert set(mixed["dataset"]) == {"kadid10k", "agiqa1k"}


def test_batch_plan_command_fails_naming_a_dataset_without_train_rows(tmp_path, capsys):
    from mgiqa.cli import main

    tables = []
    for dataset, counts in {"kadid10k": (16, 0), "agiqa1k": (0, 5)}.items():
        path = tmp_path / f"{dataset}.csv"
        _table({dataset: counts}).to_csv(path, index=False)
        tables.append(str(path))
    config = REPO / "config" / "test.yaml"
    args = ["batch-plan", "--config", str(config), "--tables", *tables, "-o", str(tmp_path / "plan.csv")]
    assert main(args) == 2
    assert "training datasets ['agiqa1k'] have no rows of split 'train'" in capsys.readouterr().err


# ------------------------------------------------------------------ blocker 3: colocated vLLM starts on 80 GB
def _trl_engine_fits(args, shape, gpu_gib: float) -> bool:
    """What vLLM checks at start-up, for TRL's engine: a full weight copy plus the KV cache of max_num_seqs
    sequences of max_model_len tokens within its share (trl/trainer/grpo_trainer.py: max_num_seqs =
    per_device_train_batch_size x vllm_tensor_parallel_size x steps_per_generation; max_model_len None is
    the model's max_position_embeddings, 128,000 for Qwen2.5-VL-7B)."""
    from mgiqa.training.vllm_colocate import engine_memory_gib

    context = args.vllm_max_model_length or 128_000
    sequences = args.per_device_train_batch_size * args.vllm_tensor_parallel_size * args.steps_per_generation
    return engine_memory_gib(shape, context, sequences) <= args.vllm_gpu_memory_utilization * gpu_gib


def test_paper_grpo_config_sizes_the_colocated_vllm_engine_to_fit_beside_training(paper, tmp_path):
    import copy

    from mgiqa.memory import KNOWN_MODELS
    from mgiqa.training.grpo import grpo_args
    from mgiqa.training.vllm_colocate import prompt_tokens

    on_cpu = copy.deepcopy(paper)
    on_cpu["compute"]["backend"] = "cpu"  # only the device of the arguments changes
    args = grpo_args(on_cpu, tmp_path, seed=0)
    shape = KNOWN_MODELS[paper["model"]["hub_id"]]
    assert args.use_vllm and args.vllm_mode == "colocate"
    needed = prompt_tokens(paper, "attribute") + paper["generation"]["max_new_tokens"]
    assert needed <= args.vllm_max_model_length < 4096
    assert 0.3 <= args.vllm_gpu_memory_utilization <= 0.5
    assert _trl_engine_fits(args, shape, paper["compute"]["gpu_memory_gb"])
    # TRL's defaults (what was passed before): the engine cannot start
    args.vllm_max_model_length, args.vllm_gpu_memory_utilization = None, 0.3
    assert not _trl_engine_fits(args, shape, paper["compute"]["gpu_memory_gb"])


def test_vllm_settings_from_the_config_win_and_a_too_short_context_is_refused(paper):
    import copy

    from mgiqa.errors import ConfigError
    from mgiqa.training.vllm_colocate import vllm_args

    config = copy.deepcopy(paper)
    config["compute"].update(vllm_max_model_len=4096, vllm_gpu_memory_utilization=0.45)
    settings = vllm_args(config, model_dir=None)
    assert (settings["vllm_max_model_length"], settings["vllm_gpu_memory_utilization"]) == (4096, 0.45)
    config["compute"]["vllm_max_model_len"] = 1024
    with pytest.raises(ConfigError, match="below prompt \\+ completion"):
        vllm_args(config)
    config["compute"]["vllm"] = False
    assert vllm_args(config) == {}


def test_image_tokens_follow_qwen_28_pixel_merged_patches(paper):
    from mgiqa.training.vllm_colocate import image_tokens

    assert image_tokens(paper) == 1280  # native resolution: at most max_pixels / 28^2 tokens
    assert image_tokens({"model": {"image_size": 448}}) == 256  # square: 448 / 28 = 16 per side
    assert image_tokens({"model": {"image_size": 450}}) == 17 * 17
    assert image_tokens({"model": {"image_size": 448, "max_pixels": 1280 * 28 * 28}}) == 1280


# ------------------------------------------------------------------ blocker 6: vllm_mode server is refused
def test_vllm_server_mode_is_refused_by_the_schema_with_its_reason(paper):
    import copy

    from mgiqa.config import validate_config
    from mgiqa.errors import ConfigError

    config = copy.deepcopy(paper)
    config["compute"]["vllm_mode"] = "server"
    with pytest.raises(ConfigError, match="compute.vllm_mode: .*no rule starts `trl vllm-serve`"):
        validate_config(config, "paper")


# ------------------------------------------------------------------ blocker 4 and SLURM: jobs on their GPUs
def _dry_run_jobs(paper: dict, tmp_path, profile: str) -> list[tuple[str, dict]]:
    """(rule, resources) of every job of the paper DAG under `profile` (a dry run; the effective config
    goes to tmp_path, not the checkout's results/)."""
    import copy
    import os
    import re
    import subprocess
    import sys

    import yaml

    config = copy.deepcopy(paper)
    config["paths"] = {**config["paths"], "results": str(tmp_path / "results")}
    config_file = tmp_path / "paper.yaml"
    config_file.write_text(yaml.safe_dump(config))
    bin_dir = Path(sys.executable).parent
    out = subprocess.run(
        [str(bin_dir / "snakemake"), "-n", "-F", f"{tmp_path}/results/tables/main.csv", "--configfile",
         str(config_file), "--profile", f"workflow/profiles/{profile}"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=True,
        env=dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"),
    ).stdout  # fmt: skip
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        if rule and res:
            pairs = dict(kv.split("=", 1) for kv in res.group(1).split(", "))
            jobs.append((rule.group(1), pairs))
    return jobs


def _profile(name: str) -> dict:
    import yaml

    return yaml.safe_load((REPO / "workflow" / "profiles" / name / "config.yaml").read_text())


def test_gpu_node_profile_runs_one_gpu_job_at_a_time_on_the_whole_node(paper, tmp_path):
    profile = _profile("gpu-node")
    limits = dict(item.split("=") for item in profile["resources"])
    assert int(limits["gpu"]) == paper["compute"]["gpus"]
    gpu_jobs = [
        (rule, int(res["gpu"])) for rule, res in _dry_run_jobs(paper, tmp_path, "gpu-node") if "gpu" in res
    ]
    assert {rule for rule, _ in gpu_jobs} == {"sft", "grpo", "predict"}
    # each takes every GPU: two never run at once, so none shares a GPU or accelerate's port 29500
    assert {n for _, n in gpu_jobs} == {int(limits["gpu"])}


def test_slurm_profile_keeps_gpu_jobs_on_one_node_with_cpus_from_the_config(paper, tmp_path):
    from mgiqa.pipeline import job_threads

    profile = _profile("slurm")
    assert "cpus_per_task" not in profile["default-resources"]  # the plugin prefers it over threads
    assert "set-threads" not in profile  # threads come from compute.threads_per_job
    assert job_threads(paper) == paper["compute"]["threads_per_job"] >= paper["compute"]["num_processes"]
    jobs = _dry_run_jobs(paper, tmp_path, "slurm")
    for rule, res in jobs:
        if "gpu" in res:
            assert res.get("nodes") == "1", rule
            assert "cpus_per_task" not in res, rule
    predict = [res for rule, res in jobs if rule == "predict"]
    assert predict and all(
        int(r["gpu"]) == 1 and int(r["mem_mb"]) < paper["compute"]["mem_mb"] for r in predict
    )


# ------------------------------------------------------------------ blocker 5: LoRA merge under ZeRO-3
class _Zero3Accelerator:
    """The accelerator as one rank of a ZeRO-3 run sees it (single process here)."""

    is_main_process = True

    def wait_for_everyone(self) -> None:
        return None

    def unwrap_model(self, model):
        return model


class _Zero3Trainer:
    """A trainer after ZeRO-3 training: the live parameters are empty shards (DeepSpeed replaces each
    tensor by a 0-element placeholder); `save_model` writes the gathered adapter, as transformers' Trainer
    does under ZeRO-3."""

    def __init__(self, peft_model, saved_adapter: Path):
        import torch

        self.accelerator = _Zero3Accelerator()
        self.model = peft_model
        for param in self.model.parameters():
            param.data = torch.empty(0, dtype=param.dtype)
        self._saved_adapter = saved_adapter

    def save_model(self, output_dir: str) -> None:
        import shutil

        shutil.copytree(self._saved_adapter, output_dir, dirs_exist_ok=True)


def test_lora_merge_comes_from_the_saved_adapter_not_the_zero3_partitioned_live_model(tmp_path, test_config):
    import copy

    import torch
    from peft import LoraConfig, get_peft_model

    from mgiqa.model.loading import load_model, load_processor
    from mgiqa.model.tiny import build_tiny_model
    from mgiqa.training.checkpoints import finalize_output

    base = build_tiny_model(tmp_path / "base", test_config)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
    peft_model = get_peft_model(load_model(base), lora)
    peft_model.save_pretrained(tmp_path / "adapter")
    expected = copy.deepcopy(peft_model).merge_and_unload().state_dict()
    out = tmp_path / "sft"
    finalize_output(
        _Zero3Trainer(peft_model, tmp_path / "adapter"), load_processor(base), out, merge_lora=True
    )
    merged = load_model(out).state_dict()
    assert not (out / "adapter_config.json").exists() and not any("lora" in k for k in merged)
    changed = [k for k, v in load_model(base).state_dict().items() if not torch.equal(v, merged[k])]
    assert changed, "the adapter changed no weight"
    for key, value in expected.items():
        torch.testing.assert_close(merged[key], value, msg=key)
