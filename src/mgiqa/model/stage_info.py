"""The `mgiqa_model.json` (and model card) each stage writes into the model folder it saved.

One function per stage, called once by its command after the model is in place (`mgiqa.commands.*`):
`record_base` (build-model), `record_pretrain`, `record_sft`, `record_grpo`. Only the main process of a
distributed run writes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
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
        parent = f"{model['hub_id']}@{model.get('revision', 'main')}"
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


def _trained(config, stage: str, prompt: str, parent, datasets, result: dict, seed: int, recipe, extra=None):
    return info_from_config(
        config,
        stage,
        prompt=prompt,
        fixed=("prompt", "resolution"),
        recipe_sections=recipe,
        datasets=datasets,
        steps=int(result["global_step"]),
        seed=seed,
        parent_model=parent,
        base_model=_parent_base_model(parent),
        recipe_extra=extra,
    )


def _is_main_process(config: dict) -> bool:
    from mgiqa.training.trainer_args import process_state

    return process_state(config).is_main_process


def record_sft(config: dict, prompt: str, seed: int, parent, tables, result: dict) -> Path | None:
    """The SFT model (`result`: train_sft's): fixed to its prompt kind and the config's resolution."""
    if not _is_main_process(config):
        return None
    datasets = _training_datasets(config, tables, "all")
    info: ModelInfo = _trained(config, "sft", prompt, parent, datasets, result, seed, ("sft",))
    return write_model_info(result["output"], info)


def record_grpo(config: dict, ablation: str, seed: int, parent, tables, result: dict) -> Path | None:
    """The GRPO model of one ablation (`result`: train_grpo's)."""
    from mgiqa.config import ablation as ablation_spec

    if not _is_main_process(config):
        return None
    spec = ablation_spec(config, ablation)
    datasets = _training_datasets(config, tables, spec["train"])
    recipe = ("grpo", "reward", "batches")
    extra = {"ablation": {ablation: spec}}
    info = _trained(config, "grpo", spec["prompt"], parent, datasets, result, seed, recipe, extra)
    return write_model_info(result["output"], info)
