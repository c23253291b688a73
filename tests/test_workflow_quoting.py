"""Config paths reach the rules' shell commands quoted: a path with a space works, one with `$(...)` runs
nothing. Runs the real data rules (fetch, labels, prepare) of one test-config benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mgiqa.config import validate_config
from mgiqa.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_a_path_with_a_space_and_one_with_command_substitution_run_as_plain_paths(tmp_path):
    work = tmp_path / "work dir"
    work.mkdir()
    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    config["paths"] = {
        "data": "d$(touch pwned)x",
        "models": "my models",
        "results": "my results; touch pwned2",
        "logs": "logs `touch pwned3`",
        "benchmarks": "bench marks",
        "mirror": None,
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    bench = config["datasets"]["benchmarks"][0]
    target = f"d$(touch pwned)x/prepared/{bench}.csv"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--directory", str(work), "--cores", "1"]
        + ["--configfile", "config.yaml", "--nolock", target],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (work / target).stat().st_size > 0
    assert (work / "logs `touch pwned3`" / "prepare" / f"{bench}.log").is_file()
    assert not list(tmp_path.rglob("pwned*")) and not list(REPO.glob("pwned*"))


@pytest.mark.parametrize("value", ["data\nmore", "", "a\x00b", "tab\there"])
def test_config_paths_with_control_characters_or_empty_are_refused(demo_config, value):
    demo_config["paths"]["data"] = value
    with pytest.raises(ConfigError, match=r"paths\.data"):
        validate_config(demo_config, "my.yaml")
