"""The GRPO batch-plan sampler: B images x K repeats per batch, one scope per batch, deterministic, sharded."""

from __future__ import annotations

import pandas as pd
import pytest
from torch.utils.data import BatchSampler

from mgiqa.errors import DataIntegrityError
from mgiqa.training.sampler import (
    BatchPlanSampler,
    check_single_scale,
    plan_batch_indices,
    select_plan_batches,
)

B, K = 4, 3


def make_plan(n_batches_per_dataset: int = 3) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    rows = []
    batch = 0
    for dataset, domain in (("syn", "synthetic"), ("auth", "authentic")):
        for _ in range(n_batches_per_dataset):
            for pos in range(B):
                rows.append(
                    {
                        "batch": batch,
                        "position": pos,
                        "dataset": dataset,
                        "image": f"img{batch}_{pos}.png",
                        "domain": domain,
                        "group": dataset,
                        "mos": 1.0 + pos,
                    }
                )
            batch += 1
    plan = pd.DataFrame(rows)
    # the training rows in a different order than the plan
    keys = [(r["dataset"], r["image"]) for r in reversed(rows)]
    return plan, keys


def chunks(seq, size):
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def test_batches_are_homogeneous_images_times_repeats():
    plan, keys = make_plan()
    batches = plan_batch_indices(plan, keys)
    sampler = BatchPlanSampler(batches, num_generations=K, seed=7)
    indices = list(sampler)
    assert len(indices) == len(sampler) == len(batches) * B * K
    domain_of = {i: plan.set_index(["dataset", "image"]).loc[key, "domain"] for i, key in enumerate(keys)}
    seen = []
    for chunk in chunks(indices, B * K):
        # B distinct images, each K times in a row
        images = chunk[::K]
        assert len(set(images)) == B
        assert chunk == [i for i in images for _ in range(K)]
        assert len({domain_of[i] for i in chunk}) == 1
        seen.append(sorted(images))
    assert sorted(seen) == sorted(sorted(b) for b in batches)  # every plan batch exactly once per epoch


def test_plan_order_positions_map_to_rows():
    plan, keys = make_plan(1)
    batches = plan_batch_indices(plan, keys)
    assert [keys[i] for i in batches[0]] == [("syn", f"img0_{p}.png") for p in range(B)]


def test_deterministic_and_epoch_dependent():
    plan, keys = make_plan(4)
    batches = plan_batch_indices(plan, keys)
    a = BatchPlanSampler(batches, num_generations=K, seed=3)
    b = BatchPlanSampler(batches, num_generations=K, seed=3)
    assert list(a) == list(b)
    assert list(a) == list(a)  # re-iterating the same epoch gives the same order
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(BatchPlanSampler(batches, num_generations=K, seed=4)) != first


def test_repeat_count_repeats_each_generation_batch():
    plan, keys = make_plan(2)
    batches = plan_batch_indices(plan, keys)
    sampler = BatchPlanSampler(batches, num_generations=K, repeat_count=2, seed=0)
    blocks = chunks(list(sampler), B * K)
    assert len(blocks) == 2 * len(batches)
    for first, second in zip(blocks[::2], blocks[1::2], strict=True):
        assert first == second


def test_sharding_gives_each_process_its_own_plan_batch():
    from accelerate.data_loader import BatchSamplerShard

    plan, keys = make_plan(3)  # 6 batches
    batches = plan_batch_indices(plan, keys)
    sampler = BatchPlanSampler(batches, num_generations=K, repeat_count=2, num_processes=2, seed=1)
    per_rank = []
    for rank in range(2):
        shard = BatchSamplerShard(
            BatchSampler(sampler, B * K, drop_last=False), num_processes=2, process_index=rank
        )
        per_rank.append([list(b) for b in shard])
    assert len(per_rank[0]) == len(per_rank[1]) == 6  # 3 steps per rank x repeat 2
    all_batches = {tuple(sorted(b)) for b in batches}
    for rank_batches in per_rank:
        for local in rank_batches:
            assert tuple(sorted(set(local))) in all_batches  # a whole plan batch, nothing else
            assert local == [i for i in local[::K] for _ in range(K)]
    # at every step the two ranks work on different plan batches
    for a, b in zip(per_rank[0], per_rank[1], strict=True):
        assert set(a).isdisjoint(b)


def test_drops_batches_that_do_not_fill_every_process():
    plan, keys = make_plan(1)  # 2 batches
    batches = plan_batch_indices(plan, keys)[:1] + plan_batch_indices(plan, keys)
    sampler = BatchPlanSampler(batches, num_generations=K, num_processes=2)
    assert len(sampler) == 2 * B * K


def test_errors():
    plan, keys = make_plan(1)
    with pytest.raises(DataIntegrityError, match="not among the training rows"):
        plan_batch_indices(plan, keys[1:])
    with pytest.raises(DataIntegrityError, match="missing columns"):
        plan_batch_indices(plan.drop(columns="position"), keys)
    with pytest.raises(DataIntegrityError, match="differ in size"):
        BatchPlanSampler([[0, 1], [2]], num_generations=K)
    with pytest.raises(DataIntegrityError, match="no batches"):
        BatchPlanSampler([], num_generations=K)


def test_select_plan_batches_and_scale_check():
    plan, _ = make_plan(2)
    syn = select_plan_batches(plan, ["syn"])
    assert set(syn["dataset"]) == {"syn"} and syn["batch"].nunique() == 2
    with pytest.raises(DataIntegrityError, match="no batch"):
        select_plan_batches(plan, ["other"])
    check_single_scale(plan)
    mixed = plan.copy()
    mixed.loc[0, "batch"] = 1  # one syn image into an auth batch... and batch 1 is syn: make it cross
    mixed.loc[mixed["batch"] == 2, "batch"] = 1
    with pytest.raises(DataIntegrityError, match="mix datasets"):
        check_single_scale(mixed)
    with pytest.raises(DataIntegrityError, match="inside and outside"):
        select_plan_batches(mixed, ["syn"])
