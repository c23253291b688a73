"""Rewards for GRPO: RL2R fidelity, MG-IQA's multi-dimensional fidelity, format.

TRL sees them through `mgiqa.training.reward_adapter` (one reward function that parses each generation batch
once and logs every component).

Pure, vectorized numpy. Notation (method.md section 2): B images, K responses each, q_k(i) the score of
response k of image i, mu_i / var_i the mean / UNBIASED variance of image i's scores, gamma = 1e-6:

    p_k(i, j) = Phi((q_k(i) - mu_j) / sqrt(var_i + var_j + gamma))
    r_k(i)    = mean over partners j of  sqrt(p(i,j) p_k(i,j) + eps) + sqrt((1 - p(i,j)) (1 - p_k(i,j)) + eps)

with the ground truth p(i, j) from `mgiqa.data.pairs.preference_matrix` (hard 1/0.5/0 or Thurstone).
With the defaults (hard labels, no groups, every response parsed) this is exactly RL2R; the partners of i are
then all j != i and the mean is 1/(B-1) * sum.

Choices beyond RL2R (all explicit, all tested):

- Groups: partners are the other images of i's group (a restoration set's reference scene); the mean runs over
  them. An image without any partner gets reward 0 for all its responses (a constant, so its GRPO advantage
  is 0: no gradient) and is reported (`FidelityResult.partners`, a logged warning).
- Parse failures (NaN scores) get the reward of the worst possible answer: the response's predicted preference
  is the endpoint farthest from the truth, p_k = 1 where p(i,j) < 0.5 and 0 otherwise, which minimizes the
  (concave in p_k) fidelity term: sqrt(eps) + sqrt(min(p, 1-p) + eps) per pair, ~0.002 for hard labels.
  A failed response is left out of mu_i / var_i, which use image i's valid responses only; with fewer than 2
  valid responses var_i = 0. An image with no valid response has no mu_i, so it is nobody's partner (its own
  failed responses still get the worst-answer reward against its partners).
- Multi-dimensional (MG-IQA): the fidelity reward per attribute over the images whose label is known; an
  attribute drops out for an image whose label is masked or that has no partner with that label, and the
  weights renormalize over the attributes left (a weighted mean). Total = fidelity + format_weight * format.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from mgiqa.data.pairs import preference_matrix
from mgiqa.errors import ConfigError
from mgiqa.parsing import FIELDS

log = logging.getLogger(__name__)
RESERVED_KEYS = ("total", "fidelity", "format")


@dataclass(frozen=True)
class FidelityResult:
    reward: np.ndarray  # [B, K]
    partners: np.ndarray  # [B] number of partners each image was compared with (0: reward 0)
    valid_responses: np.ndarray  # [B] responses that parsed


def fidelity_details(
    scores, mos, std=None, groups=None, *, ground_truth: str = "hard", gamma: float = 1e-6, eps: float = 1e-6
) -> FidelityResult:
    """The fidelity reward of every response and what it was computed from (see the module docstring)."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [B, K], got shape {scores.shape}")
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    n_img, _ = scores.shape
    if np.shape(mos) != (n_img,):
        raise ValueError(f"mos has shape {np.shape(mos)} for {n_img} images")
    prefs, same_group = preference_matrix(mos, std, groups, kind=ground_truth)
    ok = np.isfinite(scores)
    n_ok = ok.sum(axis=1)
    mu = np.divide(np.where(ok, scores, 0.0).sum(axis=1), n_ok, out=np.full(n_img, np.nan), where=n_ok > 0)
    sq_dev = np.where(ok, scores - mu[:, None], 0.0) ** 2
    var = np.divide(sq_dev.sum(axis=1), n_ok - 1, out=np.zeros(n_img), where=n_ok > 1)
    partner = same_group & (n_ok > 0)[None, :]  # [i, j]
    scale = np.sqrt(var[:, None] + var[None, :] + gamma)  # [i, j]
    pred = ndtr((scores[:, :, None] - mu[None, None, :]) / scale[:, None, :])  # [i, k, j]
    worst = (prefs < 0.5).astype(float)[:, None, :]
    pred = np.where(ok[:, :, None], pred, worst)
    truth = prefs[:, None, :]
    term = np.sqrt(truth * pred + eps) + np.sqrt((1.0 - truth) * (1.0 - pred) + eps)
    partners = partner.sum(axis=1)
    total = np.where(partner[:, None, :], term, 0.0).sum(axis=2)
    reward = np.divide(total, partners[:, None], out=np.zeros_like(total), where=partners[:, None] > 0)
    if (partners == 0).any():
        log.warning(
            "fidelity reward: %d of %d images have no partner (reward 0)", int((partners == 0).sum()), n_img
        )
    return FidelityResult(reward, partners, n_ok)


def fidelity_reward(
    scores, mos, std=None, groups=None, *, ground_truth: str = "hard", gamma: float = 1e-6, eps: float = 1e-6
) -> np.ndarray:
    """RL2R fidelity reward [B, K] of scores [B, K] against mos [B]; exactly RL2R with the defaults."""
    return fidelity_details(scores, mos, std, groups, ground_truth=ground_truth, gamma=gamma, eps=eps).reward


def format_reward(format_ok) -> np.ndarray:
    """1.0 where the response has the prompt's format, else 0.0."""
    return np.asarray(format_ok, dtype=bool).astype(float)


def multi_attribute_reward(
    scores,
    labels,
    mask=None,
    weights=None,
    *,
    names: Sequence[str] | None = None,
    std=None,
    groups=None,
    format_ok=None,
    format_weight: float = 1.0,
    ground_truth: str = "hard",
    gamma: float = 1e-6,
    eps: float = 1e-6,
) -> dict[str, np.ndarray]:
    """MG-IQA's reward of scores [B, K, A] against labels [B, A].

    mask [B, A]: True where the label is KNOWN (default: the finite labels). weights: [A] or a mapping name ->
    weight (default 1 each). std: [B, A] per-label stds (NaN where unknown) for Thurstone ground truth.
    Returns [B, K] arrays: "total", "fidelity" (the weighted mean over the attributes that count), "format"
    (when format_ok [B, K] is given; total = fidelity + format_weight * format) and one per attribute name
    (NaN where the attribute dropped out).
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=float)
    if scores.ndim != 3 or labels.shape != (scores.shape[0], scores.shape[2]):
        raise ValueError(f"scores [B, K, A] and labels [B, A] do not match: {scores.shape} vs {labels.shape}")
    n_img, n_resp, n_attr = scores.shape
    names = tuple(names) if names is not None else (FIELDS if n_attr == len(FIELDS) else None)
    if names is None or len(names) != n_attr or set(names) & set(RESERVED_KEYS):
        raise ValueError(f"names must give {n_attr} attribute names other than {RESERVED_KEYS}, got {names}")
    known = np.isfinite(labels) if mask is None else np.asarray(mask, dtype=bool)
    if known.shape != labels.shape or not np.isfinite(labels[known]).all():
        raise ValueError("mask must be [B, A] and True only where the label is finite")
    w = _weights_array(weights, names)
    std = None if std is None else np.broadcast_to(np.asarray(std, dtype=float), labels.shape)
    group_labels = None if groups is None else np.asarray(groups, dtype=object)
    out: dict[str, np.ndarray] = {}
    counts = np.zeros((n_img, n_attr), dtype=bool)
    for a, name in enumerate(names):
        reward = np.full((n_img, n_resp), np.nan)
        rows = np.flatnonzero(known[:, a])
        if rows.size:
            res = fidelity_details(
                scores[rows, :, a],
                labels[rows, a],
                None if std is None else std[rows, a],
                None if group_labels is None else group_labels[rows],
                ground_truth=ground_truth,
                gamma=gamma,
                eps=eps,
            )
            has_partner = res.partners > 0
            reward[rows[has_partner]] = res.reward[has_partner]
            counts[rows[has_partner], a] = True
        out[name] = reward
    active_w = np.where(counts, w[None, :], 0.0)  # [B, A]
    w_sum = active_w.sum(axis=1)
    stacked = np.stack([np.nan_to_num(out[n], nan=0.0) for n in names], axis=2)  # [B, K, A]
    weighted = (stacked * active_w[:, None, :]).sum(axis=2)
    out["fidelity"] = np.divide(
        weighted, w_sum[:, None], out=np.zeros_like(weighted), where=w_sum[:, None] > 0
    )
    if (w_sum == 0).any():
        log.warning(
            "multi-attribute reward: %d images have no attribute that counts (fidelity 0)", (w_sum == 0).sum()
        )
    out["total"] = out["fidelity"].copy()
    if format_ok is not None:
        out["format"] = format_reward(format_ok)
        if out["format"].shape != (n_img, n_resp):
            raise ValueError(f"format_ok must be [B, K] = {(n_img, n_resp)}, got {out['format'].shape}")
        out["total"] = out["total"] + format_weight * out["format"]
    return out


def _weights_array(weights, names: Sequence[str]) -> np.ndarray:
    if weights is None:
        return np.ones(len(names))
    if isinstance(weights, Mapping):
        missing = [n for n in names if n not in weights]
        if missing:
            raise ConfigError(f"reward.weights: no weight for {missing}")
        weights = [weights[n] for n in names]
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(names),) or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weights must be {len(names)} finite non-negative numbers, got {weights}")
    return w
