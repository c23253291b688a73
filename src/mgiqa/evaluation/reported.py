"""Literature numbers (reported.yaml) as labelled rows for the main table; never mixed with measurements."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import yaml

from mgiqa.errors import ConfigError
from mgiqa.package_data import package_path

REPORTED_PATH = package_path("evaluation/reported.yaml")  # packaged (importlib.resources)


def load_reported(path: Path = REPORTED_PATH) -> dict:
    """Load and check the reported numbers: known benchmark keys, correlations in [-1, 1]."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    from mgiqa.evaluation.protocol import COLUMNS

    known = set(data["benchmarks"])
    for i, method in enumerate(data["methods"]):
        where = f"{path}: methods[{i}] ({method.get('name')!r})"
        if method.get("source") not in data["sources"]:
            raise ConfigError(f"{where}: unknown source {method.get('source')!r}")
        protocol = reported_protocol(data, method)
        if sorted(protocol) != sorted(COLUMNS):
            raise ConfigError(f"{where}: protocol must give {list(COLUMNS)}, got {sorted(protocol)}")
        for metric in ("srcc", "plcc"):
            for bench, value in method[metric].items():
                if bench not in known:
                    raise ConfigError(f"{where}.{metric}: unknown benchmark {bench!r}")
                if not (isinstance(value, int | float) and -1.0 <= value <= 1.0):
                    raise ConfigError(f"{where}.{metric}.{bench}: not a correlation: {value!r}")
    return data


def reported_protocol(data: dict, method: dict) -> dict:
    """A reported method's protocol: its source's, updated by its own (values as text)."""
    source = data["sources"][method["source"]]
    protocol = dict(source.get("protocol") or {}) if isinstance(source, dict) else {}
    return {k: str(v) for k, v in (protocol | (method.get("protocol") or {})).items()}


def reported_rows(benchmarks: list[str], path: Path = REPORTED_PATH) -> pd.DataFrame:
    """One row per reported method: `{bench}_srcc`, `{bench}_plcc` for the benchmarks given.

    The reported averages are kept only when `benchmarks` is exactly the reported benchmark set (an average
    over other benchmarks would not be the published number); otherwise they are empty.
    """
    data = load_reported(path)
    overlap = [b for b in benchmarks if b in data["benchmarks"]]
    if not overlap:
        raise ConfigError(
            f"evaluation.reported_rows: none of the benchmarks {benchmarks} has reported numbers "
            f"(known: {data['benchmarks']})"
        )
    same_set = sorted(benchmarks) == sorted(data["benchmarks"])
    rows = []
    for method in data["methods"]:
        row = {"method": method["name"], "source": "reported", "reference": method["source"],
               **reported_protocol(data, method)}  # fmt: skip
        for bench in benchmarks:
            for metric in ("srcc", "plcc"):
                row[f"{bench}_{metric}"] = method[metric].get(bench, math.nan)
        for metric in ("srcc", "plcc"):
            value = method.get(f"avg_{metric}")
            row[f"avg_{metric}"] = float(value) if same_set and value is not None else math.nan
        rows.append(row)
    return pd.DataFrame(rows)
