#!/usr/bin/env bash
# Run by Snakemake in the new conda env (envs/mgiqa.yaml), from its working directory: the checkout.
# The project with its pinned dependencies, editable so the env follows the checkout's code.
set -euo pipefail
if ! grep -q '^name = "mgiqa"$' pyproject.toml 2>/dev/null; then
    echo "mgiqa.post-deploy.sh: run snakemake from the mgiqa checkout (no mgiqa pyproject.toml in $PWD)" >&2
    exit 1
fi
python -m pip install --no-input -e .
