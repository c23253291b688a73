"""Tables from synthetic predictions and metrics JSON: shape, columns, averages, reported rows kept apart."""

from __future__ import annotations

import argparse
import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgiqa import pipeline
from mgiqa.config import DEFAULT_CONFIG, load_config, validate_config
from mgiqa.errors import DataIntegrityError
from mgiqa.evaluation import tables
from mgiqa.evaluation.markdown import attribute_markdown
from mgiqa.evaluation.predictions import attach_labels, evaluate_predictions
from mgiqa.evaluation.protocol import COLUMNS as PROTOCOL_COLUMNS
from mgiqa.evaluation.protocol import with_protocols
from mgiqa.evaluation.reported import load_reported, reported_rows
from mgiqa.io import write_json, write_table, write_yaml

BENCHMARKS = ["bid", "liu13"]  # keys with reported numbers; liu13 is grouped
NOISE = {"mg_iqa": 0.3, "rl2r": 0.6, "sft_only": 0.8, "no_attr_prompt": 0.7, "zero_shot": 1.5}


def train_log_paths(config: dict) -> list[str]:
    return [
        str(Path(pipeline.grpo_model(config, ab, seed)) / "train_log.csv")
        for ab in pipeline.grpo_ablations(config)
        for seed in config["seeds"]
    ]


def make_config(root: Path) -> dict:
    config = copy.deepcopy(load_config(DEFAULT_CONFIG))
    config["seeds"] = [0, 1]
    config["paths"] |= {
        "results": str(root / "results"),
        "models": str(root / "models"),
        "data": str(root / "data"),
    }
    config["datasets"]["benchmarks"] = BENCHMARKS
    config["ablations"] = {
        k: config["ablations"][k] for k in ("mg_iqa", "no_attr_prompt", "sft_only", "rl2r")
    }
    config["evaluation"] |= {
        "bootstrap": 40,
        "classical": ["laplacian_sharpness"],
        "main_methods": ["zero_shot", "sft_only", "rl2r", "mg_iqa"],
    }
    return validate_config(config)


def _benchmark_table(bench: str) -> pd.DataFrame:
    rng = np.random.default_rng(len(bench))
    n = 40
    mos = np.round(rng.uniform(1, 5, n), 2)
    group = [f"g{i // 8}" for i in range(n)] if bench == "liu13" else bench
    sharp = np.clip(mos + rng.normal(0, 0.4, n), 1, 5) if bench == "bid" else np.nan
    return pd.DataFrame(
        {
            "image": [f"{bench}_{i}.png" for i in range(n)],
            "mos": mos,
            "group": group,
            "split": "test",
            "sharpness": sharp,
        }
    )


def build_results(root: Path) -> dict:
    """Synthetic predictions, metrics JSON and GRPO logs for every expected (method, seed, benchmark)."""
    config = make_config(root)
    write_yaml(root / "config.yaml", config)
    methods = [*pipeline.model_methods(config), *pipeline.classical_methods(config)]
    for bench in BENCHMARKS:
        table = _benchmark_table(bench)
        for method in methods:
            for seed in pipeline.method_seeds(config, method):
                rng = np.random.default_rng([seed, len(method), len(bench)])
                noise = NOISE.get(method, 1.0)
                pred = table[["image", "mos", "group"]].copy()
                pred["pred_overall"] = table["mos"] + rng.normal(0, noise, len(table))
                for attr in ("sharpness", "color", "noise", "composition"):
                    pred[f"pred_{attr}"] = np.nan
                if method == "mg_iqa" or method.startswith("classical"):
                    pred["pred_sharpness"] = table["mos"] + rng.normal(0, noise, len(table))
                pred["parse_ok"] = True
                pred["failed_fields"] = ""
                if method == "zero_shot":
                    pred.loc[:3, ["parse_ok", "pred_overall"]] = [False, np.nan]
                    pred.loc[:3, "failed_fields"] = "overall"
                pred["raw_text"] = "synthetic"
                write_table(pipeline.predictions(config, method, seed, bench), pred)
                result = evaluate_predictions(
                    attach_labels(pred, table), bootstrap=40, confidence=0.95, seed=5
                )
                write_json(pipeline.metrics(config, method, seed, bench), result)
    for i, path in enumerate(train_log_paths(config)):
        steps = np.arange(1, 41)
        wiggle = np.random.default_rng(i).normal(0, 0.03, steps.size)
        log = pd.DataFrame({"step": steps, "loss": 1 / steps, "kl": steps * 1e-3 * (1 + i % 3)})
        log["reward_total"] = 1 + steps / (30 + 10 * (i // 2)) + wiggle
        log["reward_format"] = np.minimum(1.0, 0.6 + steps / 50)
        log["reward_overall"] = 0.5 + steps / (80 + 20 * (i // 2)) + wiggle
        log["reward_sharpness"] = np.nan if "no_attr" in path or "rl2r" in path else 0.5 + steps / 120
        log["parse_failure_rate"] = 0.2 * np.exp(-steps / 10)
        write_table(path, log)
    return config


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    config = build_results(root)
    methods = list(
        dict.fromkeys([*config["evaluation"]["main_methods"], *pipeline.classical_methods(config)])
    )
    long, attrs = tables.load_metrics(
        config, Path(config["paths"]["results"]) / "metrics", [*methods, "no_attr_prompt"]
    )
    return root, config, methods, long, attrs


def test_load_metrics_long_table(results):
    _, config, methods, long, attrs = results
    # model methods have 2 seeds, zero_shot and classical one: (3 * 2 + 1 + 1 + 2) x 2 benchmarks
    assert len(long) == 20
    assert {"srcc", "plcc", "srcc_ci_low", "wg_srcc"} <= set(long.columns)
    assert long.loc[long["benchmark"] == "bid", "wg_srcc"].isna().all()
    assert long.loc[long["benchmark"] == "liu13", "wg_srcc"].notna().all()
    assert set(attrs["attribute"]) == {"sharpness"} and set(attrs["benchmark"]) == {"bid"}


def test_missing_metrics_file_is_named(results, tmp_path):
    _, config, *_ = results
    with pytest.raises(DataIntegrityError, match=r"missing.*mg_iqa.*seed0.*bid\.json"):
        tables.load_metrics(config, tmp_path, ["mg_iqa"])


def test_main_table_shape_columns_and_averages(results):
    _, config, methods, long, _ = results
    main = tables.main_table(long[long["method"].isin(methods)], BENCHMARKS)
    assert list(main["method"]) == methods and (main["source"] == "measured").all()
    for col in (
        "bid_srcc",
        "bid_srcc_std",
        "bid_srcc_ci_low",
        "bid_srcc_ci_high",
        "liu13_wg_srcc",
        "avg_srcc",
        "avg_plcc_std",
    ):
        assert col in main.columns, col
    assert "bid_wg_srcc" not in main.columns  # an ungrouped benchmark has no within-group columns
    row = main.set_index("method").loc["mg_iqa"]
    per_seed = long[long["method"] == "mg_iqa"].pivot(index="seed", columns="benchmark", values="srcc")
    assert row["bid_srcc"] == pytest.approx(per_seed["bid"].mean())
    assert row["bid_srcc_std"] == pytest.approx(per_seed["bid"].std(ddof=1))
    assert row["avg_srcc"] == pytest.approx(per_seed.mean(axis=1).mean())
    assert row["avg_srcc_std"] == pytest.approx(per_seed.mean(axis=1).std(ddof=1))
    assert main.set_index("method").loc["zero_shot", "bid_parse_failure_rate"] == pytest.approx(0.1)


VQR1_PROTOCOL = {"train": "kadid10k", "eval_split": "all", "prompt": "overall", "resolution": "native",
                 "readout": "text"}  # fmt: skip


def test_every_main_row_carries_its_protocol(results):
    _, config, methods, long, _ = results
    main = with_protocols(tables.main_table(long[long["method"].isin(methods)], BENCHMARKS), config)
    assert list(main.columns[1:8]) == [*PROTOCOL_COLUMNS, "pixels"]
    row = main.set_index("method")
    assert row.loc["zero_shot", ["train", "prompt", "eval_split"]].tolist() == ["none", "attribute", "test"]
    assert row.loc["rl2r", "prompt"] == "overall" and row.loc["rl2r", "resolution"] == "square 112"
    assert row.loc["classical_laplacian_sharpness", "readout"] == "measure"
    assert row.loc["mg_iqa", "parse_failures"] == "midpoint 3.0, rate reported"


def test_reported_rows_sit_only_beside_a_measured_twin(results):
    _, config, methods, long, _ = results
    main = with_protocols(tables.main_table(long[long["method"].isin(methods)], BENCHMARKS), config)
    # the demo protocol (square resize, demo training sets, test split) has no twin: no reported row
    assert (tables.with_reported(main, reported_rows(BENCHMARKS))["source"] == "measured").all()
    twin = main.copy()
    twin.loc[twin["method"] == "rl2r", list(VQR1_PROTOCOL)] = list(VQR1_PROTOCOL.values())
    combined = tables.with_reported(twin, reported_rows(BENCHMARKS))
    measured = combined[combined["source"] == "measured"].reset_index(drop=True)
    pd.testing.assert_frame_equal(measured[twin.columns], twin, check_dtype=False)
    order = list(combined["method"])
    assert order[order.index("rl2r") + 1] == "VisualQuality-R1"  # right after its twin
    reported = combined[combined["source"] == "reported"].set_index("method")
    assert list(reported.index) == ["VisualQuality-R1"]  # Q-Insight etc.: other prompts, no twin
    assert reported.loc["VisualQuality-R1", "twin_of"] == "rl2r"
    assert reported.loc["VisualQuality-R1", "bid_srcc"] == 0.790
    assert reported.loc["VisualQuality-R1", "liu13_plcc"] == 0.872
    assert reported.loc["VisualQuality-R1", "parse_failures"].startswith("random score")
    assert reported["avg_srcc"].isna().all()  # the published averages cover 8 benchmarks, not these 2
    full = reported_rows(load_reported()["benchmarks"]).set_index("method")
    assert full.loc["VisualQuality-R1", "avg_srcc"] == 0.777
    assert np.isnan(full.loc["MG-IQA (aggregator, variant a)", "avg_srcc"])
    assert full.loc["Qwen2.5-VL-7B zero-shot", "train"] == "none"


def test_significance_and_ablation_and_attribute_tables(results):
    root, config, methods, long, attrs = results
    main_long = long[long["method"].isin(methods)]
    baselines = [m for m in methods if m != "mg_iqa"]
    sig = tables.significance_table(
        config, Path(config["paths"]["results"]) / "predictions", main_long, methods, baselines
    )
    best = tables.best_baselines(main_long, baselines)
    assert set(sig["benchmark"]) == set(BENCHMARKS) and sig["p_value"].between(0, 1).all()
    for bench, baseline in best.items():
        assert baseline not in set(sig.loc[sig["benchmark"] == bench, "method"])
    main = tables.main_table(main_long, BENCHMARKS, sig)
    assert "bid_p_vs_best" in main.columns and "liu13_best_baseline" in main.columns

    abl = tables.ablation_table(long, config, BENCHMARKS).set_index("method")
    assert list(abl.index) == list(config["ablations"])
    assert abl.loc["mg_iqa", "delta_avg_srcc"] == 0.0
    assert abl.loc["rl2r", "delta_avg_srcc"] == pytest.approx(
        abl.loc["rl2r", "avg_srcc"] - abl.loc["mg_iqa", "avg_srcc"]
    )
    assert abl.loc["no_attr_prompt", "prompt"] == "overall"

    attr = tables.attribute_table(attrs)
    assert set(attr["method"]) == {"mg_iqa", "classical_laplacian_sharpness"}
    assert attr.loc[attr["method"] == "mg_iqa", "n_seeds"].item() == 2
    md = attribute_markdown(attr, {"bid": "BID"})
    assert "BID: sharpness" in md


def test_tables_command_writes_everything(results, monkeypatch):
    from mgiqa.commands import tables as command

    root, config, *_ = results
    cfg = load_config(root / "config.yaml")
    cfg["evaluation"]["reported_rows"] = True
    # a released checkpoint evaluated under VisualQuality-R1's protocol: native resolution, every image
    cfg["model"]["resolution"] = "native"
    cfg["evaluation"]["external"] = [{"name": "vq_r1", "local_path": str(root / "ckpt"), "prompt": "overall",
                                      "train": ["kadid10k"], "splits": "all", "readout": "text"}]  # fmt: skip
    results_dir = Path(cfg["paths"]["results"])
    for kind in ("metrics", "predictions"):
        shutil.copytree(results_dir / kind / "rl2r" / "seed0", results_dir / kind / "vq_r1" / "seed0")
    write_yaml(root / "config_reported.yaml", cfg)
    monkeypatch.setattr(command, "benchmark_names", lambda c: {"bid": "BID", "liu13": "Liu13"})
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = root / "tables"
    assert (
        command.run(
            parser.parse_args(["--config", str(root / "config_reported.yaml"), "--out-dir", str(out)])
        )
        == 0
    )
    for name in ("main", "ablations", "attributes", "significance"):
        assert (out / f"{name}.csv").stat().st_size > 0 and (out / f"{name}.md").stat().st_size > 0
    main = pd.read_csv(out / "main.csv")
    assert list(main.loc[main["source"] == "reported", "method"]) == ["VisualQuality-R1"]
    assert list(main["method"]).index("VisualQuality-R1") == list(main["method"]).index("vq_r1") + 1
    md = (out / "main.md").read_text()
    assert "### Measured" in md and "VisualQuality-R1 (reported; protocol of vq_r1)" in md and "| BID" in md
    assert "### Protocols" in md
    assert json.loads(json.dumps(main.to_dict()))  # plain values


def test_display_names():
    assert tables.display_name("demo_bid", {"title": "Demo BID (blur-dominated photographs)"}) == "BID (demo)"
    assert tables.display_name("bid", {"title": "BID (Blurred Image Database)"}) == "BID"
    assert tables.display_name("shrq") == "Min19"
    assert tables.display_name("kadid10k", {"title": "KADID-10k"}) == "KADID-10k"
    assert tables.display_name("other") == "other"
    assert tables.display_name("bid", {"title": "x", "short_name": "BID-586"}) == "BID-586"
