"""Markdown renderings of the result tables (for the README)."""

from __future__ import annotations

import math

import pandas as pd

from mgiqa.evaluation.protocol import COLUMNS as PROTOCOL_COLUMNS
from mgiqa.evaluation.tables import REFERENCE_METHOD, SPEC_COLUMNS, attribute_wide


def _fmt(value, std=None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.3f}"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ± {std:.3f}"
    return text


def main_markdown(
    main: pd.DataFrame, benchmarks: list[str], names: dict[str, str], alpha: float = 0.05
) -> str:
    """Measured rows and, if present, reported rows as two Markdown tables; cells are `SRCC / PLCC`."""
    header = ["method", *(names.get(b, b) for b in benchmarks), "avg"]

    def cells(row, prefix_pairs):
        out = []
        for prefix in prefix_pairs:
            srcc = _fmt(row.get(f"{prefix}srcc"), row.get(f"{prefix}srcc_std"))
            mark = "*" if prefix and row.get(f"{prefix}p_vs_best", math.nan) < alpha else ""
            out.append(f"{srcc}{mark} / {_fmt(row.get(f'{prefix}plcc'), row.get(f'{prefix}plcc_std'))}")
        return out

    def label(row) -> str:
        if row["source"] == "reported":
            return f"{row['method']} (reported; protocol of {row['twin_of']})"
        return row["method"]

    body = [[label(r), *cells(r, [f"{b}_" for b in benchmarks] + ["avg_"])] for _, r in main.iterrows()]
    title = "Measured" + (
        ", each reported row beside its measured twin" if (main["source"] == "reported").any() else ""
    )
    parts = [f"### {title}\n\n" + pd.DataFrame(body, columns=header).to_markdown(index=False)]
    protocol_cols = [c for c in (*PROTOCOL_COLUMNS, "pixels") if c in main]
    if protocol_cols:
        view = main[["method", *protocol_cols]].assign(method=[label(r) for _, r in main.iterrows()])
        parts.append("### Protocols\n\n" + view.fillna("").to_markdown(index=False))
    grouped = [b for b in benchmarks if f"{b}_wg_srcc" in main]
    measured = main[main["source"] == "measured"]
    if grouped:
        body = [[r["method"], *cells(r, [f"{b}_wg_" for b in grouped])] for _, r in measured.iterrows()]
        wg_header = ["method", *(names.get(b, b) for b in grouped)]
        parts.insert(
            1,
            "### Within-group correlation (grouped benchmarks: mean of per-group SRCC / PLCC)\n\n"
            + pd.DataFrame(body, columns=wg_header).to_markdown(index=False),
        )
    legend = (
        f"Cells: SRCC / PLCC (mean ± std over seeds where several). `*`: the SRCC differs from the best "
        f"baseline of that benchmark (paired bootstrap, p < {alpha}). Reported rows (the literature's numbers, "
        "not measured here) appear only beside a measured row with the same training sets, evaluated split, "
        "prompt, resolution and readout; their parse-failure policy differs (see Protocols)."
    )
    best = [f"{names.get(b, b)}: {main[f'{b}_best_baseline'].dropna().iloc[0]}" for b in benchmarks
            if f"{b}_best_baseline" in main and main[f"{b}_best_baseline"].notna().any()]  # fmt: skip
    if best:
        legend += " Best baseline: " + "; ".join(best) + "."
    return "\n\n".join(parts) + "\n\n" + legend + "\n"


def ablation_markdown(table: pd.DataFrame) -> str:
    metric_cols = ["avg_srcc", "avg_plcc", "delta_avg_srcc", "delta_avg_plcc"]
    view = table[["method", *SPEC_COLUMNS]].copy()
    for col in metric_cols:
        stds = table[f"{col}_std"] if f"{col}_std" in table else [None] * len(table)
        view[col] = [
            f"{v:+.3f}" if col.startswith("delta") else _fmt(v, s)
            for v, s in zip(table[col], stds, strict=True)
        ]
    delta = f"Δ = ablation − {REFERENCE_METHOD} (average over benchmarks of the per-benchmark SRCC / PLCC)."
    if "delta_avg_srcc_ci_low" in table:
        view["Δ avg SRCC 95% CI"] = [
            "" if pd.isna(lo) else f"[{lo:+.3f}, {hi:+.3f}]"
            for lo, hi in zip(table["delta_avg_srcc_ci_low"], table["delta_avg_srcc_ci_high"], strict=True)
        ]
        view["p"] = ["" if pd.isna(p) else f"{p:.3f}" for p in table["delta_avg_srcc_p"]]
        view["vs " + REFERENCE_METHOD] = table["delta_verdict"]
        delta += (
            " CI and p: paired bootstrap of the average SRCC difference, each benchmark's images resampled"
            " (`mgiqa.evaluation.average_test`); `tie` when the interval holds 0."
        )
    return view.to_markdown(index=False) + "\n\n" + delta + "\n"


def attribute_markdown(table: pd.DataFrame, names: dict[str, str]) -> str:
    if table.empty:
        return "No benchmark has attribute labels for a method that predicts attributes.\n"
    wide = attribute_wide(table, names)
    return (
        wide.map(_fmt).reset_index().to_markdown(index=False)
        + "\n\nAttribute-level SRCC (mean over seeds).\n"
    )


def significance_markdown(table: pd.DataFrame, names: dict[str, str]) -> str:
    view = table.assign(benchmark=[names.get(b, b) for b in table["benchmark"]])
    note = (
        "Paired bootstrap of SRCC(method) − SRCC(best baseline) on the same resampled images; "
        "two-sided p-value (the largest over seeds where a method has several)."
    )
    return view.to_markdown(index=False, floatfmt=".4g") + "\n\n" + note + "\n"
