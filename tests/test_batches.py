"""The GRPO batch plan: seeded, one comparison scope per batch, MOS spread, reports; and `mgiqa batch-plan`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mgiqa.data.batches import PLAN_COLUMNS, batches_per_pass, build_batch_plan
from mgiqa.errors import DataIntegrityError

SHARED = Path(__file__).resolve().parents[2] / "shared"


def make_table(n_per: dict[tuple[str, str, str], int], seed: int = 0) -> pd.DataFrame:
    """Rows for (dataset, domain, group) -> n images with uniform MOS."""
    rng = np.random.default_rng(seed)
    frames = []
    for (dataset, domain, group), n in n_per.items():
        frames.append(
            pd.DataFrame(
                {
                    "image": [f"{group}/{i}.png" for i in range(n)],
                    "dataset": dataset,
                    "domain": domain,
                    "group": group,
                    "mos": rng.uniform(1, 5, n),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


TABLE = make_table(
    {
        ("syn", "synthetic", "syn"): 45,
        ("auth", "authentic", "auth"): 30,
        ("auth2", "authentic", "auth2"): 20,
        ("rest", "restoration", "r1"): 9,
        ("rest", "restoration", "r2"): 9,
        ("rest", "restoration", "r3"): 5,
    }
)


def test_plan_layout_and_one_pass():
    plan = build_batch_plan(TABLE, 4, scope="group", seed=1)
    assert list(plan.columns) == PLAN_COLUMNS
    report = plan.attrs["report"]
    # 45//4 + 30//4 + 20//4 + 9//4 + 9//4 + 5//4 = 11 + 7 + 5 + 2 + 2 + 1
    assert report["n_batches"] == 28 == batches_per_pass(TABLE, 4, "group")
    assert report["images_left_out_per_pass"] == 1 + 2 + 0 + 1 + 1 + 1
    assert len(plan) == 28 * 4
    assert (plan.groupby("batch")["position"].apply(list) == [list(range(4))] * 28).all()
    assert not plan.duplicated(["dataset", "image"]).any()  # one pass: every image at most once


def test_plan_is_seeded():
    a = build_batch_plan(TABLE, 4, seed=5)
    assert a.equals(build_batch_plan(TABLE, 4, seed=5))
    assert not a.equals(build_batch_plan(TABLE, 4, seed=6))


@pytest.mark.parametrize(
    "scope, key",
    [("group", ["dataset", "group"]), ("dataset", ["dataset"]), ("domain", ["domain"])],
)
def test_every_batch_comes_from_one_scope_unit(scope, key):
    plan = build_batch_plan(TABLE, 4, scope=scope, seed=2)
    assert (plan.groupby("batch")[key].nunique() == 1).all().all()


def test_mixed_scope_ignores_domains_and_scope_choice_changes_partners():
    plan = build_batch_plan(TABLE, 4, scope="mixed", seed=2)
    assert plan.attrs["report"]["scope_units"] == 1
    assert (plan.groupby("batch")["domain"].nunique() > 1).any()
    dataset_scope = build_batch_plan(TABLE, 4, scope="dataset", seed=2)
    # the restoration dataset's batches mix reference groups: the report counts images without a partner
    assert dataset_scope.attrs["report"]["images_without_group_partner"] > 0
    assert (
        build_batch_plan(TABLE, 4, scope="group", seed=2).attrs["report"]["images_without_group_partner"] == 0
    )


def test_batches_span_the_mos_range():
    table = make_table({("d", "synthetic", "d"): 400}, seed=3)
    plan = build_batch_plan(table, 8, min_mos_spread=2.0, seed=3)
    spreads = plan.groupby("batch")["mos"].agg(lambda m: m.max() - m.min())
    assert (spreads >= 2.0).all() and plan.attrs["report"]["batches_below_spread"] == 0
    assert plan.attrs["report"]["min_batch_spread"] == pytest.approx(spreads.min())


@pytest.mark.parametrize("seed", range(8))
def test_narrow_strata_are_repaired_by_sorted_pairing(seed):
    # strata {1.0, 1.1} and {1.55, 2.0}: pairing 1.1 with 1.55 (spread 0.45) fails, the sorted pairing works
    table = pd.DataFrame(
        {"image": list("abcd"), "dataset": "d", "domain": "x", "group": "d", "mos": [1.0, 1.1, 1.55, 2.0]}
    )
    plan = build_batch_plan(table, 2, min_mos_spread=0.5, seed=seed)
    assert plan.attrs["report"]["batches_below_spread"] == 0
    spreads = plan.groupby("batch")["mos"].agg(lambda m: m.max() - m.min())
    assert sorted(np.round(spreads, 2)) == [0.55, 0.9]


def test_unreachable_spread_is_reported_not_retried():
    table = make_table({("d", "synthetic", "d"): 64})
    table["mos"] = 3.0
    start = time.perf_counter()
    plan = build_batch_plan(table, 8, min_mos_spread=0.5, num_batches=40, seed=0)
    assert time.perf_counter() - start < 1.0
    assert plan.attrs["report"]["batches_below_spread"] == 40 and plan.attrs["report"]["n_batches"] == 40


def test_num_batches_repeats_passes_with_fresh_shuffles():
    plan = build_batch_plan(TABLE, 4, num_batches=70, seed=4)
    report = plan.attrs["report"]
    assert report["n_batches"] == 70 and report["n_passes"] == 3 and plan["batch"].max() == 69
    first, second = plan[plan["batch"] < 28], plan[(plan["batch"] >= 28) & (plan["batch"] < 56)]
    assert not first.duplicated(["dataset", "image"]).any()
    members = lambda part: set(part.groupby("batch")["image"].apply(frozenset))  # noqa: E731
    assert members(first) != members(second)


def test_units_smaller_than_a_batch_are_reported_and_skipped():
    plan = build_batch_plan(TABLE, 6, seed=0)
    report = plan.attrs["report"]
    assert report["units_too_small"] == {"rest/r3": 5}
    assert "r3" not in set(plan["group"])
    with pytest.raises(DataIntegrityError, match="no group unit has 50 images"):
        build_batch_plan(TABLE, 50)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.drop(columns="domain"), "missing columns"),
        (lambda t: t.assign(mos=t["mos"].where(t.index != 3)), "row 3: mos"),
        (lambda t: pd.concat([t, t.iloc[[7]]], ignore_index=True), "repeats"),
        (lambda t: t.assign(group=t["group"].where(t.index != 2)), "row 2: group is empty"),
    ],
)
def test_bad_tables_raise_naming_the_row(change, message):
    with pytest.raises(DataIntegrityError, match=message):
        build_batch_plan(change(TABLE), 4, source="t.csv")


def test_cli_scope_choices_match_the_library():
    from mgiqa.commands.batch_plan import SCOPE_CHOICES
    from mgiqa.data.batches import SCOPES

    assert SCOPE_CHOICES == SCOPES


def test_bad_arguments_raise():
    with pytest.raises(DataIntegrityError):
        build_batch_plan(TABLE, 4, scope="domains")
    with pytest.raises(DataIntegrityError):
        build_batch_plan(TABLE, 1)
    with pytest.raises(DataIntegrityError):
        build_batch_plan(TABLE, 4, num_batches=0)


def test_large_tables_are_fast():
    rng = np.random.default_rng(0)
    n = 100_000
    datasets = rng.choice(["a", "b", "c", "d"], n)
    table = pd.DataFrame(
        {"image": [f"{i}.png" for i in range(n)], "dataset": datasets, "domain": "x", "group": datasets}
    ).assign(mos=rng.uniform(1, 5, n))
    small = table.iloc[:10_000]
    timings = {}
    for name, t in (("10k", small), ("100k", table)):
        best = np.inf
        for _ in range(2):
            start = time.perf_counter()
            build_batch_plan(t, 8, seed=0)
            best = min(best, time.perf_counter() - start)
        timings[name] = best
    assert timings["10k"] < 0.5 and timings["100k"] < 1.0, timings


def test_plan_feeds_the_training_sampler():
    from mgiqa.training.sampler import plan_batch_indices

    plan = build_batch_plan(TABLE, 4, seed=0)
    keys = list(zip(TABLE["dataset"], TABLE["image"], strict=True))
    batches = plan_batch_indices(plan, keys)
    assert len(batches) == 28 and all(len(b) == 4 for b in batches)
    for batch in batches:
        assert TABLE.iloc[batch][["dataset", "group"]].drop_duplicates().shape[0] == 1


# ----------------------------------------------------------------------------- the CLI
def test_batch_plan_command(tmp_path, repo_root):
    from mgiqa.cli import main
    from mgiqa.config import derive_seed, load_config

    paths = []
    for dataset in ("syn", "auth"):
        part = TABLE[TABLE["dataset"] == dataset].assign(split="train")
        part.loc[part.index[:3], "split"] = "test"
        path = tmp_path / f"{dataset}.csv"
        part.to_csv(path, index=False)
        paths.append(str(path))
    out, report = tmp_path / "plan" / "group.csv", tmp_path / "plan" / "group.json"
    config = repo_root / "config" / "config.yaml"
    argv = ["batch-plan", "--config", str(config), "--tables", *paths, "--scope", "group", "-o", str(out)]
    assert main([*argv, "--report", str(report)]) == 0
    plan = pd.read_csv(out)
    info = json.loads(report.read_text())
    cfg = load_config(config)
    assert info["seed"] == derive_seed(cfg, "batch-plan", "group")
    assert info["images_per_batch"] == cfg["batches"]["images_per_batch"]
    assert info["n_batches"] == max(cfg["grpo"]["steps"], 42 // 8 + 27 // 8)
    assert set(plan["dataset"]) == {"syn", "auth"}
    test_images = set(TABLE.groupby("dataset").head(3)["image"])
    assert not set(plan["image"]) & test_images
    assert main([*argv, "--split", "val"]) == 2  # no rows of that split: a clean error


@pytest.mark.shared
def test_real_label_tables_plan_cleanly():
    root = SHARED / "mos_tables" / "visualquality-r1"
    kadid = root / "KADID-10K" / "KADID-10K_train_set.txt"
    liu13 = root / "test_data_label" / "Deblur_test_all.txt"
    if not kadid.is_file() or not liu13.is_file():
        pytest.skip(f"real label tables not available under {root}")
    k = pd.read_csv(kadid, sep=r"\s+", header=None, names=["ref", "image", "mos", "std"])
    k = k.assign(dataset="kadid10k", domain="synthetic", group="kadid10k")
    plan = build_batch_plan(k, 8, seed=0)
    assert (
        plan.attrs["report"]["batches_below_spread"] == 0 and plan.attrs["report"]["n_batches"] == 6125 // 8
    )
    d = pd.read_csv(liu13, sep=r"\s+", header=None, names=["ref", "image", "mos"])
    d = d.assign(dataset="liu13", domain="restoration", group=d["ref"])
    plan = build_batch_plan(d, 8, seed=0)
    assert plan.attrs["report"]["n_batches"] == 40 * 3
    assert (plan.groupby("batch")["group"].nunique() == 1).all()
