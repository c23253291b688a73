"""MG-IQA: multi-granularity image quality assessment pipeline.

`mgiqa.Scorer.from_pretrained(path).score(images)` rates images from Python (`mgiqa.scorer`); it is imported
on first use, so `import mgiqa` stays light (no torch).
"""

__version__ = "0.1.0"
__all__ = ["ImageScore", "Scorer", "__version__"]


def __getattr__(name: str):
    if name in ("Scorer", "ImageScore"):
        from mgiqa import scorer

        return getattr(scorer, name)
    raise AttributeError(f"module 'mgiqa' has no attribute {name!r}")
