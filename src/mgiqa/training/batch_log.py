"""Per-process record of the rows each training step used: `batch_log_rank{r}.csv` beside `train_log.csv`.

One file per process (rank), one row per recorded batch: the optimizer step it belongs to, the rank, the
number of rows and distinct images, and the datasets, domains, comparison groups and item ids it held. GRPO
records each generation batch (the B x K completions the pairwise reward compares together), SFT each
optimizer step's training rows. It shows what data parallelism did: with the batch-plan sampler every GRPO
record of every rank holds one plan batch of one dataset, and the ranks' records differ.

Resume-aware like `train_log.csv`: rows of steps after the resumed checkpoint are dropped at train begin.
Every process writes only its own file (atomically, after each record).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
from transformers import TrainerCallback

from mgiqa.io import write_table

BATCH_LOG_COLUMNS = ("step", "rank", "rows", "images", "datasets", "domains", "groups", "items")
ROW_KEYS = ("item_id", "dataset", "domain", "group")  # the dataset columns a record reads
SEPARATOR = ";"


def batch_log_path(work_dir: str | os.PathLike, rank: int) -> Path:
    return Path(work_dir) / f"batch_log_rank{rank}.csv"


def batch_log_paths(work_dir: str | os.PathLike, num_processes: int) -> list[Path]:
    return [batch_log_path(work_dir, r) for r in range(num_processes)]


def _distinct(values: Iterable[str]) -> list[str]:
    """Values in order of first appearance, once each."""
    return list(dict.fromkeys(str(v) for v in values))


def batch_record(step: int, rank: int, rows: Sequence[Mapping]) -> dict:
    """One log row for the dataset rows `rows` (dicts with ROW_KEYS) used at optimizer step `step`."""
    missing = [k for k in ROW_KEYS if rows and k not in rows[0]]
    if missing:
        raise KeyError(f"batch log: training rows lack {missing}")
    items = _distinct(r["item_id"] for r in rows)
    return {
        "step": int(step),
        "rank": int(rank),
        "rows": len(rows),
        "images": len(items),
        "datasets": SEPARATOR.join(sorted(_distinct(r["dataset"] for r in rows))),
        "domains": SEPARATOR.join(sorted(_distinct(r["domain"] for r in rows))),
        "groups": SEPARATOR.join(sorted(_distinct(f"{r['dataset']}/{r['group']}" for r in rows))),
        "items": SEPARATOR.join(items),
    }


class BatchLog(TrainerCallback):
    """This process's batch log; `record` is called by the trainer, the callback handles resume."""

    def __init__(self, work_dir: str | os.PathLike, rank: int):
        self.rank = int(rank)
        self.path = batch_log_path(work_dir, rank)
        self.records: list[dict] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.records = []
        if self.path.is_file():
            previous = pd.read_csv(self.path, dtype=str, keep_default_na=False)
            self.records = [r for r in previous.to_dict("records") if int(r["step"]) <= state.global_step]
            self._write()

    def record(self, step: int, rows: Sequence[Mapping]) -> None:
        self.records.append(batch_record(step, self.rank, rows))
        self._write()

    def _write(self) -> None:
        write_table(self.path, pd.DataFrame(self.records, columns=list(BATCH_LOG_COLUMNS)))


def read_batch_logs(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """The batch logs of all ranks as one table (list columns split back into lists)."""
    frames = [
        pd.read_csv(p, dtype={"datasets": str, "domains": str, "groups": str, "items": str}) for p in paths
    ]
    table = pd.concat(frames, ignore_index=True)
    for column in ("datasets", "domains", "groups", "items"):
        table[column] = table[column].fillna("").str.split(SEPARATOR)
    return table
