"""The optional vLLM path (`compute.vllm: true`, extra `mgiqa[vllm]`).

Everywhere: asking for vLLM where it cannot be imported is a clear ConfigError, raised before any model or data
is loaded (evaluation's generator and GRPO's TRL rollouts alike). With vllm installed and a CUDA GPU: the vLLM
generator keeps `generate_batch`'s contract on the tiny model, and GRPO runs a step with TRL's colocated vLLM
through the training rules' launch path. Skipped cleanly otherwise.
"""

from __future__ import annotations

import copy
import sys

import pytest
from PIL import Image

from mgiqa.errors import ConfigError

NOT_INSTALLED = "vllm is not installed"


@pytest.fixture
def without_vllm(monkeypatch):
    """`import vllm` fails as on a machine without it, whether or not it is installed here."""
    monkeypatch.setitem(sys.modules, "vllm", None)


@pytest.fixture
def vllm_config(test_config):
    config = copy.deepcopy(test_config)
    config["compute"]["vllm"] = True
    return config


def test_require_vllm_names_the_fix(without_vllm):
    from mgiqa.model.generate import VllmGenerator, require_vllm

    with pytest.raises(ConfigError, match=NOT_INSTALLED) as info:
        require_vllm()
    assert "mgiqa[vllm]" in str(info.value) and "compute.vllm: false" in str(info.value)
    with pytest.raises(ConfigError, match=NOT_INSTALLED):
        VllmGenerator("no/such/model", seed=0)


def test_evaluation_with_vllm_but_without_it_is_a_config_error(without_vllm, vllm_config, tmp_path):
    from mgiqa.model.generate import load_generator

    with pytest.raises(ConfigError, match=NOT_INSTALLED):  # before the (missing) model is looked at
        load_generator(tmp_path / "no_model", vllm_config, seed=0)


def test_grpo_with_vllm_but_without_it_fails_before_loading(without_vllm, vllm_config, tmp_path):
    from mgiqa.training.checkpoints import work_dir_for
    from mgiqa.training.grpo import train_grpo

    out = tmp_path / "grpo"
    with pytest.raises(ConfigError, match=NOT_INSTALLED):  # not TRL's ImportError after the model loaded
        train_grpo(vllm_config, "mg_iqa", 0, tmp_path / "no_model", [tmp_path / "no_table.csv"],
                   tmp_path / "no_plan.csv", out)  # fmt: skip
    assert not out.exists() and not work_dir_for(out).exists()


# ---- with vllm and a GPU ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vllm_gpu():
    pytest.importorskip("vllm", reason="vllm is not installed (optional extra: pip install 'mgiqa[vllm]')")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("vLLM generation and colocated GRPO rollouts need a CUDA GPU")


@pytest.mark.slow
def test_grpo_step_with_colocated_vllm(vllm_gpu, tmp_path_factory, _test_config):
    """Runs first: its subprocess needs the GPU memory a generator in this process would hold."""
    import pandas as pd
    from test_distributed import launch, prepare_demo_run

    config = copy.deepcopy(_test_config)
    config["model"]["dtype"] = "bfloat16"
    config["compute"] |= {"backend": "cuda", "vllm": True, "num_processes": 1, "accelerate_config": None}
    config["grpo"] |= {"steps": 1, "save_steps": 1}
    run = prepare_demo_run(tmp_path_factory.mktemp("vllm_grpo"), config)
    out = run["root"] / "grpo"
    launch(config, "grpo", "--config", run["config_path"], "--ablation", "mg_iqa", "--seed", 0,
           "--model", run["base"], "--tables", *run["tables"], "--batch-plan", run["plan"], "-o", out)  # fmt: skip
    assert pd.read_csv(out / "train_log.csv")["step"].tolist() == [1]
    log = pd.read_csv(out / "batch_log_rank0.csv")
    assert log["datasets"].str.contains(";").sum() == 0  # one dataset per generation batch


@pytest.mark.slow
def test_vllm_generator_keeps_the_generate_contract(vllm_gpu, tmp_path, test_config):
    from mgiqa.model.generate import VllmGenerator
    from mgiqa.model.tiny import build_tiny_model
    from mgiqa.prompts import build_messages

    model_dir = build_tiny_model(tmp_path / "tiny", test_config)
    size = test_config["model"]["image_size"]
    generate = VllmGenerator(model_dir, seed=0, dtype="bfloat16", image_size=size)
    images = [Image.new("RGB", (size + 10, size), color) for color in ("red", "green", "blue")]
    messages = build_messages("attribute")
    kwargs = {"max_new_tokens": 8, "do_sample": True, "num_samples": 2, "seed": 5, "image_size": size}
    sampled = generate(images, lambda _image: messages, **kwargs)
    assert len(sampled) == 3 and all(len(t) == 2 and all(isinstance(s, str) for s in t) for t in sampled)
    assert generate(images, lambda _image: messages, **kwargs) == sampled  # seeded
    greedy = generate(images, lambda _image: messages, max_new_tokens=8, image_size=size)
    assert [len(t) for t in greedy] == [1, 1, 1]
    with pytest.raises(ConfigError, match="do_sample"):
        generate(images, lambda _image: messages, max_new_tokens=8, num_samples=2)
