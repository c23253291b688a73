"""The GRPO reward hack (several answers in one response, the last one counted): a repeated or conflicting
field is a parse failure and a format failure in the reward and in evaluation, on literal strings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mgiqa.model.generate import prediction_row
from mgiqa.model.readout import Completion, readout_values
from mgiqa.parsing import FIELDS as PARSED_FIELDS
from mgiqa.training.reward_adapter import MultiDimensionalReward, RewardSpec

HONEST = "<think>soft</think>\nSharpness: 3, Color: 3, Noise: 3, Composition: 3, Overall: 4.5"
HACK = "<think>soft</think>\nSharpness: 3, Color: 3, Noise: 3, Composition: 3, Overall: 4.5, Overall: 4.3"
COMMA = "<think>soft</think>\nSharpness: 3, Color: 3, Noise: 3, Composition: 3, Overall: 3,5"
OVERALL_HACK = "<think>soft</think>\n<answer>4.5</answer><answer>4.3</answer>"


def attribute_reward(texts: list[str]) -> dict:
    spec = RewardSpec("attribute", ("overall",), {"overall": 1.0})  # every field parsed, overall rewarded
    ids = ["a"] * len(texts) + ["b"] * len(texts)
    columns = {"mos": [4.4] * len(texts) + [2.0] * len(texts), "group": ["g"] * len(ids)}
    columns["dataset"] = ["d"] * len(ids)
    other = "<think>x</think>\nSharpness: 2, Color: 2, Noise: 2, Composition: 2, Overall: 2"
    return MultiDimensionalReward(spec).compute(texts + [other] * len(texts), ids, columns)


@pytest.mark.parametrize("bad", [HACK, COMMA])
def test_the_reward_gives_a_repeated_or_comma_overall_no_format_reward_and_the_worst_answer(bad):
    out = attribute_reward([HONEST, bad])
    assert out["format"][:2].tolist() == [1.0, 0.0]
    assert out["overall"][1] == pytest.approx(2 * math.sqrt(1e-6), abs=1e-9)  # the worst-answer reward
    assert out["total"][1] < out["total"][0]
    overall = PARSED_FIELDS.index("overall")
    assert np.isnan(out["parsed"][1, overall]) and not np.isnan(out["parsed"][0, overall])


def test_the_overall_only_reward_fails_two_answer_blocks():
    spec = RewardSpec("overall", ("overall",), {"overall": 1.0})
    low = "<think>x</think><answer>2</answer>"
    texts = ["<think>x</think>\n<answer>4.5</answer>", OVERALL_HACK, low, low]
    ids = ["a", "a", "b", "b"]
    columns = {"mos": [4.4, 4.4, 2.0, 2.0], "group": ["g"] * 4, "dataset": ["d"] * 4}
    out = MultiDimensionalReward(spec).compute(texts, ids, columns)
    assert out["format"][:2].tolist() == [1.0, 0.0] and np.isnan(out["parsed"][1, 0])


@pytest.mark.parametrize("readout", ["text", "expected"])
def test_evaluation_counts_a_repeated_overall_as_a_parse_failure(readout):
    fields = PARSED_FIELDS
    # for the expected readout: one character per token, uniform digit probabilities
    response = HACK if readout == "text" else Completion(HACK, tuple(HACK), np.full((len(HACK), 10), 0.1))
    assert readout_values(response, fields, readout)["overall"] is None
    row = {"image": "x.png", "mos": 3.0, "group": "g"}
    record = prediction_row(row, [response], fields, readout)
    assert record["pred_overall"] is None and not record["parse_ok"]
    assert record["failed_fields"] == "overall" and record["pred_sharpness"] is not None
