"""`mgiqa datasets`: the registry's datasets with each one's state on this machine, on config/test.yaml."""

from __future__ import annotations

import re

from test_workflow import scratch_config

from mgiqa.cli import main


def _rows(out: str) -> dict[str, str]:
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\w+)\s+(train|benchmark|pretrain)\s+\S+\s+(\S+)\s+(.+)$", line)
        if m:
            rows[m[1]] = f"{m[3]} {m[4].strip()}"
    return rows


def test_datasets_lists_the_registry_with_each_state_here(tmp_path, capsys):
    config = scratch_config(tmp_path)
    assert main(["datasets", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["demo_bid"] == "benchmark not generated" and rows["demo_synthetic"] == "train not generated"
    assert rows["kadid10k"] == "- not downloaded"  # the packaged real registry, not used by this config
    # a manual step, with the registry's own instructions
    assert rows["bid"] == "- needs a manual step"
    assert "DatabaseImage0001.JPG" in out.split("\nbid ")[1].split("\nclive ")[0]

    raw = tmp_path / "data" / "raw"
    (raw / "demo_bid").mkdir(parents=True)
    (raw / "demo_bid" / ".complete").write_text("{}")
    (raw / "demo_sriqa").mkdir()  # placed by hand, not checked yet
    (raw / "demo_pretrain").mkdir()
    (raw / "demo_pretrain" / ".complete").write_text("{}")
    (tmp_path / "data" / "prepared").mkdir()
    (tmp_path / "data" / "prepared" / "demo_pretrain.csv").write_text("image\n")
    assert main(["datasets", "--config", str(config), "--used"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["demo_bid"] == "benchmark downloaded"
    assert rows["demo_sriqa"] == "benchmark placed by hand"
    assert rows["demo_pretrain"] == "pretrain prepared"
    assert "kadid10k" not in rows and set(rows) == {
        "demo_pretrain",
        "demo_synthetic",
        "demo_authentic",
        "demo_generated",
        "demo_bid",
        "demo_sriqa",
    }
    assert "1 prepared" in out and "1 downloaded" in out
