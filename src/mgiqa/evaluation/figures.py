"""Figures (PNG + PDF) from the result tables, predictions and GRPO training logs. Matplotlib, Agg backend."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mgiqa.io import atomic_path  # noqa: E402

LOG_COLUMNS = (
    "probe_srcc", "reward_total", "reward_format", "reward_overall", "reward_sharpness", "reward_color",
    "reward_noise", "reward_composition", "kl", "loss", "parse_failure_rate",
)  # fmt: skip
SPARSE_COLUMNS = {"probe_srcc"}  # logged on some steps only (the held-out probe): drawn as points joined
plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.grid": True, "grid.alpha": 0.3})


# no creation dates in the files: the same inputs give byte-identical figures
_NO_DATES = {"png": {}, "pdf": {"CreationDate": None}}


def save(fig, out_base: str | Path) -> list[Path]:
    """Write `out_base`.png (150 dpi) and `out_base`.pdf atomically; close the figure."""
    paths = []
    for ext in ("png", "pdf"):
        path = Path(f"{out_base}.{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(
                tmp, format=ext, dpi=150, bbox_inches="tight", metadata=_NO_DATES[ext]
            )  # reproducible bytes
        paths.append(path)
    plt.close(fig)
    return paths


def _grid(n: int, ncols: int, size=(3.6, 3.0), **kw):
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, **kw)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def srcc_ylim(values: np.ndarray, margin: float = 0.05) -> tuple[float, float]:
    """Y-axis of the SRCC bars: 0 to 1, widened to hold every bar and every CI whisker end in `values`."""
    finite = values[np.isfinite(values)]
    low = min(0.0, float(finite.min()) - margin) if finite.size else 0.0
    high = max(1.0, float(finite.max()) + margin) if finite.size else 1.0
    return low, high


def srcc_bars(main: pd.DataFrame, benchmarks: list[str], names: dict[str, str], out_base) -> list[Path]:
    """Grouped bars: SRCC per benchmark (and the average) by measured method, whiskers = bootstrap CI."""
    rows = main[main["source"] == "measured"].reset_index(drop=True)
    groups = [*benchmarks, "avg"]
    width = 0.8 / len(rows)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(min(16.0, max(8.0, 2.0 + 0.2 * len(rows) * len(groups))), 5.0))
    colors = plt.get_cmap("tab10" if len(rows) <= 10 else "tab20")
    drawn = []  # every bar and whisker end, for the y-axis
    for i, row in rows.iterrows():
        vals = np.array([row.get(f"{b}_srcc", np.nan) for b in groups], dtype=float)
        lo = np.array([row.get(f"{b}_srcc_ci_low", np.nan) for b in groups], dtype=float)
        hi = np.array([row.get(f"{b}_srcc_ci_high", np.nan) for b in groups], dtype=float)
        drawn += [vals, lo, hi]
        err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, vals, width, label=row["method"], color=colors(i % colors.N))
        has_ci = np.isfinite(err).all(axis=0)  # the average has no bootstrap CI: no whisker
        ax.errorbar(
            pos[has_ci],
            vals[has_ci],
            yerr=err[:, has_ci],
            fmt="none",
            ecolor="black",
            elinewidth=0.8,
            capsize=2,
        )
    ax.axvline(len(benchmarks) - 0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xticks(x, [names.get(b, b) for b in benchmarks] + ["Average"], rotation=20, ha="right")
    ax.set_ylabel("SRCC")
    ax.set_ylim(*srcc_ylim(np.concatenate(drawn) if drawn else np.array([])))
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_title("SRCC by benchmark (mean over seeds; whiskers: bootstrap CI over images)")
    ax.legend(ncols=min(4, len(rows)), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    return save(fig, out_base)


def scatter_grid(preds: dict[str, pd.DataFrame], names: dict[str, str], method: str, out_base) -> list[Path]:
    """Predicted overall score vs normalized MOS per benchmark; parse failures (scored 3.0) in red."""
    from mgiqa.evaluation.metrics import srcc
    from mgiqa.evaluation.predictions import scored

    fig, axes = _grid(len(preds), 4)
    for ax, (bench, df) in zip(axes, preds.items(), strict=False):
        score, failed = scored(df)
        mos = df["mos"].to_numpy(dtype=float)
        ax.scatter(mos[~failed], score[~failed], s=8, alpha=0.6, color="tab:blue", label="parsed")
        if failed.any():
            ax.scatter(
                mos[failed],
                score[failed],
                s=14,
                marker="x",
                color="tab:red",
                label=f"failed ({failed.sum()})",
            )
            ax.legend(fontsize=7, loc="lower right")
        ax.set_title(f"{names.get(bench, bench)}  (SRCC {srcc(mos, score):.3f})")
        ax.set_xlabel("MOS (normalized, 1-5)")
        ax.set_ylabel("predicted overall")
    fig.suptitle(f"{method}: predicted score vs MOS", fontsize=12)
    fig.tight_layout()
    return save(fig, out_base)


def _smooth(series: pd.Series, window: int) -> pd.Series:
    return series.rolling(window, min_periods=1, center=True).mean() if window > 1 else series


def training_curves(logs: dict[str, list[pd.DataFrame]], out_base) -> list[Path]:
    """One panel per logged component; one line per ablation (mean over seeds, band = min..max)."""
    present = [
        c for c in LOG_COLUMNS if any(c in d and d[c].notna().any() for ds in logs.values() for d in ds)
    ]
    if not present:
        raise ValueError(f"no training log has any of the columns {list(LOG_COLUMNS)}")
    fig, axes = _grid(len(present), 3, size=(4.2, 3.0))
    n_steps = max(int(d["step"].nunique()) for ds in logs.values() for d in ds)
    window = max(1, n_steps // 25)
    colors = plt.get_cmap("tab10")
    for ax, col in zip(axes, present, strict=False):
        for i, (ablation, seed_logs) in enumerate(logs.items()):
            frames = [
                d.set_index("step")[col].dropna() for d in seed_logs if col in d and d[col].notna().any()
            ]
            if not frames:
                continue
            wide = pd.concat(frames, axis=1).sort_index()
            if col in SPARSE_COLUMNS:
                mean = wide.mean(axis=1)
                ax.plot(mean.index, mean, "o" + ("-", "--", "-.", ":")[i % 4], color=colors(i % colors.N),
                        label=ablation, lw=1.4, ms=3)  # fmt: skip
                continue
            color = colors(i % colors.N)
            style = ("-", "--", "-.", ":")[i % 4]  # overlapping curves stay distinguishable
            ax.plot(
                wide.index, _smooth(wide.mean(axis=1), window), style, color=color, label=ablation, lw=1.4
            )
            if wide.shape[1] > 1:
                ax.fill_between(
                    wide.index,
                    _smooth(wide.min(axis=1), window),
                    _smooth(wide.max(axis=1), window),
                    color=color,
                    alpha=0.15,
                )
        ax.set_title("held-out SRCC (probe)" if col == "probe_srcc" else col.replace("_", " "))
        ax.set_xlabel("GRPO step")
    legend = {}
    for ax in axes[: len(present)]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    smooth = f"; rolling mean over {window} steps" if window > 1 else ""
    fig.suptitle(f"GRPO training curves (mean over seeds, band = range over seeds{smooth})", fontsize=12)
    fig.tight_layout()
    # below the panels; `save` crops to the bounding box that includes it
    fig.legend(
        legend.values(), legend.keys(), loc="upper center", ncols=min(4, len(legend)), bbox_to_anchor=(0.5, 0)
    )
    return save(fig, out_base)


def ablation_deltas(table: pd.DataFrame, out_base, reference: str = "mg_iqa") -> list[Path]:
    """Horizontal bars: average SRCC / PLCC of each ablation minus the reference method's. SRCC whiskers: the
    95% paired-bootstrap interval of the difference where the table has it (`average_test`), else the std
    over seeds."""
    rows = table[table["method"] != reference].reset_index(drop=True)
    y = np.arange(len(rows))
    tested = "delta_avg_srcc_ci_low" in rows
    fig, ax = plt.subplots(figsize=(7.0, 0.55 * len(rows) + 1.6))
    for k, (metric, color) in enumerate((("srcc", "tab:blue"), ("plcc", "tab:orange"))):
        vals = rows[f"delta_avg_{metric}"].to_numpy(dtype=float)
        err = rows[f"avg_{metric}_std"].to_numpy(dtype=float) if f"avg_{metric}_std" in rows else None
        if metric == "srcc" and tested:
            low, high = (
                rows["delta_avg_srcc_ci_low"].to_numpy(float),
                rows["delta_avg_srcc_ci_high"].to_numpy(float),
            )
            err = np.vstack([np.clip(vals - low, 0, None), np.clip(high - vals, 0, None)])
        ax.barh(
            y + (k - 0.5) * 0.38,
            vals,
            0.38,
            xerr=err,
            color=color,
            label=f"Δ avg {metric.upper()}",
            capsize=2,
        )
    ax.set_yticks(y, rows["method"])
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"difference to {reference} (average over benchmarks)")
    ax.set_title(
        f"Ablations vs {reference}"
        + (
            " (SRCC whiskers: 95% paired-bootstrap interval)"
            if tested
            else " (whiskers: std over seeds of the ablation)"
            if "avg_srcc_std" in rows
            else ""
        )
    )
    ax.legend(fontsize=8)
    return save(fig, out_base)


def attribute_heatmap(table: pd.DataFrame, names: dict[str, str], out_base) -> list[Path]:
    """Methods x (benchmark: attribute) attribute-level SRCC."""
    if table.empty:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(
            0.5, 0.5, "No attribute labels for any method that predicts attributes", ha="center", va="center"
        )
        return save(fig, out_base)
    from mgiqa.evaluation.tables import attribute_wide

    wide = attribute_wide(table, names)
    fig, ax = plt.subplots(figsize=(1.1 * wide.shape[1] + 3.0, 0.5 * wide.shape[0] + 2.2))
    im = ax.imshow(wide.to_numpy(dtype=float), cmap="RdYlGn", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(wide.shape[1]), wide.columns, rotation=35, ha="right")
    ax.set_yticks(range(wide.shape[0]), wide.index)
    ax.grid(False)
    for (i, j), v in np.ndenumerate(wide.to_numpy(dtype=float)):
        ax.text(j, i, "–" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=9)
    fig.colorbar(im, ax=ax, label="SRCC")
    ax.set_title("Attribute-level SRCC (mean over seeds)")
    return save(fig, out_base)
