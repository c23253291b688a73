"""The response parser: good, malformed, adversarial, empty and huge responses; it never raises or guesses."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mgiqa.parsing import FIELDS, parse_batch, parse_response

GOOD = "<think>soft edges; natural colors</think>\nSharpness: 2.5, Color: 4, Noise: 3.0, Composition: 3.5, Overall: 3.2"


def values(text, fields=FIELDS):
    return parse_response(text, fields).values


# ----------------------------------------------------------------------------- attribute-aware responses
def test_well_formed_attribute_response():
    p = parse_response(GOOD)
    assert p.values == {"sharpness": 2.5, "color": 4.0, "noise": 3.0, "composition": 3.5, "overall": 3.2}
    assert p.failed == () and p.format_ok and p.has_think and p.ok


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SHARPNESS: 2\ncolour: 3\nnoise level: 4\nComposition : 5\nOVERALL QUALITY: 1", [2, 3, 4, 5, 1]),
        (
            "**Sharpness:** 4, Color Fidelity = 3.5; Noise Level: [2]; composition score (1-5): 5/5 Overall score: 4.",
            [4, 3.5, 2, 5, 4],
        ),
        ("Sharpness:3 Colour:3 Noise:3 Composition:3 Overall rating:3", [3] * 5),
        (
            "<answer>Sharpness: 1.0, Color: 5.0, Noise: 1.25, Composition: 2, Overall: +4</answer>",
            [1, 5, 1.25, 2, 4],
        ),
        ("Sharpness: 4 / 5, Color: .5, Noise: 2, Composition: 3, Overall: 3", [4, None, 2, 3, 3]),
        ("Overall image quality: 2.75", [None, None, None, None, 2.75]),
        ("Sharpness\uff1a 3", [3, None, None, None, None]),  # full-width colon
    ],
)
def test_tolerated_spellings(text, expected):
    assert list(values(text).values()) == [None if e is None else float(e) for e in expected]


@pytest.mark.parametrize(
    "text",
    [
        "Sharpness: [1-5], Color: [1-5], Noise: [1-5], Composition: [1-5], Overall: [1-5]",  # the template itself
        "Sharpness: 3/10, Color: 3-4, Noise: 35%, Composition: 3rd, Overall: 3.5.2",
        "Sharpness: 0, Color: 5.5, Noise: -3, Composition: 80, Overall: 6",  # out of range: not clipped
        "Sharpness: high, Color: good, Noise: low, Composition: fine, Overall: four",
        "Sharpness - 3, Color is 3, Noise 3, Composition: , Overall:",
        "Denoise: 3, Oversharpness: 3, Discolor: 3",
    ],
)
def test_malformed_fields_fail_and_are_not_guessed(text):
    p = parse_response(text)
    assert p.failed == FIELDS and not p.format_ok
    assert all(v is None for v in p.values.values())


def test_think_content_is_ignored():
    text = "<think>Sharpness: 1, Overall: 1</think>\nSharpness: 4, Overall: 2"
    v = values(text, ("sharpness", "overall"))
    assert v == {"sharpness": 4.0, "overall": 2.0}


# the GRPO reward hack: several answers in one response, where the last one used to count
@pytest.mark.parametrize(
    "answer",
    [
        "Overall: 4.5, Overall: 4.3",
        "Overall: 4.5\nOverall: 4.5",  # repeated even when equal
        "Overall: 4.5, Overall quality: 2",  # two aliases of one field
        "Overall: 4.5, Overall: four",  # the second unreadable
        "Overall: 4.5 <answer>Overall: 3</answer>",
    ],
)
def test_a_repeated_field_fails_the_parse_and_the_format(answer):
    text = f"<think>x</think>\nSharpness: 2, Color: 3, Noise: 3, Composition: 3, {answer}"
    p = parse_response(text)
    assert p.values["overall"] is None and p.failed == ("overall",) and p.repeated == ("overall",)
    assert not p.format_ok and "overall" not in p.spans
    assert p.values["sharpness"] == 2.0
    vals, ok = parse_batch([text])
    assert np.isnan(vals[0, FIELDS.index("overall")]) and not ok[0]


@pytest.mark.parametrize(
    "text",
    [
        "<think>x</think><answer>Overall: 4.5, Overall: 4.3</answer>",
        "<think>x</think><answer>Score: 4.5, Rating: 4.3</answer>",
        "<think>x</think><answer>2</answer><answer>3</answer>",
        "<think>x</think><answer>3</answer>\n<answer>3</answer>",
        "<think>x</think><answer>3.5 4.0</answer>",
        "<think>x</think><answer>3 or maybe 4</answer>",
        "<think>x</think>Overall: 2 <answer>4</answer>",
        "<think>x</think>Overall: 4.5, Overall: 4.3",
        "<think>x</think>Score: 4.5\nRating: 4.3",
    ],
)
def test_a_repeated_overall_only_answer_fails_the_parse_and_the_format(text):
    p = parse_response(text, ("overall",))
    assert p.values == {"overall": None} and p.repeated == ("overall",) and not p.format_ok
    vals, ok = parse_batch([text], ("overall",))
    assert np.isnan(vals[0, 0]) and not ok[0]


@pytest.mark.parametrize(
    "text, fields",
    [
        ("<think>x</think>Sharpness: 2, Color: 3, Noise: 3, Composition: 3, Overall: 3,5", FIELDS),
        ("<think>x</think><answer>3,5</answer>", ("overall",)),
        ("<think>x</think><answer>Overall: 3,5</answer>", ("overall",)),
    ],
)
def test_a_decimal_comma_is_a_failure_not_the_integer_before_it(text, fields):
    p = parse_response(text, fields)
    assert p.values["overall"] is None and "overall" in p.failed and not p.format_ok
    assert p.repeated == ()


def test_a_comma_between_fields_is_still_a_separator():
    p = parse_response("<think>x</think>Sharpness: 2,Color: 3, Noise: 3 ,Composition: 3,\nOverall: 3")
    assert p.values == {"sharpness": 2.0, "color": 3.0, "noise": 3.0, "composition": 3.0, "overall": 3.0}
    assert p.format_ok and p.repeated == ()


def test_unclosed_think_means_the_answer_never_came():
    p = parse_response("<think>Sharpness: 3, Color: 3, Noise: 3, Composition: 3, Overall: 3 and then")
    assert p.failed == FIELDS and not p.has_think
    # scores before a dangling block still count
    assert values("Overall: 4 <think>Overall: 2", ("overall",)) == {"overall": 4.0}


def test_partial_response_fails_only_missing_fields():
    p = parse_response("<think>x</think>\nSharpness: 2, Color: 3")
    assert p.values["sharpness"] == 2.0 and p.failed == ("noise", "composition", "overall")
    assert not p.format_ok and p.has_think


def test_format_requires_one_leading_think_block():
    scores = "Sharpness: 2, Color: 3, Noise: 3, Composition: 3, Overall: 3"
    assert parse_response(f"<think>a</think>{scores}").format_ok
    assert parse_response(f"  <THINK>a</THINK>\n{scores}").format_ok
    assert not parse_response(scores).format_ok  # no reasoning
    assert not parse_response(f"intro <think>a</think>{scores}").format_ok  # not at the start
    assert not parse_response(f"<think>a</think><think>b</think>{scores}").format_ok


# ----------------------------------------------------------------------------- overall-only responses
@pytest.mark.parametrize(
    "text, value, format_ok",
    [
        ("<think>fine</think><answer>3.75</answer>", 3.75, True),
        ("<think>fine</think>\n<answer> The score is 4/5. </answer>\n", 4.0, True),
        ("<think>x</think><answer>Sharpness: 2, Overall: 4</answer>", 4.0, True),  # a label beats position
        ("<answer>3</answer>", 3.0, False),  # no reasoning
        ("<think>x</think> Score: 2.5", 2.5, False),
        ("The overall rating: 4.5", 4.5, False),
        ("<think>x</think><answer>x</answer>", None, False),
        ("<think>x</think><answer>80</answer>", None, False),
        ("<think>x</think><answer>3-4</answer>", None, False),
        ("<think>x</think><answer>-1</answer>", None, False),
        ("<think><answer>4</answer></think>", None, False),  # inside the reasoning only
        ("<think>x</think><answer>3.5", None, False),  # truncated answer block
        ("I think it is 4", None, False),  # no answer block, no label
    ],
)
def test_overall_only_responses(text, value, format_ok):
    p = parse_response(text, ("overall",))
    assert p.values == {"overall": value}
    assert p.format_ok is format_ok


# ----------------------------------------------------------------------------- robustness
@pytest.mark.parametrize(
    "text", ["", " ", "\x00\x01", "<think>", "</think>", "<answer></answer>", "🙂" * 50, "\n" * 1000]
)
def test_empty_and_odd_inputs_fail_cleanly(text):
    for fields in (FIELDS, ("overall",)):
        p = parse_response(text, fields)
        assert p.failed == tuple(fields) and not p.format_ok


@pytest.mark.parametrize("text", [None, 3.5, b"Overall: 3", ["Overall: 3"]])
def test_non_strings_fail_without_raising(text):
    p = parse_response(text)
    assert p.failed == FIELDS and not p.format_ok and not p.has_think


def test_unknown_field_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_response("Overall: 3", ("brightness",))


@pytest.mark.parametrize(
    "text",
    [
        "Overall: " + "1" * 200_000,
        "Overall: 3" + " " * 200_000 + "x",
        "<think>" + "Sharpness: 3 " * 20_000 + "</think>" + "Overall: 3 " * 20_000,
        "<answer>" * 50_000 + "3" + "</answer>" * 50_000,
        "<answer>" * 50_000,
        "<think>" * 50_000 + "</think>" * 50_000,
        "overall" + " " * 100_000 + "x",
        "Overall quality score (1" + " " * 100_000 + "x",
        "Sharpness:" + " " * 100_000 + "[" + " " * 100_000 + "x",
        "Overall: 3" + " " * 100_000 + "/",
        "<think>a</think>" + "score " * 50_000,
        "Overall: " * 50_000,
    ],
)
def test_huge_inputs_parse_quickly(text):
    start = time.perf_counter()
    parse_response(text)
    parse_response(text, ("overall",))
    assert time.perf_counter() - start < 2.0


def test_parse_batch_shapes_and_nan_failures():
    texts = [GOOD, "nothing", None, "<think>x</think>Overall: 9"]
    vals, ok = parse_batch(texts)
    assert vals.shape == (4, 5) and ok.tolist() == [True, False, False, False]
    np.testing.assert_array_equal(vals[0], [2.5, 4.0, 3.0, 3.5, 3.2])
    assert np.isnan(vals[1:]).all()
    one, ok1 = parse_batch(["<think>a</think><answer>2</answer>"], ("overall",))
    assert one.tolist() == [[2.0]] and ok1.tolist() == [True]
    empty, ok0 = parse_batch([], ("overall",))
    assert empty.shape == (0, 1) and ok0.shape == (0,)


def test_random_token_soup_never_raises_and_stays_on_the_scale():
    rng = np.random.default_rng(0)
    tokens = [
        "Sharpness",
        "Colour",
        "Noise level",
        "Overall",
        "score",
        ":",
        " ",
        "\n",
        "3",
        "4.5",
        "-",
        "/",
        "5",
    ]
    tokens += [
        "10",
        "<think>",
        "</think>",
        "<answer>",
        "</answer>",
        "[",
        "]",
        "*",
        ".",
        "x",
        "%",
        "quality",
        "(",
    ]
    for _ in range(300):
        text = "".join(rng.choice(tokens, size=int(rng.integers(0, 200))))
        for fields in (FIELDS, ("overall",)):
            p = parse_response(text, fields)
            assert all(v is None or 1.0 <= v <= 5.0 for v in p.values.values())
            assert set(p.failed) == {f for f, v in p.values.items() if v is None}
