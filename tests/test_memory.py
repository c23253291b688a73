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

SHAPE = ModelShape(
    n_params=1_000_000_000,
    hidden_size=1024,
    num_layers=10,
    num_kv_heads=2,
    head_dim=64,
    largest_layer_params=50_000_000,
)


def _est(**kw):
    args = dict(
        stage="sft",
        num_gpus=4,
        zero_stage=0,
        dtype="bfloat16",
        sequences_per_gpu=1,
        seq_len=100,
        gradient_checkpointing=False,
    )
    return estimate_training_memory(SHAPE, **(args | kw))


def test_state_bytes_per_param_without_sharding():
    e = _est()
    assert e.weights_gib == pytest.approx(2e9 / GIB)
    assert e.gradients_gib == pytest.approx(6e9 / GIB)  # bf16 gradients + their fp32 copy
    assert e.optimizer_gib == pytest.approx(12e9 / GIB)  # fp32 master weights + two Adam moments
    assert e.reference_gib == 0
    fp32 = _est(dtype="float32")  # weights updated in place: no master copy
    assert (fp32.weights_gib, fp32.gradients_gib, fp32.optimizer_gib) == pytest.approx(
        (4e9 / GIB, 4e9 / GIB, 8e9 / GIB)
    )


def test_zero_stages_shard_progressively():
    z1, z2, z3 = (_est(zero_stage=s) for s in (1, 2, 3))
    assert z1.optimizer_gib == pytest.approx(3e9 / GIB) and z1.gradients_gib == pytest.approx(6e9 / GIB)
    assert z2.gradients_gib == pytest.approx(1.5e9 / GIB) and z2.weights_gib == pytest.approx(2e9 / GIB)
    assert z3.weights_gib == pytest.approx((0.5e9 + 4 * SHAPE.largest_layer_params) / GIB)
    assert z1.total_gib > z2.total_gib > z3.total_gib


def test_activations_and_checkpointing():
    full = _est(sequences_per_gpu=2, seq_len=1000)
    ckpt = _est(sequences_per_gpu=2, seq_len=1000, gradient_checkpointing=True)
    assert full.activations_gib == pytest.approx(2 * 1000 * 10 * 34 * 1024 / GIB)
    # each layer's input, plus one layer recomputed in full during backward
    assert ckpt.activations_gib == pytest.approx(full.activations_gib * 2 / 34 + full.activations_gib / 10)


def test_vision_tower_activations_over_every_sequences_patches():
    with_tower = _est(sequences_per_gpu=3, seq_len=500, image_tokens=100)
    frozen = _est(sequences_per_gpu=3, seq_len=500, image_tokens=100, train_vision=False)
    patches = 3 * 100 * 4  # 2 x 2 patches per image token, one image per sequence
    vision = 34 * patches * SHAPE.vision_hidden_size * SHAPE.vision_layers
    assert with_tower.activations_gib - frozen.activations_gib == pytest.approx(vision / GIB)


def test_grpo_adds_reference_and_generation_memory():
    e = _est(stage="grpo", kl_beta=0.04, sequences_per_gpu=2, generation_sequences=4, seq_len=150)
    assert e.reference_gib == pytest.approx(2e9 / GIB)
    assert e.generation_gib == pytest.approx(2 * 10 * 2 * 64 * 150 * 4 * 2 / GIB)  # KV cache, 4 sequences
    assert _est(stage="grpo", kl_beta=0.0).reference_gib == 0
    z3 = _est(stage="grpo", zero_stage=3, generation_sequences=4, seq_len=150)
    assert z3.generation_gib - e.generation_gib == pytest.approx(2e9 * 3 / 4 / GIB)  # the gathered shards
    # generation and backward do not overlap: the peak takes the larger of the two
    assert e.total_gib == pytest.approx(
        e.model_states_gib + e.reference_gib + e.overhead_gib + max(e.activations_gib, e.generation_gib)
    )
    with_vllm = _est(stage="grpo", vllm_reservation_gib=20.0)
    assert with_vllm.generation_gib == 0 and with_vllm.vllm_gib == 20.0


def test_check_fits_raises_with_advice():
    e = _est()
    check_fits(e, e.total_gib + 1, "ok")
    with pytest.raises(MgiqaError, match=r"needs about .* GiB per device .* ZeRO stage"):
        check_fits(e, 1.0, "grpo (paper)")


def _deepspeed_zero2_gpu_bytes(n: int, gpus: int) -> int:
    """deepspeed 0.19.8 runtime/zero/stage_1_and_2.py estimate_zero2_model_states_mem_needs, no offload."""
    return 2 * n + int(18 * n / gpus)


def _deepspeed_zero3_gpu_bytes(n: int, largest: int, gpus: int) -> int:
    """deepspeed 0.19.8 runtime/zero/stage3.py estimate_zero3_model_states_mem_needs, no offload."""
    return 4 * largest + int(18 * n / gpus)


@pytest.mark.parametrize("gpus", [1, 2, 8, 64])
@pytest.mark.parametrize("name", list(KNOWN_MODELS))
def test_model_states_at_least_deepspeeds_formula_by_hand(name, gpus):
    shape = KNOWN_MODELS[name]
    z2 = estimate_training_memory(shape, **_paper_like(gpus, 2)).model_states_gib * GIB
    z3 = estimate_training_memory(shape, **_paper_like(gpus, 3)).model_states_gib * GIB
    assert z2 == pytest.approx(_deepspeed_zero2_gpu_bytes(shape.n_params, gpus), rel=1e-9)
    assert z3 >= _deepspeed_zero3_gpu_bytes(shape.n_params, shape.largest_layer_params, gpus)


def _paper_like(gpus: int, zero_stage: int) -> dict:
    return dict(
        stage="grpo",
        num_gpus=gpus,
        zero_stage=zero_stage,
        dtype="bfloat16",
        sequences_per_gpu=1,
        seq_len=10,
        gradient_checkpointing=True,
    )


@pytest.mark.parametrize("gpus", [1, 8, 64])
def test_model_states_at_least_deepspeeds_estimator(gpus):
    pytest.importorskip("deepspeed", reason="deepspeed is not installed (it is only in the GPU install)")
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

    shape = KNOWN_MODELS["Qwen/Qwen2.5-VL-7B-Instruct"]
    n, largest = shape.n_params, shape.largest_layer_params
    _, z3_gpu, _ = estimate_zero3_model_states_mem_needs(
        n, largest, num_gpus_per_node=gpus, cpu_offload=False, cpu_offload_params=False
    )
    _, z2_gpu = estimate_zero2_model_states_mem_needs(n, num_gpus_per_node=gpus, cpu_offload=False)
    assert estimate_training_memory(shape, **_paper_like(gpus, 3)).model_states_gib * GIB >= z3_gpu
    assert estimate_training_memory(shape, **_paper_like(gpus, 2)).model_states_gib * GIB >= z2_gpu
    assert z3_gpu == _deepspeed_zero3_gpu_bytes(n, largest, gpus)  # the by-hand formula is DeepSpeed's


@pytest.fixture
def paper(paper_config_outside_checkout):
    import copy

    config = copy.deepcopy(paper_config_outside_checkout)
    config["grpo"]["gradient_accumulation_steps"] = 2  # micro-batches of 24 sequences (B x K = 48)
    return config, KNOWN_MODELS[config["model"]["hub_id"]]


def test_paper_grpo_estimate_includes_vllm_and_lies_in_a_plausible_band(paper):
    from mgiqa.training.vllm_colocate import vllm_args

    config, shape = paper
    est = estimate_for_config(config, "grpo", shape)
    utilization = vllm_args(config, model_dir=None)["vllm_gpu_memory_utilization"]
    assert est.vllm_gib == pytest.approx(utilization * config["compute"]["gpu_memory_gb"])
    assert 55 <= est.total_gib <= 90
    assert est.model_states_gib * GIB >= _deepspeed_zero3_gpu_bytes(
        shape.n_params, shape.largest_layer_params, 8
    )
    # activations of the micro-batch TRL trains on (B x K / accumulation), not of the whole generation batch
    config["grpo"]["gradient_accumulation_steps"] = 4
    assert estimate_for_config(config, "grpo", shape).activations_gib == pytest.approx(
        est.activations_gib / 2
    )


def test_square_resolution_counts_its_own_image_tokens(paper):
    config, shape = paper
    native = estimate_for_config(config, "grpo", shape)
    config["model"] |= {"resolution": "square", "image_size": 448}
    square = estimate_for_config(config, "grpo", shape)
    assert square.activations_gib == pytest.approx(
        estimate_for_config(config, "grpo", shape, image_tokens=256).activations_gib
    )
    assert square.activations_gib < native.activations_gib


def test_turning_vllm_off_removes_exactly_its_reservation(paper):
    config, shape = paper
    on = estimate_for_config(config, "grpo", shape)
    config["compute"]["vllm"] = False
    off = estimate_for_config(config, "grpo", shape)
    assert on.vllm_gib > 20 and off.vllm_gib == 0
    assert 0 < off.generation_gib < off.activations_gib  # transformers generation does not raise the peak
    assert off.total_gib == pytest.approx(on.total_gib - on.vllm_gib)


def test_paper_config_fits_80gb_only_with_zero3_and_small_micro_batches(paper):
    config, shape = paper
    check_fits(estimate_for_config(config, "sft", shape), config["compute"]["gpu_memory_gb"], "sft")
    # micro-batches of 24 sequences at the image-token bound (1,280) do not fit beside vLLM's 28 GiB ...
    with pytest.raises(MgiqaError, match="will not fit"):
        check_fits(estimate_for_config(config, "grpo", shape), 80, "grpo")
    # ... micro-batches of 12 do
    config["grpo"]["gradient_accumulation_steps"] = 4
    check_fits(estimate_for_config(config, "grpo", shape), 80, "grpo")
    # without ZeRO the full optimizer states of 8.3B params alone exceed 80 GiB
    config["compute"]["accelerate_config"] = "ddp"
    with pytest.raises(MgiqaError):
        check_fits(estimate_for_config(config, "grpo", shape), 80, "grpo")


def test_memory_command_prints_breakdown_and_says_when_it_will_not_fit(repo_root, capsys):
    from mgiqa.cli import main

    paper = str(repo_root / "config" / "paper.yaml")
    assert main(["memory", "--config", paper, "--stage", "sft"]) == 0
    out = capsys.readouterr().out
    assert "vLLM colocate reservation" in out and "fits:" in out
    assert main(["memory", "--config", paper, "--stage", "grpo", "--available-gib", "40"]) == 2
    assert "will not fit" in capsys.readouterr().err
