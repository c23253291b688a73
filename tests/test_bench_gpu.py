"""bench/bench_gpu.py: its model presets are the published architectures, and the whole script runs on CPU
(`--device cpu --tiny`, the smoke check of the GPU benchmark; it has no GPU to measure here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))  # the scripts import `common`

import bench_gpu  # noqa: E402


@pytest.mark.parametrize("preset", sorted(bench_gpu.PRESETS))
def test_presets_have_the_published_parameter_counts(preset, test_config):
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from mgiqa.memory import KNOWN_MODELS
    from mgiqa.model.tiny import build_processor

    tokenizer = build_processor(test_config).tokenizer
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(bench_gpu.qwen_config(preset, tokenizer))
    published = KNOWN_MODELS[bench_gpu.PRESETS[preset]["hub_id"]]
    assert sum(p.numel() for p in model.parameters()) == published.n_params
    text = model.config.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_key_value_heads) == (
        published.hidden_size,
        published.num_layers,
        published.num_kv_heads,
    )
    scaled = bench_gpu.qwen_config(preset, tokenizer, text_layers=2, vision_depth=9)
    assert scaled.text_config.num_hidden_layers == 2 and scaled.vision_config.fullatt_block_indexes == [7]


def test_cuda_requested_without_a_gpu_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible")
    with pytest.raises(SystemExit):
        bench_gpu.parse_args(["--device", "cuda"])


@pytest.mark.slow
def test_cpu_smoke_run(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [sys.executable, str(BENCH / "bench_gpu.py"), "--device", "cpu", "--tiny", "--sft-steps", "2",
               "--grpo-steps", "2", "--out-dir", str(tmp_path / "out"), "--workdir", str(tmp_path / "work")]  # fmt: skip
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    table = pd.read_csv(tmp_path / "out" / "gpu_cpu_smoke.csv")
    assert table.groupby("stage")["step"].apply(list).to_dict() == {"grpo": [1, 2], "sft": [1, 2]}
    assert (table["rank"] == 0).all() and (table["num_processes"] == 1).all()
    assert (table["step_seconds"] > 0).all() and (table["peak_rss_gib"] > 0).all()
    assert (table["estimate_gib"] > 0).all() and (table["measure"] == "peak_rss_gib").all()
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "**gpu_cpu_smoke**" in summary and "not a GPU measurement" in summary
    assert (tmp_path / "work" / "models" / "grpo" / "batch_log_rank0.csv").is_file()
