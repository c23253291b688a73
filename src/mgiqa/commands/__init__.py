"""Thin CLI entry points, one module per pipeline stage."""
