"""The model card (`README.md`) of a saved model, written with huggingface_hub's `ModelCard`.

It renders `mgiqa_model.json` for people: how to use the model, its settings, the training recipe and, when
the stage measured one, its evaluation. Deterministic like the JSON (no dates): the same model, the same card.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

CARD_FILE = "README.md"

STAGE_TEXT = {
    "base": "the base model of the pipeline, before any MG-IQA training",
    "pretrain": "the demo's tiny base model after its pretraining on a disjoint distortion-naming task",
    "sft": "the SFT warmup: fine-tuned on responses in the target format rendered from the labels",
    "grpo": "GRPO with the multi-dimensional Thurstone (RL2R) fidelity reward",
}


def card_text(info, evaluation: dict | None = None) -> str:
    """The card's Markdown: a YAML metadata block (`ModelCardData`) and the body."""
    from huggingface_hub import ModelCard, ModelCardData

    from mgiqa.model.model_info import INFO_FILE

    usage, prov = info.usage, info.provenance
    data = ModelCardData(
        base_model=prov.base_model,
        library_name="transformers",
        pipeline_tag="image-text-to-text",
        tags=["mgiqa", "image-quality-assessment", f"mgiqa-{prov.stage}"],
    )
    settings = [
        ("prompt", usage.prompt or "attribute or overall"),
        ("resolution", usage.resolution.describe()),
        ("readout", usage.readout),
        ("dtype", usage.dtype),
        ("max_new_tokens", usage.max_new_tokens),
        ("parser_version", usage.parser_version),
    ]
    lines = [
        f"# mgiqa {prov.stage} model" + (f" ({prov.config_name} config)" if prov.config_name else ""),
        "",
        f"An [mgiqa](https://arxiv.org/abs/2604.09704) checkpoint: {STAGE_TEXT[prov.stage]}. One generation "
        "rates an image overall and per attribute (sharpness, color fidelity, noise, composition) on a 1-5 "
        "scale, after a short reasoning.",
        "",
        "## Use",
        "",
        "```python",
        "import mgiqa",
        'scorer = mgiqa.Scorer.from_pretrained("path/to/this/folder")',
        'for result in scorer.score("photos/*.jpg"):',
        "    print(result.image, result.overall, result.attributes, result.reasoning)",
        "```",
        "",
        "or `mgiqa score photos/ --checkpoint path/to/this/folder`. The settings below come from "
        f"`{INFO_FILE}`; those marked fixed are what the weights were trained with, and a config asking for "
        "other values is refused.",
        "",
        "| setting | value | fixed by training |",
        "|---|---|---|",
        *(f"| {name} | {value} | {'yes' if name in info.fixed else ''} |" for name, value in settings),
        "",
        "## Training recipe",
        "",
        f"- stage: `{prov.stage}`" + (f", {prov.steps} steps" if prov.steps is not None else ""),
        f"- parent model: `{prov.parent_model}`" if prov.parent_model else "- parent model: none",
        f"- base model: `{prov.base_model}`" if prov.base_model else "- base model: built by mgiqa",
        "- training datasets: " + (", ".join(f"`{d}`" for d in prov.datasets) or "none"),
        f"- seed: {prov.seed}" if prov.seed is not None else "- seed: none",
        f"- config: `{prov.config_name}`, sha256 `{prov.config_hash}`",
        f"- mgiqa {prov.mgiqa_version}" + (f", commit `{prov.git_commit}`" if prov.git_commit else ""),
    ]
    if prov.recipe:
        lines += ["", "The config sections of this stage:", "", "```yaml"]
        lines += [yaml.safe_dump(prov.recipe, sort_keys=True).rstrip("\n"), "```"]
    if evaluation:
        lines += ["", "## Evaluation", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {_number(v)} |" for k, v in sorted(evaluation.items())]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n"))


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_model_card(model_dir: str | os.PathLike, info, evaluation: dict | None = None) -> Path:
    from mgiqa.io import write_text

    path = Path(model_dir) / CARD_FILE
    write_text(path, card_text(info, evaluation))
    return path
