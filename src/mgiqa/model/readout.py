"""Score readouts: what number a generated response gives each field.

- `text`: the number written in the response (`mgiqa.parsing.parse_response`), as VisualQuality-R1 and the
  paper evaluate.
- `expected`: the same response, but each field's number replaced by its expectation under the model's own
  next-token distribution where the number was written (the Q-Align-style readout):

      score = sum_{d=1..5} d * P(d) / sum_{d=1..5} P(d)                     at the integer digit
            + 0.1 * sum_{k=0..9} k * P(k) / sum_{k=0..9} P(k)               at the tenths digit, if written

  P(.) is the softmax over the whole vocabulary at that step, restricted to the single-digit tokens. A model
  whose greedy answer is the same digit for every image still ranks images by how sure it is, so the readout
  separates "cannot see" from "collapsed onto its most frequent answer". The response and its parse are the
  text readout's: a field that does not parse fails in both readouts, never gets a guessed value.

Needs a tokenizer that writes every digit as its own token (Qwen2's and the demo's both do); a number whose
digit is not a single token fails the field (counted like any parse failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mgiqa.errors import ConfigError
from mgiqa.parsing import SCORE_MAX, SCORE_MIN, parse_response

READOUTS = ("text", "expected")
DIGITS = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class Completion:
    """One generated response: its text, the text of each generated token, and per token the probability
    of each single-digit token "0".."9" at that step ([n_tokens, 10])."""

    text: str
    token_texts: tuple[str, ...]
    digit_probs: np.ndarray


def response_text(response: Completion | str) -> str:
    """The text of a response given as a plain string or as a Completion."""
    return response.text if isinstance(response, Completion) else response


def digit_token_ids(tokenizer) -> list[int]:
    """Token ids of "0".."9"; ConfigError when the tokenizer has no single-token digits."""
    vocab = tokenizer.get_vocab()
    missing = [d for d in DIGITS if d not in vocab]
    if missing:
        raise ConfigError(
            f"evaluation.readout expected: the tokenizer has no single tokens for digits {missing}"
        )
    return [vocab[d] for d in DIGITS]


def token_index_at(token_texts: Sequence[str], char: int) -> int | None:
    """Index of the token whose decoded text covers character `char` of the joined text (None: past the end)."""
    end = 0
    for index, piece in enumerate(token_texts):
        end += len(piece)
        if char < end:
            return index
    return None


def _digit_expectation(probs: np.ndarray, digits: range) -> float:
    weights = probs[list(digits)]
    return float((weights * np.arange(digits.start, digits.stop)).sum() / weights.sum())


def expected_values(completion: Completion, fields: Sequence[str]) -> dict[str, float | None]:
    """Each field's expected score (module docstring); None where the field fails to parse."""
    parsed = parse_response(completion.text, fields)
    values: dict[str, float | None] = {}
    for field in fields:
        span = parsed.spans.get(field)
        if span is None:
            values[field] = None
            continue
        number = completion.text[span[0] : span[1]].lstrip("+")
        start = span[0] + len(completion.text[span[0] : span[1]]) - len(number)
        values[field] = _expected_number(completion, number, start)
    return values


def _expected_number(completion: Completion, number: str, start: int) -> float | None:
    integer = token_index_at(completion.token_texts, start)
    if integer is None or completion.token_texts[integer] != number[0] or not number[0].isdigit():
        return None  # the integer digit is not a token of its own: no distribution to read
    value = _digit_expectation(completion.digit_probs[integer], range(1, 6))
    if len(number) > 2 and number[1] == "." and number[2].isdigit():
        tenths = token_index_at(completion.token_texts, start + 2)
        if tenths is None or completion.token_texts[tenths] != number[2]:
            return None
        value += 0.1 * _digit_expectation(completion.digit_probs[tenths], range(0, 10))
    return float(np.clip(value, SCORE_MIN, SCORE_MAX))


def readout_values(
    completion: Completion | str, fields: Sequence[str], readout: str
) -> dict[str, float | None]:
    """The field values of one response under `readout` (`text` accepts a plain string)."""
    if readout not in READOUTS:
        raise ConfigError(f"evaluation.readout: {readout!r} is not one of {list(READOUTS)}")
    if readout == "text":
        return dict(parse_response(response_text(completion), fields).values)
    if not isinstance(completion, Completion):
        raise TypeError("the expected readout needs a Completion (text, tokens and digit probabilities)")
    return expected_values(completion, fields)
