"""The score readouts (mgiqa.model.readout): text, and the digit-probability expectation, on literal tokens."""

from __future__ import annotations

import numpy as np
import pytest

from mgiqa.errors import ConfigError
from mgiqa.model.readout import (
    Completion,
    digit_token_ids,
    expected_values,
    readout_values,
    token_index_at,
)


def completion(pieces: list[str], probs: dict[int, list[float]]) -> Completion:
    """A completion of `pieces`; step i's digit probabilities are probs[i] (uniform elsewhere)."""
    table = np.full((len(pieces), 10), 0.1)
    for step, p in probs.items():
        table[step] = p
    return Completion("".join(pieces), tuple(pieces), table)


def one_hot(digit: int, mass: float = 1.0) -> list[float]:
    p = [0.0] * 10
    p[digit] = mass
    return p


def test_token_index_at_maps_characters_to_tokens():
    pieces = ["Overall", ":", " ", "4", ".", "0"]
    assert token_index_at(pieces, 0) == 0
    assert token_index_at(pieces, 9) == 3  # "Overall: " is 9 characters
    assert token_index_at(pieces, 12) is None


def test_expected_integer_digit_is_the_probability_weighted_mean_over_1_to_5():
    # P(3) = 0.2, P(4) = 0.6, P(5) = 0.2, plus mass on 0 and 7 that the 1..5 renormalisation drops
    p = [0.5, 0.0, 0.0, 0.2, 0.6, 0.2, 0.0, 0.5, 0.0, 0.0]
    c = completion(["Overall", ":", " ", "4"], {3: p})
    assert expected_values(c, ["overall"])["overall"] == pytest.approx(4.0)
    p = [0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0]
    c = completion(["Overall", ":", " ", "4"], {3: p})
    assert expected_values(c, ["overall"])["overall"] == pytest.approx(3.5)


def test_expected_adds_a_tenth_of_the_tenths_digit_expectation():
    tenths = one_hot(2, 0.5)
    tenths[6] = 0.5  # E = 4
    c = completion(["Overall", ":", " ", "3", ".", "7"], {3: one_hot(3), 5: tenths})
    assert expected_values(c, ["overall"])["overall"] == pytest.approx(3.4)


def test_expected_reads_every_attribute_field_at_its_own_digit():
    pieces = ["Sharpness", ":", " ", "2", ",", " Noise", ":", " ", "5", ",", " Overall", ":", " ", "3"]
    c = completion(pieces, {3: one_hot(2), 8: one_hot(1), 13: one_hot(4)})
    values = expected_values(c, ["sharpness", "noise", "overall"])
    assert values == {"sharpness": 2.0, "noise": 1.0, "overall": 4.0}


def test_expected_is_clipped_to_the_scale():
    c = completion(["Overall", ":", " ", "4", ".", "9"], {3: one_hot(5), 5: one_hot(9)})  # 5.9
    assert expected_values(c, ["overall"])["overall"] == 5.0


def test_a_field_that_does_not_parse_fails_in_the_expected_readout_too():
    c = completion(["Overall", ":", " ", "7"], {3: one_hot(4)})
    assert expected_values(c, ["overall"]) == {"overall": None}
    c = completion(["no", " score"], {})
    assert expected_values(c, ["overall", "noise"]) == {"overall": None, "noise": None}


def test_a_number_that_is_not_a_single_digit_token_fails_instead_of_guessing():
    c = completion(["Overall", ":", " ", "4.0"], {3: one_hot(4)})  # "4.0" as one token
    assert expected_values(c, ["overall"])["overall"] is None


def test_overall_only_answer_block_is_read_at_its_digit():
    pieces = ["<think>", " ok ", "</think>", " <answer>", "2", "</answer>"]
    c = completion(pieces, {4: [0, 0.5, 0, 0, 0, 0.5, 0, 0, 0, 0]})
    assert expected_values(c, ["overall"])["overall"] == pytest.approx(3.0)


def test_readout_values_dispatches_and_validates():
    c = completion(["Overall", ":", " ", "4"], {3: one_hot(2)})
    assert readout_values(c, ["overall"], "text") == {"overall": 4.0}
    assert readout_values("Overall: 4", ["overall"], "text") == {"overall": 4.0}
    assert readout_values(c, ["overall"], "expected") == {"overall": 2.0}
    with pytest.raises(ConfigError, match="readout"):
        readout_values(c, ["overall"], "mode")
    with pytest.raises(TypeError, match="Completion"):
        readout_values("Overall: 4", ["overall"], "expected")


def test_digit_token_ids_needs_single_digit_tokens():
    class Tok:
        def __init__(self, vocab):
            self.vocab = vocab

        def get_vocab(self):
            return self.vocab

    assert digit_token_ids(Tok({str(d): 10 + d for d in range(10)})) == list(range(10, 20))
    with pytest.raises(ConfigError, match="digits"):
        digit_token_ids(Tok({"1": 1}))
