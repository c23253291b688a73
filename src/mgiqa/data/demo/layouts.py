"""Label files of the demo sets, written byte for byte in the real datasets' published layouts.

A simulated rater panel (`demo.quality`) turns every image's true scores into the numbers the layout
publishes, on the layout's own scale:

| writer | real file | published numbers |
|---|---|---|
| kadid_pyiqa | pyiqa meta_info_KADID10kDataset.csv (CRLF) | dmos = mean of 30 votes (1-5, 2 decimals); `std` = their VARIANCE |
| koniq_official | koniq10k_distributions_sets.csv (LF) | c1..c5 vote fractions, c_total, MOS = 25 (mean - 1) on 0-100, SD of votes (1-5), set (all `test`: a demo benchmark is evaluated whole) |
| spaq_pyiqa | pyiqa meta_info_SPAQDataset.csv (CRLF) | MOS and Brightness, Colorfulness, Contrast, Noisiness, Sharpness on 0-100 (slider means), scene fractions, EXIF (second `Brightness`) |
| clive_pyiqa | pyiqa meta_info_LIVEChallengeDataset.csv (CRLF) | mos = 25 (mean - 1) on 0-100 (slider), std in the same units |
| vqr1_bid | VQ-R1 BID_test_all.txt (LF) | `img mos`: 0-5 slider means min-max rescaled to [0, 100] over the set |
| vqr1_ref_dis_mos | VQ-R1 Deblur / dehaze_test_all.txt (LF) | `ref dis mos`: 1-5 rating means min-max rescaled to [1, 5] over the set |
| sriqa | SRIQA-Bench (LF) | `ref dis mos`: 1-5 rating means min-max rescaled to [0, 100] within each group |
| agiqa3k_official | AGIQA-3K data.csv (CRLF, quoted prompts) | mos/std_quality and mos/std_align = 4.5 (mean - 1) / 4, SD x 4.5 / 4 |
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mgiqa.data.demo import quality
from mgiqa.data.demo.samples import Context
from mgiqa.io import atomic_path


@dataclass
class Record:
    """A labelled image: its name (relative to the image folder), true scores, defects and recipe facts."""

    index: int
    name: str
    scores: dict[str, float]
    defects: list[tuple[str, float]]
    meta: dict


Writer = Callable[[Path, list[Record], Context], None]
AGIQA_SCALE = 4.5  # AGIQA-3K's quality MOS runs from 0 to about 4.5


def _write(path: Path, lines: list[str], newline: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes((newline.join(lines) + newline).encode("utf-8"))


def _csv_line(fields: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def _minmax(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Rescale to [low, high] (all-equal values go to the middle: nothing to rank)."""
    span = float(np.ptp(values))
    if span == 0:
        return np.full(len(values), (low + high) / 2)
    return low + (high - low) * (values - values.min()) / span


def _votes(ctx: Context, record: Record, n: int, what: str = "overall") -> np.ndarray:
    return quality.panel_votes(record.scores[what], n, ctx.rng("votes", what, record.index))


def _ratings(ctx: Context, record: Record, n: int, what: str = "overall") -> np.ndarray:
    return quality.panel_ratings(record.scores[what], n, ctx.rng("ratings", what, record.index))


def kadid_pyiqa(path: Path, records: list[Record], ctx: Context) -> None:
    lines = ["ref_name,dist_name,dmos,std"]
    for r in records:
        votes = _votes(ctx, r, 30)
        lines.append(f"{r.meta['reference']},{r.name},{votes.mean():.2f},{votes.var(ddof=1):.3f}")
    _write(path, lines, "\r\n")


def _g12(value: float) -> str:
    """KonIQ's number format: 12 significant digits, always with a decimal point."""
    text = f"{value:.12g}"
    return text if ("." in text or "e" in text) else text + ".0"


def koniq_official(path: Path, records: list[Record], ctx: Context) -> None:
    rows = []
    for r in records:
        votes = _votes(ctx, r, int(ctx.rng("raters", r.index).integers(80, 121)))
        hist = ",".join(_g12(c) for c in quality.vote_histogram(votes))
        mos = 25.0 * (votes.mean() - 1.0)
        rows.append(f"{r.name},{hist},{len(votes)},{mos:.10f},{_g12(votes.std(ddof=1))},test")
    _write(path, ["image_name,c1,c2,c3,c4,c5,c_total,MOS,SD,set", *sorted(rows)], "\n")


SPAQ_HEADER = (
    "Image name,MOS,Brightness,Colorfulness,Contrast,Noisiness,Sharpness,Animal,Cityscape,Human,"
    "Indoor scene,Landscape,Night scene,Plant,Still-life,Others,Focal length,F-number,Exposure time,ISO,"
    "Brightness,Flash,Time0,Time1"
)
SPAQ_CATEGORIES = (
    "Animal",
    "Cityscape",
    "Human",
    "Indoor scene",
    "Landscape",
    "Night scene",
    "Plant",
    "Still-life",
    "Others",
)
SCENE_CATEGORY = {
    "astronaut": "Human", "camera": "Human", "chelsea": "Animal", "horse": "Animal", "coffee": "Still-life",
    "coins": "Still-life", "clock": "Indoor scene", "motorcycle_left": "Indoor scene", "rocket": "Cityscape",
    "moon": "Night scene", "hubble_deep_field": "Night scene", "grass": "Plant", "gravel": "Landscape",
    "procedural:landscape": "Landscape", "procedural:stilllife": "Still-life", "procedural:blocks": "Cityscape",
    "procedural:texture": "Plant",
}  # fmt: skip
ISO_STOPS = (50, 64, 80, 100, 125, 160, 200, 320, 400, 640, 800, 1250, 1600, 2500, 3200)


def _spaq_exif(r: Record, rng: np.random.Generator) -> list[str]:
    d = dict(r.defects)
    dark, noise, shake = d.get("darken", 0.0), d.get("white_noise", 0.0), d.get("motion_blur", 0.0)
    iso = ISO_STOPS[min(len(ISO_STOPS) - 1, int((0.6 * noise + 0.4 * dark) * len(ISO_STOPS)))]
    exposure = 1.0 / (2000.0 * 2.0 ** (-9.0 * max(dark, shake)))
    hour = 2 * np.pi * (rng.uniform(8, 18) if dark < 0.5 else rng.uniform(19, 29)) / 24
    flash = int(dark > 0.6 and rng.random() < 0.4)
    ev = 8.0 - 9.0 * dark + 3.0 * d.get("brighten", 0.0) + rng.normal(0, 0.8)
    focal, fnum = rng.uniform(3.5, 6.0), rng.choice((1.7, 1.8, 2.0, 2.2, 2.4))
    return [
        f"{focal:.2f}",
        f"{fnum}",
        f"{exposure:.6g}",
        str(iso),
        f"{ev:.2f}",
        str(flash),
        f"{np.cos(hour):.6f}",
        f"{np.sin(hour):.6f}",
    ]


def spaq_pyiqa(path: Path, records: list[Record], ctx: Context) -> None:
    lines = [SPAQ_HEADER]
    for r in records:
        extra = quality.spaq_extra_scores(r.defects)
        scores = {**r.scores, **extra}
        means = {}
        for column, what in (("MOS", "overall"), ("Brightness", "brightness"), ("Colorfulness", "color"),
                             ("Contrast", "contrast"), ("Noisiness", "noise"), ("Sharpness", "sharpness")):  # fmt: skip
            rated = quality.panel_ratings(scores[what], 15, ctx.rng("ratings", what, r.index))
            means[column] = f"{25.0 * (rated.mean() - 1.0):.2f}"
        category = SCENE_CATEGORY.get(r.meta.get("source", ""), "Others")
        night = dict(r.defects).get("darken", 0.0) >= 0.5 and category != "Night scene"
        cats = {category: 1.0} if not night else {category: 0.5, "Night scene": 0.5}
        fractions = [f"{cats.get(c, 0.0):.1f}" for c in SPAQ_CATEGORIES]
        exif = _spaq_exif(r, ctx.rng("exif", r.index))
        lines.append(",".join([r.name, *means.values(), *fractions, *exif]))
    _write(path, lines, "\r\n")


def clive_pyiqa(path: Path, records: list[Record], ctx: Context) -> None:
    lines = ["img_name,mos,std"]
    for r in records:
        rated = 25.0 * (_ratings(ctx, r, int(ctx.rng("raters", r.index).integers(150, 200))) - 1.0)
        lines.append(f"{r.name},{float(rated.mean())!r},{float(rated.std(ddof=1))!r}")
    _write(path, lines, "\r\n")


def vqr1_bid(path: Path, records: list[Record], ctx: Context) -> None:
    means = np.array([1.25 * (_ratings(ctx, r, 20).mean() - 1.0) for r in records])  # BID's 0-5 scale
    mos = _minmax(means, 0.0, 100.0)
    _write(path, [f"{r.name} {float(m)!r}" for r, m in zip(records, mos, strict=True)], "\n")


def vqr1_ref_dis_mos(path: Path, records: list[Record], ctx: Context) -> None:
    mos = _minmax(np.array([_ratings(ctx, r, 20).mean() for r in records]), 1.0, 5.0)
    _write(
        path,
        [f"{r.meta['reference']} {r.name} {float(m)!r}" for r, m in zip(records, mos, strict=True)],
        "\n",
    )


def sriqa(path: Path, records: list[Record], ctx: Context) -> None:
    means = np.array([_ratings(ctx, r, 20).mean() for r in records])
    refs = np.array([r.meta["reference"] for r in records])
    mos = np.empty(len(records))
    for ref in dict.fromkeys(refs):
        mos[refs == ref] = _minmax(means[refs == ref], 0.0, 100.0)
    _write(
        path,
        [f"{r.meta['reference']} {r.name} {float(m)!r}" for r, m in zip(records, mos, strict=True)],
        "\n",
    )


def agiqa3k_official(path: Path, records: list[Record], ctx: Context) -> None:
    lines = [
        _csv_line(
            [
                "name",
                "prompt",
                "adj1",
                "adj2",
                "style",
                "mos_quality",
                "std_quality",
                "mos_align",
                "std_align",
            ]
        )
    ]
    unit = AGIQA_SCALE / 4.0
    for r in records:
        q = _votes(ctx, r, 21)
        a = quality.panel_votes(5.0 - 4.0 * r.meta["misalignment"], 21, ctx.rng("votes", "align", r.index))
        prompt = r.meta["prompt"]
        adjectives = [*prompt.adjectives, "", ""][:2]
        numbers = [unit * (q.mean() - 1), unit * q.std(ddof=1), unit * (a.mean() - 1), unit * a.std(ddof=1)]
        lines.append(
            _csv_line([r.name, prompt.text, *adjectives, prompt.style, *(f"{v:.9f}" for v in numbers)])
        )
    _write(path, lines, "\r\n")


WRITERS: dict[str, Writer] = {
    "kadid_pyiqa": kadid_pyiqa,
    "koniq_official": koniq_official,
    "spaq_pyiqa": spaq_pyiqa,
    "clive_pyiqa": clive_pyiqa,
    "vqr1_bid": vqr1_bid,
    "vqr1_ref_dis_mos": vqr1_ref_dis_mos,
    "sriqa": sriqa,
    "agiqa3k_official": agiqa3k_official,
}


def write_labels(layout: str, path: str | os.PathLike, records: list[Record], ctx: Context) -> None:
    WRITERS[layout](Path(path), records, ctx)
