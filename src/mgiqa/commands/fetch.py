"""`mgiqa fetch DATASET`: download (or generate, for the demo) one dataset into data/raw/DATASET."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="registry key of the dataset")
    p.add_argument("--config", default=None, help="config file (default config/config.yaml)")
    p.add_argument("--raw-root", default=None, help="folder of extracted datasets (default DATA/raw)")
    p.add_argument(
        "--downloads-dir", default=None, help="where downloaded archives are kept (default DATA/downloads)"
    )
    p.add_argument(
        "--mirror",
        default=None,
        help="offline mirror of archives (default env MGIQA_MIRROR, then paths.mirror)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (sources, URLs, sha256, destination); no network",
    )


def run(args: argparse.Namespace) -> int:
    from mgiqa.config import load_config
    from mgiqa.data.download import resolve_mirror
    from mgiqa.data.fetch import fetch_dataset, plan_fetch
    from mgiqa.errors import ConfigError
    from mgiqa.pipeline import registry

    config = load_config(args.config)
    datasets = registry(config)
    if args.dataset not in datasets:
        raise ConfigError(f"dataset {args.dataset!r} is not in the registry; known: {sorted(datasets)}")
    entry = datasets[args.dataset]
    data = Path(config["paths"]["data"])
    raw_root = Path(args.raw_root) if args.raw_root else data / "raw"
    downloads_dir = Path(args.downloads_dir) if args.downloads_dir else data / "downloads"
    mirror = Path(args.mirror) if args.mirror else resolve_mirror(config["paths"]["mirror"])
    if args.dry_run:
        print(
            format_plan(plan_fetch(args.dataset, entry, raw_root, mirror=mirror, downloads_dir=downloads_dir))
        )
        return 0

    def generate(key: str, entry: dict, out_dir: Path) -> None:
        from mgiqa.data.demo import generate_dataset

        generate_dataset(key, entry, out_dir, config)

    dest = fetch_dataset(
        args.dataset,
        entry,
        raw_root,
        mirror=mirror,
        downloads_dir=downloads_dir,
        generate=generate,
        extraction=config["datasets"]["extraction"],
    )
    print(f"{args.dataset}: ready in {dest}")
    return 0


def format_plan(plan: dict) -> str:
    """Human-readable fetch plan: the folder's state, then each source in the order it would be tried."""
    lines = [f"{plan['key']}: destination {plan['destination']} ({plan['state']})"]
    if plan["state"] == "complete":
        lines.append("  nothing to do: the folder is complete")
    for title, rows in (("source", plan["sources"]), ("label source", plan["label_sources"])):
        for index, row in enumerate(rows, start=1):
            lines.append(f"  {title} {index}: {row['kind']}")
            for field in (
                "url",
                "file",
                "sha256",
                "archive",
                "mirror",
                "download_to",
                "recipe",
                "instructions",
            ):
                if row.get(field) is not None:
                    lines.append(f"    {field}: {' '.join(str(row[field]).split())}")
            if "file" in row and row.get("sha256") is None:
                lines.append("    sha256: none in the registry (the digest of the download is recorded)")
            if "file" in row and row.get("mirror") is None:
                lines.append("    mirror: no copy in the offline mirror")
    return "\n".join(lines)
