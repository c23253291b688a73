"""A response parser that never raises and never guesses.

`parse_response(text, fields)` reads each requested score field from a model response. A field is either a
number in [1, 5] or a failure; nothing is ever invented (VisualQuality-R1 draws a random score on failure; we
count and report failures instead). The rules:

- Where: the scores follow the reasoning, so only the text after the last ``</think>`` is read. A ``<think>``
  that is never closed (a truncated response) leaves only the text before it: the answer never came.
- Labelled fields (``Sharpness: 3.5``): case-insensitive; spacing, ``=``, markdown bold (``**Color:** 4``),
  a ``[..]`` around the number, a ``score``/``rating`` suffix and a ``(1-5)`` note are tolerated. Aliases:
  ``Color``/``Colour``/``Color Fidelity``, ``Noise``/``Noise Level``, ``Overall``/``Overall quality``/
  ``Overall score``/``Overall rating``.
- Repeated fields: a field labelled more than once in the answer (``Overall: 4.5, Overall: 4.3``, or
  ``Overall: 4`` beside ``Overall quality: 4``, whatever the numbers) is a failure and listed in `repeated`:
  taking one of them would reward writing several answers. An overall-only ``<answer>`` block holding more
  than one number (``<answer>3.5 4.0</answer>``) fails the same way.
- A number is read only when it stands alone: ``3``, ``3.5``, ``4.``, ``+3``, ``3/5``. ``3/10``, ``3-4``,
  ``3.5.2``, ``3,5`` (a decimal comma: 3.5 or 3 and 5?), ``35%``, ``3rd`` or the template's own ``[1-5]``
  are not numbers on our scale: failures.
- Out-of-range numbers (``0``, ``5.5``, ``-3``, ``80``) are failures, not clipped: clipping would turn a
  response on the wrong scale into a confident extreme score.
- Overall-only responses (``fields == ("overall",)``, the VisualQuality-R1 prompt): the last
  ``<answer>...</answer>`` block decides: a labelled score inside it, else its first number. Without an
  answer block, a labelled ``Overall: x`` / ``Score: x`` / ``Rating: x`` (exactly one) is read.

`format_ok`: the response has exactly one ``<think>...</think>`` block at its start and every requested field
parsed (so a repeated field also fails the format); the overall-only format additionally is exactly ``<think>..</think> <answer>..</answer>`` (one
block each, only whitespace around), as VisualQuality-R1's format reward checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

FIELDS: tuple[str, ...] = ("sharpness", "color", "noise", "composition", "overall")
SCORE_MIN, SCORE_MAX = 1.0, 5.0

# Possessive quantifiers (*+, ++, ?+) everywhere: whitespace runs are never split between two patterns, which
# keeps matching linear on adversarial input (a label followed by 100k spaces).
_ALIASES = {
    "sharpness": r"sharpness",
    "color": r"colou?r(?:\s++fidelity)?+",
    "noise": r"noise(?:\s++level)?+",
    "composition": r"composition",
    "overall": r"overall(?:\s++(?:image\s++)?+quality)?+",
}
# overall-only responses may also label their single score "Score" / "Rating" / "Quality score"
_OVERALL_ONLY_ALIAS = r"(?:overall(?:\s++(?:image\s++)?+quality)?+|(?:quality\s++)?+(?:score|rating))"

# a number that stands alone: optional sign, digits with optional decimals, an optional "/5"; rejected when
# glued to a word, another decimal, a decimal comma ("3,5"), a percent sign, a different denominator or a
# range ("3-4").
_NUMBER = (
    r"(?P<num>[-+]?+(?:\d++(?:\.\d*+)?+|\.\d++))(?:\s*+/\s*+5(?:\.0++)?+)?+"
    r"(?![\w%]|[.,]\d|\s*+/|\s*+[-\u2013]\s*+\d)"
)
# a label's tail up to its separator ("Overall score (1-5) **:"), then what may stand before the number
_LABEL_SEPARATOR = (
    r"(?:\s++(?:score|rating))?+\s*+(?:\(\s*+1\s*+[-\u2013]\s*+5\s*+\))?+\s*+\**+\s*+[:=\uff1a]"
)
_LABEL_TAIL = _LABEL_SEPARATOR + r"\s*+\**+\s*+\[?+\s*+" + _NUMBER
_FLAGS = re.IGNORECASE
_LABELLED = {f: re.compile(r"(?<![\w-])(?:" + a + r")" + _LABEL_TAIL, _FLAGS) for f, a in _ALIASES.items()}
_LABELLED_OVERALL_ONLY = re.compile(r"(?<![\w-])" + _OVERALL_ONLY_ALIAS + _LABEL_TAIL, _FLAGS)
# a label with its separator, whatever follows: how often a field is written
_LABELS = {f: re.compile(r"(?<![\w-])(?:" + a + r")" + _LABEL_SEPARATOR, _FLAGS) for f, a in _ALIASES.items()}
_LABELS_OVERALL_ONLY = re.compile(r"(?<![\w-])" + _OVERALL_ONLY_ALIAS + _LABEL_SEPARATOR, _FLAGS)
_FIRST_NUMBER = re.compile(r"(?<![\w.])[-+]?+(?:\d++(?:\.\d*+)?+|\.\d++)", _FLAGS)
_STANDALONE_NUMBER = re.compile(_NUMBER, _FLAGS)
_THINK_OPEN = re.compile(r"<think>", _FLAGS)
_THINK_CLOSE = re.compile(r"</think>", _FLAGS)
_THINK_FIRST = re.compile(r"\s*+<think>.*?</think>", _FLAGS | re.DOTALL)
_OVERALL_FORMAT = re.compile(r"\s*+<think>.*?</think>\s*+<answer>.*?</answer>\s*+", _FLAGS | re.DOTALL)


@dataclass(frozen=True)
class ParsedResponse:
    values: dict[str, float | None]  # field -> score in [1, 5], None where it failed
    failed: tuple[str, ...]  # the fields that did not parse, in request order
    format_ok: bool
    has_think: bool
    # field -> (start, end) character span in the text of the number that was read (parsed fields only)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    repeated: tuple[str, ...] = ()  # the failed fields that failed because they were written more than once

    @property
    def ok(self) -> bool:
        return not self.failed


def parse_response(text: str, fields: Sequence[str] = FIELDS) -> ParsedResponse:
    """Parse `fields` out of `text`. Never raises for any `text` (a non-string fails every field)."""
    fields = tuple(fields)
    unknown = [f for f in fields if f not in _ALIASES]
    if unknown:  # a programming error, not a model error
        raise ValueError(f"unknown score fields {unknown}; known: {list(_ALIASES)}")
    if not isinstance(text, str):
        return ParsedResponse({f: None for f in fields}, fields, False, False)
    offset, region, has_think = _answer_region(text)
    overall_only = fields == ("overall",)
    values, spans, repeated = {}, {}, []
    for name in fields:
        if overall_only:
            found, twice = _overall_only_number(region)
        else:
            found, twice = _single_labelled(_LABELS[name], _LABELLED[name], region)
        values[name] = None if twice else _checked(found[0] if found else None)
        if twice:
            repeated.append(name)
        if values[name] is not None:
            spans[name] = (offset + found[1], offset + found[1] + len(found[0]))
    failed = tuple(f for f in fields if values[f] is None)
    format_ok = not failed and _has_format(text, overall_only)
    return ParsedResponse(values, failed, format_ok, has_think, spans, tuple(repeated))


def parse_batch(texts: Iterable[str], fields: Sequence[str] = FIELDS) -> tuple[np.ndarray, np.ndarray]:
    """Parse many responses: (values [N, F] float with NaN for failures, format_ok [N] bool)."""
    fields = tuple(fields)
    parsed = [parse_response(t, fields) for t in texts]
    values = np.full((len(parsed), len(fields)), np.nan)
    for i, p in enumerate(parsed):
        for j, f in enumerate(fields):
            if p.values[f] is not None:
                values[i, j] = p.values[f]
    return values, np.fromiter((p.format_ok for p in parsed), dtype=bool, count=len(parsed))


def _answer_region(text: str) -> tuple[int, str, bool]:
    """Where the text the scores are read from starts, that text, and whether a closed <think> block exists."""
    closes = list(_THINK_CLOSE.finditer(text))
    opens = list(_THINK_OPEN.finditer(text))
    last_close = closes[-1].end() if closes else -1
    has_think = bool(opens) and bool(closes) and opens[0].start() < closes[-1].start()
    dangling = [m for m in opens if m.start() >= last_close]
    if dangling:  # a reasoning block that never closed: only what came before it counts
        return max(last_close, 0), text[max(last_close, 0) : dangling[0].start()], has_think
    return max(last_close, 0), text[max(last_close, 0) :], has_think


_Found = tuple[str, int] | None  # a number as written and where it starts


def _single_labelled(labels: re.Pattern, labelled: re.Pattern, region: str) -> tuple[_Found, bool]:
    """The number of the one labelled field in `region` and where it starts; (None, True) if it is labelled
    more than once (whatever the numbers), (None, False) if it is not labelled or its number is unreadable."""
    occurrences = labels.finditer(region)
    if next(occurrences, None) is None:
        return None, False
    if next(occurrences, None) is not None:
        return None, True
    match = labelled.search(region)
    return ((match.group("num"), match.start("num")) if match else None), False


def _overall_only_number(region: str) -> tuple[_Found, bool]:
    """The overall-only answer's number and where it starts in `region`, and whether it was given twice
    (two answer blocks, two labels, two numbers in an unlabelled block, or a labelled score beside a block)."""
    lower = region.lower()
    if lower.count("<answer>") > 1 or lower.count("</answer>") > 1:
        return None, True
    block = _answer_block(region, lower)
    if block is None:
        return _single_labelled(_LABELS_OVERALL_ONLY, _LABELLED_OVERALL_ONLY, region)
    offset, content = block
    outside = region[:offset] + " " + region[offset + len(content) :]
    if _LABELLED_OVERALL_ONLY.search(outside):
        return None, True
    if _LABELS_OVERALL_ONLY.search(content):
        found, twice = _single_labelled(_LABELS_OVERALL_ONLY, _LABELLED_OVERALL_ONLY, content)
        return ((found[0], offset + found[1]) if found else None), twice
    first = _FIRST_NUMBER.search(content)
    if first is None:
        return None, False
    standalone = _STANDALONE_NUMBER.match(content, first.start())
    if standalone is None:
        return None, False
    if _FIRST_NUMBER.search(content, standalone.end()):
        return None, True
    return (standalone.group("num"), offset + standalone.start("num")), False


def _answer_block(region: str, lower: str) -> tuple[int, str] | None:
    """Where the <answer>...</answer> block's content starts, and that content."""
    close = lower.rfind("</answer>")
    start = lower.rfind("<answer>", 0, close) if close >= 0 else -1
    return (start + len("<answer>"), region[start + len("<answer>") : close]) if start >= 0 else None


def _checked(number: str | None) -> float | None:
    if number is None:
        return None
    try:
        value = float(number)
    except ValueError:
        return None
    return value if SCORE_MIN <= value <= SCORE_MAX else None


def _has_format(text: str, overall_only: bool) -> bool:
    if len(_THINK_OPEN.findall(text)) != 1 or len(_THINK_CLOSE.findall(text)) != 1:
        return False
    if overall_only:
        if text.lower().count("<answer>") != 1 or text.lower().count("</answer>") != 1:
            return False
        return _OVERALL_FORMAT.fullmatch(text) is not None
    return _THINK_FIRST.match(text) is not None
