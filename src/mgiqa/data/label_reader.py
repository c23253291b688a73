"""Read a label file into string columns with line numbers, and recognise its layout from the file itself.

Tolerated: a UTF-8 byte-order mark, CRLF / LF / CR line endings (also mixed), a missing final newline, blank
lines, quoted fields with commas (CSV). Everything else that is malformed raises LabelFileError naming the file
and the line: a path that is not a regular file (a FIFO, ``/dev/zero``) or is larger than `MAX_LABEL_BYTES`,
undecodable bytes, an empty file, a header without rows, a row with the wrong number of fields, a CSV quote
that never closes (named at the line where the quoted record starts), a first row that fits none of the
family's layouts. A CSV row's line is the line it starts on.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mgiqa.data.label_layouts import FAMILIES, Layout, candidate_layouts, describe_family
from mgiqa.errors import LabelFileError
from mgiqa.input_files import read_regular_file

MAX_LABEL_BYTES = 256 << 20  # the largest published label file (KonIQ-10k++ distributions) is under 4 MB


@dataclass
class RawTable:
    """The rows of one label file as strings. `fields`: column key -> values (whitespace: field index, CSV:
    header name, first occurrence for duplicated names); `lines`: the 1-based line number of every row; `header_line`: that of the CSV header, else None."""

    path: Path
    layout: Layout
    header: list[str] | None
    fields: pd.DataFrame
    lines: np.ndarray
    header_line: int | None = None

    def column(self, key) -> pd.Series:
        return self.fields[key]


def read_text(path: str | os.PathLike) -> str:
    """The file's text with a BOM removed and every line ending turned into LF."""
    path = Path(path)
    data = read_regular_file(
        path, MAX_LABEL_BYTES, lambda message: LabelFileError(path, None, f"label file {message}")
    )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LabelFileError(path, line, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _first_line(path: Path, text: str) -> tuple[int, str]:
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            return number, line
    raise LabelFileError(path, 1, "empty label file (no rows)")


def read_label_table(path: str | os.PathLike, family: str, text: str | None = None) -> RawTable:
    """Read `path` with the layout of `family` that fits it (see the module docstring)."""
    path = Path(path)
    if family not in FAMILIES:
        raise LabelFileError(path, None, f"unknown parser family {family!r}; known: {sorted(FAMILIES)}")
    text = read_text(path) if text is None else text
    number, line = _first_line(path, text)
    is_csv = "," in line
    first_fields = next(csv.reader([line])) if is_csv else line.split()
    candidates = candidate_layouts(family, first_fields, is_csv)
    if not candidates:
        shown = line if len(line) <= 120 else line[:117] + "..."
        raise LabelFileError(
            path,
            number,
            f"unknown layout for parser {family!r}: first line {shown!r} fits none of: "
            f"{describe_family(family)}",
        )
    if is_csv:
        header, frame, lines = _read_csv(path, text)
    else:
        header, (frame, lines) = None, _read_whitespace(path, text, len(candidates[0].fields))
    for layout in candidates:
        table = RawTable(path, layout, header, frame, lines, number if is_csv else None)
        if layout.accepts is None or layout.accepts(_mos_values(table)):
            return table
    names = ", ".join(layout.name for layout in candidates)
    raise LabelFileError(path, number, f"the values fit none of the layouts {names}")


def _mos_values(table: RawTable) -> np.ndarray:
    key = table.layout.roles(table.header)["mos"]
    return pd.to_numeric(table.fields[key].str.strip(), errors="coerce").to_numpy(dtype=float)


def _read_whitespace(path: Path, text: str, n_fields: int) -> tuple[pd.DataFrame, np.ndarray]:
    lines = pd.Series(text.split("\n"), dtype="str")
    numbers = np.arange(1, len(lines) + 1)
    keep = (lines.str.strip() != "").to_numpy()
    parts = lines[keep].str.split()
    numbers = numbers[keep]
    counts = parts.str.len().to_numpy()
    bad = np.flatnonzero(counts != n_fields)
    if bad.size:
        i = bad[0]
        raise LabelFileError(
            path,
            int(numbers[i]),
            f"expected {n_fields} whitespace-separated fields, found {counts[i]}: "
            f"{' '.join(parts.iloc[i])!r}",
        )
    frame = pd.DataFrame(parts.tolist(), dtype="str")
    return frame, numbers


def _read_csv(path: Path, text: str) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    # strict: a quote that never closes is an error ("unexpected end of data"), not one field holding the rest
    # of the file; it is reported where its record starts, not at the last line where the reader gave up
    reader = csv.reader(io.StringIO(text), strict=True)
    rows: list[list[str]] = []
    numbers: list[int] = []
    lines = text.split("\n")
    previous_end = 0  # the line the previous record ended on
    try:
        for row in reader:
            start, previous_end = _record_start(lines, previous_end, reader.line_num), reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            rows.append(row)
            numbers.append(start)
    except csv.Error as exc:
        start = _record_start(lines, previous_end, reader.line_num)
        hint = " (a quote opened on this line never closes)" if "end of data" in str(exc) else ""
        raise LabelFileError(path, start, f"malformed CSV: {exc}{hint}") from exc
    header = [name.strip() for name in rows[0]]
    if len(rows) == 1:
        raise LabelFileError(path, numbers[0], "the header has no data rows below it")
    widths = np.fromiter((len(row) for row in rows), dtype=int, count=len(rows))
    bad = np.flatnonzero(widths != len(header))
    if bad.size:
        i = bad[0]
        raise LabelFileError(
            path,
            numbers[i],
            f"expected {len(header)} comma-separated fields (as the header), found {widths[i]}",
        )
    first = {}
    for index, name in enumerate(header):
        first.setdefault(name, index)  # duplicated header names: the first occurrence counts
    frame = pd.DataFrame(rows[1:], dtype="str")
    frame = frame[list(first.values())].set_axis(list(first.keys()), axis=1)
    return header, frame, np.asarray(numbers[1:])


def _record_start(lines: list[str], previous_end: int, end: int) -> int:
    """The 1-based line a CSV record ending on line `end` starts on: the first non-blank line after the
    previous record, which ended on line `previous_end` (0: none)."""
    number = previous_end + 1
    while number < end and not lines[number - 1].strip():
        number += 1
    return number
