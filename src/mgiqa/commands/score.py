"""`mgiqa score`: rate your own images with a checkpoint: attribute scores, overall score and reasoning."""

from __future__ import annotations

import argparse
import re

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
    from mgiqa.model import prepare_image
    from mgiqa.model.generate import generate_batch
    from mgiqa.model.loading import device_for, load_model, load_processor
    from mgiqa.model.readout import readout_values, response_text
    from mgiqa.parsing import parse_response
    from mgiqa.prompts import build_messages, prompt_fields

    readout = config["evaluation"].get("readout", "text")
    image_size = int(config["model"]["image_size"])
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


def run(args: argparse.Namespace) -> int:
    import json

    from mgiqa.config import load_config

    config = load_config(args.config)
    results = score_images(args.checkpoint, args.images, args.prompt, config)
    if args.json:
        print(
            json.dumps({"checkpoint": args.checkpoint, "prompt": args.prompt, "results": results}, indent=2)
        )
    else:
        print("\n".join(format_text(r) for r in results))
    return 0
