"""The package as a user installs it: a built wheel (not an editable install) whose CLI works from a folder
outside any checkout, reading its schema, default configs, registry and prompt templates as package data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from mgiqa import package_data

REPO = Path(__file__).resolve().parents[1]
SHIPPED = [
    "mgiqa/schemas/config.schema.yaml",
    "mgiqa/configs/config.yaml",
    "mgiqa/configs/paper.yaml",
    "mgiqa/data/registry.yaml",
    "mgiqa/data/registry_demo.yaml",
    "mgiqa/templates/prompts.yaml",
    "mgiqa/evaluation/reported.yaml",
]


def test_packaged_schema_and_default_config_are_the_workflow_files_themselves():
    # one copy of each file: the package links to what Snakemake reads (workflow/schemas, config/)
    assert package_data.package_path(package_data.SCHEMA).resolve() == (
        REPO / "workflow" / "schemas" / "config.schema.yaml"
    )
    assert package_data.package_path(package_data.DEFAULT_CONFIG).resolve() == REPO / "config" / "config.yaml"
    assert package_data.package_path(package_data.PAPER_CONFIG).resolve() == REPO / "config" / "paper.yaml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel from a copy of the sources, install it into a fresh venv, return its paths."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"  # a copy, so the build leaves nothing in the checkout; links become files
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {**os.environ, "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, source],
        check=True,
        env=env,
    )
    (wheel,) = dist.glob("mgiqa-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", wheel], check=True, env=env)
    # The dependencies: this interpreter's site-packages, appended after the new venv's own (which now
    # holds mgiqa). A path listed in a .pth file is not itself scanned for .pth files, so the checkout's
    # editable-install hook there stays inactive.
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return {"wheel": wheel, "venv": venv, "python": python, "cwd": elsewhere, "env": env}


def _mgiqa(installed, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [installed["venv"] / "bin" / "mgiqa", *args],
        cwd=installed["cwd"],
        env={**installed["env"], "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_the_wheel_ships_schema_configs_registry_and_templates(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert set(SHIPPED) <= names
    with zipfile.ZipFile(installed["wheel"]) as whl:
        # the links' contents, not links
        assert (
            whl.read("mgiqa/schemas/config.schema.yaml")
            == (REPO / "workflow" / "schemas" / "config.schema.yaml").read_bytes()
        )


@pytest.mark.slow
def test_the_installed_package_is_imported_from_the_venv_not_the_checkout(installed):
    out = subprocess.run(
        [installed["python"], "-c", "import mgiqa, yaml; print(mgiqa.__file__); print(yaml.__file__)"],
        cwd=installed["cwd"],
        env=installed["env"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert Path(out[0]).is_relative_to(installed["venv"])
    assert not Path(out[0]).is_relative_to(REPO / "src")


@pytest.mark.slow
def test_validate_config_works_outside_a_checkout_with_the_packaged_configs(installed):
    default = _mgiqa(installed, "validate-config")
    assert default.returncode == 0, default.stderr
    assert "valid (demo," in default.stdout
    assert str(installed["venv"]) in default.stdout  # the packaged copy, not the checkout's
    paper = installed["venv"].glob("lib/python*/site-packages/mgiqa/configs/paper.yaml")
    result = _mgiqa(installed, "validate-config", str(next(paper)))
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_a_schema_error_is_reported_by_field_outside_a_checkout(installed):
    bad = installed["cwd"] / "bad.yaml"
    bad.write_text("name: x\n")
    result = _mgiqa(installed, "validate-config", str(bad))
    assert result.returncode == 2
    assert "invalid config" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_fetch_plan_and_tiny_model_build_read_the_packaged_registry_and_templates(installed):
    plan = _mgiqa(installed, "fetch", "koniq10k", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "chaofengc/IQA-PyTorch-Datasets" in plan.stdout
    built = _mgiqa(installed, "build-model", "-o", "base_init")
    assert built.returncode == 0, built.stderr
    assert (installed["cwd"] / "base_init" / "config.json").is_file()
