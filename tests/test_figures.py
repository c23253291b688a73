"""Figures are written (PNG + PDF, non-empty) from synthetic tables, predictions and training logs."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from test_tables import build_results

from mgiqa.evaluation import figures


def _written(paths):
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000, p
    return paths


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The synthetic results tree of test_tables, with its tables built."""
    from mgiqa.commands import tables as tables_command

    root = tmp_path_factory.mktemp("figures")
    build_results(root)
    parser = argparse.ArgumentParser()
    tables_command.add_arguments(parser)
    original = tables_command.benchmark_names
    tables_command.benchmark_names = lambda c: {"bid": "BID", "liu13": "Liu13"}
    try:
        tables_command.run(parser.parse_args(["--config", str(root / "config.yaml")]))
    finally:
        tables_command.benchmark_names = original
    return root


def test_ablation_deltas_written(tmp_path):
    table = pd.DataFrame(
        {"method": ["mg_iqa", "no_sft"], "avg_srcc": [0.8, 0.7], "avg_plcc": [0.82, 0.75]}
    ).assign(delta_avg_srcc=[0.0, -0.1], delta_avg_plcc=[0.0, -0.07])
    _written(figures.ablation_deltas(table, tmp_path / "deltas"))


def test_the_ablation_figure_draws_the_bootstrap_interval_of_each_effect(tmp_path, monkeypatch):
    table = pd.DataFrame(
        {"method": ["mg_iqa", "no_sft"], "avg_srcc": [0.8, 0.7], "avg_plcc": [0.82, 0.75],
         "delta_avg_srcc": [0.0, -0.1], "delta_avg_plcc": [0.0, -0.07],
         "delta_avg_srcc_ci_low": [np.nan, -0.25], "delta_avg_srcc_ci_high": [np.nan, 0.02]}
    )  # fmt: skip
    drawn = []
    original = figures.plt.Axes.barh

    def barh(self, *args, **kwargs):
        drawn.append((kwargs.get("label"), kwargs.get("xerr")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(figures.plt.Axes, "barh", barh)
    _written(figures.ablation_deltas(table, tmp_path / "deltas"))
    srcc_err = dict(drawn)["Δ avg SRCC"]
    np.testing.assert_allclose(srcc_err, [[0.15], [0.12]])  # below and above the bar: asymmetric


@pytest.mark.slow
def test_each_figure_is_written(project, tmp_path):
    from mgiqa.evaluation.predictions import read_predictions

    tables = project / "results" / "tables"
    names = {"bid": "BID", "liu13": "Liu13"}
    main = pd.read_csv(tables / "main.csv")
    _written(figures.srcc_bars(main, ["bid", "liu13"], names, tmp_path / "bars"))
    preds = {b: read_predictions(project / f"results/predictions/zero_shot/seed0/{b}.csv") for b in names}
    _written(figures.scatter_grid(preds, names, "zero_shot", tmp_path / "scatter"))
    logs = {
        ab: [pd.read_csv(project / f"models/grpo/{ab}/seed{s}/train_log.csv") for s in (0, 1)]
        for ab in ("mg_iqa", "no_attr_prompt", "rl2r")
    }
    _written(figures.training_curves(logs, tmp_path / "curves"))
    _written(figures.ablation_deltas(pd.read_csv(tables / "ablations.csv"), tmp_path / "deltas"))
    _written(figures.attribute_heatmap(pd.read_csv(tables / "attributes.csv"), names, tmp_path / "heat"))
    empty = pd.DataFrame(columns=["method", "benchmark", "attribute", "srcc"])
    _written(figures.attribute_heatmap(empty, names, tmp_path / "heat_empty"))


def test_training_curves_draw_the_sparse_probe_as_joined_points(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    steps = np.arange(1, 21)
    probe = np.where((steps == 1) | (steps % 10 == 0), np.linspace(0.2, 0.6, 20), np.nan)
    log = pd.DataFrame({"step": steps, "reward_total": np.linspace(1, 2, 20), "probe_srcc": probe})
    captured = {}
    real_save = figures.save

    def keep(fig, out_base):
        captured["fig"] = fig
        return real_save(fig, out_base)

    monkeypatch.setattr(figures, "save", keep)
    _written(figures.training_curves({"mg_iqa": [log]}, tmp_path / "curves"))
    probe_ax = next(ax for ax in captured["fig"].axes if ax.get_title() == "held-out SRCC (probe)")
    (line,) = probe_ax.get_lines()
    assert line.get_xdata().tolist() == [1, 10, 20]  # only the probed steps, joined (no gaps from NaN rows)
    assert np.allclose(line.get_ydata(), probe[[0, 9, 19]])
    plt.close(captured["fig"])


def test_training_curves_without_any_known_column_raises(tmp_path):
    with pytest.raises(ValueError, match="no training log"):
        figures.training_curves({"x": [pd.DataFrame({"step": [1, 2], "other": [0, 1]})]}, tmp_path / "c")


@pytest.mark.slow
def test_figures_command(project, monkeypatch):
    from mgiqa.commands import figures as command
    from mgiqa.commands import tables as tables_command

    monkeypatch.setattr(tables_command, "benchmark_names", lambda c: {"bid": "BID", "liu13": "Liu13"})
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command.run(parser.parse_args(["--config", str(project / "config.yaml")])) == 0
    out = project / "results" / "figures"
    assert set(command.FIGURES.values()) == {
        "srcc_by_benchmark",
        "pred_vs_mos",
        "training_rewards",
        "ablation_deltas",
        "attribute_srcc",
    }  # the names workflow/rules/report.smk declares
    for stem in command.FIGURES.values():
        for ext in ("png", "pdf"):
            assert (out / f"{stem}.{ext}").stat().st_size > 1000


def test_the_srcc_axis_holds_every_bar_and_ci_whisker():
    values = np.array([0.2, -0.1, np.nan, -0.55, 0.98])
    low, high = figures.srcc_ylim(values)
    assert low <= -0.55 - 0.05 and high >= 0.98
    assert figures.srcc_ylim(np.array([0.3, 0.5])) == (0.0, 1.0)  # positive bars: the plain 0-1 axis


def test_the_srcc_figure_does_not_clip_whiskers_below_the_bars(tmp_path, monkeypatch):
    main = pd.DataFrame(
        {
            "method": ["a", "b"],
            "source": ["measured", "measured"],
            "bid_srcc": [0.1, -0.05],
            "bid_srcc_ci_low": [-0.4, -0.62],  # whiskers far below the lowest bar
            "bid_srcc_ci_high": [0.5, 0.3],
            "avg_srcc": [0.1, -0.05],
        }
    )
    shown = {}
    monkeypatch.setattr(figures, "save", lambda fig, out: shown.setdefault("ylim", fig.axes[0].get_ylim()))
    figures.srcc_bars(main, ["bid"], {"bid": "BID"}, tmp_path / "srcc")
    bottom, top = shown["ylim"]
    assert bottom < -0.62 and top >= 1.0
