"""MG-IQA: multi-granularity image quality assessment pipeline."""

__version__ = "0.1.0"
