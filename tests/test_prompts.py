"""Prompt templates, chat messages and SFT targets (which the parser must read back exactly)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mgiqa.errors import ConfigError, DataIntegrityError
from mgiqa.parsing import parse_response
from mgiqa.prompts import (
    ATTRIBUTES,
    PROMPT_KINDS,
    STYLES,
    build_messages,
    labels_from_row,
    load_templates,
    prompt_fields,
    prompt_text,
    render_target,
    sft_messages,
)

FULL = {"sharpness": 1.7, "color": 3.26, "noise": 4.5, "composition": 2.0, "overall": 2.93}


def test_attribute_prompt_has_the_papers_text():
    text = prompt_text("attribute")
    for line in (
        "Sharpness: Assess clarity, edge definition, and detail",
        "Color Fidelity: Evaluate color accuracy and naturalness",
        "Noise Level: Identify noise, artifacts, or compression",
        "Composition: Judge aesthetic arrangement and balance",
        "After analyzing each attribute, provide an overall quality assessment that synthesizes your findings.",
        "<think> [Sharpness analysis] [Color Fidelity analysis] [Noise Level analysis] [Composition analysis] "
        "[Overall synthesis] </think>",
        "Sharpness: [1-5], Color: [1-5], Noise: [1-5], Composition: [1-5], Overall: [1-5]",
    ):
        assert line in text
    assert prompt_fields("attribute") == (*ATTRIBUTES, "overall")


def test_overall_prompt_is_visualquality_r1s():
    text = prompt_text("overall")
    assert "What is your overall rating on the quality of this picture?" in text
    assert "<think> </think>" in text and "only one score in <answer> </answer> tags" in text
    assert "\n" not in text
    assert prompt_fields("overall") == ("overall",)


@pytest.mark.parametrize("kind", PROMPT_KINDS)
def test_build_messages_is_trl_multimodal_format(kind):
    (msg,) = build_messages(kind)
    assert msg["role"] == "user"
    assert msg["content"][0] == {"type": "image"}
    assert msg["content"][1] == {"type": "text", "text": prompt_text(kind)}
    image = object()
    assert build_messages(kind, image)[0]["content"][0] == {"type": "image", "image": image}


def test_unknown_kind_or_style_raises():
    with pytest.raises(ConfigError):
        build_messages("attributes")
    with pytest.raises(ConfigError):
        render_target("attribute", FULL, style="verbose")


def test_attribute_target_text():
    target = render_target("attribute", FULL)
    assert target == (
        "<think>very blurry; colors slightly off; clean; weak composition; overall fair</think>\n"
        "Sharpness: 1.7, Color: 3.3, Noise: 4.5, Composition: 2.0, Overall: 2.9"
    )


def test_overall_target_text():
    assert render_target("overall", FULL) == "<think>overall fair</think>\n<answer>2.9</answer>"
    paper = render_target("overall", FULL, style="paper")
    assert paper == "<think>Overall, the quality is fair.</think>\n<answer>2.9</answer>"


def test_unknown_attributes_use_the_overall_proxy_without_analysis():
    labels = {"overall": 4.46, "sharpness": 4.3, "color": math.nan}
    target = render_target("attribute", labels)
    assert target == (
        "<think>very sharp; overall excellent</think>\n"
        "Sharpness: 4.3, Color: 4.5, Noise: 4.5, Composition: 4.5, Overall: 4.5"
    )


@pytest.mark.parametrize("kind", PROMPT_KINDS)
@pytest.mark.parametrize("style", STYLES)
def test_targets_parse_back_to_the_rounded_labels(kind, style):
    rng = np.random.default_rng(0)
    for _ in range(50):
        labels = dict(zip((*ATTRIBUTES, "overall"), rng.uniform(1, 5, 5), strict=True))
        labels["composition"] = math.nan
        parsed = parse_response(render_target(kind, labels, style=style), prompt_fields(kind))
        assert parsed.format_ok and not parsed.failed
        for field, value in parsed.values.items():
            expected = labels["overall"] if math.isnan(labels[field]) else labels[field]
            assert value == pytest.approx(round(expected, 1), abs=0.051)


def test_bin_edges_choose_the_phrase():
    phrases = load_templates()["analysis"]["styles"]["short"]["sharpness"]
    for value, index in [(1.0, 0), (1.79, 0), (1.8, 1), (3.4, 3), (4.2, 4), (5.0, 4)]:
        assert render_target("attribute", {"overall": 3.0, "sharpness": value}).startswith(
            f"<think>{phrases[index]};"
        )


@pytest.mark.parametrize(
    "labels", [{"overall": math.nan}, {"sharpness": 3.0}, {"overall": 5.2}, {"overall": 3.0, "noise": 0.5}]
)
def test_bad_labels_raise(labels):
    with pytest.raises(DataIntegrityError):
        render_target("attribute", labels)


def test_labels_from_a_table_row():
    row = pd.Series({"image": "a.png", "mos": 3.25, "mos_std": 0.4, "sharpness": 2.0, "color": np.nan})
    assert labels_from_row(row) == pytest.approx(
        {"overall": 3.25, "sharpness": 2.0, "color": math.nan, "noise": math.nan, "composition": math.nan},
        nan_ok=True,
    )
    with pytest.raises(DataIntegrityError):
        labels_from_row({"sharpness": 2.0})
    with pytest.raises(DataIntegrityError):
        labels_from_row({"mos": "high"})


def test_sft_messages_pair_prompt_and_target():
    user, assistant = sft_messages("overall", FULL)
    assert user == build_messages("overall")[0]
    assert assistant == {
        "role": "assistant",
        "content": [{"type": "text", "text": render_target("overall", FULL)}],
    }
