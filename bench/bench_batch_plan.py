"""Benchmark: building the GRPO batch plan for 10k and 100k images (one pass, B = 8), per scope.

The synthetic table has the shape of a real training mix: a few whole-dataset groups plus a restoration
dataset of 11-image reference groups. Writes results/bench/batch_plan.csv and a line in results/bench/summary.md.

    python bench/bench_batch_plan.py
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from common import environment, time_call, write_results

from mgiqa.data.batches import build_batch_plan

IMAGES_PER_BATCH = 8


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_rest = n // 10 // 11 * 11  # a restoration set: groups of 11 (SRIQA-Bench-like)
    sizes = {"kadid": n // 2, "koniq": n // 5, "agiqa": n - n // 2 - n // 5 - n_rest}
    domains = {"kadid": "synthetic", "koniq": "authentic", "agiqa": "ai-generated", "sriqa": "restoration"}
    dataset = np.concatenate([np.repeat(list(sizes), list(sizes.values())), np.repeat("sriqa", n_rest)])
    group = dataset.astype(object)
    group[-n_rest:] = [f"ref{i // 11}" for i in range(n_rest)]
    return pd.DataFrame(
        {
            "image": [f"img{i}.png" for i in range(n)],
            "dataset": dataset,
            "domain": [domains[d] for d in dataset],
            "group": group,
            "mos": rng.uniform(1, 5, n),
        }
    )


def main() -> int:
    rows = []
    for n in (10_000, 100_000):
        table = make_table(n)
        for scope in ("group", "dataset", "domain", "mixed"):
            run = functools.partial(build_batch_plan, table, IMAGES_PER_BATCH, scope=scope, seed=0)
            seconds, calls, plan = time_call(run, min_time=0.5, max_repeats=10)
            report = plan.attrs["report"]
            rows.append(
                {"n_images": n, "scope": scope, "seconds": seconds, "calls": calls}
                | {
                    k: report[k]
                    for k in ("n_batches", "batches_below_spread", "images_without_group_partner")
                }
                | environment()
            )
            print(f"{n:7d} images, scope {scope:8s}: {seconds * 1e3:8.1f} ms, {report['n_batches']} batches")
    t = {(r["n_images"], r["scope"]): r["seconds"] for r in rows}
    summary = (
        f"batch plan (B={IMAGES_PER_BATCH}, one pass, scope group): 10k images {t[(10_000, 'group')] * 1e3:.0f} ms, "
        f"100k images {t[(100_000, 'group')] * 1e3:.0f} ms (slowest scope at 100k: "
        f"{max(v for (n, _), v in t.items() if n == 100_000) * 1e3:.0f} ms)"
    )
    write_results("batch_plan", rows, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
