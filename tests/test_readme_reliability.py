"""The README's reliability notes: where interrupted runs are described, it says how to clear Snakemake's lock."""

from __future__ import annotations


def test_the_interrupted_runs_paragraph_documents_snakemake_unlock(repo_root):
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    paragraph = text[text.index("an interrupted run resumes") :].split("\n\n", 1)[0]
    assert "Directory cannot be locked" in paragraph and "`snakemake --unlock`" in paragraph
    assert "## Reliability" in text
