"""The batch-plan sampler that replaces TRL's `RepeatSampler` in GRPO.

TRL's dataloader yields one *local generation batch* per step: `per_device_train_batch_size *
steps_per_generation` rows, and with several processes accelerate deals consecutive chunks of that size
round-robin to the ranks (`BatchSamplerShard`, `split_batches=False`). This sampler emits, per plan batch,
its B images each repeated K (`num_generations`) times in a row, so with a local generation batch of B*K
rows every rank generates for exactly one plan batch: one comparison scope (a dataset / MOS scale) whose
B*K completions reach the reward function together. Like `RepeatSampler`, each group of
`num_processes` plan batches is emitted `repeat_count` (= num_iterations * steps_per_generation) times,
because the trainer pulls a batch every step but only generates every `repeat_count` steps.

Epoch e visits the plan batches in a permutation seeded by (seed, e): deterministic, and identical after
a resume because the trainer calls `set_epoch` with the resumed epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from torch.utils.data import Sampler

from mgiqa.errors import DataIntegrityError

PLAN_COLUMNS = ("batch", "position", "dataset", "image")


class BatchPlanSampler(Sampler[int]):
    """Indices of B-image plan batches, each image repeated K times in a row, batch after batch."""

    def __init__(
        self,
        batches: Sequence[Sequence[int]],
        num_generations: int,
        repeat_count: int = 1,
        num_processes: int = 1,
        seed: int = 0,
        shuffle: bool = True,
    ):
        if not batches:
            raise DataIntegrityError("batch plan: no batches to sample from")
        sizes = {len(b) for b in batches}
        if len(sizes) != 1:
            raise DataIntegrityError(
                f"batch plan: batches differ in size {sorted(sizes)}; the trainer needs one B"
            )
        if len(batches) < num_processes:
            raise DataIntegrityError(
                f"batch plan: {len(batches)} batches cannot feed {num_processes} processes one batch each"
            )
        if num_generations < 1 or repeat_count < 1:
            raise ValueError("num_generations and repeat_count must be positive")
        self.batches = [list(map(int, b)) for b in batches]
        self.images_per_batch = sizes.pop()
        self.num_generations = num_generations
        self.repeat_count = repeat_count
        self.num_processes = num_processes
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        # every rank must get a batch at every step: whole groups of num_processes batches per epoch
        self.batches_per_epoch = len(self.batches) - len(self.batches) % num_processes

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def batch_order(self, epoch: int) -> list[int]:
        """Plan-batch ids visited in `epoch` (a whole number of process groups)."""
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.batches))
        else:
            order = np.arange(len(self.batches))
        return [int(i) for i in order[: self.batches_per_epoch]]

    def __iter__(self) -> Iterator[int]:
        order = self.batch_order(self.epoch)
        for start in range(0, len(order), self.num_processes):
            group = order[start : start + self.num_processes]
            for _ in range(self.repeat_count):
                for batch_id in group:
                    for index in self.batches[batch_id]:
                        yield from [index] * self.num_generations

    def __len__(self) -> int:
        return self.batches_per_epoch * self.repeat_count * self.images_per_batch * self.num_generations


def plan_batch_indices(
    plan: pd.DataFrame, row_keys: Sequence[tuple[str, str]], *, source: str = "<batch plan>"
) -> list[list[int]]:
    """The plan's batches as lists of dataset row indices, in (batch, position) order.

    `row_keys[i]` is the (dataset, image) of dataset row i. Every plan image must be a dataset row.
    """
    missing_cols = [c for c in PLAN_COLUMNS if c not in plan.columns]
    if missing_cols:
        raise DataIntegrityError(f"{source}: missing columns {missing_cols}")
    lookup = {key: i for i, key in enumerate(row_keys)}
    if len(lookup) != len(row_keys):
        raise DataIntegrityError(f"{source}: the training rows repeat a (dataset, image) key")
    ordered = plan.sort_values(["batch", "position"], kind="stable")
    batches = []
    for batch_id, rows in ordered.groupby("batch", sort=True):
        indices = []
        for dataset, image in zip(rows["dataset"].astype(str), rows["image"].astype(str), strict=True):
            if (dataset, image) not in lookup:
                raise DataIntegrityError(
                    f"{source}: batch {batch_id}: image {dataset}/{image} is not among the training rows"
                )
            indices.append(lookup[(dataset, image)])
        batches.append(indices)
    return batches


def select_plan_batches(
    plan: pd.DataFrame, datasets: Sequence[str], *, source: str = "<batch plan>"
) -> pd.DataFrame:
    """The plan's batches whose images all come from `datasets`; a batch split across the line is an error.

    A plan built for the whole training set serves every ablation that trains on a subset of its datasets
    (e.g. rl2r's synthetic-only run), as long as no batch mixes kept and dropped datasets.
    """
    keep = plan["dataset"].astype(str).isin(set(datasets))
    per_batch = keep.groupby(plan["batch"]).agg(["all", "any"])
    split = per_batch.index[per_batch["any"] & ~per_batch["all"]]
    if len(split):
        raise DataIntegrityError(
            f"{source}: batches {list(split[:5])} mix datasets inside and outside {sorted(datasets)}; "
            "build the batch plan from the training datasets of this run"
        )
    selected = plan[plan["batch"].isin(per_batch.index[per_batch["all"]])]
    if selected.empty:
        raise DataIntegrityError(f"{source}: no batch consists of images from {sorted(datasets)}")
    return selected


def check_single_scale(plan: pd.DataFrame, *, source: str = "<batch plan>") -> None:
    """Cross-domain alignment: every batch holds images of one dataset (one MOS scale)."""
    n_datasets = plan.groupby("batch")["dataset"].nunique()
    mixed = n_datasets.index[n_datasets > 1]
    if len(mixed):
        raise DataIntegrityError(
            f"{source}: batches {list(mixed[:5])} mix datasets, but the ablation compares within one scale "
            "(alignment: true); use the batch plan of an aligned scope"
        )
