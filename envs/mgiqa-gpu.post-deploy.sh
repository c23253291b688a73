#!/usr/bin/env bash
# Run by Snakemake in the new conda env (envs/mgiqa-gpu.yaml, the GPU constraint set), from its working
# directory: the checkout. As envs/install-gpu.sh: the GPU constraint set from envs/ (pip paths in the env
# file would resolve against Snakemake's copy under .snakemake/conda/), then the project without its CPU pins.
set -euo pipefail
if ! grep -q '^name = "mgiqa"$' pyproject.toml 2>/dev/null; then
    echo "mgiqa-gpu.post-deploy.sh: run snakemake from the mgiqa checkout (no mgiqa pyproject.toml in $PWD)" >&2
    exit 1
fi
python -m pip install --no-input -c envs/gpu-constraints.txt -r envs/gpu-requirements.txt
python -m pip install --no-input --no-deps -e .
