"""Benchmark: the vectorized multi-dimensional reward against two loop implementations of the same rules.

(a) a VisualQuality-R1-style loop: one chain of torch scalar ops per (attribute, image, response, partner),
    a fresh `torch.distributions.Normal(0, 1)` and its cdf each time, torch.mean / torch.var per image
    (float64 here, where VisualQuality-R1 uses float32, so that the three agree to 1e-9);
(b) a pure-Python loop with math.erf.
All three implement the same rules: masked labels drop out and the weights renormalize per image.
B in {8, 16, 64}, K in {4, 6, 8}, A = 5. Writes results/bench/reward.csv and a line in results/bench/summary.md.
The torch loop runs once per size (about a minute in all, mostly B = 64); --quick skips B = 64.

    python bench/bench_reward.py [--quick]
"""

from __future__ import annotations

import argparse
import functools
import math

import numpy as np
from common import environment, time_call, write_results

from mgiqa.rewards import multi_attribute_reward

NAMES = ("sharpness", "color", "noise", "composition", "overall")
WEIGHTS = np.array([0.5, 0.5, 0.5, 0.5, 1.0])
GAMMA = EPS = 1e-6


def make_case(b: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.uniform(1, 5, (b, k, len(NAMES))), 2)
    labels = np.round(rng.uniform(1, 5, (b, len(NAMES))), 2)
    mask = np.ones_like(labels, dtype=bool)
    mask[:, 3] = False  # composition: no label anywhere (as in the real training sets)
    mask[rng.random(b) < 0.25, 1] = False  # color: unknown for some images
    labels[~mask] = np.nan
    return scores, labels, mask


def vectorized(scores, labels, mask):
    return multi_attribute_reward(scores, labels, mask, WEIGHTS, names=NAMES, gamma=GAMMA, eps=EPS)[
        "fidelity"
    ]


def _combine(per_attr: list[list[list[float] | None]], b: int, k: int) -> list[list[float]]:
    out = []
    for i in range(b):
        row = []
        for r in range(k):
            num = sum(WEIGHTS[a] * per_attr[a][i][r] for a in range(len(NAMES)) if per_attr[a][i] is not None)
            den = sum(WEIGHTS[a] for a in range(len(NAMES)) if per_attr[a][i] is not None)
            row.append(num / den if den > 0 else 0.0)
        out.append(row)
    return out


def python_loop(scores, labels, mask):
    b, k, n_attr = scores.shape
    per_attr = []
    for a in range(n_attr):
        rows = [i for i in range(b) if mask[i, a]]
        q = {i: [float(scores[i, r, a]) for r in range(k)] for i in rows}
        mu = {i: sum(q[i]) / k for i in rows}
        var = {i: sum((x - mu[i]) ** 2 for x in q[i]) / (k - 1) for i in rows}
        result: list[list[float] | None] = [None] * b
        for i in rows:
            partners = [j for j in rows if j != i]
            if not partners:
                continue
            result[i] = []
            for x in q[i]:
                total = 0.0
                for j in partners:
                    li, lj = labels[i, a], labels[j, a]
                    p = 1.0 if li > lj else (0.5 if li == lj else 0.0)
                    pk = 0.5 * (
                        1.0 + math.erf((x - mu[j]) / math.sqrt(var[i] + var[j] + GAMMA) / math.sqrt(2.0))
                    )
                    total += math.sqrt(p * pk + EPS) + math.sqrt((1.0 - p) * (1.0 - pk) + EPS)
                result[i].append(total / len(partners))
        per_attr.append(result)
    return np.array(_combine(per_attr, b, k))


def torch_loop(scores, labels, mask):
    import torch

    def fidelity(pred1, pred2, var1, var2, gt):  # VisualQuality-R1's per-pair reward
        normal_dist = torch.distributions.Normal(0, 1)
        p = normal_dist.cdf((pred1 - pred2) / torch.sqrt(var1 + var2 + GAMMA))
        return torch.sqrt(p * gt + EPS) + torch.sqrt((1 - p) * (1 - gt) + EPS)

    b, k, n_attr = scores.shape
    per_attr = []
    for a in range(n_attr):
        rows = [i for i in range(b) if mask[i, a]]
        preds = {i: torch.tensor(scores[i, :, a], dtype=torch.float64) for i in rows}
        mean = {i: torch.mean(preds[i]) for i in rows}
        var = {i: torch.var(preds[i]) for i in rows}  # unbiased, as in RL2R
        result: list[list[float] | None] = [None] * b
        for i in rows:
            partners = [j for j in rows if j != i]
            if not partners:
                continue
            result[i] = []
            for r in range(k):
                reward_sum = torch.tensor(0.0, dtype=torch.float64)
                for j in partners:
                    li, lj = labels[i, a], labels[j, a]
                    gt = torch.tensor(1.0 if li > lj else (0.5 if li == lj else 0.0), dtype=torch.float64)
                    reward_sum = reward_sum + fidelity(preds[i][r], mean[j], var[i], var[j], gt)
                result[i].append(float(reward_sum / len(partners)))
        per_attr.append(result)
    return np.array(_combine(per_attr, b, k))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="B in {8, 16} only")
    args = parser.parse_args()
    sizes_b = (8, 16) if args.quick else (8, 16, 64)
    for fn in (vectorized, python_loop, torch_loop):  # warm-up: imports and first-call costs are not timed
        fn(*make_case(2, 2, seed=0))
    rows = []
    for b in sizes_b:
        for k in (4, 6, 8):
            case = make_case(b, k, seed=b * 10 + k)
            ref = vectorized(*case)
            for name, fn, max_repeats in (
                ("vectorized", vectorized, 200),
                ("python_loop", python_loop, 5),
                ("torch_loop_vq_r1", torch_loop, 1),  # ~0.2 ms per pair: B=64, K=8 takes ~30 s
            ):
                seconds, calls, got = time_call(functools.partial(fn, *case), max_repeats=max_repeats)
                diff = float(np.max(np.abs(got - ref)))
                if diff > 1e-9:
                    raise AssertionError(
                        f"{name} differs from the vectorized reward by {diff} (B={b}, K={k})"
                    )
                print(
                    f"B={b:2d} K={k} {name:17s} {seconds * 1e3:10.2f} ms  (max |diff| {diff:.1e})", flush=True
                )
                rows.append(
                    {
                        "B": b,
                        "K": k,
                        "A": len(NAMES),
                        "implementation": name,
                        "seconds": seconds,
                        "calls": calls,
                    }
                    | {"max_abs_diff": diff}
                    | environment()
                )
    for row in rows:
        base = next(
            r
            for r in rows
            if (r["B"], r["K"]) == (row["B"], row["K"]) and r["implementation"] == "vectorized"
        )
        row["slowdown_vs_vectorized"] = row["seconds"] / base["seconds"]
    big = {r["implementation"]: r for r in rows if (r["B"], r["K"]) == (sizes_b[-1], 8)}
    summary = (
        f"multi-dimensional reward, B={sizes_b[-1]} K=8 A=5: vectorized {big['vectorized']['seconds'] * 1e3:.2f} ms, "
        f"Python loop {big['python_loop']['seconds'] * 1e3:.0f} ms "
        f"({big['python_loop']['slowdown_vs_vectorized']:.0f}x), VisualQuality-R1-style torch loop "
        f"{big['torch_loop_vq_r1']['seconds']:.2f} s ({big['torch_loop_vq_r1']['slowdown_vs_vectorized']:.0f}x); "
        f"all {len(rows)} results agree to 1e-9"
    )
    write_results("reward", rows, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
