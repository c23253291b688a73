"""Prompt templates (`templates/prompts.yaml`) as chat messages, and the SFT target responses.

Two prompt kinds: ``attribute`` (MG-IQA's attribute-aware prompt: four attribute scores and an overall
score) and ``overall`` (VisualQuality-R1's overall-only prompt: one score in ``<answer>``).

SFT targets (`render_target`) are written in exactly the format `mgiqa.parsing` reads, with a short
templated analysis per attribute chosen from the label's bin (e.g. sharpness 1.7 -> "heavily blurred") and
the scores with `score_decimals` decimals. Two analysis styles: ``short`` (a few words per attribute; the demo
generates the whole response in ~40 tokens) and ``paper`` (one sentence per attribute).

Unknown attribute labels in SFT targets. The attribute-aware format always carries all four attributes and
Overall, so an SFT target needs a number for each. We write the overall MOS in place of an unknown attribute
label (a documented proxy) and give that attribute no analysis phrase. The alternative, training only on images
whose table provides every attribute, leaves no data at all: composition has no label in any dataset
(method.md section 4), and the authentic and AI-generated sets have no attribute labels. The proxy only
teaches the output format and a prior (attributes correlate with overall quality); it never enters the RL
reward, which masks unknown attributes (`mgiqa.rewards.multi_attribute_reward`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from mgiqa.errors import ConfigError, DataIntegrityError

ATTRIBUTES: tuple[str, ...] = ("sharpness", "color", "noise", "composition")
PROMPT_KINDS: tuple[str, ...] = ("attribute", "overall")
STYLES: tuple[str, ...] = ("short", "paper")
TEMPLATE_FILE = "templates/prompts.yaml"


@cache
def load_templates() -> dict:
    """The packaged templates, checked once: every prompt kind and style with the keys the code reads."""
    path = resources.files("mgiqa").joinpath(TEMPLATE_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read prompt templates: {exc}") from exc
    _check_templates(data, path)
    return data


def _check_templates(data: Any, path) -> None:
    def need(node: Any, key: str, where: str) -> Any:
        if not isinstance(node, Mapping) or key not in node:
            raise ConfigError(f"{path}: missing key {where}{key}")
        return node[key]

    for kind in PROMPT_KINDS:
        spec = need(need(data, "prompts", ""), kind, "prompts.")
        for key in ("fields", "text", "response"):
            need(spec, key, f"prompts.{kind}.")
    need(data["prompts"]["attribute"], "scores", "prompts.attribute.")
    edges = need(need(data, "analysis", ""), "bin_edges", "analysis.")
    if list(edges) != sorted(edges):
        raise ConfigError(f"{path}: analysis.bin_edges must increase")
    styles = need(data["analysis"], "styles", "analysis.")
    for style in STYLES:
        spec = need(styles, style, "analysis.styles.")
        for field in (*ATTRIBUTES, "overall"):
            phrases = need(spec, field, f"analysis.styles.{style}.")
            if len(phrases) != len(edges) + 1:
                raise ConfigError(
                    f"{path}: analysis.styles.{style}.{field}: {len(phrases)} phrases for {len(edges) + 1} bins"
                )
    need(data, "score_decimals", "")


def _kind(prompt_kind: str) -> dict:
    if prompt_kind not in PROMPT_KINDS:
        raise ConfigError(f"unknown prompt kind {prompt_kind!r}; known: {list(PROMPT_KINDS)}")
    return load_templates()["prompts"][prompt_kind]


def prompt_text(prompt_kind: str) -> str:
    return _kind(prompt_kind)["text"]


def prompt_fields(prompt_kind: str) -> tuple[str, ...]:
    """The score fields a response to this prompt carries, in order (the parser's `fields`)."""
    return tuple(_kind(prompt_kind)["fields"])


def build_messages(prompt_kind: str, image: Any = None) -> list[dict]:
    """The user turn in the transformers/TRL multimodal chat format (the image first, then the prompt).

    Without `image` the image entry is a placeholder (`{"type": "image"}`) and the image travels in the
    dataset's `images` column, as TRL's vision trainers expect; with it, the entry carries the image.
    """
    image_part: dict = {"type": "image"} if image is None else {"type": "image", "image": image}
    return [{"role": "user", "content": [image_part, {"type": "text", "text": prompt_text(prompt_kind)}]}]


def sft_messages(
    prompt_kind: str, labels: Mapping[str, float], image: Any = None, style: str = "short"
) -> list[dict]:
    """User turn plus the assistant's target response, for SFT."""
    target = render_target(prompt_kind, labels, style=style)
    return [
        *build_messages(prompt_kind, image),
        {"role": "assistant", "content": [{"type": "text", "text": target}]},
    ]


def labels_from_row(row: Mapping[str, Any]) -> dict[str, float]:
    """A canonical-table row (`mos` and attribute columns) as render_target's labels (`overall`, ...)."""
    if "mos" not in row:
        raise DataIntegrityError("label row has no 'mos' column")
    labels = {"overall": _as_float(row["mos"], "mos")}
    for attr in ATTRIBUTES:
        labels[attr] = _as_float(row.get(attr), attr)
    return labels


def _as_float(value: Any, field: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise DataIntegrityError(f"label {field!r}: not a number: {value!r}") from exc


def render_target(prompt_kind: str, labels: Mapping[str, float], *, style: str = "short") -> str:
    """The SFT target response for `labels` (`overall` required; attributes may be NaN or absent).

    An unknown attribute is written with the overall MOS (see the module docstring) and gets no phrase.
    """
    spec = _kind(prompt_kind)
    templates = load_templates()
    if style not in STYLES:
        raise ConfigError(f"unknown analysis style {style!r}; known: {list(STYLES)}")
    overall = _checked_label(labels.get("overall"), "overall", required=True)
    values = {"overall": overall}
    phrases = []
    if prompt_kind == "attribute":
        for attr in ATTRIBUTES:
            value = _checked_label(labels.get(attr), attr, required=False)
            if math.isnan(value):
                values[attr] = overall
            else:
                values[attr] = value
                phrases.append(_phrase(style, attr, value))
    phrases.append(_phrase(style, "overall", overall))
    style_spec = templates["analysis"]["styles"][style]
    analysis = style_spec["separator"].join(phrases) + style_spec["end"]
    decimals = int(templates["score_decimals"])
    text = {name: f"{value:.{decimals}f}" for name, value in values.items()}
    if prompt_kind == "attribute":
        return spec["response"].format(analysis=analysis, scores=spec["scores"].format(**text))
    return spec["response"].format(analysis=analysis, overall=text["overall"])


def _checked_label(value: Any, field: str, *, required: bool) -> float:
    value = _as_float(value, field)
    if math.isnan(value):
        if required:
            raise DataIntegrityError(f"label {field!r} is required for an SFT target but is missing")
        return value
    if not 1.0 <= value <= 5.0:
        raise DataIntegrityError(f"label {field!r} = {value} is outside the [1, 5] scale")
    return value


def _phrase(style: str, field: str, value: float) -> str:
    analysis = load_templates()["analysis"]
    index = bisect.bisect_right(analysis["bin_edges"], value)
    return analysis["styles"][style][field][index]
