"""`mgiqa score`: rate your own images with a checkpoint: attribute scores, overall score and reasoning.

Every file is checked before the model loads (it exists, decodes, has at most `datasets.max_image_pixels`
pixels); the good ones are scored, each bad one is reported with its reason, and the exit status is 1 when any
image could not be scored (2 when none could: no model is loaded then).
"""

from __future__ import annotations

import argparse
import re
import sys

THINK = re.compile(r"<think>(.*?)</think>", re.IGNORECASE | re.DOTALL)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to score")
    p.add_argument("--checkpoint", required=True, help="model directory (e.g. models/grpo/mg_iqa/seed0)")
    p.add_argument("--prompt", choices=("attribute", "overall"), default="attribute", help="prompt kind")
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def score_images(checkpoint, paths: list[str], prompt_kind: str, config: dict) -> list[dict]:
    """Greedy responses for `paths`, parsed: one dict per image (scores, reasoning, parse status, text).

    `scores` follow the config's `evaluation.readout`, as the evaluation does; with the `expected` readout
    `written_scores` also gives the numbers as written."""
    from mgiqa.model import image_resolution, prepare_image
    from mgiqa.model.generate import generate_batch
    from mgiqa.model.loading import device_for, load_model, load_processor
    from mgiqa.model.readout import readout_values, response_text
    from mgiqa.parsing import parse_response
    from mgiqa.prompts import build_messages, prompt_fields

    readout = config["evaluation"].get("readout", "text")
    image_size = image_resolution(config)
    model = load_model(checkpoint, config["model"]["dtype"], device_for(config))
    processor = load_processor(checkpoint, image_size)
    fields, messages = prompt_fields(prompt_kind), build_messages(prompt_kind)
    batch_size = int(config["evaluation"]["batch_size"])
    results = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        images = [prepare_image(p, image_size) for p in chunk]
        outputs = generate_batch(
            model,
            processor,
            images,
            lambda _image: messages,
            max_new_tokens=int(config["generation"]["max_new_tokens"]),
            with_digit_probs=readout == "expected",
        )
        for path, (completion,) in zip(chunk, outputs, strict=True):
            text = response_text(completion)
            parsed = parse_response(text, fields)
            think = THINK.search(text)
            result = {
                "image": str(path),
                "readout": readout,
                "scores": readout_values(completion, fields, readout),
                "reasoning": think.group(1).strip() if think else "",
                "parse_ok": parsed.ok,
                "failed_fields": list(parsed.failed),
                "response": text,
            }
            if readout != "text":
                result["written_scores"] = {f: parsed.values.get(f) for f in fields}
            results.append(result)
    return results


def format_text(result: dict) -> str:
    scores = "  ".join(
        f"{field}: {'unparsed' if value is None else f'{value:.2f}'}"
        for field, value in result["scores"].items()
    )
    lines = [result["image"], f"  {scores}"]
    if result["reasoning"]:
        lines.append(f"  reasoning: {result['reasoning']}")
    if not result["parse_ok"]:
        lines.append(
            f"  response (unparsed fields {', '.join(result['failed_fields'])}): {result['response']!r}"
        )
    return "\n".join(lines)


def unreadable_images(paths: list[str], max_pixels: int) -> dict[str, str]:
    """image -> why it cannot be scored, for every path that is missing, not a file or does not decode."""
    from pathlib import Path

    from mgiqa.data.images import check_image

    problems = {}
    for path in paths:
        if not Path(path).exists():
            problems[path] = "not found"
        elif not Path(path).is_file():
            problems[path] = "not a regular file"
        elif (reason := check_image(path, max_pixels)) is not None:
            problems[path] = reason
    return problems


def run(args: argparse.Namespace) -> int:
    import json

    from mgiqa.config import load_config
    from mgiqa.data.images import max_image_pixels

    config = load_config(args.config)
    problems = unreadable_images(args.images, max_image_pixels(config))
    good = [p for p in args.images if p not in problems]
    results = score_images(args.checkpoint, good, args.prompt, config) if good else []
    failed = [{"image": p, "error": reason} for p, reason in problems.items()]
    if args.json:
        doc = {"checkpoint": args.checkpoint, "prompt": args.prompt, "results": results, "failed": failed}
        print(json.dumps(doc, indent=2))
    else:
        print("\n".join(format_text(r) for r in results))
    for item in failed:
        print(f"mgiqa score: {item['image']}: not scored: {item['error']}", file=sys.stderr)
    if failed:
        print(
            f"mgiqa score: {len(failed)} of {len(args.images)} images could not be scored"
            + (f"; {len(results)} scored" if results else ""),
            file=sys.stderr,
        )
        return 1 if results else 2
    return 0
