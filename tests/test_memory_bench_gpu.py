"""bench/bench_gpu.py's memory and predict figures: the estimate's terms beside the measured peak, predict
throughput per backend (vLLM only on a GPU where it is installed), all on CPU here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))  # the scripts import `common`, `gpu_predict`

import bench_gpu  # noqa: E402
import gpu_predict  # noqa: E402


def test_predict_backends_on_cpu_are_transformers_only():
    assert gpu_predict.backends("cpu") == ["transformers"]


def test_vllm_on_without_gpu_or_vllm_is_refused_and_auto_is_off_on_cpu():
    with pytest.raises(SystemExit):
        bench_gpu.parse_args(["--device", "cpu", "--vllm", "on"])
    assert bench_gpu.parse_args(["--device", "cpu"]).vllm is False


@pytest.mark.slow
def test_cpu_smoke_run_writes_estimate_terms_and_predict_figures(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [sys.executable, str(BENCH / "bench_gpu.py"), "--device", "cpu", "--tiny", "--sft-steps", "1",
               "--grpo-steps", "1", "--predict-images", "8", "--out-dir", str(tmp_path / "out"),
               "--workdir", str(tmp_path / "work")]  # fmt: skip
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    table = pd.read_csv(tmp_path / "out" / "gpu_cpu_smoke.csv")
    terms = {"estimate_vllm_gib", "estimate_activations_gib", "estimate_model_states_gib"}
    assert terms <= set(table.columns) and (table["estimate_vllm_gib"] == 0).all()
    predict = pd.read_csv(tmp_path / "out" / "gpu_cpu_smoke_predict.csv")
    assert list(predict["backend"]) == ["transformers"]
    assert (predict["images"] == 8).all() and (predict["images_per_s"] > 0).all()
    assert "**gpu_cpu_smoke_predict**: transformers" in (tmp_path / "out" / "summary.md").read_text()
