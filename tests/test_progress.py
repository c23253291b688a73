"""Progress of long loops: a tqdm bar where a terminal is attached, plain log lines in log files."""

from __future__ import annotations

import io
import logging

from mgiqa import progress as progress_module
from mgiqa.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_log_lines_without_a_terminal(monkeypatch, caplog):
    monkeypatch.setattr(progress_module.sys, "stderr", io.StringIO())
    with caplog.at_level(logging.INFO, logger="mgiqa.progress"):
        assert list(progress(range(100), total=100, desc="predict demo_bid")) == list(range(100))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == progress_module.LOG_LINES and lines[-1] == "predict demo_bid: 100/100 batches done"
    assert progress_module.sys.stderr.getvalue() == ""  # no bar in a log file


def test_a_tqdm_bar_on_a_terminal(monkeypatch, caplog):
    terminal = Terminal()
    monkeypatch.setattr(progress_module.sys, "stderr", terminal)
    monkeypatch.setattr("tqdm.std.sys.stderr", terminal)
    with caplog.at_level(logging.INFO, logger="mgiqa.progress"):
        assert list(progress(iter("abc"), total=3, desc="score", unit="image")) == ["a", "b", "c"]
    assert "score" in terminal.getvalue() and "3/3" in terminal.getvalue()
    assert caplog.records == []


def test_one_item_is_one_line(monkeypatch, caplog):
    monkeypatch.setattr(progress_module.sys, "stderr", io.StringIO())
    with caplog.at_level(logging.INFO, logger="mgiqa.progress"):
        list(progress([0], total=1, desc="score", unit="batch"))
    assert [r.getMessage() for r in caplog.records] == ["score: 1/1 batches done"]
