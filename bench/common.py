"""Shared benchmark helpers: timing, the environment, and atomic result files under results/bench/.

Each benchmark writes `results/bench/<name>.csv` (one row per measurement) and keeps one Markdown line per
benchmark in `results/bench/summary.md` (replaced on every run), both atomically.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mgiqa.io import write_table, write_text

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results" / "bench"


def environment() -> dict:
    """What the timings depend on."""
    import numpy as np

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def time_call(
    fn: Callable[[], object], *, min_time: float = 0.2, max_repeats: int = 50
) -> tuple[float, int, object]:
    """(best seconds per call, calls made, the last result): repeat until `min_time` has passed or
    `max_repeats` calls were made (a slow function runs once)."""
    best, calls, spent, result = float("inf"), 0, 0.0, None
    while calls < max_repeats and (calls == 0 or spent < min_time):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best, calls, spent = min(best, elapsed), calls + 1, spent + elapsed
    return best, calls, result


def write_results(name: str, rows: list[dict], summary: str, out_dir: Path = RESULTS) -> Path:
    """Write `<out_dir>/<name>.csv` and set this benchmark's line in `<out_dir>/summary.md`."""
    out_dir = Path(out_dir)
    path = out_dir / f"{name}.csv"
    write_table(path, pd.DataFrame(rows))
    summary_path = out_dir / "summary.md"
    marker = f"- **{name}**:"
    lines = summary_path.read_text(encoding="utf-8").splitlines() if summary_path.is_file() else []
    lines = [line for line in lines if not line.startswith(marker)] + [f"{marker} {summary}"]
    write_text(summary_path, "\n".join(sorted(lines)) + "\n")
    print(f"{marker} {summary}\n  -> {path}")
    return path
