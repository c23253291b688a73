"""SFT and GRPO with 2 processes on CPU (gloo), launched exactly as the training rules launch them.

The command is `mgiqa.pipeline.launcher(config)` (`accelerate launch --config_file workflow/accelerate/ddp.yaml
--num_processes 2 -m mgiqa`) + the rule's `mgiqa sft|grpo` arguments, run from the repository root like
Snakemake does, on demo data (the embedded generator, parsed and prepared like the pipeline's stages) and the
tiny model. Each process writes `batch_log_rank{r}.csv` (`mgiqa.training.batch_log`), copied into the
output: the tests read what every rank trained on at every step.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NPROC = 2
TRAIN = ("demo_synthetic", "demo_authentic")
SFT_BATCH = 2
STEPS = 2


def distributed_config(test_config: dict) -> dict:
    config = copy.deepcopy(test_config)
    config["datasets"]["train"] = list(TRAIN)
    config["compute"] |= {"num_processes": NPROC, "accelerate_config": "ddp"}
    config["sft"] |= {"steps": STEPS, "batch_size": SFT_BATCH, "save_steps": STEPS}
    config["grpo"] |= {"steps": STEPS, "num_generations": 2, "save_steps": STEPS}
    config["generation"]["max_new_tokens"] = 12
    return config


def prepare_demo_run(root: Path, config: dict) -> dict:
    """Under `root`: the config file, prepared demo tables of `datasets.train` (generated, parsed and joined
    with their images as the pipeline's stages do), their batch plan (scope group) and the tiny base model."""
    from mgiqa.config import validate_config
    from mgiqa.data.batches import build_batch_plan
    from mgiqa.data.demo import generate_dataset
    from mgiqa.data.images import prepare_table
    from mgiqa.data.labels import parse_label_file
    from mgiqa.data.registry import load_registry
    from mgiqa.io import write_table, write_yaml
    from mgiqa.model.tiny import build_tiny_model

    config = validate_config(config)
    registry = load_registry()
    tables, train_rows = [], []
    for key in config["datasets"]["train"]:
        entry, raw = registry[key], root / "raw" / key
        generate_dataset(key, entry, raw, config)
        labels = parse_label_file(key, raw / entry["labels"]["file"], entry)
        prepared, _ = prepare_table(labels, raw, key, allow_missing=False)
        write_table(root / f"{key}.csv", prepared)
        tables.append(str(root / f"{key}.csv"))
        train_rows.append(prepared[prepared["split"] == "train"])
    batches = config["batches"]
    plan = build_batch_plan(pd.concat(train_rows, ignore_index=True), batches["images_per_batch"],
                            scope="group", min_mos_spread=batches["min_mos_spread"], seed=0)  # fmt: skip
    write_table(root / "plan.csv", plan)
    write_yaml(root / "config.yaml", config)
    return {"root": root, "config": config, "config_path": root / "config.yaml", "tables": tables,
            "plan": root / "plan.csv", "base": build_tiny_model(root / "base", config)}  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory, _test_config):
    return prepare_demo_run(tmp_path_factory.mktemp("distributed"), distributed_config(_test_config))


def launch(config: dict, *args, script: Path | None = None) -> subprocess.CompletedProcess:
    """Run `<launcher prefix> <args>` from the repository root, as the Snakemake rules do (`script` in place
    of `-m mgiqa`)."""
    from mgiqa.pipeline import launcher

    prefix = shlex.split(launcher(config))
    if script is not None:
        assert prefix[-2:] == ["-m", "mgiqa"], prefix
        prefix = [*prefix[:-2], str(script)]
    command = [*prefix, *map(str, args)]
    env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
    )
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"{shlex.join(command)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def batch_logs(output: Path):
    from mgiqa.training.batch_log import batch_log_paths, read_batch_logs

    paths = batch_log_paths(output, NPROC)
    assert all(p.is_file() for p in paths), f"missing batch logs in {output}: {sorted(os.listdir(output))}"
    return read_batch_logs(paths)


def test_launcher_is_accelerate_with_two_processes(test_config):
    from mgiqa.pipeline import launcher

    command = launcher(distributed_config(test_config))
    assert command.startswith("accelerate launch --config_file workflow/accelerate/ddp.yaml")
    assert f"--num_processes {NPROC}" in command and "--cpu" not in command


PROBE = """import sys
from mgiqa.config import load_config
from mgiqa.training.trainer_args import process_state

state = process_state(load_config(sys.argv[1]))
state.wait_for_everyone()
print(f"rank {state.process_index} of {state.num_processes} main={state.is_main_process}", flush=True)
"""


@pytest.mark.slow
def test_process_state_spans_the_ranks_before_the_trainer(tmp_path, test_config):
    """Main-only work (the work dir) runs before the trainer exists: the state must already know the ranks
    (a bare `PartialState()` on CPU comes up non-distributed, and every rank would be main)."""
    from mgiqa.io import write_yaml

    config = distributed_config(test_config)
    write_yaml(tmp_path / "config.yaml", config)
    (tmp_path / "probe.py").write_text(PROBE)
    proc = launch(config, tmp_path / "config.yaml", script=tmp_path / "probe.py")
    seen = sorted(
        re.findall(r"rank \d+ of \d+ main=(?:True|False)", proc.stdout)
    )  # ranks' lines may interleave
    assert seen == ["rank 0 of 2 main=True", "rank 1 of 2 main=False"], proc.stdout[-2000:]


@pytest.mark.slow
def test_sft_two_ranks_train_disjoint_rows(setup):
    out = setup["root"] / "models" / "sft" / "attribute" / "seed0"
    launch(setup["config"], "sft", "--config", setup["config_path"], "--prompt", "attribute", "--seed", 0,
           "--model", setup["base"], "--tables", *setup["tables"], "-o", out)  # fmt: skip
    assert (out / "model.safetensors").is_file()
    assert pd.read_csv(out / "train_log.csv")["step"].tolist() == list(range(1, STEPS + 1))
    log = batch_logs(out)
    assert sorted(zip(log["step"], log["rank"], strict=True)) == [
        (s, r) for s in range(1, STEPS + 1) for r in range(NPROC)
    ]
    assert (log["rows"] == SFT_BATCH).all()  # per-device batch
    for step, rows in log.groupby("step"):
        ranks = [set(items) for items in rows["items"]]
        assert not ranks[0] & ranks[1], f"step {step}: both ranks trained on the same rows"


@pytest.mark.slow
def test_grpo_two_ranks_single_domain_batches(setup):
    from mgiqa.config import derive_seed
    from mgiqa.training.sampler import BatchPlanSampler

    config = setup["config"]
    b, k = config["batches"]["images_per_batch"], config["grpo"]["num_generations"]
    out = setup["root"] / "models" / "grpo" / "mg_iqa" / "seed0"
    launch(config, "grpo", "--config", setup["config_path"], "--ablation", "mg_iqa", "--seed", 0,
           "--model", setup["base"], "--tables", *setup["tables"], "--batch-plan", setup["plan"], "-o", out)  # fmt: skip
    assert (out / "model.safetensors").is_file()
    train_log = pd.read_csv(out / "train_log.csv")
    assert train_log["step"].tolist() == list(range(1, STEPS + 1))
    assert train_log["reward_total"].notna().all()

    log = batch_logs(out).sort_values(["step", "rank"]).reset_index(drop=True)
    assert len(log) == STEPS * NPROC  # one generation batch per rank and step
    assert (log["rows"] == b * k).all() and (log["images"] == b).all()
    assert (log["datasets"].map(len) == 1).all(), "a rank's generation batch mixed datasets"
    assert (log["domains"].map(len) == 1).all()
    for step, rows in log.groupby("step"):
        assert rows["rank"].tolist() == list(range(NPROC))
        assert set(rows["items"].iloc[0]).isdisjoint(rows["items"].iloc[1]), f"step {step}: same batch"

    # each rank got the plan batch the sampler deals it: batch i of a process group goes to rank i
    plan = pd.read_csv(setup["plan"]).sort_values(["batch", "position"])
    plan_items = [
        [f"{d}/{i}" for d, i in zip(g["dataset"], g["image"], strict=True)] for _, g in plan.groupby("batch")
    ]
    row_indices = [list(range(j * b, (j + 1) * b)) for j in range(len(plan_items))]  # order needs only counts
    sampler = BatchPlanSampler(row_indices, num_generations=k, num_processes=NPROC,
                               seed=derive_seed(config, "grpo", "mg_iqa", 0))  # fmt: skip
    order = sampler.batch_order(0)
    for row in log.itertuples():
        expected = plan_items[order[(row.step - 1) * NPROC + row.rank]]
        assert row.items == expected, f"step {row.step} rank {row.rank}: not the plan batch dealt to it"


@pytest.mark.slow
def test_bf16_ddp_at_a_small_learning_rate_changes_the_weights(setup, tmp_path):
    """model.dtype bfloat16 under plain DDP: fp32 master weights with bf16 autocast, so lr 1e-6 still moves
    them. With the weights themselves in bf16 (before), AdamW's ~1e-6 steps round to nothing."""
    import yaml
    from safetensors.torch import load_file

    config = copy.deepcopy(setup["config"])
    config["model"]["dtype"] = "bfloat16"
    config["sft"] |= {"learning_rate": 1.0e-6}
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    out = tmp_path / "sft"
    launch(config, "sft", "--config", config_path, "--prompt", "attribute", "--seed", 0,
           "--model", setup["base"], "--tables", *setup["tables"], "-o", out)  # fmt: skip
    before = load_file(str(setup["base"] / "model.safetensors"))
    after = load_file(str(out / "model.safetensors"))
    changed = sum(int((after[k] != before[k].to(after[k].dtype)).sum()) for k in before)
    total = sum(before[k].numel() for k in before)
    assert changed / total > 0.5, f"only {changed} of {total} weights moved"


def test_bf16_weights_stay_in_the_configured_dtype_only_under_deepspeed(test_config):
    from mgiqa.training.trainer_args import common_args, model_init_kwargs

    test_config["model"]["dtype"] = "bfloat16"
    assert model_init_kwargs(test_config) == {"dtype": "float32"}
    args = common_args(test_config, Path("w"), 0, test_config["sft"], 1)
    assert args["bf16"] and not args["fp16"]
    test_config["compute"]["accelerate_config"] = "zero3"
    assert model_init_kwargs(test_config) == {"dtype": "bfloat16"}  # DeepSpeed holds the fp32 master copy


def test_fp16_training_on_cpu_is_refused(test_config):
    from mgiqa.errors import ConfigError
    from mgiqa.training.trainer_args import common_args

    test_config["model"]["dtype"] = "float16"
    with pytest.raises(ConfigError, match="float16 training needs a GPU"):
        common_args(test_config, Path("w"), 0, test_config["sft"], 1)


# ---- the batch log itself (fast) ----------------------------------------------------------------------


def rows_of(*items: str) -> list[dict]:
    return [{"item_id": i, "dataset": i.split("/")[0], "domain": "synthetic", "group": "g"} for i in items]


def test_batch_record_summarises_rows():
    from mgiqa.training.batch_log import batch_record

    record = batch_record(3, 1, rows_of("a/1.png", "a/1.png", "b/2.png", "b/2.png"))
    assert record == {"step": 3, "rank": 1, "rows": 4, "images": 2, "datasets": "a;b", "domains": "synthetic",
                      "groups": "a/g;b/g", "items": "a/1.png;b/2.png"}  # fmt: skip
    with pytest.raises(KeyError, match="item_id"):
        batch_record(1, 0, [{"dataset": "a"}])


def test_batch_log_drops_steps_after_the_resumed_checkpoint(tmp_path):
    from types import SimpleNamespace

    from mgiqa.training.batch_log import BatchLog, batch_log_path, read_batch_logs

    log = BatchLog(tmp_path, rank=1)
    log.on_train_begin(None, SimpleNamespace(global_step=0), None)
    for step in (1, 2, 3):
        log.record(step, rows_of(f"a/{step}.png"))
    assert batch_log_path(tmp_path, 1).is_file() and not batch_log_path(tmp_path, 0).exists()
    resumed = BatchLog(tmp_path, rank=1)  # a killed run restarts from checkpoint-2
    resumed.on_train_begin(None, SimpleNamespace(global_step=2), None)
    resumed.record(3, rows_of("a/9.png"))
    table = read_batch_logs([batch_log_path(tmp_path, 1)])
    assert table["step"].tolist() == [1, 2, 3] and table["items"].tolist() == [
        ["a/1.png"],
        ["a/2.png"],
        ["a/9.png"],
    ]
