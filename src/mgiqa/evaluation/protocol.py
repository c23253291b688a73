"""The protocol of every table row: what a number was measured under, so that rows are compared only when
their protocols agree.

A protocol is: the training sets, the evaluated split, the prompt, the image resolution, the readout and the
parse-failure policy (`COLUMNS`). Measured rows take theirs from the config; reported (literature) rows from
`reported.yaml`. A reported row is shown only beside a measured row whose protocol matches on `MATCHED`
(`twins`): the parse-failure policy is shown but not matched, since the published methods draw a random
score on a parse failure (VisualQuality-R1's parser), which this project never does (a failure is scored
3.0 and its rate reported per benchmark, so the measured row states how much that choice can move it).
"""

from __future__ import annotations

import logging

import pandas as pd

from mgiqa import pipeline

log = logging.getLogger(__name__)

COLUMNS = ("train", "eval_split", "prompt", "resolution", "readout", "parse_failures")
MATCHED = ("train", "eval_split", "prompt", "resolution", "readout")
UNKNOWN = "unknown"  # never matches anything
NONE = "none"
FAILURE_POLICY = "midpoint 3.0, rate reported"  # mgiqa.evaluation.predictions.FAILURE_RULE


def train_sets(config: dict, method: str) -> str:
    """The datasets a method's model was trained on ('+'-joined, sorted), `none` for the base model."""
    from mgiqa.evaluation import external

    if method == pipeline.ZERO_SHOT or method.startswith(pipeline.CLASSICAL_PREFIX):
        return NONE
    if method in pipeline.external_methods(config):
        spec = external.entry(config, method)
        if spec.get("method"):
            return train_sets(config, spec["method"])
        train = spec.get("train", UNKNOWN)
        return train if isinstance(train, str) else "+".join(sorted(train))
    reg = pipeline.registry(config)
    spec = config["ablations"][method]
    chosen = set(pipeline.ablation_train_datasets(config, reg, method)) if spec["grpo"] else set()
    if spec["sft"]:
        chosen |= set(pipeline.sft_train_datasets(config, reg, spec["prompt"]))
    return "+".join(sorted(chosen))


def eval_split(config: dict, method: str) -> str:
    """`test`, `all`, or the per-benchmark mix (`test; koniq10k: all`)."""
    from mgiqa.evaluation.external import split_of

    splits = {b: split_of(config, method, b) for b in config["datasets"]["benchmarks"]}
    if len(set(splits.values())) == 1:
        return next(iter(splits.values()))
    return "test; " + ", ".join(f"{b}: {s}" for b, s in splits.items() if s != "test")


def method_protocol(config: dict, method: str) -> dict:
    """The protocol columns of one measured method."""
    from mgiqa.evaluation.external import readout_of
    from mgiqa.model import image_resolution

    if method.startswith(pipeline.CLASSICAL_PREFIX):
        return {"train": NONE, "eval_split": eval_split(config, method), "prompt": NONE,
                "resolution": "native", "readout": "measure", "parse_failures": NONE}  # fmt: skip
    resolution = image_resolution(config)
    return {
        "train": train_sets(config, method),
        "eval_split": eval_split(config, method),
        "prompt": pipeline.method_prompt(config, method),
        "resolution": resolution.mode if resolution.mode == "native" else resolution.describe(),
        "readout": readout_of(config, method),
        "parse_failures": FAILURE_POLICY,
    }


def with_protocols(main: pd.DataFrame, config: dict) -> pd.DataFrame:
    """The measured main table with its protocol columns after `method` (pixel limits as `pixels`)."""
    from mgiqa.model import image_resolution

    rows = [method_protocol(config, m) for m in main["method"]]
    resolution = image_resolution(config)
    pixels = f"{resolution.min_pixels}-{resolution.max_pixels}" if resolution.mode == "native" else ""
    protocol = pd.DataFrame(rows, columns=list(COLUMNS), index=main.index)
    protocol["pixels"] = [pixels if r["prompt"] != NONE else "" for r in rows]
    at = list(main.columns).index("method") + 1
    return pd.concat([main.iloc[:, :at], protocol, main.iloc[:, at:]], axis=1)


def twins(measured: pd.DataFrame, reported: pd.DataFrame) -> dict[int, list[str]]:
    """Per reported row (its index), the measured methods with the same protocol on `MATCHED`."""
    out = {}
    for i, row in reported.iterrows():
        key = tuple(row[c] for c in MATCHED)
        if UNKNOWN in key:
            continue
        same = measured[(measured[list(MATCHED)] == pd.Series(key, index=list(MATCHED))).all(axis=1)]
        if len(same):
            out[i] = list(same["method"])
    return out


def place_reported(measured: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Measured rows, each followed by the reported rows it is the (last) twin of (`twin_of` names every
    twin); reported rows without a twin are left out, and logged."""
    matched = twins(measured, reported)
    for i in reported.index.difference(list(matched)):
        protocol = ", ".join(f"{c}={reported.at[i, c]}" for c in MATCHED)
        log.info(
            "reported row %r left out: no measured row with its protocol (%s)",
            reported.at[i, "method"],
            protocol,
        )
    position = {m: j for j, m in enumerate(measured["method"])}
    kept = reported.loc[list(matched)]
    kept = kept.assign(
        twin_of=[", ".join(matched[i]) for i in kept.index],
        _at=[position[matched[i][-1]] for i in kept.index],
        _order=range(1, len(kept) + 1),
    )
    combined = pd.concat([measured.assign(_at=range(len(measured)), _order=0), kept], ignore_index=True)
    combined = combined.sort_values(["_at", "_order"], kind="stable").drop(columns=["_at", "_order"])
    return combined.reset_index(drop=True)
