"""Predict throughput for bench/bench_gpu.py: images/s of `mgiqa predict`'s own path (`predict_benchmark`
with `load_generator`) on each backend, transformers and, where installed on a GPU, vLLM. Each backend runs
in a subprocess of its own (`bench_gpu.py predict ...`), so that each finds the GPU empty (vLLM reserves its
share of GPU memory when it starts) and the loading time is measured apart from the predictions."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def backends(device: str) -> list[str]:
    """transformers always; vLLM too on a GPU where it is installed (vLLM has no CPU path here)."""
    return ["transformers"] + (["vllm"] if device == "cuda" and vllm_installed() else [])


def predict_worker(argv: list[str]) -> int:
    """One backend: load the generator, predict every row of the table, write the timings as JSON."""
    p = argparse.ArgumentParser()
    for name in ("config", "model", "table", "backend", "out"):
        p.add_argument(f"--{name}", required=True)
    args = p.parse_args(argv)
    from mgiqa.config import load_config
    from mgiqa.io import read_table
    from mgiqa.model.generate import load_generator, predict_benchmark

    config = load_config(args.config)
    config["compute"]["vllm"] = args.backend == "vllm"
    out = Path(args.out)
    start = time.perf_counter()
    generator = load_generator(args.model, config, seed=0)
    loaded = time.perf_counter()
    table = predict_benchmark(args.model, args.table, "attribute", config, out.with_suffix(".csv"),
                              seed=0, generator=generator, split="all")  # fmt: skip
    seconds = time.perf_counter() - loaded
    images = len(read_table(table))
    figures = {"backend": args.backend, "images": images, "load_seconds": loaded - start,
               "predict_seconds": seconds, "images_per_s": images / seconds,
               "batch_size": int(config["evaluation"]["batch_size"]),
               "max_new_tokens": int(config["generation"]["max_new_tokens"])}  # fmt: skip
    out.write_text(json.dumps(figures), encoding="utf-8")
    return 0


def measure(
    script: Path, config: Path, model: Path, table: Path, backend: str, out_dir: Path, env: dict
) -> dict:
    """Run one backend's `predict` subprocess; its figures."""
    out = out_dir / f"predict_{backend}.json"
    command = [sys.executable, str(script), "predict", f"--config={config}", f"--model={model}",
               f"--table={table}", f"--backend={backend}", f"--out={out}"]  # fmt: skip
    print("$", " ".join(command), flush=True)
    proc = subprocess.run(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"predict ({backend}) failed (exit {proc.returncode}):\n{proc.stdout[-8000:]}")
    return json.loads(out.read_text(encoding="utf-8"))
