"""The published label-file layouts, grouped by parser family (the registry's `labels.parser`).

A layout says how to read one published file: its format (whitespace table without header, or CSV with a
header), which field holds which role (image, reference, mos, std, split), the scale of its MOS and the kind
and units of its std. `mos`/`std` = DATASET means "the score as the dataset publishes it": the registry entry's
`mos`/`std` apply. Layouts whose numbers were transformed by a third party (VisualQuality-R1's min-max rescaled
tables) record that transformation here, not in the dataset entry.

Facts about the files come from shared/mos_tables/README.md (checked row by row against the originals there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

DATASET = "dataset"  # sentinel: take the registry entry's `mos` / `std`
ROLES = ("image", "reference", "mos", "std", "split")


@dataclass(frozen=True)
class Scale:
    """A MOS scale: [min, max], direction, and whether [min, max] is nominal (else observed min-max is used)."""

    min: float
    max: float
    higher_is_better: bool = True
    nominal: bool = True

    @classmethod
    def from_entry(cls, mos: Mapping) -> Scale:
        return cls(float(mos["min"]), float(mos["max"]), bool(mos["higher_is_better"]), bool(mos["nominal"]))


@dataclass(frozen=True)
class StdSpec:
    """kind: std | variance | none. scale: the interval, in the std's units, that corresponds to the MOS
    scale's [min, max]; None = the std is in the units of the MOS column itself."""

    kind: str
    scale: tuple[float, float] | None = None

    @classmethod
    def from_entry(cls, std: Mapping) -> StdSpec:
        scale = std.get("scale")
        return cls(std["kind"], tuple(float(v) for v in scale) if scale is not None else None)


@dataclass(frozen=True)
class Layout:
    name: str
    families: tuple[str, ...]
    description: str
    format: str  # "whitespace" (no header) | "csv" (header row)
    fields: tuple[str, ...] = ()  # whitespace: the role of each field, in order
    columns: Mapping[str, str] = field(default_factory=dict)  # csv: role -> header name (first occurrence)
    optional: Mapping[str, str] = field(default_factory=dict)  # csv: roles used when their column exists
    split_values: Mapping[str, str] = field(default_factory=dict)  # raw split label -> train/val/test
    mos: Scale | str = DATASET
    std: StdSpec | str | None = DATASET  # None: the layout carries no std
    attribute_columns: bool = False  # the registry's attribute columns must be in this file
    accepts: Callable[[np.ndarray], bool] | None = None  # value check between structurally equal layouts

    def roles(self, header: list[str] | None = None) -> dict[str, str | int]:
        """role -> field index (whitespace) or header name (csv, optional roles only when present)."""
        if self.format == "whitespace":
            return {role: i for i, role in enumerate(self.fields)}
        present = set(header or ())
        return {**self.columns, **{r: c for r, c in self.optional.items() if c in present}}


def _on_cent_grid(mos: np.ndarray) -> bool:
    """KADID's raw MOS are means of 30 votes published with two decimals; a min-max rescaled copy is not."""
    return bool(np.allclose(mos * 100, np.round(mos * 100), atol=1e-6))


# VisualQuality-R1 (TianheWu/VisualQuality-R1 @ a16dcdb, datasets/): whitespace tables, no header.
# Where VQ-R1 min-max rescaled the MOS, the std was left in its original units: its `scale` is then the
# original observed MOS range that the rescaling mapped onto the file's [min, max].
_VQR1 = [
    Layout(
        "vqr1_koniq",
        ("koniq10k",),
        "VQ-R1 `img mos std`: MOS_zscore (3.91..88.39) min-max to [1,5]; SD on 1-5",
        "whitespace",
        fields=("image", "mos", "std"),
        mos=Scale(1, 5),
        # SD is on KonIQ's 1..5 vote scale; the z-score MOS range 3.9118..88.3889 corresponds to 1-5 MOS
        # 1.191..4.228 (linear fit zMOS = 27.817 * MOS - 29.229 on the official table, r = 0.995)
        std=StdSpec("std", (1.191, 4.228)),
    ),
    Layout(
        "vqr1_spaq",
        ("spaq",),
        "VQ-R1 `img mos std`: SPAQ MOS (2..96) min-max to [1,5]; std in 0-100 units",
        "whitespace",
        fields=("image", "mos", "std"),
        mos=Scale(1, 5),
        std=StdSpec("std", (2.0, 96.0)),
    ),
    Layout(
        "vqr1_clive",
        ("clive",),
        "VQ-R1 `img mos std`: CLIVE MOS (3.42..92.43) min-max to [0,100]; std raw",
        "whitespace",
        fields=("image", "mos", "std"),
        mos=Scale(0, 100),
        std=StdSpec("std", (3.42, 92.432)),
    ),
    Layout(
        "vqr1_agiqa3k",
        ("agiqa3k",),
        "VQ-R1 `img mos std`: mos_quality (0..4.489) min-max to [0,100]; std_quality in original units",
        "whitespace",
        fields=("image", "mos", "std"),
        mos=Scale(0, 100),
        std=StdSpec("std", (0.0, 4.48874)),
    ),
    Layout(
        "vqr1_bid",
        ("bid",),
        "VQ-R1 `img mos`: BID MOS (0-5) min-max to [0,100]; no std",
        "whitespace",
        fields=("image", "mos"),
        mos=Scale(0, 100),
        std=None,
    ),
    Layout(
        "vqr1_ref_dis_mos_1to5",
        ("liu13", "shrq"),
        "VQ-R1 `ref dis mos`: MOS min-max to [1,5]; no std",
        "whitespace",
        fields=("reference", "image", "mos"),
        mos=Scale(1, 5),
        std=None,
    ),
    Layout(
        "vqr1_sriqa",
        ("sriqa",),
        "SRIQA-Bench `ref dis mos`: 0-100, rescaled within each reference group",
        "whitespace",
        fields=("reference", "image", "mos"),
        mos=Scale(0, 100),
        std=None,
    ),
    Layout(
        "vqr1_kadid",
        ("kadid10k",),
        "VQ-R1 `ref dis mos std`: raw KADID MOS (two decimals); std = sqrt(var)",
        "whitespace",
        fields=("reference", "image", "mos", "std"),
        mos=DATASET,
        std=StdSpec("std"),
        accepts=_on_cent_grid,
    ),
    Layout(
        "vqr1_kadid_normalized",
        ("kadid10k",),
        "VQ-R1 `ref dis mos std`: KADID MOS (1.00..4.93) min-max to [1,5]; std = sqrt(var) in raw units",
        "whitespace",
        fields=("reference", "image", "mos", "std"),
        mos=Scale(1, 5),
        std=StdSpec("std", (1.0, 4.93)),
        accepts=lambda mos: not _on_cent_grid(mos),
    ),
]

_PYIQA_KONIQ_SPLIT = {"0": "train", "1": "val", "2": "test"}
_WORD_SPLIT = {"train": "train", "training": "train", "val": "val", "validation": "val", "test": "test"}

# pyiqa meta_info CSVs (chaofengc/IQA-PyTorch @ 7c4ac4a, 2022) and the official releases.
_CSV = [
    Layout(
        "pyiqa_koniq",
        ("koniq10k",),
        "pyiqa 2022 `img_name,mos,std,split,...`: split 0/1/2 = train/val/test",
        "csv",
        columns={"image": "img_name", "mos": "mos", "std": "std", "split": "split"},
        split_values=_PYIQA_KONIQ_SPLIT,
    ),
    Layout(
        "pyiqa_koniq_metainfo",
        ("koniq10k",),
        "pyiqa metainfo `img_name,mos,...,official_split`",
        "csv",
        columns={"image": "img_name", "mos": "mos", "split": "official_split"},
        optional={"std": "std"},
        split_values=_WORD_SPLIT,
    ),
    Layout(
        "koniq_official",
        ("koniq10k",),
        "official `image_name,c1..c5,c_total,MOS,SD,set` (MOS 0-100, SD 1-5)",
        "csv",
        columns={"image": "image_name", "mos": "MOS", "std": "SD", "split": "set"},
        split_values=_WORD_SPLIT,
    ),
    Layout(
        "pyiqa_koniqpp",
        ("koniq10kpp",),
        "pyiqa `filename,qmos,sd,votes,...` (KonIQ++ re-annotation, 1-5)",
        "csv",
        columns={"image": "filename", "mos": "qmos", "std": "sd"},
    ),
    Layout(
        "pyiqa_spaq",
        ("spaq",),
        "pyiqa `Image name,MOS,Brightness,...`: two `Brightness` columns, the first (column 2) is the human one",
        "csv",
        columns={"image": "Image name", "mos": "MOS"},
        std=None,
        attribute_columns=True,
    ),
    Layout(
        "pyiqa_clive",
        ("clive",),
        "pyiqa `img_name,mos,std` (incl. the 7 rater-training images t1-t7)",
        "csv",
        columns={"image": "img_name", "mos": "mos", "std": "std"},
    ),
    Layout(
        "pyiqa_kadid",
        ("kadid10k",),
        "pyiqa `ref_name,dist_name,dmos,std`: dmos is a MOS; `std` is the variance",
        "csv",
        columns={"reference": "ref_name", "image": "dist_name", "mos": "dmos", "std": "std"},
        std=StdSpec("variance"),
    ),
    Layout(
        "kadid_official",
        ("kadid10k",),
        "official KADID-10k dmos.csv `dist_img,ref_img,dmos,var`",
        "csv",
        columns={"image": "dist_img", "reference": "ref_img", "mos": "dmos", "std": "var"},
        std=StdSpec("variance"),
    ),
    Layout(
        "pyiqa_tid",
        ("tid",),
        "pyiqa `ref_name,dist_name,mos,std` (TID2008 / TID2013)",
        "csv",
        columns={"reference": "ref_name", "image": "dist_name", "mos": "mos", "std": "std"},
    ),
    Layout(
        "pyiqa_pipal",
        ("pipal",),
        "pyiqa `hq_name,dist_name,elo_score`",
        "csv",
        columns={"reference": "hq_name", "image": "dist_name", "mos": "elo_score"},
        std=None,
    ),
    Layout(
        "pyiqa_csiq",
        ("csiq",),
        "pyiqa `ref_name,dist_name,dmos` (DMOS 0-1, lower is better)",
        "csv",
        columns={"reference": "ref_name", "image": "dist_name", "mos": "dmos"},
        std=None,
    ),
    Layout(
        "pyiqa_live",
        ("live",),
        "pyiqa `ref_name,dist_name,mos` (the `mos` column holds DMOS)",
        "csv",
        columns={"reference": "ref_name", "image": "dist_name", "mos": "mos"},
        std=None,
    ),
    Layout(
        "pyiqa_livemd",
        ("livemd",),
        "pyiqa `ref_name,dist_name,dmos` (DMOS, lower is better)",
        "csv",
        columns={"reference": "ref_name", "image": "dist_name", "mos": "dmos"},
        std=None,
    ),
    Layout(
        "agiqa3k_official",
        ("agiqa3k",),
        "official AGIQA-3K data.csv `name,prompt,...,mos_quality,std_quality,mos_align,std_align`",
        "csv",
        columns={"image": "name", "mos": "mos_quality", "std": "std_quality"},
    ),
    Layout(
        "agiqa1k_official",
        ("agiqa1k",),
        "official AGIQA-1K AIGC_all.csv `Image,Score`",
        "csv",
        columns={"image": "Image", "mos": "Score"},
        std=None,
    ),
]

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (*_VQR1, *_CSV)}
FAMILIES: dict[str, tuple[Layout, ...]] = {}
for _layout in LAYOUTS.values():
    for _family in _layout.families:
        FAMILIES[_family] = (*FAMILIES.get(_family, ()), _layout)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def candidate_layouts(family: str, first_fields: list[str], is_csv: bool) -> list[Layout]:
    """Layouts of `family` whose structure fits the first row (the header of a CSV, else the first data row),
    most specific first."""
    found = []
    for layout in FAMILIES[family]:
        if is_csv and layout.format == "csv":
            header = {name.strip() for name in first_fields}
            if set(layout.columns.values()) <= header:
                found.append(layout)
        elif not is_csv and layout.format == "whitespace" and len(first_fields) == len(layout.fields):
            numeric = [role in ("mos", "std") for role in layout.fields]
            if all(_is_number(tok) == want for tok, want in zip(first_fields, numeric, strict=True)):
                found.append(layout)
    return sorted(found, key=lambda layout: -len(layout.columns))


def describe_family(family: str) -> str:
    return "; ".join(f"{layout.name} ({layout.description})" for layout in FAMILIES[family])
