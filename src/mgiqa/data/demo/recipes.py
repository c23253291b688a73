"""The demo recipes named by registry_demo.yaml: which scenes, which defects, which label layout.

Development-pool recipes feed pretraining and training sets, evaluation-pool recipes the benchmarks; the
pools share no base image (`demo.scenes`). Every recipe writes the layout of the real dataset it stands for,
read by that dataset's parser family (`LAYOUT_FAMILY`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from mgiqa.data.demo.authentic import authentic_plan
from mgiqa.data.demo.generated import agiqa_plan
from mgiqa.data.demo.groups import contrast_restoration_plan, deblur_plan, super_resolution_plan
from mgiqa.data.demo.samples import Context, Sample
from mgiqa.data.demo.synthetic import FAMILY_TYPES, kadid_plan

# the label writer (demo.layouts) -> the parser family (registry `labels.parser`) that reads it
LAYOUT_FAMILY = {
    "kadid_pyiqa": "kadid10k",
    "koniq_official": "koniq10k",
    "spaq_pyiqa": "spaq",
    "clive_pyiqa": "clive",
    "vqr1_bid": "bid",
    "vqr1_ref_dis_mos": ("liu13", "shrq"),
    "sriqa": "sriqa",
    "agiqa3k_official": "agiqa3k",
}
POOL_ROLES = {"development": ("pretrain", "train"), "evaluation": ("benchmark",)}


@dataclass(frozen=True)
class Recipe:
    pool: str
    plan: Callable[[Context], Iterator[Sample]]
    layout: str
    description: str


def numbered(template: str) -> Callable[[Context], list[str]]:
    return lambda ctx: [template.format(i + 1) for i in range(ctx.count)]


def koniq_names(ctx: Context) -> list[str]:
    """KonIQ-10k's images are named by 10-digit Flickr-like ids."""
    ids = ctx.rng("names").choice(9 * 10**9, ctx.count, replace=False) + 10**9
    return [f"{i}.jpg" for i in ids]


RECIPES: dict[str, Recipe] = {
    "pretrain_kadid": Recipe(
        "development", partial(kadid_plan, per_reference=25, types=FAMILY_TYPES), "kadid_pyiqa",
        "single distortions of the four defect families' KADID types, each at about 2-3 levels per reference",
    ),
    "synthetic_kadid": Recipe(
        "development", partial(kadid_plan, per_reference=50, types=FAMILY_TYPES), "kadid_pyiqa",
        "single distortions of the four defect families' KADID types, each at all five levels per reference",
    ),
    "authentic_spaq": Recipe(
        "development", partial(authentic_plan, profile="mixed", names=numbered("{:05d}.jpg")), "spaq_pyiqa",
        "mixed authentic-like camera defects, SPAQ layout with attribute scores",
    ),
    "generated_agiqa": Recipe(
        "development", agiqa_plan, "agiqa3k_official", "procedural AI-generated-like images with prompts",
    ),
    "bid": Recipe(
        "evaluation", partial(authentic_plan, profile="blur", names=numbered("DatabaseImage{:04d}.JPG")),
        "vqr1_bid", "blur-dominated photographs (BID-like)",
    ),
    "clive": Recipe(
        "evaluation", partial(authentic_plan, profile="lowlight", names=numbered("{}.bmp")), "clive_pyiqa",
        "mobile photographs, low light and noise (LIVE Challenge-like)",
    ),
    "koniq": Recipe(
        "evaluation", partial(authentic_plan, profile="web", names=koniq_names), "koniq_official",
        "web photographs, compression and mixed defects (KonIQ-10k-like)",
    ),
    "spaq": Recipe(
        "evaluation", partial(authentic_plan, profile="smartphone", names=numbered("{:05d}.jpg")), "spaq_pyiqa",
        "smartphone photographs: shake, noise, exposure (SPAQ-like)",
    ),
    "liu13": Recipe("evaluation", deblur_plan, "vqr1_ref_dis_mos", "deblurring outputs in groups of 6-8 (Liu13-like)"),
    "sriqa": Recipe("evaluation", super_resolution_plan, "sriqa", "x4 super-resolution outputs (blur, grain, JPEG), groups of 11"),
    "min19": Recipe("evaluation", contrast_restoration_plan, "vqr1_ref_dis_mos", "contrast-restoration outputs, groups of 8 (Min19 / SHRQ layout)"),
    "agiqa3k": Recipe("evaluation", agiqa_plan, "agiqa3k_official", "procedural AI-generated-like images (AGIQA-3K-like)"),
}  # fmt: skip


def families(layout: str) -> tuple[str, ...]:
    family = LAYOUT_FAMILY[layout]
    return family if isinstance(family, tuple) else (family,)
