"""Prediction tables: reading and checking them, the parse-failure rule, and `evaluate_predictions`.

A prediction table (`results/predictions/{method}/seed{seed}/{benchmark}.csv`) has the columns
`PREDICTION_COLUMNS`; attribute ground truth (`sharpness`, ...) comes from the prepared benchmark table
via `attach_labels`.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from mgiqa.errors import DataIntegrityError
from mgiqa.evaluation import metrics

ATTRIBUTES = ("sharpness", "color", "noise", "composition")
EVALUATION_SPLIT = "test"  # the rows of a prepared benchmark table that are evaluated (by default)
EVALUATION_SPLITS = ("test", "all")  # `all`: every row (an evaluation-split override, e.g. all of KonIQ)
PREDICTION_COLUMNS = (
    "image", "mos", "group", "pred_overall", *(f"pred_{a}" for a in ATTRIBUTES),
    "parse_ok", "failed_fields", "raw_text",
)  # fmt: skip
FAILURE_RULE = (
    f"unparseable scores are set to the scale midpoint {metrics.FAILED_SCORE} for correlations "
    "(a constant: it can only tie); a constant prediction has correlation 0"
)


def read_predictions(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a prediction table; raise DataIntegrityError naming the file and the problem."""
    from mgiqa.io import read_table

    df = read_table(path)
    missing = [c for c in PREDICTION_COLUMNS if c not in df.columns]
    if missing:
        raise DataIntegrityError(f"{path}: prediction table lacks columns {missing}")
    if df.empty:
        raise DataIntegrityError(f"{path}: prediction table has no rows")
    if df["image"].duplicated().any():
        raise DataIntegrityError(
            f"{path}: duplicated image {df.loc[df['image'].duplicated(), 'image'].iloc[0]!r}"
        )
    if df["mos"].isna().any():
        raise DataIntegrityError(f"{path}: line {int(df['mos'].isna().to_numpy().argmax()) + 2}: empty mos")
    df["failed_fields"] = ["" if pd.isna(v) else str(v) for v in df["failed_fields"]]
    df["parse_ok"] = df["parse_ok"].map(_as_bool(path))
    return df


def _as_bool(path):
    def convert(value):
        text = str(value).strip().lower()
        if text in ("true", "1", "1.0"):
            return True
        if text in ("false", "0", "0.0"):
            return False
        raise DataIntegrityError(f"{path}: parse_ok must be a boolean, got {value!r}")

    return convert


def evaluated_rows(
    table: pd.DataFrame, split: str = EVALUATION_SPLIT, source: str = "<table>"
) -> pd.DataFrame:
    """The rows of a prepared benchmark table that are evaluated: split == test (`test`, the default; every
    row of a table without a split column) or every row (`all`). None is an error naming the table."""
    if split not in EVALUATION_SPLITS:
        raise DataIntegrityError(f"{source}: unknown evaluation split {split!r}; known: {EVALUATION_SPLITS}")
    if split == "test" and "split" in table.columns:
        table = table[table["split"] == EVALUATION_SPLIT]
    if table.empty:
        raise DataIntegrityError(f"{source}: no rows to evaluate (evaluation split {split!r})")
    return table


def attach_labels(
    pred: pd.DataFrame, table: pd.DataFrame, source: str = "<table>", split: str = EVALUATION_SPLIT
) -> pd.DataFrame:
    """Join the attribute ground truth of the prepared benchmark `table` onto `pred` by image.

    The predictions must cover exactly the evaluated rows of the table (`evaluated_rows(table, split)`),
    with the same normalized MOS: anything else means predictions of another table version, missing
    predictions, or training images in the evaluation.
    """
    table = evaluated_rows(table, split, source)
    attrs = [a for a in ATTRIBUTES if a in table.columns]
    merged = pred.merge(table[["image", "mos", *attrs]], on="image", how="left", suffixes=("", "_table"))
    unknown = merged["mos_table"].isna()
    if unknown.any():
        raise DataIntegrityError(
            f"{source}: predicted image {merged.loc[unknown, 'image'].iloc[0]!r} is not among the table's "
            f"evaluated rows (evaluation split {split!r}); {int(unknown.sum())} such images"
        )
    missing = set(table["image"]) - set(pred["image"])
    if missing:
        raise DataIntegrityError(
            f"{source}: {len(missing)} evaluated images have no prediction, e.g. {min(missing)!r}"
        )
    off = ~np.isclose(merged["mos"], merged["mos_table"], atol=1e-6)
    if off.any():
        raise DataIntegrityError(
            f"{source}: image {merged.loc[off, 'image'].iloc[0]!r}: mos differs from the predictions"
        )
    return merged.drop(columns="mos_table")


def scored(pred: pd.DataFrame, field: str = "overall") -> tuple[np.ndarray, np.ndarray]:
    """(scores with the failure rule applied, failed mask) for `field` (overall or an attribute)."""
    values = pd.to_numeric(pred[f"pred_{field}"], errors="coerce").to_numpy(dtype=float)
    failed = ~np.isfinite(values)
    if field == "overall":
        failed |= ~pred["parse_ok"].to_numpy(dtype=bool)
    return np.where(failed, metrics.FAILED_SCORE, values), failed


def paired_scores(path_a: str | os.PathLike, path_b: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two methods' prediction tables of the same images, indexed by image (b in a's order), each with
    `_score`: the overall score with the failure rule applied. DataIntegrityError when the images differ."""
    a, b = (read_predictions(p) for p in (path_a, path_b))
    a, b = (df.assign(_score=scored(df)[0]).set_index("image") for df in (a, b))
    if set(a.index) != set(b.index):
        raise DataIntegrityError(f"{path_a} and {path_b} cover different images")
    return a, b.loc[a.index]


def _correlations(y, p, bootstrap: int, confidence: float, seed: int) -> dict:
    out = {"srcc": metrics.srcc(y, p), "plcc": metrics.plcc(y, p), "krcc": metrics.krcc(y, p)}
    try:
        out["plcc_logistic"], params = metrics.plcc_logistic(y, p)
        out["logistic_fit"] = {"ok": True, "params": params.tolist(), "reason": None}
    except metrics.LogisticFitError as exc:
        out["plcc_logistic"] = None
        out["logistic_fit"] = {"ok": False, "params": None, "reason": str(exc)}
    if bootstrap > 0:
        out["ci"] = {
            m: dict(
                zip(("low", "high"), metrics.bootstrap_ci(y, p, m, bootstrap, confidence, seed), strict=True)
            )
            for m in metrics.BOOTSTRAP_STATISTICS
        }
    return out


def _attribute_metrics(pred: pd.DataFrame) -> dict:
    """SRCC per attribute with a ground-truth label and a prediction; failures scored by the rule."""
    out = {"attribute_srcc": {}, "attribute_n": {}, "attribute_failure_rate": {}}
    for attr in ATTRIBUTES:
        if attr not in pred.columns:
            continue
        labelled = pred[attr].notna().to_numpy()
        predicted = pd.to_numeric(pred[f"pred_{attr}"], errors="coerce").notna()
        listed = pred["failed_fields"].str.split(";").map(lambda fields, a=attr: a in fields)
        if labelled.sum() < 2 or not (predicted | listed).any():
            continue  # no label here, or the method never predicts this attribute
        sub = pred[labelled]
        p, failed = scored(sub, attr)
        y = sub[attr].to_numpy(dtype=float)
        out["attribute_srcc"][attr] = metrics.srcc(y, p)
        out["attribute_n"][attr] = int(labelled.sum())
        out["attribute_failure_rate"][attr] = float(failed.mean())
    return out


def evaluate_predictions(pred_df: pd.DataFrame, *, bootstrap: int, confidence: float, seed: int) -> dict:
    """All metrics of one method on one benchmark, as a JSON-serialisable dict.

    `pred_df` is a prediction table (optionally with attribute ground-truth columns from `attach_labels`).
    Grouped benchmarks (more than one `group` value) also get within-group correlations (the mean of
    per-group SRCC / PLCC, with a bootstrap CI over groups) and the pairwise accuracy is within groups.
    """
    y = pred_df["mos"].to_numpy(dtype=float)
    p, failed = scored(pred_df, "overall")
    groups = pred_df["group"].astype(str).to_numpy()
    acc, n_pairs = metrics.pairwise_accuracy(y, p, groups)
    result = {
        "n": int(y.size),
        "n_failed": int(failed.sum()),
        "parse_failure_rate": float(failed.mean()),
        "failure_rule": FAILURE_RULE,
        "constant_prediction": bool(np.all(p == p[0])),
        "bootstrap": int(bootstrap),
        "confidence": float(confidence),
        "seed": int(seed),
        "pair_acc": acc,
        "n_pairs": n_pairs,
        "n_groups": int(len(np.unique(groups))),
        "grouped": bool(len(np.unique(groups)) > 1),
        **_correlations(y, p, bootstrap, confidence, seed),
        "within_group": None,
    }
    if result["grouped"]:
        wg = metrics.within_group(y, p, groups)
        result["within_group"] = {
            "srcc": float(wg["per_group_srcc"].mean()),
            "plcc": float(wg["per_group_plcc"].mean()),
            **{k: wg[k] for k in ("n_groups_used", "n_groups_excluded", "n_groups_constant_prediction")},
        }
        if bootstrap > 0:
            result["within_group"]["ci"] = {
                m: dict(
                    zip(
                        ("low", "high"),
                        metrics.mean_ci(wg[f"per_group_{m}"], bootstrap, confidence, seed),
                        strict=True,
                    )
                )
                for m in ("srcc", "plcc")
            }
    return result | _attribute_metrics(pred_df)
