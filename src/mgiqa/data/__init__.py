"""Datasets: the registry, label parsing and normalization, downloads, the embedded demo, pairs and batches.

Submodules are imported where used (nothing heavy is imported here).
"""
