#!/usr/bin/env bash
# The one install command for GPU nodes (paper config):  bash envs/install-gpu.sh [VENV] [PYTHON]
# Creates VENV (default .venv-gpu) with PYTHON (default python3.13), installs the GPU constraint set
# (envs/gpu-constraints.txt: torch 2.13 + vLLM 0.31 + transformers 5.17 + DeepSpeed), then the project
# itself without its dependencies (pyproject.toml pins the CPU set, torch 2.14.1 / transformers 5.23).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-gpu}"
python="${2:-python3.13}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# the set resolves on CPython 3.13 only (see envs/gpu-constraints.txt)
"$venv/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else f"{sys.executable} is Python {sys.version.split()[0]}; the GPU set needs 3.13 (envs/gpu-constraints.txt)")'
"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install -c envs/gpu-constraints.txt -r envs/gpu-requirements.txt
"$venv/bin/python" -m pip install --no-deps -e .
"$venv/bin/python" -c "import torch, vllm, trl, deepspeed; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'gpus', torch.cuda.device_count(), 'vllm', vllm.__version__, 'trl', trl.__version__)"
