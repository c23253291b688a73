"""The GPU install (envs/gpu-constraints.txt + envs/gpu-requirements.txt) resolves, and stays in step with
pyproject.toml.

The pinned CPU set (torch 2.14.1, transformers 5.23) cannot take the `vllm` extra: every vLLM that TRL 1.16
accepts (0.22-0.31) pins torch 2.11 or 2.13. The GPU set is checked here with pip's own resolver, for the
machine it targets (CPython 3.13, Linux x86_64, glibc 2.31), whatever interpreter runs the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "envs" / "gpu-constraints.txt"
REQUIREMENTS = REPO / "envs" / "gpu-requirements.txt"
TARGET_PYTHON = "3.13"
# glibc 2.17 ... 2.31: llguidance 1.7 (a vllm 0.31 requirement) has x86_64 wheels for manylinux_2_31 only
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(17, 32)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
# published as source distributions only: pip cannot resolve a foreign interpreter's set with sdists
# (`--python-version` needs `--only-binary=:all:`), so the test builds their pure-Python wheels first
SDIST_ONLY = ("deepspeed", "antlr4-python3-runtime", "connection-pool")
OFFLINE_SIGNS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "Read timed out",
    "ProxyError",
)


def _requirements(path) -> dict[str, Requirement]:
    reqs = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            reqs[canonicalize_name(req.name)] = req
    return reqs


def _pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in ("dev", "gpu", "vllm"):
        lines += project["optional-dependencies"][extra]
    return {canonicalize_name(Requirement(x).name): Requirement(x) for x in lines}


# pip evaluates environment markers for the running interpreter even with --python-version (that option
# only selects wheel tags and Requires-Python): pip/_vendor/packaging/markers.py, Marker.evaluate starts from
# default_environment(). mistral-common's `numpy<2.4; python_version <= "3.12"` is exactly such a marker, so
# the resolve runs pip's own resolver with the target's marker environment.
MARKER_DRIVER = """
import sys
from pip._vendor.packaging import markers
base = markers.default_environment
target = {"python_version": "%s", "python_full_version": "%s.0", "implementation_version": "%s.0",
          "implementation_name": "cpython", "platform_python_implementation": "CPython",
          "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"}
markers.default_environment = lambda: {**base(), **target}
from pip._internal.cli.main import main
sys.exit(main(sys.argv[1:]))
""" % ((TARGET_PYTHON,) * 3)


def _pip(*args: str, timeout: float, target_markers: bool = False) -> subprocess.CompletedProcess:
    head = [sys.executable, "-c", MARKER_DRIVER] if target_markers else [sys.executable, "-m", "pip"]
    cmd = [*head, "--disable-pip-version-check", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _skip_if_offline(result: subprocess.CompletedProcess, what: str) -> None:
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(sign in output for sign in OFFLINE_SIGNS):
        last = next((x for x in reversed(output.splitlines()) if x.strip()), "")
        pytest.skip(f"the package index is unreachable ({what}: {last.strip()[:200]})")


def test_gpu_requirements_name_every_project_dependency_with_pyproject_pins_unless_constrained():
    gpu = _requirements(REQUIREMENTS)
    constrained = _requirements(CONSTRAINTS)
    project = _pyproject_requirements()
    assert sorted(set(project) - set(gpu)) == [], "gpu-requirements.txt misses project dependencies"
    assert sorted(set(gpu) - set(project)) == [], "gpu-requirements.txt names packages pyproject does not"
    for name, req in project.items():
        if name in constrained and gpu[name].specifier != req.specifier:
            assert str(gpu[name].specifier) == "", f"{name}: versioned by gpu-constraints.txt, give it bare"
        elif name not in constrained:
            assert gpu[name].specifier == req.specifier, f"{name}: {gpu[name]} differs from pyproject's {req}"


def test_gpu_constraints_pin_a_vllm_that_trl_accepts_and_the_torch_and_transformers_vllm_needs():
    from importlib.metadata import requires

    pins = {name: req.specifier for name, req in _requirements(CONSTRAINTS).items()}
    vllm = next(iter(pins["vllm"])).version
    trl_vllm = next(Requirement(r) for r in requires("trl") if r.startswith("vllm"))
    assert trl_vllm.specifier.contains(vllm), f"TRL {trl_vllm} rejects vllm {vllm}"
    assert next(iter(pins["torch"])).version == "2.13.0"  # vllm 0.27-0.31: torch==2.13.0
    assert Version(next(iter(pins["transformers"])).version) < Version("5.18")  # vllm 0.31: <5.18.0


@pytest.mark.slow
def test_pip_resolver_accepts_the_gpu_constraint_set_for_python_3_13_on_linux(tmp_path):
    pins = _requirements(CONSTRAINTS)
    wheels = tmp_path / "wheels"
    built = _pip(
        "wheel",
        "--no-deps",
        "--timeout",
        "20",
        "--retries",
        "1",
        "-w",
        str(wheels),
        *[str(pins[name]) for name in SDIST_ONLY],
        timeout=600,
    )
    _skip_if_offline(built, "building the sdist-only wheels")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]

    report = tmp_path / "report.json"
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    result = _pip(
        "install",
        "--dry-run",
        "--ignore-installed",
        "--timeout",
        "20",
        "--retries",
        "1",
        "--python-version",
        TARGET_PYTHON,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        *platforms,
        "--find-links",
        str(wheels),
        "-c",
        str(CONSTRAINTS),
        "-r",
        str(REQUIREMENTS),
        "--report",
        str(report),
        timeout=900,
        target_markers=True,
    )
    _skip_if_offline(result, "resolving the GPU set")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    chosen = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    for name in ("torch", "torchvision", "transformers", "vllm", "trl", "deepspeed"):
        assert pins[name].specifier.contains(chosen[name]), f"{name} resolved to {chosen[name]}"
