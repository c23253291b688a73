"""Batched vs one-at-a-time generation throughput of the tiny model -> results/bench/generate.csv.

    .venv/bin/python bench/bench_generate.py [--config C] [--model DIR] [--images 32] [--batch-sizes 1,8,16,32]

Without --model a tiny model is built from the config (random weights: responses run to max_new_tokens or
stop early at random, identically for every batch size, since greedy batched output equals one-at-a-time).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import environment, write_results
from PIL import Image


def main(argv: list[str] | None = None) -> int:
    import torch

    from mgiqa.config import load_config
    from mgiqa.model.generate import generate_batch
    from mgiqa.model.loading import load_model, load_processor
    from mgiqa.model.tiny import build_tiny_model
    from mgiqa.prompts import build_messages

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=None)
    p.add_argument("--model", default=None, help="model directory (default: build a tiny model)")
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--batch-sizes", default="1,4,8,16,32")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: on a shared 2-core machine, 2 threads oversubscribe and run ~17x slower)",
    )
    p.add_argument("--prompt", default="attribute")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    image_size = int(config["model"]["image_size"])
    max_new_tokens = int(config["generation"]["max_new_tokens"])
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(args.model) if args.model else build_tiny_model(Path(tmp) / "tiny", config)
        model, processor = load_model(model_dir), load_processor(model_dir, image_size)
        rng = np.random.default_rng(0)
        images = [
            Image.fromarray((rng.random((image_size, image_size, 3)) * 255).astype(np.uint8))
            for _ in range(args.images)
        ]
        messages = build_messages(args.prompt)
        generate_batch(model, processor, images[:2], lambda _i: messages, max_new_tokens=4)  # warm-up
        rows, reference = [], None
        for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
            start, texts = time.perf_counter(), []
            for s in range(0, len(images), batch_size):
                out = generate_batch(
                    model,
                    processor,
                    images[s : s + batch_size],
                    lambda _i: messages,
                    max_new_tokens=max_new_tokens,
                )
                texts += out
            seconds = time.perf_counter() - start
            reference = reference or texts
            tokens = sum(len(processor.tokenizer(t[0])["input_ids"]) for t in texts)
            rows.append(
                {
                    "batch_size": batch_size,
                    "images": len(images),
                    "seconds": round(seconds, 3),
                    "images_per_second": round(len(images) / seconds, 3),
                    "generated_tokens": tokens,
                    "same_texts_as_first": texts == reference,
                    "threads": args.threads,
                    "max_new_tokens": max_new_tokens,
                    **environment(),
                }
            )
            rows[-1]["speedup"] = round(rows[-1]["images_per_second"] / rows[0]["images_per_second"], 2)
            print(rows[-1], flush=True)
    best = max(rows, key=lambda r: r["speedup"])
    summary = (
        f"batched generation {best['speedup']}x the images/s of one at a time "
        f"(batch {best['batch_size']}: {best['images_per_second']} vs {rows[0]['images_per_second']} images/s, "
        f"{args.threads} threads); batched texts identical: {all(r['same_texts_as_first'] for r in rows)}"
    )
    write_results("generate", rows, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
