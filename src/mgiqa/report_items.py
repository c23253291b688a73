"""What `snakemake --report report.html` shows: the figures and tables rules' outputs and the effective
config flagged with Snakemake's `report()` (a caption from workflow/report/*.rst and a category). The report
also holds every rule's code; workflow/report/workflow.rst introduces it."""

from __future__ import annotations

from snakemake.io import report

from mgiqa import pipeline as P

CAPTIONS = "../report"  # relative to workflow/rules/, where Snakemake resolves a caption
REPORTED_TABLES = ("main", "ablations", "attributes")  # significance.csv stays out: main.csv marks it


def figure_outputs(config: dict) -> dict:
    """`P.figure_files`, each PNG flagged for the report with its caption (the PDFs are the same figures)."""
    return {
        key: report(path, caption=f"{CAPTIONS}/{key[: -len('_png')]}.rst", category="Figures")
        if key.endswith("_png")
        else path
        for key, path in P.figure_files(config).items()
    }


def table_outputs(config: dict) -> dict:
    """`P.table_files`, the main, ablation and attribute CSVs flagged for the report with their captions."""
    flagged = {f"{name}_csv" for name in REPORTED_TABLES}
    return {
        key: report(path, caption=f"{CAPTIONS}/{key[: -len('_csv')]}_table.rst", category="Tables")
        if key in flagged
        else path
        for key, path in P.table_files(config).items()
    }


def config_output(path: str):
    """The effective config (every schema default filled in), in the report's Configuration category."""
    return report(path, caption=f"{CAPTIONS}/config.rst", category="Configuration")
