"""Result tables from the per-(method, seed, benchmark) metrics JSON files: main, ablations, attributes.

Measured rows average over seeds (`_std` = sample std over seeds); averages over benchmarks are computed
per seed first. Every main-table row carries its protocol (`mgiqa.evaluation.protocol`: training sets,
evaluated split, prompt, resolution, readout, parse-failure policy). Literature rows (`source = reported`)
are added only on request, each right after the measured row with the same protocol (its twin) and left
out when there is none; they never enter a measured average.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mgiqa import pipeline
from mgiqa.errors import DataIntegrityError

log = logging.getLogger(__name__)

REFERENCE_METHOD = "mg_iqa"
SCALAR_METRICS = ("srcc", "plcc", "plcc_logistic", "krcc", "pair_acc", "parse_failure_rate")
SPEC_COLUMNS = ("prompt", "multi_reward", "alignment", "sft", "grpo", "train")
DEMO_PREFIX = "demo_"
# short display names of the usual benchmarks (real and demo keys); others show their registry title
SHORT_NAMES = {
    "bid": "BID", "clive": "CLIVE", "koniq": "KonIQ", "koniq10k": "KonIQ", "spaq": "SPAQ", "liu13": "Liu13",
    "sriqa": "SRIQA", "sriqa_bench": "SRIQA", "min19": "Min19", "shrq": "Min19", "agiqa3k": "AGIQA-3K",
}  # fmt: skip


def display_name(key: str, entry: dict | None = None) -> str:
    """A short name for tables and figures: the registry entry's `short_name` if it has one, else the
    known short name of the key (`demo_bid` -> "BID (demo)"), else the registry title, else the key."""
    entry = entry or {}
    if entry.get("short_name"):
        return str(entry["short_name"])
    base = key.removeprefix(DEMO_PREFIX)
    if base in SHORT_NAMES:
        return SHORT_NAMES[base] + (" (demo)" if key.startswith(DEMO_PREFIX) else "")
    return str(entry.get("title") or key)


def flatten_metrics(m: dict) -> dict:
    """The scalar columns of one metrics JSON (CIs as `_ci_low/_ci_high`, within-group as `wg_`)."""
    row = {k: math.nan if m.get(k) is None else float(m[k]) for k in SCALAR_METRICS}
    for prefix, block in (("", m), ("wg_", m.get("within_group") or {})):
        for metric in ("srcc", "plcc"):
            if prefix:
                row[f"wg_{metric}"] = float(block[metric]) if block else math.nan
            ci = (block.get("ci") or {}).get(metric) if block else None
            row[f"{prefix}{metric}_ci_low"] = float(ci["low"]) if ci else math.nan
            row[f"{prefix}{metric}_ci_high"] = float(ci["high"]) if ci else math.nan
    return row


def load_metrics(
    config: dict, metrics_root: str | Path, methods: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every expected metrics file of `methods` (seeds from `pipeline.method_seeds`).

    Returns (long table: method, seed, benchmark + flattened metrics; attribute table: method, seed,
    benchmark, attribute, srcc, n). A missing file is an error naming it.
    """
    rows, attr_rows, missing = [], [], []
    for method in methods:
        for seed in pipeline.method_seeds(config, method):
            for bench in config["datasets"]["benchmarks"]:
                path = Path(metrics_root) / method / f"seed{seed}" / f"{bench}.json"
                if not path.is_file():
                    missing.append(str(path))
                    continue
                try:
                    m = json.loads(path.read_text(encoding="utf-8"))
                    rows.append({"method": method, "seed": seed, "benchmark": bench, **flatten_metrics(m)})
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise DataIntegrityError(
                        f"{path}: not a metrics file ({type(exc).__name__}: {exc})"
                    ) from exc
                for attr, value in (m.get("attribute_srcc") or {}).items():
                    n = m.get("attribute_n", {}).get(attr)
                    attr_rows.append(
                        {
                            "method": method,
                            "seed": seed,
                            "benchmark": bench,
                            "attribute": attr,
                            "srcc": value,
                            "n": n,
                        }
                    )
    if missing:
        raise DataIntegrityError(f"{len(missing)} metrics file(s) missing, e.g. {missing[:3]}")
    attr_cols = ["method", "seed", "benchmark", "attribute", "srcc", "n"]
    return pd.DataFrame(rows), pd.DataFrame(attr_rows, columns=attr_cols)


def _seed_stats(long: pd.DataFrame, value: str, keys: list[str]) -> pd.DataFrame:
    g = long.groupby(keys, sort=False)[value]
    # the std over one seed is undefined (NaN), not 0
    return pd.DataFrame({value: g.mean(), f"{value}_std": g.std(ddof=1), "n_seeds": g.size()})


def method_averages(long: pd.DataFrame) -> pd.DataFrame:
    """avg_srcc / avg_plcc per method: the mean over benchmarks per seed, then mean and std over seeds."""
    per_seed = long.groupby(["method", "seed"], sort=False)[["srcc", "plcc"]].mean().reset_index()
    out = [
        _seed_stats(per_seed.rename(columns={m: f"avg_{m}"}), f"avg_{m}", ["method"])
        for m in ("srcc", "plcc")
    ]
    return out[0].join(out[1].drop(columns="n_seeds"))


def main_table(
    long: pd.DataFrame, benchmarks: list[str], significance: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per measured method: `{bench}_{metric}` (+ `_std`, `_ci_low/_ci_high`, `_p_vs_best`)."""
    methods = list(dict.fromkeys(long["method"]))
    metric_cols = [c for c in long.columns if c not in ("method", "seed", "benchmark")]
    per_bench = long.groupby(["method", "benchmark"], sort=False)[metric_cols]
    mean, std = per_bench.mean(), per_bench.std(ddof=1)
    several = bool(long.groupby("method")["seed"].nunique().max() > 1)
    n_seeds = long.groupby("method", sort=False)["seed"].nunique()
    index = pd.Index(methods, name="method")
    columns = {"source": pd.Series("measured", index=index), "n_seeds": n_seeds.reindex(index)}
    for bench in benchmarks:
        for col in metric_cols:
            columns[f"{bench}_{col}"] = mean.xs(bench, level="benchmark")[col].reindex(index)
            if several and col in ("srcc", "plcc"):
                columns[f"{bench}_{col}_std"] = std.xs(bench, level="benchmark")[col].reindex(index)
        if significance is not None:
            sig = significance[significance["benchmark"] == bench].set_index("method")
            columns[f"{bench}_best_baseline"] = sig["baseline"].reindex(index) if len(sig) else math.nan
            columns[f"{bench}_p_vs_best"] = sig["p_value"].reindex(index) if len(sig) else math.nan
    table = pd.DataFrame(columns)
    avgs = method_averages(long)
    avgs = avgs.drop(columns="n_seeds")
    table = table.join(avgs if several else avgs.drop(columns=["avg_srcc_std", "avg_plcc_std"]))
    table = table.dropna(axis=1, how="all")  # e.g. within-group columns of ungrouped benchmarks
    return table.reset_index()


def with_reported(main: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Literature rows (source = reported), each after its measured twin (same protocol; `twin_of`), those
    without one left out (`protocol.place_reported`); measured rows and averages are left untouched."""
    from mgiqa.evaluation.protocol import place_reported

    combined = place_reported(main, reported)
    combined["n_seeds"] = combined["n_seeds"].astype("Int64")
    return combined


def best_baselines(long: pd.DataFrame, baselines: list[str]) -> dict[str, str]:
    """Per benchmark, the baseline with the highest mean SRCC over seeds."""
    sub = long[long["method"].isin(baselines)]
    if sub.empty:
        raise DataIntegrityError(f"no metrics for any baseline {baselines}")
    mean = sub.groupby(["benchmark", "method"], sort=False)["srcc"].mean().reset_index()
    return {b: g.loc[g["srcc"].idxmax(), "method"] for b, g in mean.groupby("benchmark", sort=False)}


def ablation_table(long: pd.DataFrame, config: dict, benchmarks: list[str]) -> pd.DataFrame:
    """Each ablation (config order) with its spec, per-benchmark SRCC, averages and the delta vs mg_iqa."""
    ablations = list(config["ablations"])
    if REFERENCE_METHOD not in ablations:
        raise DataIntegrityError(
            f"the ablation table compares with {REFERENCE_METHOD!r}, not in config ablations"
        )
    sub = long[long["method"].isin(ablations)]
    avgs = method_averages(sub)
    rows = []
    for name in ablations:
        spec = config["ablations"][name]
        row = {"method": name, **{k: spec[k] for k in SPEC_COLUMNS}}
        if isinstance(row["train"], list):
            row["train"] = "+".join(row["train"])
        for bench in benchmarks:
            row[f"{bench}_srcc"] = sub.loc[
                (sub["method"] == name) & (sub["benchmark"] == bench), "srcc"
            ].mean()
        row |= avgs.loc[name].to_dict()
        rows.append(row)
    table = pd.DataFrame(rows)
    table["n_seeds"] = table["n_seeds"].astype(int)
    if (table["n_seeds"] == 1).all():
        table = table.drop(columns=["avg_srcc_std", "avg_plcc_std"])
    ref = table.set_index("method").loc[REFERENCE_METHOD]
    for metric in ("srcc", "plcc"):
        table[f"delta_avg_{metric}"] = table[f"avg_{metric}"] - ref[f"avg_{metric}"]
    return table


def attribute_table(attrs: pd.DataFrame) -> pd.DataFrame:
    """Attribute SRCC per method, benchmark and attribute: mean and std over seeds."""
    if attrs.empty:
        return pd.DataFrame(columns=["method", "benchmark", "attribute", "srcc", "srcc_std", "n_seeds", "n"])
    stats = _seed_stats(attrs, "srcc", ["method", "benchmark", "attribute"])
    stats["n"] = attrs.groupby(["method", "benchmark", "attribute"], sort=False)["n"].max()
    return stats.reset_index()


def attribute_wide(table: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Attribute table pivoted: one row per method, one column per `benchmark: attribute`."""
    columns = [f"{names.get(b, b)}: {a}" for b, a in zip(table["benchmark"], table["attribute"], strict=True)]
    wide = table.assign(column=columns).pivot(index="method", columns="column", values="srcc")
    return wide.reindex(index=list(dict.fromkeys(table["method"])), columns=list(dict.fromkeys(columns)))


def significance_table(
    config: dict, predictions_root: str | Path, long: pd.DataFrame, methods: list[str], baselines: list[str]
) -> pd.DataFrame:
    """Paired bootstrap test of each method against the best baseline of each benchmark (SRCC difference).

    A method is tested against the best baseline evaluated on the same split of that benchmark (methods
    with an evaluation-split override, e.g. every KonIQ image, have their own best baseline, or none).
    With several seeds the test runs per seed (a baseline's own seed when it has it, else its first) and the
    largest p-value is kept (conservative). The two prediction tables must cover the same images.
    """
    from mgiqa.config import derive_seed
    from mgiqa.evaluation.external import split_of
    from mgiqa.evaluation.metrics import paired_bootstrap_test
    from mgiqa.evaluation.predictions import paired_scores

    n_boot = int(config["evaluation"]["bootstrap"])
    if n_boot < 1:
        raise DataIntegrityError("evaluation.bootstrap is 0: significance tests need bootstrap resamples")
    confidence = float(config["evaluation"]["confidence"])
    root = Path(predictions_root)
    rows = []
    for bench in config["datasets"]["benchmarks"]:
        split = {m: split_of(config, m, bench) for m in [*methods, *baselines]}
        best_by_split = {}
        for s in set(split.values()):
            same = [b for b in baselines if split[b] == s]
            if same and long["method"].isin(same).any():
                best_by_split[s] = best_baselines(long[long["benchmark"] == bench], same)[bench]
        for method in methods:
            best = best_by_split.get(split[method])
            if best is None or method == best:
                continue
            best_seeds = pipeline.method_seeds(config, best)
            tests = []
            for seed in pipeline.method_seeds(config, method):
                best_seed = seed if seed in best_seeds else best_seeds[0]
                a, b = paired_scores(
                    root / method / f"seed{seed}" / f"{bench}.csv",
                    root / best / f"seed{best_seed}" / f"{bench}.csv",
                )
                test_seed = derive_seed(config, "significance", bench, method, seed)
                tests.append(
                    paired_bootstrap_test(a["mos"], a["_score"], b["_score"], n_boot, test_seed, confidence)
                )
            worst = max(tests, key=lambda t: t["p_value"])
            diff = float(np.mean([t["srcc_diff"] for t in tests]))
            rows.append(
                {"benchmark": bench, "method": method, "baseline": best, "srcc_diff": diff,
                 "p_value": worst["p_value"], "n_seeds": len(tests), "n_resamples": n_boot}
            )  # fmt: skip
    return pd.DataFrame(rows)


def main_methods(config: dict) -> list[str]:
    """The main table's methods: evaluation.main_methods, the external methods, the classical baselines."""
    listed = config["evaluation"]["main_methods"]
    return list(
        dict.fromkeys([*listed, *pipeline.external_methods(config), *pipeline.classical_methods(config)])
    )


def build_tables(config: dict, metrics_root: str | Path, predictions_root: str | Path | None) -> dict:
    """All result tables: main, ablations, attributes and (given `predictions_root`) significance.

    Baselines are the main-table methods other than `REFERENCE_METHOD`; the literature rows are appended
    when evaluation.reported_rows is true.
    """
    from mgiqa.evaluation.reported import reported_rows

    benchmarks = list(config["datasets"]["benchmarks"])
    main_list = main_methods(config)
    long, attrs = load_metrics(config, metrics_root, list(dict.fromkeys([*main_list, *config["ablations"]])))
    main_long = long[long["method"].isin(main_list)]
    significance = None
    if predictions_root is not None:
        baselines = [m for m in main_list if m != REFERENCE_METHOD]
        significance = significance_table(config, predictions_root, main_long, main_list, baselines)
    from mgiqa.evaluation.protocol import with_protocols

    main = with_protocols(main_table(main_long, benchmarks, significance), config)
    if config["evaluation"]["reported_rows"]:
        main = with_reported(main, reported_rows(benchmarks))
    ablations = ablation_table(long, config, benchmarks)
    if predictions_root is not None:
        from mgiqa.evaluation.average_test import with_average_tests

        ablations = with_average_tests(ablations, config, predictions_root)
    return {
        "main": main,
        "ablations": ablations,
        "attributes": attribute_table(attrs),
        "significance": significance,
    }
