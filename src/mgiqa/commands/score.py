"""`mgiqa score`: rate your own images with a checkpoint: attribute scores, overall score and reasoning.

Arguments are image files, folders (their image files) or glob patterns. The checkpoint's `mgiqa_model.json`
gives the prompt kind, resolution and readout (`mgiqa.model.checkpoint_settings`); an explicit `--config`
or `--prompt` that disagrees with what it was trained with is an error. Every file is checked before the model
loads (it exists, decodes, has at most `datasets.max_image_pixels` pixels); the good ones are scored, each
bad one is reported with its reason, and the exit status is 1 when any image could not be scored (2 when none
could: no model is loaded then).
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files, folders or glob patterns ('photos/*.jpg')"
    )
    p.add_argument("--checkpoint", required=True, help="model directory (e.g. models/grpo/mg_iqa/seed0)")
    p.add_argument(
        "--prompt",
        choices=("attribute", "overall"),
        default=None,
        help="prompt kind (default: the checkpoint's, else attribute)",
    )
    p.add_argument(
        "--config",
        default=None,
        help="config file (default: the packaged demo config under the checkpoint's own settings)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")


def score_images(checkpoint, paths: list[str], prompt_kind: str, config: dict) -> list[dict]:
    """Greedy responses for `paths`, parsed: one dict per image (scores, reasoning, parse status, text).

    `config` is already resolved against the checkpoint (`resolve_settings`); `scores` follow its
    `evaluation.readout`, as the evaluation does; with the `expected` readout `written_scores` also gives the
    numbers as written."""
    from mgiqa.scorer import Scorer

    scorer = Scorer(checkpoint, config, prompt_kind)
    return [result.to_dict() for result in scorer.score(paths)]


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
    from mgiqa.data.images import max_image_pixels
    from mgiqa.model.checkpoint_settings import resolve_settings
    from mgiqa.scorer import expand_images, unreadable_images

    settings = resolve_settings(
        args.checkpoint, load_config(args.config), config_source=args.config, prompt=args.prompt
    )
    paths, problems = expand_images(args.images)
    problems |= unreadable_images(paths, max_image_pixels(settings.config))
    good = [p for p in paths if p not in problems]
    results = score_images(args.checkpoint, good, settings.prompt, settings.config) if good else []
    failed = [{"image": p, "error": reason} for p, reason in problems.items()]
    if args.json:
        doc = {"checkpoint": args.checkpoint, "prompt": settings.prompt, "results": results, "failed": failed}
        print(json.dumps(doc, indent=2))
    else:
        print("\n".join(format_text(r) for r in results))
    for item in failed:
        print(f"mgiqa score: {item['image']}: not scored: {item['error']}", file=sys.stderr)
    if failed:
        print(
            f"mgiqa score: {len(failed)} of {len(good) + len(failed)} images could not be scored"
            + (f"; {len(results)} scored" if results else ""),
            file=sys.stderr,
        )
        return 1 if results else 2
    return 0
