"""Per-step training logs as a CSV (`train_log.csv`), resume-aware."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
from transformers import TrainerCallback

from mgiqa.io import write_table

# csv column -> the key the trainer logs it under (GRPOTrainer.log merges TRL's metrics into `logs`)
GRPO_COLUMNS: dict[str, str] = {
    "loss": "loss",
    "kl": "kl",
    "reward_total": "reward",
    "reward_format": "reward/format",
    "reward_fidelity": "reward/fidelity",
    "reward_overall": "reward/overall",
    "reward_sharpness": "reward/sharpness",
    "reward_color": "reward/color",
    "reward_noise": "reward/noise",
    "reward_composition": "reward/composition",
    "parse_failure_rate": "parse_failure_rate",
    "learning_rate": "learning_rate",
    "reward_std": "reward_std",
    "frac_reward_zero_std": "frac_reward_zero_std",
    "completion_length": "completions/mean_length",
    "grad_norm": "grad_norm",
    "probe_srcc": "probe/srcc",  # held-out SRCC (mgiqa.training.probe), on the steps it ran
    "probe_parse_rate": "probe/parse_rate",
}

SFT_COLUMNS: dict[str, str] = {
    "loss": "loss",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
    "mean_token_accuracy": "mean_token_accuracy",
    "num_tokens": "num_tokens",
}


class CsvLogCallback(TrainerCallback):
    """Append one row per logged optimizer step to `path` (rewritten atomically each time).

    On resume, rows logged after the checkpoint's step are dropped: those steps are trained again.
    A metric the trainer did not log this step (e.g. an attribute no image in the batch has a label for)
    is left empty.
    """

    def __init__(self, path: str | os.PathLike, columns: dict[str, str]):
        self.path = Path(path)
        self.columns = dict(columns)
        self.rows: list[dict] = []

    @property
    def header(self) -> list[str]:
        return ["step", *self.columns]

    def on_train_begin(self, args, state, control, **kwargs):
        self.rows = []
        if state.is_world_process_zero and self.path.is_file():
            previous = pd.read_csv(self.path)
            previous = previous[previous["step"] <= state.global_step]
            self.rows = previous.to_dict("records")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return  # the end-of-training summary logs train_loss, not loss
        row = {"step": state.global_step}
        for column, key in self.columns.items():
            value = logs.get(key)
            row[column] = float(value) if value is not None and not _is_nan(value) else math.nan
        self.rows.append(row)
        write_table(self.path, pd.DataFrame(self.rows, columns=self.header))


def _is_nan(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False
