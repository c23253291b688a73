"""A killed SFT or GRPO run, resumed, ends with the weights of the run that was never interrupted.

Real `mgiqa sft` / `mgiqa grpo` processes on the hue world (tests/hue_world.py), killed with SIGKILL once a
checkpoint exists, then rerun with the same command. Before the fix the Trainer reloaded none of the
checkpoint's weights (its keys are in the saved layout, the model's in the live one) and the resumed run
went on from the initial weights.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hue_world import SFT_SETTINGS, hue_config, write_config

from mgiqa.errors import DataIntegrityError
from mgiqa.training.checkpoints import latest_checkpoint, work_dir_for

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def load_weights(model_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(model_dir / "model.safetensors"))


def max_abs_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def run_cli(
    args: list[str], *, kill_after_checkpoint: Path | None = None
) -> subprocess.CompletedProcess | None:
    """Run `mgiqa ARGS`; with `kill_after_checkpoint` (a work dir), SIGKILL it once a checkpoint is complete."""
    command = [sys.executable, "-m", "mgiqa", *args]
    if kill_after_checkpoint is None:
        proc = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (
            f"mgiqa {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
        )
        return proc
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while latest_checkpoint(kill_after_checkpoint, remove_unusable=False) is None:
        assert proc.poll() is None, "the run ended before writing a checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return None


@pytest.fixture(scope="module")
def world(hue_models):
    return hue_models


def test_checkpoint_weights_load_into_the_live_model_exactly(world, tmp_path):
    """The saved layout (`visual.*`, `model.layers.*`) is mapped onto the live one; nothing is left out."""
    import torch

    from mgiqa.model.loading import load_model
    from mgiqa.training.resume import load_checkpoint_weights

    model = load_model(world["base"])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    load_checkpoint_weights(model, world["sft"])
    sft = load_model(world["sft"]).state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, sft[key]), key
    assert any(not torch.equal(before[k], sft[k]) for k in before)  # SFT changed the weights: a real test


def test_a_checkpoint_of_another_model_is_refused_naming_it(world, tmp_path, test_config):
    from mgiqa.model.loading import load_model
    from mgiqa.model.tiny import build_tiny_model
    from mgiqa.training.resume import load_checkpoint_weights

    test_config["model"]["tiny"] |= {"hidden_size": 64, "intermediate_size": 128}
    other = build_tiny_model(tmp_path / "other", test_config)
    with pytest.raises(DataIntegrityError, match="other.*does not fit the model"):
        load_checkpoint_weights(load_model(world["base"]), other)


@pytest.mark.slow
def test_killed_sft_resumes_to_the_uninterrupted_weights(world, tmp_path, _test_config):
    config = hue_config(_test_config, sft={**SFT_SETTINGS, "steps": 40, "save_steps": 10})
    config_file = write_config(config, tmp_path / "config.yaml")

    def args(out):
        return ["sft", "--config", str(config_file), "--prompt", "overall", "--seed", "0",
                "--model", str(world["base"]), "--tables", str(world["table"]), "-o", str(out)]  # fmt: skip

    whole = tmp_path / "whole"
    run_cli(args(whole))
    resumed = tmp_path / "resumed"
    run_cli(args(resumed), kill_after_checkpoint=work_dir_for(resumed))
    assert not resumed.exists()
    proc = run_cli(args(resumed))
    assert "resumed from" in proc.stdout
    change = max_abs_difference(load_weights(whole), load_weights(world["base"]))
    assert change > 0.05  # 40 steps at lr 1e-2 move the weights: a resume from the start would show
    # Same process layout, same thread count, same data order and RNG state: the float operations are the
    # same, so the weights are bit-identical.
    difference = max_abs_difference(load_weights(whole), load_weights(resumed))
    assert difference == 0.0, f"resumed weights differ from the uninterrupted run's by up to {difference}"


@pytest.mark.slow
def test_killed_grpo_resumes_to_the_uninterrupted_weights(world, tmp_path, _test_config):
    import pandas as pd

    from mgiqa.data.batches import build_batch_plan

    config = hue_config(
        _test_config,
        grpo={
            "steps": 12,
            "num_generations": 4,
            "learning_rate": 2e-3,
            "save_steps": 4,
            "probe": {"every": 4, "images": 8},
        },  # the probe must not change the training's random stream
        batches={"images_per_batch": 8},
        ablations={"rl2r": {**_test_config["ablations"]["rl2r"], "train": "all"}},
    )
    config_file = write_config(config, tmp_path / "config.yaml")
    rows = pd.read_csv(world["table"])
    plan = tmp_path / "plan.csv"
    build_batch_plan(rows[rows["split"] == "train"], 8, scope="group", min_mos_spread=0.2, seed=0).to_csv(
        plan, index=False
    )

    def args(out):
        return ["grpo", "--config", str(config_file), "--ablation", "rl2r", "--seed", "0",
                "--model", str(world["sft"]), "--tables", str(world["table"]), "--batch-plan", str(plan),
                "-o", str(out)]  # fmt: skip

    whole = tmp_path / "whole"
    run_cli(args(whole))
    log = pd.read_csv(whole / "train_log.csv")
    assert (log["frac_reward_zero_std"] < 1).all()  # every step has non-zero advantages: a real update
    resumed = tmp_path / "resumed"
    run_cli(args(resumed), kill_after_checkpoint=work_dir_for(resumed))
    assert not resumed.exists()
    proc = run_cli(args(resumed))
    assert "resumed from" in proc.stdout
    change = max_abs_difference(load_weights(whole), load_weights(world["sft"]))
    assert change > 1e-3
    # Sampling is seeded and the checkpoint restores the RNG states, so the completions, rewards and updates
    # after the resume are those of the uninterrupted run.
    difference = max_abs_difference(load_weights(whole), load_weights(resumed))
    assert difference == 0.0, f"resumed weights differ from the uninterrupted run's by up to {difference}"
