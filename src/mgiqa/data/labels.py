"""Label files -> the canonical label table (docs/ARCHITECTURE.md), one row per image.

`parse_label_file(dataset_key, path)` recognises the file's layout among those of the dataset's parser family
(`mgiqa.data.label_layouts`), then derives every canonical column:

- `mos` from `mos_raw` on the layout's scale (`mgiqa.data.normalize`: the nominal scale where declared, else the
  observed min-max), `mos_std` in the units of `mos` (variances square-rooted);
- `group` per the registry's `groups` (the dataset key, the reference image, an image-name prefix, a column);
- `split` per the registry's `splits` (`mgiqa.data.splits`);
- `distortion` / `distortion_level` from the image name (registry `distortion.pattern`), and attributes either
  from columns (SPAQ's 0-100 scores -> [1,5]) or from distortion types (level 1..L -> attribute 5..1).

Table-level facts (layout, scale used) are in `table.attrs`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from mgiqa.data import splits as split_rules
from mgiqa.data.label_layouts import DATASET, Scale, StdSpec
from mgiqa.data.label_reader import RawTable, read_label_table
from mgiqa.data.normalize import map_interval, normalize_mos, normalize_std, observed_range
from mgiqa.errors import LabelFileError

log = logging.getLogger(__name__)

ATTRIBUTES = ("sharpness", "color", "noise", "composition")
OPTIONAL_COLUMNS = ("distortion", "distortion_level")
CANONICAL_COLUMNS = (
    "image", "dataset", "domain", "group", "split", "mos_raw", "mos", "mos_std", *ATTRIBUTES, *OPTIONAL_COLUMNS,
)  # fmt: skip
RANGE_TOLERANCE = 1e-6  # relative slack on nominal-range checks (float round-off in published files)


def parse_label_file(dataset_key: str, path: str | os.PathLike, entry: dict | None = None) -> pd.DataFrame:
    """Parse `path` as a label file of `dataset_key` (registry entry `entry`, looked up when None)."""
    if entry is None:
        from mgiqa.data.registry import get_dataset

        entry = get_dataset(dataset_key)
    raw = read_label_table(Path(path), entry["labels"]["parser"])
    return build_table(dataset_key, entry, raw)


def build_table(dataset_key: str, entry: dict, raw: RawTable) -> pd.DataFrame:
    roles = raw.layout.roles(raw.header)
    names = _names(raw, roles["image"])
    mos_raw = _numbers(raw, roles["mos"], "MOS", required=True)
    scale = raw.layout.mos if raw.layout.mos != DATASET else Scale.from_entry(entry["mos"])
    interval = _mos_interval(raw, mos_raw, scale)
    table = pd.DataFrame(
        {
            "image": _image_paths(entry, names),
            "dataset": dataset_key,
            "domain": entry["domain"],
            "group": _groups(dataset_key, entry, raw, roles, names),
            "split": _splits(entry, raw, roles, names),
            "mos_raw": mos_raw,
            "mos": normalize_mos(mos_raw, *interval, scale.higher_is_better),
            "mos_std": _std(entry, raw, roles, scale, interval),
        }
    )
    distortion, level = _distortions(entry, raw, names)
    for attribute in ATTRIBUTES:
        table[attribute] = _attribute(entry, raw, attribute, level, distortion)
    table["distortion"] = pd.Series(distortion, dtype="str")
    table["distortion_level"] = pd.Series(level, dtype="Int64")
    table = table[list(CANONICAL_COLUMNS)]
    table.attrs.update(
        layout=raw.layout.name, label_file=str(raw.path), mos_interval=list(interval),
        higher_is_better=scale.higher_is_better, nominal=scale.nominal,
    )  # fmt: skip
    expected = entry.get("expected_rows")
    if expected is not None and expected != len(table):
        log.warning(
            "%s: %d rows, the registry expects %d for %s", raw.path, len(table), expected, dataset_key
        )
    return table


def _fail(raw: RawTable, index: int, message: str) -> LabelFileError:
    return LabelFileError(raw.path, int(raw.lines[index]), message)


def _numbers(raw: RawTable, key, what: str, required: bool) -> np.ndarray:
    text = raw.column(key).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) & ((text != "").to_numpy(dtype=bool) | required)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(raw, i, f"{what} {text.iloc[i]!r} is not a number")
    return values


def _names(raw: RawTable, key) -> pd.Series:
    written = raw.column(key).str.strip()
    names = written.str.replace("\\", "/", regex=False)
    unsafe = (names == "") | names.str.startswith("/") | names.str.contains(r"(?:^|/)\.\.(?:/|$)", regex=True)
    if unsafe.any():
        i = int(np.flatnonzero(unsafe.to_numpy(dtype=bool))[0])
        raise _fail(raw, i, f"image name {written.iloc[i]!r} is empty or leaves the dataset root")
    # one spelling per file, before the duplicate check: "./a.jpg" is "a.jpg", "sub//x.jpg" is "sub/x.jpg"
    names = names.str.replace(r"/(?:\.?/)+", "/", regex=True).str.replace(r"^(?:\./)+|/\.?$", "", regex=True)
    empty = (names == "") | (names == ".")
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy(dtype=bool))[0])
        raise _fail(raw, i, f"image name {written.iloc[i]!r} names no file")
    duplicated = names.duplicated().to_numpy(dtype=bool)
    if duplicated.any():
        i = int(np.flatnonzero(duplicated)[0])
        first = int(np.flatnonzero((names == names.iloc[i]).to_numpy(dtype=bool))[0])
        raise _fail(
            raw,
            i,
            f"image {written.iloc[i]!r} is listed twice: line {int(raw.lines[first])} has "
            f"{written.iloc[first]!r}, the same file",
        )
    return names.reset_index(drop=True)


def _image_paths(entry: dict, names: pd.Series) -> pd.Series:
    folder = (entry.get("images") or ".").strip("/")
    return names if folder in ("", ".") else folder + "/" + names


def _mos_interval(raw: RawTable, mos_raw: np.ndarray, scale: Scale) -> tuple[float, float]:
    """The interval mapped onto [1, 5]; a MOS outside the declared [min, max] fails with its line, also on
    observed-range scales (one ``6873`` for ``68.73`` would otherwise squash every other image to about 1)."""
    slack = RANGE_TOLERANCE * (scale.max - scale.min)
    outside = (mos_raw < scale.min - slack) | (mos_raw > scale.max + slack)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        which = "nominal scale" if scale.nominal else "published range (registry mos.min / mos.max)"
        raise _fail(
            raw,
            i,
            f"MOS {mos_raw[i]} is outside the {which} [{scale.min}, {scale.max}] of layout {raw.layout.name}",
        )
    if scale.nominal:
        return scale.min, scale.max
    try:
        return observed_range(mos_raw)
    except ValueError as exc:
        raise LabelFileError(raw.path, None, f"MOS: {exc}") from exc


def _std(entry: dict, raw: RawTable, roles: dict, scale: Scale, interval) -> np.ndarray:
    spec = raw.layout.std
    if spec is None or "std" not in roles:
        return np.full(len(raw.lines), np.nan)
    spec = spec if spec != DATASET else StdSpec.from_entry(entry["std"])
    if spec.kind == "none":
        return np.full(len(raw.lines), np.nan)
    values = _numbers(raw, roles["std"], spec.kind, required=False)
    negative = values < 0
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise _fail(raw, i, f"{spec.kind} {values[i]} is negative")
    std_scale = map_interval(interval, (scale.min, scale.max), spec.scale or (scale.min, scale.max))
    return normalize_std(values, spec.kind, std_scale)


def _reference(raw: RawTable, roles: dict, what: str) -> pd.Series:
    if "reference" not in roles:
        raise LabelFileError(
            raw.path, None, f"{what} needs a reference column; layout {raw.layout.name} has none"
        )
    return (
        raw.column(roles["reference"]).str.strip().str.replace("\\", "/", regex=False).reset_index(drop=True)
    )


def _groups(dataset_key: str, entry: dict, raw: RawTable, roles: dict, names: pd.Series):
    spec = entry["groups"]
    kind = spec["kind"]
    if kind == "none":
        return dataset_key
    if kind == "reference":
        return _reference(raw, roles, "groups: reference").str.replace(r"\.[^./]*$", "", regex=True)
    if kind == "prefix":
        parts = names.str.rsplit("/", n=1).str[-1].str.partition(spec["separator"])
        missing = (parts[1] == "").to_numpy(dtype=bool) | (parts[0] == "").to_numpy(dtype=bool)
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise _fail(raw, i, f"image {names.iloc[i]!r} has no group prefix before {spec['separator']!r}")
        return parts[0]
    return _header_column(raw, spec["column"], "groups").str.strip()


def _header_column(raw: RawTable, name: str, what: str) -> pd.Series:
    if raw.header is None or name not in raw.fields.columns:
        raise LabelFileError(
            raw.path, raw.header_line, f"{what}: column {name!r} is not in layout {raw.layout.name}"
        )
    return raw.column(name).reset_index(drop=True)


def _splits(entry: dict, raw: RawTable, roles: dict, names: pd.Series) -> np.ndarray:
    spec = entry["splits"]
    kind = spec["kind"]
    n = len(names)
    if kind == "all_test":
        return np.full(n, "test", dtype=object)
    if kind == "by_reference":
        refs = _reference(raw, roles, "splits: by_reference")
        return split_rules.split_by_group(refs, spec["ratios"], spec["seed"])
    if kind == "reference_lists":
        refs = _reference(raw, roles, "splits: reference_lists")
        result, bad = split_rules.split_by_reference_lists(refs, spec["lists"])
        if bad is not None:
            raise _fail(raw, bad, f"reference {refs.iloc[bad]!r} is in none of the registry's splits.lists")
        return result
    if kind == "by_name":
        return split_rules.split_by_rules(names, spec["rules"], spec["default"])
    if kind == "official":
        if "split" not in roles:
            if spec.get("when_absent", "error") == "all_test":
                log.warning(
                    "%s: layout %s has no official split; every row is test", raw.path, raw.layout.name
                )
                return np.full(n, "test", dtype=object)
            raise LabelFileError(raw.path, None, f"layout {raw.layout.name} carries no official split column")
        values, mapping = raw.column(roles["split"]), raw.layout.split_values
    else:  # column
        values, mapping = _header_column(raw, spec["column"], "splits"), spec["values"]
    result, bad = split_rules.map_split_values(values, mapping)
    if bad is not None:
        raise _fail(raw, bad, f"split value {values.iloc[bad]!r} is not one of {sorted(mapping)}")
    return result


def _distortions(entry: dict, raw: RawTable, names: pd.Series):
    spec = entry.get("distortion")
    n = len(names)
    if not spec:
        return np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    found = names.str.rsplit("/", n=1).str[-1].str.extract(spec["pattern"])
    missing = found["type"].isna().to_numpy(dtype=bool) | found["level"].isna().to_numpy(dtype=bool)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise _fail(
            raw, i, f"image {names.iloc[i]!r} does not match the distortion pattern {spec['pattern']!r}"
        )
    levels = found["level"].astype(int).to_numpy()
    wrong = (levels < 1) | (levels > spec["levels"])
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise _fail(
            raw, i, f"distortion level {levels[i]} of {names.iloc[i]!r} is outside 1..{spec['levels']}"
        )
    return found["type"].to_numpy(dtype=object), levels


def _attribute(entry: dict, raw: RawTable, attribute: str, level, distortion) -> np.ndarray:
    spec = (entry.get("attributes") or {}).get(attribute)
    n = len(raw.lines)
    if spec is None:
        return np.full(n, np.nan)
    if "distortion_types" in spec:
        levels = entry["distortion"]["levels"]
        hit = np.isin(distortion.astype(str), [str(t) for t in spec["distortion_types"]])
        score = 1.0 + 4.0 * (levels - level.astype(float)) / (levels - 1)
        return np.where(hit, score, np.nan)
    if not raw.layout.attribute_columns:
        log.info("%s: layout %s carries no %s column; left empty", raw.path, raw.layout.name, attribute)
        return np.full(n, np.nan)
    column = spec["column"]
    if column not in raw.fields.columns:
        raise LabelFileError(
            raw.path, raw.header_line, f"attributes.{attribute}: column {column!r} is not in the header"
        )
    values = _numbers(raw, column, f"{attribute} ({column})", required=False)
    lo, hi = spec["range"]
    outside = (values < lo) | (values > hi)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise _fail(raw, i, f"{column} {values[i]} is outside its range [{lo}, {hi}]")
    return normalize_mos(values, lo, hi, spec.get("higher_is_better", True))
