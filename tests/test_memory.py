"""Memory estimates: ZeRO sharding arithmetic and the pre-launch check."""

from __future__ import annotations

import pytest

from mgiqa.errors import MgiqaError
from mgiqa.memory import (
    GIB,
    KNOWN_MODELS,
    ModelShape,
    check_fits,
    estimate_for_config,
    estimate_training_memory,
)

SHAPE = ModelShape(n_params=1_000_000_000, hidden_size=1024, num_layers=10, num_kv_heads=2, head_dim=64)


def _est(**kw):
    args = dict(
        stage="sft",
        num_gpus=4,
        zero_stage=0,
        dtype="bfloat16",
        sequences_per_gpu=1,
        seq_len=100,
        gen_len=0,
        gradient_checkpointing=False,
    )
    return estimate_training_memory(SHAPE, **(args | kw))


def test_state_bytes_per_param_without_sharding():
    e = _est()
    assert e.weights_gib == pytest.approx(2e9 / GIB)
    assert e.gradients_gib == pytest.approx(2e9 / GIB)
    assert e.optimizer_gib == pytest.approx(12e9 / GIB)
    assert e.reference_gib == 0


def test_zero_stages_shard_progressively():
    z1, z2, z3 = (_est(zero_stage=s) for s in (1, 2, 3))
    assert z1.optimizer_gib == pytest.approx(3e9 / GIB) and z1.gradients_gib == pytest.approx(2e9 / GIB)
    assert z2.gradients_gib == pytest.approx(0.5e9 / GIB) and z2.weights_gib == pytest.approx(2e9 / GIB)
    assert z3.weights_gib == pytest.approx(0.5e9 / GIB)
    assert z1.total_gib > z2.total_gib > z3.total_gib


def test_activations_and_checkpointing():
    full = _est(sequences_per_gpu=2, seq_len=1000)
    ckpt = _est(sequences_per_gpu=2, seq_len=1000, gradient_checkpointing=True)
    assert full.activations_gib == pytest.approx(2 * 1000 * 10 * 34 * 1024 / GIB)
    assert ckpt.activations_gib == pytest.approx(full.activations_gib * 2 / 34)


def test_grpo_adds_reference_and_kv_cache():
    e = _est(stage="grpo", kl_beta=0.04, gen_len=50, sequences_per_gpu=4)
    assert e.reference_gib == pytest.approx(2e9 / GIB)
    assert e.kv_cache_gib == pytest.approx(2 * 10 * 2 * 64 * 150 * 4 * 2 / GIB)
    assert _est(stage="grpo", kl_beta=0.0).reference_gib == 0


def test_check_fits_raises_with_advice():
    e = _est()
    check_fits(e, e.total_gib + 1, "ok")
    with pytest.raises(MgiqaError, match=r"needs about .* GiB per device .* ZeRO stage"):
        check_fits(e, 1.0, "grpo (paper)")


def test_paper_config_fits_80gb_with_zero3(repo_root):
    from mgiqa.config import load_config

    config = load_config(repo_root / "config" / "paper.yaml")
    shape = KNOWN_MODELS[config["model"]["hub_id"]]
    for stage in ("sft", "grpo"):
        est = estimate_for_config(config, stage, shape)
        check_fits(est, config["compute"]["gpu_memory_gb"], stage)
    # the same run without ZeRO does not fit: full optimizer states of 8.3B params alone exceed 80 GiB
    config["compute"]["accelerate_config"] = "ddp"
    with pytest.raises(MgiqaError):
        check_fits(estimate_for_config(config, "grpo", shape), 80, "grpo")
