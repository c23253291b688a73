"""How well the demo-pretrained model sees: probes on its visual features and its generated answers.

Both are measured on held-out images (split != train): a ridge probe from the mean-pooled visual tokens to the
distortion level and to the MOS (the MOS is only ever used here, to measure; pretraining never sees it), and
greedy answers parsed back into distortion and level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mgiqa.model.pretrain_data import EncodedExamples, parse_target, pretrain_messages


def level_probe(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, alpha: float = 0.01
) -> np.ndarray:
    """Ridge regression (standardised features, closed form) fitted on train, predicting test."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = (train_x - mean) / std, (test_x - mean) / std
    y_mean = train_y.mean()
    w = np.linalg.solve(a.T @ a + alpha * len(a) * np.eye(a.shape[1]), a.T @ (train_y - y_mean))
    return b @ w + y_mean


def visual_features(model, data: EncodedExamples, chunk: int = 64) -> np.ndarray:
    """Mean-pooled visual tokens (the merger output the language model reads), one row per image."""
    import torch

    feats = []
    with torch.inference_mode():
        for start in range(0, len(data), chunk):
            index = torch.arange(start, min(start + chunk, len(data)))
            batch = data.pixels(index)
            pooled = model.get_image_features(batch["pixel_values"], batch["image_grid_thw"]).pooler_output
            feats.append(torch.stack([p.float().mean(0) for p in pooled]).numpy())
    return np.concatenate(feats)


def feature_probe(model, train_data, test_data, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Held-out SRCC of ridge probes from the visual features to distortion level (and to MOS, if known).

    The MOS probe only measures the features: pretraining itself never sees a quality score."""
    from scipy.stats import spearmanr

    train_x, test_x = visual_features(model, train_data), visual_features(model, test_data)
    result = {}
    for column in ("distortion_level", "mos"):
        if column not in train.columns:
            continue
        has_train, has_test = train[column].notna().to_numpy(), test[column].notna().to_numpy()
        y = train[column].to_numpy(dtype=float)[has_train]
        pred = level_probe(train_x[has_train], y, test_x[has_test])
        truth = test[column].to_numpy(dtype=float)[has_test]
        result[column] = float(spearmanr(pred, truth).statistic)
    return result


def generation_accuracy(model, processor, held_out: pd.DataFrame, image_size: int) -> dict:
    """Greedy answers on held-out images: distortion accuracy, level accuracy and level SRCC."""
    from scipy.stats import spearmanr

    from mgiqa.model import prepare_image
    from mgiqa.model.generate import generate_batch

    answers = []
    for start in range(0, len(held_out), 32):
        images = [prepare_image(p, image_size) for p in held_out["path"].iloc[start : start + 32]]
        out = generate_batch(model, processor, images, lambda _i: pretrain_messages(), max_new_tokens=16)
        answers += [parse_target(texts[0]) for texts in out]
    truth = [parse_target(t) for t in held_out["target"]]
    name_ok = [a[0] == t[0] for a, t in zip(answers, truth, strict=True)]
    leveled = [(a[1], t[1]) for a, t in zip(answers, truth, strict=True) if t[1] is not None]
    level_ok = [a == t for a, t in leveled]
    parsed = [(a, t) for a, t in leveled if a is not None]
    srcc = spearmanr(*zip(*parsed, strict=True)).statistic if len(parsed) > 2 else float("nan")
    return {
        "distortion_accuracy": float(np.mean(name_ok)),
        "level_accuracy": float(np.mean(level_ok)) if level_ok else float("nan"),
        "level_srcc": float(srcc),
        "parsed_fraction": float(np.mean([a[0] is not None for a in answers])),
        "distinct_answers": len(set(answers)),
    }


def rating_accuracy(
    model, processor, held_out: pd.DataFrame, image_size: int, task: str, n: int = 96
) -> dict:
    """Greedy answers to a rating prompt on `n` held-out images (evenly spaced): how often every field parses,
    and the SRCC of the overall score against the severity label it was taught and against the MOS (the MOS
    only measures here: pretraining never sees it)."""
    from scipy.stats import spearmanr

    from mgiqa.model import prepare_image
    from mgiqa.model.generate import generate_batch
    from mgiqa.model.pretrain_data import severity_labels
    from mgiqa.parsing import parse_response
    from mgiqa.prompts import prompt_fields

    rows = held_out.iloc[np.linspace(0, len(held_out) - 1, min(n, len(held_out))).round().astype(int)]
    fields = prompt_fields(task)
    parsed = []
    for start in range(0, len(rows), 32):
        images = [prepare_image(p, image_size) for p in rows["path"].iloc[start : start + 32]]
        out = generate_batch(model, processor, images, lambda _i: pretrain_messages(task), max_new_tokens=96)
        parsed += [parse_response(texts[0], fields) for texts in out]
    ok = np.array([p.ok for p in parsed])
    overall = np.array([p.values["overall"] if p.ok else np.nan for p in parsed])
    severity = np.array([severity_labels(r)["overall"] for _, r in rows.iterrows()])
    result = {f"{task}_parsed_fraction": float(ok.mean())}
    enough = ok.sum() > 2 and np.ptp(overall[ok]) > 0
    for name, truth in (("severity", severity), ("mos", rows["mos"].to_numpy(dtype=float))):
        result[f"{task}_{name}_srcc"] = (
            float(spearmanr(overall[ok], truth[ok]).statistic) if enough else float("nan")
        )
    return result
