"""GPU training benchmark: a randomly initialised Qwen2.5-VL of the real architecture, a few SFT and GRPO steps
through the training rules' launch path; per-step times and peak memory per rank against `mgiqa.memory`'s
estimate (term by term) -> results/bench/gpu.csv; predict throughput (images/s) on transformers and, where
installed, vLLM -> results/bench/gpu_predict.csv. How to run it, and what it measures: bench/GPU.md.

    python bench/bench_gpu.py                                  # every visible GPU, 3B widths, 12 text layers
    python bench/bench_gpu.py --preset 7b --text-layers 4 --num-processes 4 --accelerate-config zero3
    python bench/bench_gpu.py --device cpu --tiny              # CPU smoke check -> gpu_cpu_smoke.csv

Each stage runs as `<mgiqa.pipeline.launcher(config) prefix> bench/bench_gpu.py worker ...`: one process, or
`accelerate launch` with one process per GPU, calling the same memory preflight and `train_sft` / `train_grpo`
as `mgiqa sft|grpo`, with a callback that times every optimizer step and reads the peak memory.
"""

from __future__ import annotations

import argparse
import copy
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
from common import REPO, RESULTS, environment, write_results
from gpu_predict import backends, measure, predict_worker, vllm_installed

GIB = 1024**3
TRAIN = ("demo_synthetic", "demo_authentic", "demo_generated")
ABLATION, PROMPT, SEED = "mg_iqa", "attribute", 0
# config.json of Qwen/Qwen2.5-VL-{3B,7B}-Instruct; at full depth the parameter counts are
# mgiqa.memory.KNOWN_MODELS' (tests/test_bench_gpu.py checks it).
PRESETS = {
    "3b": {"hub_id": "Qwen/Qwen2.5-VL-3B-Instruct", "tie_word_embeddings": True,
           "text": {"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 11008,
                    "num_hidden_layers": 36, "num_attention_heads": 16, "num_key_value_heads": 2}},
    "7b": {"hub_id": "Qwen/Qwen2.5-VL-7B-Instruct", "tie_word_embeddings": False,
           "text": {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
                    "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4}},
}  # fmt: skip
VISION = {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16, "patch_size": 14,
          "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112, "tokens_per_second": 2}  # fmt: skip
FULL_ATTENTION_EVERY = 8  # fullatt_block_indexes [7, 15, 23, 31]


def qwen_config(preset: str, tokenizer, text_layers: int | None = None, vision_depth: int | None = None):
    """A `Qwen2_5_VLConfig` with the preset's widths, `text_layers` / `vision_depth` (None: the full depth)."""
    from transformers import Qwen2_5_VLConfig

    spec, depth = PRESETS[preset], vision_depth or VISION["depth"]
    token = tokenizer.convert_tokens_to_ids
    special = {"bos_token_id": token("<|endoftext|>"), "eos_token_id": token("<|im_end|>"),
               "pad_token_id": token("<|endoftext|>"), "tie_word_embeddings": spec["tie_word_embeddings"]}  # fmt: skip
    text = {**spec["text"], "max_position_embeddings": 128000, "rms_norm_eps": 1e-6, "hidden_act": "silu",
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
            **special}  # fmt: skip
    text["num_hidden_layers"] = text_layers or text["num_hidden_layers"]
    full = list(range(FULL_ATTENTION_EVERY - 1, depth, FULL_ATTENTION_EVERY)) or [depth - 1]
    vision = {**VISION, "out_hidden_size": text["hidden_size"], "depth": depth, "fullatt_block_indexes": full}
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=token("<|image_pad|>"),
        video_token_id=token("<|video_pad|>"),
        vision_start_token_id=token("<|vision_start|>"),
        vision_end_token_id=token("<|vision_end|>"),
        **special,
    )


def build_model(args, config: dict, out: Path) -> Path:
    """The seeded random benchmark model (initialised on the target device) + offline processor, in `out`."""
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    from mgiqa.config import derive_seed
    from mgiqa.model.loading import save_pretrained_atomic
    from mgiqa.model.tiny import build_processor, build_tiny_model

    if args.tiny:
        return build_tiny_model(out, config)
    processor = build_processor(
        config
    )  # the demo's offline tokenizer; the embedding keeps the real vocab size
    tokenizer = processor.tokenizer
    torch.manual_seed(derive_seed(config, "bench-gpu-model"))
    with torch.device(args.device):
        model = Qwen2_5_VLForConditionalGeneration(
            qwen_config(args.preset, tokenizer, args.text_layers, args.vision_depth)
        ).to(getattr(torch, config["model"]["dtype"]))
    eos = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
    model.generation_config = GenerationConfig(
        bos_token_id=eos[1], eos_token_id=eos, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    return save_pretrained_atomic(model, processor, out)


def bench_config(args, work: Path) -> dict:
    """config/paper.yaml (config/test.yaml with --tiny): its B, K, batches, precision; mg_iqa on the demo sets."""
    from mgiqa.config import load_config, validate_config

    base = load_config(REPO / "config" / ("test.yaml" if args.tiny else "paper.yaml"))
    config, on_gpu = copy.deepcopy(base), args.device == "cuda"
    per_dataset = max(2 * args.num_processes * config["batches"]["images_per_batch"], 16)
    config |= {"name": "bench_gpu", "seeds": [SEED], "ablations": {ABLATION: base["ablations"][ABLATION]}}
    config["paths"] = {k: str(work / k) for k in ("data", "models", "results")} | {"mirror": None}
    config["datasets"] |= {"train": list(TRAIN), "pretrain": [], "benchmarks": ["demo_bid"]}
    config["demo"] = {"image_size": min(224, config["model"]["image_size"]),  # resized to image_size on access
                      "images": {k: per_dataset for k in TRAIN} | {"benchmark": args.predict_images}}  # fmt: skip
    tiny = load_config(REPO / "config" / "test.yaml")["model"]["tiny"]  # the offline tokenizer's vocabulary
    # square images (448: 256 visual tokens each), so that the estimate counts the tokens the steps really see
    config["model"] |= {"dtype": "bfloat16" if on_gpu else "float32", "tiny": tiny, "resolution": "square"}
    config["model"]["image_size"] = args.image_size or config["model"]["image_size"]
    config["generation"]["max_new_tokens"] = args.max_new_tokens or config["generation"]["max_new_tokens"]
    for stage, steps in (("sft", args.sft_steps), ("grpo", args.grpo_steps)):
        config[stage] |= {"steps": steps, "save_steps": steps + 1}  # no checkpoint: time training, not disk
    multi = args.num_processes > 1 or args.accelerate_config
    config["compute"] = {
        **{k: v for k, v in base["compute"].items() if k.startswith("vllm_")},  # derived engine settings
        "backend": args.device, "num_processes": args.num_processes, "vllm": args.vllm,
        "accelerate_config": (args.accelerate_config or "ddp") if multi else None,
        "gpus": args.num_processes if on_gpu else 0, "mem_mb": 8000, "runtime_min": 60,
    }  # fmt: skip
    if on_gpu:
        import torch

        config["compute"]["gpu_memory_gb"] = torch.cuda.get_device_properties(0).total_memory / GIB
    return validate_config(config, "bench_gpu config")


def _prepare_one(key: str, config: dict, data: Path) -> Path:
    from mgiqa.data.demo import generate_dataset
    from mgiqa.data.images import prepare_table
    from mgiqa.data.labels import parse_label_file
    from mgiqa.data.registry import get_dataset
    from mgiqa.io import write_table

    entry, raw, out = get_dataset(key), data / "raw" / key, data / "prepared" / f"{key}.csv"
    generate_dataset(key, entry, raw, config)
    labels = parse_label_file(key, raw / entry["labels"]["file"], entry)
    write_table(out, prepare_table(labels, raw, key, allow_missing=False)[0])
    return out


def prepare_data(config: dict, data: Path) -> tuple[list[Path], Path]:
    """The demo training tables (generated in parallel) and their single-scope batch plan."""
    from mgiqa.data.batches import build_batch_plan
    from mgiqa.io import read_table, write_table

    with ProcessPoolExecutor(len(TRAIN)) as pool:
        tables = list(pool.map(_prepare_one, TRAIN, [config] * len(TRAIN), [data] * len(TRAIN)))
    rows = pd.concat([read_table(t) for t in tables], ignore_index=True)
    plan = build_batch_plan(rows[rows["split"] == "train"], config["batches"]["images_per_batch"], scope="group",
                            min_mos_spread=config["batches"]["min_mos_spread"], seed=0)  # fmt: skip
    write_table(data / "batches" / "group.csv", plan)
    return tables, data / "batches" / "group.csv"


def launch_stage(config: dict, stage: str, paths: dict) -> None:
    """Run this script's `worker` through the training rules' launch prefix, from the repository root."""
    from mgiqa.pipeline import launcher

    prefix = shlex.split(launcher(config))
    if prefix[-2:] != ["-m", "mgiqa"] and prefix != ["mgiqa"]:
        raise RuntimeError(f"unexpected launcher prefix {prefix}")
    prefix = prefix[:-2] if prefix[-2:] == ["-m", "mgiqa"] else [sys.executable]
    command = [*prefix, str(Path(__file__).resolve()), "worker", f"--stage={stage}",
               *[f"--{k}={v}" for k, v in paths.items()]]  # fmt: skip
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")  # fmt: skip
    print("$", shlex.join(command), flush=True)
    proc = subprocess.run(command, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{stage} failed (exit {proc.returncode}):\n{proc.stdout[-8000:]}")


def worker(argv: list[str]) -> int:
    """One process of one stage: `mgiqa sft|grpo`'s memory preflight and training, plus the step stats."""
    p = argparse.ArgumentParser()
    for name in ("stage", "config", "model", "tables", "plan", "output", "stats"):
        p.add_argument(f"--{name}", required=True)
    args = p.parse_args(argv)
    from mgiqa.config import load_config
    from mgiqa.memory import preflight
    from mgiqa.training.grpo import train_grpo
    from mgiqa.training.sft import train_sft

    config, tables = load_config(args.config), args.tables.split(",")
    preflight(config, args.stage, args.model)  # prints the estimate; stops a run that cannot fit
    stats = step_stats(Path(args.stats) / args.stage, config["compute"]["backend"] == "cuda")
    if args.stage == "sft":
        train_sft(config, PROMPT, SEED, args.model, tables, args.output, callbacks=[stats])
    else:
        train_grpo(config, ABLATION, SEED, args.model, tables, args.plan, args.output, callbacks=[stats])
    return 0


def step_stats(out_dir: Path, cuda: bool):
    """TrainerCallback: per optimizer step, wall seconds and peak memory so far -> out_dir/rank{r}.csv."""
    import resource
    import time

    import torch
    from transformers import TrainerCallback

    from mgiqa.io import write_table

    def now() -> float:
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    class StepStats(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.rows = []
            if cuda:
                torch.cuda.reset_peak_memory_stats()  # from here on; the loaded weights stay allocated

        def on_step_begin(self, args, state, control, **kwargs):
            self.start = now()

        def on_step_end(self, args, state, control, **kwargs):
            row = {"step": state.global_step, "rank": args.process_index, "step_seconds": now() - self.start,
                   "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB}  # fmt: skip
            if cuda:
                row["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / GIB
                row["peak_reserved_gib"] = torch.cuda.max_memory_reserved() / GIB
            self.rows.append(row)

        def on_train_end(self, args, state, control, **kwargs):
            write_table(out_dir / f"rank{args.process_index}.csv", pd.DataFrame(self.rows))

    return StepStats()


def collect(config: dict, args, model_dir: Path, stats_dir: Path) -> tuple[list[dict], str]:
    """One row per stage, rank and step, with the run's settings and the memory estimate; the summary line."""
    import torch

    from mgiqa.io import read_table
    from mgiqa.memory import ModelShape, estimate_for_config

    shape, cuda = ModelShape.from_config_json(model_dir), args.device == "cuda"
    compute, model, nproc = config["compute"], config["model"], config["compute"]["num_processes"]
    described = (
        "tiny" if args.tiny else f"{args.preset} widths, {args.text_layers}+{args.vision_depth} layers"
    )
    run = {"device": args.device, "device_name": torch.cuda.get_device_name(0) if cuda else "cpu",
           "num_processes": nproc, "accelerate_config": compute["accelerate_config"] or "none",
           "vllm": compute["vllm"], "model": described, "n_params": shape.n_params, "dtype": model["dtype"],
           "gradient_checkpointing": bool(model.get("gradient_checkpointing", False)),
           "image_size": model["image_size"], "max_new_tokens": config["generation"]["max_new_tokens"],
           "torch": torch.__version__, "cuda": torch.version.cuda or "none"}  # fmt: skip
    measure = "peak_reserved_gib" if cuda else "peak_rss_gib"
    rows, parts = [], []
    for stage in ("sft", "grpo"):
        table = pd.concat([read_table(p) for p in sorted((stats_dir / stage).glob("rank*.csv"))])
        if sorted(table["rank"].unique()) != list(range(nproc)):
            raise RuntimeError(
                f"{stage}: step stats of ranks {sorted(table['rank'].unique())}, not 0..{nproc - 1}"
            )
        terms = estimate_for_config(config, stage, shape).as_dict()
        estimate = terms.pop("total_gib")
        for row in table.to_dict("records"):
            rows.append({"stage": stage, **row, **run, "measure": measure, "estimate_gib": estimate,
                         "estimate_over_peak": estimate / row[measure],
                         **{f"estimate_{k}": v for k, v in terms.items()}})  # fmt: skip
        later = table[table["step"] > 1] if table["step"].max() > 1 else table
        parts.append(f"{stage} {later['step_seconds'].median():.2f} s/step (median after step 1; step 1 "
                     f"{table.loc[table['step'] == 1, 'step_seconds'].max():.2f} s), {measure} "
                     f"{table[measure].max():.2f} GiB vs estimate {estimate:.2f} GiB")  # fmt: skip
    size = f"{shape.n_params / 1e9:.2f}B" if shape.n_params >= 1e8 else f"{shape.n_params / 1e6:.2f}M"
    head = f"{run['device_name']} x{nproc} ({run['accelerate_config']}), {described}, {size} params: "
    tail = "" if cuda else " (CPU smoke check of the script, not a GPU measurement)"
    return rows, head + "; ".join(parts) + tail


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--tiny", action="store_true", help="config/test.yaml's tiny model and sizes")
    p.add_argument("--preset", choices=sorted(PRESETS), default="3b", help="published widths")
    p.add_argument("--text-layers", type=int, default=12, help="decoder layers (3B has 36, 7B 28)")
    p.add_argument("--vision-depth", type=int, default=32, help="vision blocks (32 in both)")
    p.add_argument("--num-processes", type=int, default=None, help="default: every visible GPU; 1 on CPU")
    p.add_argument("--accelerate-config", choices=["ddp", "zero2", "zero3"], default=None)
    p.add_argument("--sft-steps", type=int, default=5)
    p.add_argument("--grpo-steps", type=int, default=3)
    p.add_argument("--max-new-tokens", type=int, default=None, help="default: the config's")
    p.add_argument("--image-size", type=int, default=None, help="default: the config's")
    p.add_argument("--vllm", choices=["auto", "on", "off"], default="auto",
                   help="GRPO rollouts with TRL's colocated vLLM (auto: on a GPU where vllm is installed)")  # fmt: skip
    p.add_argument("--predict-images", type=int, default=64, help="images of the predict throughput run")
    p.add_argument("--workdir", default=None, help="kept when given (default: a temporary folder)")
    p.add_argument("--out-dir", default=str(RESULTS))
    args = p.parse_args(argv)
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            p.error("--device cuda: no CUDA device is visible (--device cpu --tiny is the CPU smoke check)")
        args.num_processes = args.num_processes or torch.cuda.device_count()
    args.num_processes = args.num_processes or 1
    if args.vllm == "on" and not (args.device == "cuda" and vllm_installed()):
        p.error("--vllm on: vllm is not installed, or no GPU (pip install -e '.[vllm]' on a GPU machine)")
    args.vllm = args.vllm == "on" or (args.vllm == "auto" and args.device == "cuda" and vllm_installed())
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        return worker(argv[1:])
    if argv[:1] == ["predict"]:
        return predict_worker(argv[1:])
    args = parse_args(argv)
    from mgiqa.io import write_yaml

    with tempfile.TemporaryDirectory(prefix="bench_gpu_") as tmp:
        work = Path(args.workdir or tmp).resolve()
        config = bench_config(args, work)
        write_yaml(work / "config.yaml", config)
        tables, plan = prepare_data(config, work / "data")
        base, stats = build_model(args, config, work / "models" / "base"), work / "stats"
        if stats.exists():
            shutil.rmtree(stats)  # a kept workdir: only this run's figures
        for stage, start in (("sft", base), ("grpo", work / "models" / "sft")):  # GRPO from SFT, as mg_iqa
            launch_stage(config, stage, {"config": work / "config.yaml", "model": start, "plan": plan,
                                         "tables": ",".join(map(str, tables)),
                                         "output": work / "models" / stage, "stats": stats})  # fmt: skip
        rows, summary = collect(config, args, base, stats)
        name = "gpu" if args.device == "cuda" else "gpu_cpu_smoke"
        write_results(name, [row | environment() for row in rows], summary, Path(args.out_dir))
        bench_table = _prepare_one("demo_bid", config, work / "data")
        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
        figures = [measure(Path(__file__).resolve(), work / "config.yaml", work / "models" / "grpo", bench_table,
                           backend, work, env) for backend in backends(args.device)]  # fmt: skip
    line = "; ".join(f"{f['backend']} {f['images_per_s']:.2f} images/s ({f['images']} images, batch "
                     f"{f['batch_size']}, up to {f['max_new_tokens']} new tokens; load {f['load_seconds']:.0f} s)"
                     for f in figures)  # fmt: skip
    if args.device == "cuda" and not vllm_installed():
        line += "; vLLM not installed: transformers only"
    write_results(f"{name}_predict", [f | environment() for f in figures], line, Path(args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
