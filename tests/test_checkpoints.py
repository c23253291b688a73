"""Resume logic: work dir placement, latest complete checkpoint, stale work dirs, atomic final output."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mgiqa.training.checkpoints import (
    finalize_output,
    latest_checkpoint,
    prepare_work_dir,
    run_fingerprint,
    work_dir_for,
)
from mgiqa.training.logging_callback import CsvLogCallback


def make_checkpoint(work, step, complete=True):
    """A checkpoint folder with the files the Trainer reads on resume (weights, optimizer, RNG, state)."""
    import torch
    from safetensors.torch import save_file

    path = work / f"checkpoint-{step}"
    path.mkdir(parents=True)
    save_file({"w": torch.full((4, 4), float(step))}, str(path / "model.safetensors"))
    torch.save({"state": {0: {"exp_avg": torch.zeros(4)}}, "param_groups": []}, path / "optimizer.pt")
    rng = {"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.get_rng_state()}
    torch.save(rng, path / "rng_state.pth")  # the Trainer's RNG file: numpy's state needs its allow-list
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def test_work_dir_is_a_hidden_sibling(tmp_path):
    assert work_dir_for(tmp_path / "grpo" / "seed0") == tmp_path / "grpo" / ".seed0.work"


def test_latest_complete_checkpoint(tmp_path):
    assert latest_checkpoint(tmp_path / "absent") is None
    assert latest_checkpoint(tmp_path) is None
    make_checkpoint(tmp_path, 2)
    best = make_checkpoint(tmp_path, 10)
    make_checkpoint(tmp_path, 4)
    partial = make_checkpoint(tmp_path, 12, complete=False)
    (tmp_path / "checkpoint-x").mkdir()
    assert latest_checkpoint(tmp_path) == best  # numeric, not lexicographic; the partial one is skipped
    assert not partial.exists()


class _NotAllowed:
    """Any class outside torch's weights_only allow-list: unpickling it would run arbitrary code."""


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_unreadable_checkpoints_fall_back_to_the_previous_complete_one(tmp_path, caplog):
    import torch

    good = make_checkpoint(tmp_path, 5)
    torn_optimizer = make_checkpoint(tmp_path, 10)
    _truncate(torn_optimizer / "optimizer.pt")
    refused_pickle = make_checkpoint(tmp_path, 15)
    torch.save({"rng": _NotAllowed()}, refused_pickle / "rng_state.pth")  # torch.save's zip layout
    torn_weights = make_checkpoint(tmp_path, 20)
    _truncate(torn_weights / "model.safetensors", keep=0.9)
    bad_state = make_checkpoint(tmp_path, 25)
    (bad_state / "trainer_state.json").write_text('{"global_step": 2')
    with caplog.at_level("WARNING"):
        assert latest_checkpoint(tmp_path) == good
    for path, name in ((torn_optimizer, "optimizer.pt"), (refused_pickle, "rng_state.pth"),
                       (torn_weights, "model.safetensors"), (bad_state, "trainer_state.json")):  # fmt: skip
        assert not path.exists()
        assert any(path.name in r.message and name in r.message for r in caplog.records), name
    assert not any("starts over" in r.message for r in caplog.records)


def test_no_usable_checkpoint_starts_over_and_says_so(tmp_path, caplog):
    torn = make_checkpoint(tmp_path, 10)
    _truncate(torn / "optimizer.pt")
    with caplog.at_level("WARNING"):
        assert latest_checkpoint(tmp_path) is None
    assert any("starts over" in r.message for r in caplog.records)


def test_training_args_pickle_is_not_a_resume_file(tmp_path):
    path = make_checkpoint(tmp_path, 3)
    (path / "training_args.bin").write_bytes(b"not read on resume")
    assert latest_checkpoint(tmp_path) == path


def test_fingerprint_tracks_settings_and_inputs(tmp_path):
    f = tmp_path / "table.csv"
    f.write_text("a\n1\n")
    a = run_fingerprint({"lr": 1}, [f])
    assert a == run_fingerprint({"lr": 1}, [f])
    assert a != run_fingerprint({"lr": 2}, [f])
    f.write_text("a\n1\n2\n")
    assert a != run_fingerprint({"lr": 1}, [f])


def test_stale_work_dir_is_wiped_matching_one_kept(tmp_path):
    work = tmp_path / ".seed0.work"
    prepare_work_dir(work, "abc")
    make_checkpoint(work, 2)
    prepare_work_dir(work, "abc")
    assert latest_checkpoint(work) is not None
    prepare_work_dir(work, "other")
    assert latest_checkpoint(work) is None
    assert json.loads((work / "run.json").read_text())["fingerprint"] == "other"


class FakeAccelerator:
    is_main_process = True

    def wait_for_everyone(self):
        pass


class FakeTrainer:
    accelerator = FakeAccelerator()

    def save_model(self, path):
        from pathlib import Path

        (Path(path) / "model.safetensors").write_bytes(b"weights")
        (Path(path) / "training_args.bin").write_bytes(b"pickle")


class FakeProcessor:
    def save_pretrained(self, path):
        (path / "processor_config.json").write_text("{}")


def test_finalize_replaces_output_atomically(tmp_path):
    out = tmp_path / "seed0"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    log = tmp_path / "train_log.csv"
    log.write_text("step,loss\n1,0.5\n")
    finalize_output(FakeTrainer(), FakeProcessor(), out, extra_files=(log,))
    assert sorted(p.name for p in out.iterdir()) == [
        "model.safetensors",
        "processor_config.json",
        "train_log.csv",
    ]
    assert not any(p.name.startswith(".seed0") for p in tmp_path.iterdir())


def test_the_model_description_is_in_the_folder_before_it_is_renamed_into_place(
    tmp_path, monkeypatch, test_config
):
    from mgiqa.model.model_info import INFO_FILE, info_from_config, read_model_info, write_model_info
    from mgiqa.training import checkpoints

    info = info_from_config(test_config, "sft", prompt="overall", fixed=("prompt",), recipe_sections=("sft",))
    at_rename = []
    rename = checkpoints._replace_dir

    def inspecting_rename(src, dst):
        at_rename.append(sorted(p.name for p in src.iterdir()))
        rename(src, dst)

    def describe(folder):
        assert (folder / "train_log.csv").is_file()  # the logs are in place for the card's evaluation
        write_model_info(folder, info)

    monkeypatch.setattr(checkpoints, "_replace_dir", inspecting_rename)
    log = tmp_path / "train_log.csv"
    log.write_text("step,loss\n1,0.5\n")
    out = tmp_path / "seed0"
    finalize_output(FakeTrainer(), FakeProcessor(), out, extra_files=(log,), describe=describe)
    assert len(at_rename) == 1 and {INFO_FILE, "README.md"} <= set(at_rename[0])
    assert read_model_info(out) == info and (out / "README.md").is_file()


def test_a_save_interrupted_while_describing_the_model_leaves_the_previous_output(tmp_path):
    out = tmp_path / "seed0"
    out.mkdir()
    (out / "previous.txt").write_text("old")

    def describe(folder):
        raise KeyboardInterrupt  # killed after the weights were saved, before the description was

    with pytest.raises(KeyboardInterrupt):
        finalize_output(FakeTrainer(), FakeProcessor(), out, describe=describe)
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt"]


def test_a_run_refuses_an_input_inside_the_output_it_replaces(tmp_path):
    from mgiqa.training.run import check_inputs_outside_output

    table = tmp_path / "out" / "labels.csv"
    table.parent.mkdir()
    table.write_text("image,mos\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"labels\.csv lies inside the output directory"):
        check_inputs_outside_output(tmp_path / "out", [tmp_path / "model", table])
    with pytest.raises(ValueError, match="lies inside"):
        check_inputs_outside_output(tmp_path / "out", [tmp_path / "out"])  # the start model is the output
    assert table.exists()
    check_inputs_outside_output(tmp_path / "out2", [tmp_path / "out" / "labels.csv", tmp_path / "out"])


def test_csv_log_drops_rows_after_resumed_step(tmp_path):
    path = tmp_path / "train_log.csv"
    cb = CsvLogCallback(path, {"loss": "loss", "kl": "kl"})
    state = SimpleNamespace(is_world_process_zero=True, global_step=0)
    cb.on_train_begin(None, state, None)
    for step in (1, 2, 3):
        state.global_step = step
        cb.on_log(None, state, None, logs={"loss": 0.1 * step} | ({"kl": 0.5} if step != 2 else {}))
    cb.on_log(None, state, None, logs={"train_loss": 1.0})  # the end-of-training summary is not a step
    df = pd.read_csv(path)
    assert df["step"].tolist() == [1, 2, 3] and list(df.columns) == ["step", "loss", "kl"]
    assert pd.isna(df.loc[1, "kl"])
    resumed = CsvLogCallback(path, {"loss": "loss", "kl": "kl"})
    resumed.on_train_begin(None, SimpleNamespace(is_world_process_zero=True, global_step=2), None)
    assert [r["step"] for r in resumed.rows] == [1, 2]
