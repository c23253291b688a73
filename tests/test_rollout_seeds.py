"""Training seeds change the colocated vLLM rollouts (TRL seeds the engine by process index only)."""

from __future__ import annotations

import torch

from mgiqa.training.vllm_colocate import reseed_rollouts


def config(vllm: bool) -> dict:
    return {"seed": 42, "compute": {"vllm": vllm}}


def test_without_vllm_the_trainers_own_seeding_is_left_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    assert reseed_rollouts(config(False), "rl2r", 0, 0) is None
    assert torch.equal(torch.rand(3), expected)


def test_each_training_seed_and_process_gets_its_own_rollout_generator():
    seeds = {(s, p): reseed_rollouts(config(True), "rl2r", s, p) for s in (0, 1, 2) for p in (0, 1)}
    assert len(set(seeds.values())) == len(seeds)
    first = reseed_rollouts(config(True), "rl2r", 1, 0)
    draws = torch.rand(4)
    assert first == seeds[(1, 0)]
    torch.manual_seed(first)
    assert torch.equal(torch.rand(4), draws)  # torch's default generator, which unseeded vLLM requests use
    assert len(set(draws.tolist())) == 4  # successive draws (the K copies of a prompt) differ
