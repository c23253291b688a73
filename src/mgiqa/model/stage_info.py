"""The `mgiqa_model.json` (and model card) each stage writes into the model folder it saved.

One function per stage, called by its command (`mgiqa.commands.*`): `record_base` (build-model) on the
folder being built, copied or downloaded; `record_pretrain` by `mgiqa.model.pretrain.pretrain` on the folder
being saved;
`describe_sft` and `describe_grpo` give the trainer a writer that it calls on the folder being saved, before
that folder is renamed into place, so that a trained model never appears without its description
(`mgiqa.training.checkpoints.finalize_output`: main process only).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from mgiqa.model import Resolution
from mgiqa.model.model_info import ModelInfo, info_from_config, read_model_info, write_model_info

log = logging.getLogger(__name__)


def _parent_base_model(parent: str | os.PathLike) -> str | None:
    info = read_model_info(parent)
    return info.provenance.base_model if info is not None else None


def _training_datasets(config: dict, tables: Sequence[str | os.PathLike], train) -> tuple[str, ...]:
    from mgiqa.training.datasets import read_prepared_tables, training_datasets

    return tuple(training_datasets(read_prepared_tables(tables), train, config))


def record_base(config: dict, out_dir: str | os.PathLike) -> Path | None:
    """The base model's info: a built tiny model is fixed to its square size; a Hub or local model to
    nothing (it is used at the config's resolution). A Hub or local mgiqa model that came with its own
    info (a pushed or copied one) keeps it, and gets the card written from it."""
    from mgiqa.model.model_card import write_model_card

    model = config["model"]
    source = model["source"]
    if source != "tiny" and (own := read_model_info(out_dir)) is not None:
        log.info("%s: keeps the mgiqa_model.json it came with (%s stage)", out_dir, own.provenance.stage)
        write_model_card(out_dir, own)
        return None
    fixed, resolution, parent, base = (), None, None, None
    if source == "tiny":
        fixed, resolution = ("resolution",), Resolution("square", int(model["image_size"]))
    elif source == "hub":
        base = model["hub_id"]
        parent = f"{model['hub_id']}@{model['revision']}"
    else:
        parent = str(model.get("local_path"))
    info = info_from_config(
        config,
        "base",
        prompt=None,
        fixed=fixed,
        recipe_sections=("model",),
        seed=int(config["seed"]) if source == "tiny" else None,
        parent_model=parent,
        base_model=base,
        resolution=resolution,
    )
    return write_model_info(out_dir, info)


def record_pretrain(
    config: dict, parent: str | os.PathLike, table: str | os.PathLike, out_dir, evaluation: dict
) -> Path:
    """The pretrained demo model: square at model.image_size, as pretraining saw its images."""
    from mgiqa.config import derive_seed

    pretrain = config["pretrain"]
    info = info_from_config(
        config,
        "pretrain",
        prompt=None,
        fixed=("resolution",),
        recipe_sections=("pretrain",),
        datasets=(Path(table).stem,),
        steps=int(pretrain["steps"]) + int(pretrain["vision_steps"]),
        seed=derive_seed(config, "pretrain"),
        parent_model=parent,
        base_model=_parent_base_model(parent),
        resolution=Resolution("square", int(config["model"]["image_size"])),
    )
    return write_model_info(out_dir, info, evaluation)


def _trained(config, stage: str, prompt: str, parent, datasets, steps: int, seed: int, recipe, extra=None):
    return info_from_config(
        config,
        stage,
        prompt=prompt,
        fixed=("prompt", "resolution"),
        recipe_sections=recipe,
        datasets=datasets,
        steps=int(steps),
        seed=seed,
        parent_model=parent,
        base_model=_parent_base_model(parent),
        recipe_extra=extra,
    )


Describe = Callable[[Path, int], Path]  # (folder being saved, optimizer steps) -> its mgiqa_model.json


def describe_sft(config: dict, prompt: str, seed: int, parent, tables) -> Describe:
    """The SFT model's writer: fixed to its prompt kind and the config's resolution. SFT measures nothing
    held out (its log has training loss and token accuracy only), so its card has no evaluation."""

    def describe(folder: Path, steps: int) -> Path:
        datasets = _training_datasets(config, tables, "all")
        info: ModelInfo = _trained(config, "sft", prompt, parent, datasets, steps, seed, ("sft",))
        return write_model_info(folder, info)

    return describe


def describe_grpo(config: dict, ablation: str, seed: int, parent, tables) -> Describe:
    """The writer of one ablation's GRPO model; its evaluation is the held-out probe's last measurement, read
    from the `train_log.csv` already in the folder (none when `grpo.probe` is off)."""
    from mgiqa.config import ablation as ablation_spec

    spec = ablation_spec(config, ablation)

    def describe(folder: Path, steps: int) -> Path:
        from mgiqa.training.datasets import read_prepared_tables, training_datasets

        table = read_prepared_tables(tables)
        datasets = training_datasets(table, spec["train"], config)
        recipe = ("grpo", "reward", "batches")
        extra = {"ablation": {ablation: spec}}
        info = _trained(config, "grpo", spec["prompt"], parent, tuple(datasets), steps, seed, recipe, extra)
        return write_model_info(folder, info, grpo_evaluation(config, folder, table, datasets))

    return describe


def grpo_evaluation(config: dict, folder: Path, table, datasets: Sequence[str]) -> dict | None:
    """The held-out probe's last SRCC (and parse rate, step, images) from `folder`'s `train_log.csv`, or None."""
    import pandas as pd

    from mgiqa.training.probe import probe_evaluation, probe_rows, probe_settings

    settings = probe_settings(config)
    log_path = Path(folder) / "train_log.csv"
    if settings is None or not log_path.is_file():
        return None
    evaluation = probe_evaluation(pd.read_csv(log_path))
    if not evaluation:
        return None
    return evaluation | {"n_held_out": len(probe_rows(table, list(datasets), settings.images))}
