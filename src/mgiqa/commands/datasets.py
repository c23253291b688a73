"""`mgiqa datasets`: the registry's datasets (the packaged registry, plus `datasets.registry` when the config
names one) with each one's state on this machine: prepared, downloaded, placed by hand, or what is needed
first (a download, the demo generator, or a manual step, with the registry's instructions)."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

AUTOMATIC = ("huggingface", "url", "generated")  # source kinds `mgiqa fetch` obtains by itself


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--used", action="store_true", help="only the datasets the config uses")
    p.add_argument(
        "--mirror",
        default=None,
        help="offline mirror of archives (default env MGIQA_MIRROR, then paths.mirror)",
    )


def _uses(config: dict) -> dict[str, list[str]]:
    uses: dict[str, list[str]] = {}
    for use in ("pretrain", "train", "benchmarks"):
        for key in config["datasets"][use]:
            uses.setdefault(key, []).append(use.removesuffix("s"))
    return uses


def _manual_steps(plan: dict) -> list[str]:
    """The instructions of the manual sources a fetch would need: every image source is manual (or a
    manual source's file is missing from the mirror with no automatic alternative), or a label source is."""
    steps = []
    images = plan["sources"]
    if not any(r["kind"] in AUTOMATIC or r.get("mirror") for r in images):
        steps += [r["instructions"] for r in images if r["kind"] == "manual" and r.get("instructions")]
    for row in plan["label_sources"]:
        if row["kind"] == "manual" and not row.get("mirror") and row.get("instructions"):
            steps.append(f"labels: {row['instructions']}")
    return [" ".join(s.split()) for s in steps]


def dataset_state(key: str, entry: dict, config: dict, mirror: Path | None) -> dict:
    """One row: the dataset's state here and the step it needs (`step` is None when it needs none)."""
    from mgiqa import pipeline as P
    from mgiqa.data.fetch import plan_fetch

    raw_root = Path(config["paths"]["data"]) / "raw"
    plan = plan_fetch(
        key, entry, raw_root, mirror=mirror, downloads_dir=Path(config["paths"]["data"]) / "downloads"
    )
    steps = _manual_steps(plan)
    kinds = [r["kind"] for r in plan["sources"]]
    if Path(P.prepared(config, key)).is_file() and plan["state"] == "complete":
        state, step = "prepared", None
    elif plan["state"] == "complete":
        state, step = "downloaded", f"mgiqa labels / prepare (snakemake {P.prepared(config, key)})"
    elif plan["state"] == "present":
        state, step = "placed by hand", f"mgiqa fetch {key} checks and marks it"
    elif steps:
        state, step = "needs a manual step", " | ".join(steps)
    elif "generated" in kinds:
        state, step = "not generated", f"mgiqa fetch {key} (the demo generator)"
    elif any(r.get("mirror") for r in plan["sources"]):
        state, step = "in the mirror", f"mgiqa fetch {key} (no network)"
    else:
        state, step = "not downloaded", f"mgiqa fetch {key} (downloads it)"
    return {"dataset": key, "role": entry["role"], "domain": entry["domain"], "state": state, "step": step}


def table(rows: list[dict], uses: dict[str, list[str]], width: int = 100) -> str:
    header = ("dataset", "role", "domain", "in config", "state")
    cells = [
        (r["dataset"], r["role"], r["domain"], ",".join(uses.get(r["dataset"], [])) or "-", r["state"])
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for cell, row in zip(cells, rows, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())
        if row["step"]:
            lines += textwrap.wrap(row["step"], width, initial_indent="    -> ", subsequent_indent="       ")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import load_config
    from mgiqa.data.download import resolve_mirror
    from mgiqa.pipeline import registry

    config = load_config(args.config)
    reg = registry(config)
    uses = _uses(config)
    mirror = Path(args.mirror) if args.mirror else resolve_mirror(config["paths"]["mirror"])
    keys = [k for k in reg if k in uses] if args.used else list(reg)
    rows = [dataset_state(k, reg[k], config, mirror) for k in keys]
    print(table(rows, uses))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    print("\n" + ", ".join(f"{n} {state}" for state, n in counts.items()))
    return 0
