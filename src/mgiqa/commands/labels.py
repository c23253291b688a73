"""`mgiqa labels DATASET LABEL_FILE [-o OUT]`: parse a label file into the canonical label table.

Prints a summary (layout detected, rows, MOS range, splits, groups, attributes). The table goes to OUT (.csv or
.parquet, written atomically) or, without -o, as CSV to stdout (the summary then goes to stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="registry key of the dataset")
    p.add_argument("label_file", help="the dataset's label file (any layout of its parser family)")
    p.add_argument(
        "-o", "--output", default=None, help="output table, .csv or .parquet (default: CSV on stdout)"
    )
    p.add_argument(
        "--registry", action="append", default=None, metavar="PATH",
        help="extra registry YAML merged over the packaged one (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--config", default=None, metavar="PATH",
        help="a config whose datasets.registry (if set) is merged like --registry",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from mgiqa.data.labels import parse_label_file
    from mgiqa.data.registry import get_dataset, load_registry
    from mgiqa.errors import ConfigError
    from mgiqa.io import write_table

    if args.output and Path(args.output).suffix not in (".csv", ".parquet"):
        raise ConfigError(f"--output {args.output}: the table must be .csv or .parquet")
    extra = list(args.registry or [])
    if args.config:
        from mgiqa.config import load_config

        configured = load_config(args.config)["datasets"]["registry"]
        extra = [configured, *extra] if configured else extra
    entry = get_dataset(args.dataset, load_registry(extra or None))
    table = parse_label_file(args.dataset, args.label_file, entry)
    summary = summarize(table, entry)
    if args.output:
        write_table(args.output, table)
        print(summary + f"\nwritten: {args.output}")
    else:
        print(summary, file=sys.stderr)
        table.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def summarize(table, entry: dict) -> str:
    """A few lines on what was parsed: layout, rows, scales, splits, groups, attributes, distortions."""
    from mgiqa.data.labels import ATTRIBUTES

    attrs = table.attrs
    expected = entry.get("expected_rows")
    rows = f"rows: {len(table)}" + (
        "" if expected is None else f" (registry expects {expected}{'' if expected == len(table) else ' !'})"
    )
    lo, hi = attrs["mos_interval"]
    how = "nominal scale" if attrs["nominal"] else "observed range"
    direction = "higher is better" if attrs["higher_is_better"] else "lower is better (flipped)"
    std = table["mos_std"].dropna()
    splits = table["split"].value_counts()
    lines = [
        f"dataset: {table['dataset'].iloc[0]} ({table['domain'].iloc[0]}), file: {attrs['label_file']}",
        f"layout: {attrs['layout']}",
        rows,
        f"mos_raw: [{table['mos_raw'].min():.4g}, {table['mos_raw'].max():.4g}] -> mos "
        f"[{table['mos'].min():.3f}, {table['mos'].max():.3f}] ({how} [{lo:.4g}, {hi:.4g}] -> [1, 5], {direction})",
        f"mos_std: {len(std)} rows" + (f", [{std.min():.3f}, {std.max():.3f}]" if len(std) else ""),
        "splits: " + ", ".join(f"{name} {int(splits.get(name, 0))}" for name in ("train", "val", "test")),
        f"groups: {table['group'].nunique()}",
        "attributes: " + ", ".join(f"{a} {int(table[a].notna().sum())}" for a in ATTRIBUTES),
    ]
    if table["distortion"].notna().any():
        levels = table["distortion_level"].dropna()
        lines.append(
            f"distortions: {table['distortion'].nunique()} types, levels {int(levels.min())}-{int(levels.max())}"
        )
    return "\n".join(lines)
