"""Demo only: teach the tiny base model to see, on a task disjoint from the benchmarks.

The task (`pretrain_data`): name the distortion an image carries and its level. Quality scores are never
shown, so the later SFT / GRPO stages start from a model whose visual features carry distortion information but
that has never seen a quality label. A plain torch loop (AdamW, linear warmup, cosine decay, loss on the answer
tokens only) keeps it deterministic and cheap. Three things make the from-scratch ViT learn in minutes instead
of tens of minutes (measured on the demo set, see `pretrain_eval`): the patch embedding starts as a PCA
whitening of the images' patches, a throwaway linear head on the pooled visual tokens classifies type and level
(a short gradient path into the vision tower; optionally alone for the first `vision_steps`), and random
flips / transposes of the images.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mgiqa.errors import ConfigError, DataIntegrityError
from mgiqa.model.pretrain_data import (
    TASKS,
    EncodedExamples,
    class_labels,
    load_pretrain_table,
    task_examples,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PretrainSettings:
    steps: int
    batch_size: int = 16
    learning_rate: float = 1e-3
    warmup_steps: int = 50
    weight_decay: float = 0.01
    min_lr_ratio: float = 0.1
    max_grad_norm: float = 1.0
    augment: bool = True
    aux_weight: float = 1.0
    whiten_patches: bool = True
    vision_steps: int = 0
    tasks: tuple[str, ...] = ("distortion",)

    @property
    def total_steps(self) -> int:
        return self.vision_steps + self.steps

    @classmethod
    def from_config(cls, config: dict) -> PretrainSettings:
        section = dict(config["pretrain"])
        known = set(cls.__dataclass_fields__)
        unknown = set(section) - known
        if unknown:
            raise ConfigError(f"pretrain: unknown keys {sorted(unknown)}")
        if "tasks" in section:
            section["tasks"] = tuple(section["tasks"])
            bad = [t for t in section["tasks"] if t not in TASKS]
            if bad or not section["tasks"]:
                raise ConfigError(f"pretrain.tasks: {bad or 'empty'}; known tasks: {list(TASKS)}")
        return cls(**section)

    def lr_at(self, step: int) -> float:
        """Learning rate at `step` (0-based): linear warmup, then cosine down to min_lr_ratio x peak."""
        if step < self.warmup_steps:
            return self.learning_rate * (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.learning_rate * (self.min_lr_ratio + (1 - self.min_lr_ratio) * cosine)


def whiten_patch_embedding(model, data: EncodedExamples, max_images: int = 256) -> None:
    """Data-dependent init of the ViT patch embedding: PCA whitening of the pretraining images' patches.

    Row k of the embedding becomes principal component c_k / sqrt(eigenvalue): half the rows the leading
    components, half spread geometrically over the rest of the spectrum, so the fine-scale (high-frequency)
    components where blur, noise and compression show are present at unit variance from the first step
    (the whitened first-layer init of fast small-data training). Uses images only, never labels."""
    import torch

    proj = model.model.visual.patch_embed.proj.weight
    dim = proj.shape[0]
    with torch.no_grad():
        index = torch.linspace(0, len(data) - 1, min(len(data), max_images)).long()
        patches = data.pixels(index)["pixel_values"].double()
        patches = patches - patches.mean(0)
        eigval, eigvec = torch.linalg.eigh(patches.T @ patches / len(patches))
        eigval, eigvec = eigval.flip(0), eigvec.flip(1)
        rank = int((eigval > eigval[0] * 1e-6).sum())
        if rank < dim:
            raise DataIntegrityError(
                f"patch whitening needs {dim} independent patch components, the images give {rank}"
            )
        spread = np.geomspace(dim // 2, rank - 1, dim - dim // 2).round().astype(int)
        components = list(dict.fromkeys([*range(dim // 2), *spread.tolist()]))
        components += [c for c in range(rank) if c not in set(components)][: dim - len(components)]
        weight = (eigvec[:, components] / eigval[components].sqrt()).T
        proj.copy_(weight.reshape(proj.shape).to(proj.dtype))


def _aux_loss(head, merged, type_ids, level_ids, n_types: int):
    """Cross-entropy of the throwaway head on the mean-pooled merged visual tokens: type, and level if any."""
    import torch.nn.functional as F

    logits = head(merged.view(len(type_ids), -1, head.in_features).mean(1))
    loss = F.cross_entropy(logits[:, :n_types], type_ids)
    if (level_ids >= 0).any():
        loss = loss + F.cross_entropy(logits[:, n_types:], level_ids, ignore_index=-100)
    return loss


def train_steps(model, data: EncodedExamples, settings: PretrainSettings, seed: int, aux=None) -> list[dict]:
    """Run the optimisation; return one log row per step (step, loss, lr, seconds).

    With `aux = (type_ids, level_ids, n_types)` and `settings.aux_weight > 0`, a throwaway linear head on the
    mean-pooled visual tokens also classifies distortion type and level: a short gradient path that teaches
    the vision tower first (the head is not part of the saved model)."""
    import torch

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    params = list(model.named_parameters())
    head, captured = None, {}
    if settings.vision_steps and (aux is None or settings.aux_weight <= 0):
        raise ConfigError("pretrain.vision_steps needs the auxiliary head (pretrain.aux_weight > 0)")
    type_ids = level_ids = n_types = None
    if aux is not None and settings.aux_weight > 0:
        type_ids, level_ids, n_types = aux
        head = torch.nn.Linear(model.config.text_config.hidden_size, n_types + 9)
        params += [(f"aux_head.{n}", p) for n, p in head.named_parameters()]
        model.model.visual.merger.register_forward_hook(
            lambda _m, _i, out: captured.__setitem__("visual", out)
        )
    decay = [p for n, p in params if p.ndim >= 2 and "embed" not in n]
    no_decay = [p for n, p in params if p.ndim < 2 or "embed" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.learning_rate,
        betas=(0.9, 0.98),
    )
    model.train()
    rows, order, cursor, start = [], torch.randperm(len(data), generator=generator), 0, time.perf_counter()
    for step in range(settings.total_steps):
        if cursor + settings.batch_size > len(order):
            order, cursor = torch.randperm(len(data), generator=generator), 0
        index = order[cursor : cursor + settings.batch_size]
        cursor += settings.batch_size
        lr = settings.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        augment = generator if settings.augment else None
        if step < settings.vision_steps:  # phase 1: the vision tower and the head only
            pixels = data.pixels(index, augment)
            model.model.visual(pixels["pixel_values"], grid_thw=pixels["image_grid_thw"])
            lm_loss = torch.tensor(float("nan"))
            loss = aux_loss = _aux_loss(
                head, captured.pop("visual"), type_ids[index], level_ids[index], n_types
            )
        else:
            loss = lm_loss = model(**data.batch(index, augment)).loss
            aux_loss = torch.tensor(float("nan"))
            if head is not None:
                aux_loss = _aux_loss(head, captured.pop("visual"), type_ids[index], level_ids[index], n_types)
                loss = lm_loss + settings.aux_weight * aux_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], settings.max_grad_norm)
        optimizer.step()
        seconds = time.perf_counter() - start
        rows.append(
            {
                "step": step + 1,
                "loss": lm_loss.item(),
                "aux_loss": aux_loss.item(),
                "lr": lr,
                "seconds": seconds,
            }
        )
        if (step + 1) % 50 == 0:
            last = rows[-1]
            log.info("pretrain step %d/%d: lm loss %.4f, aux loss %.4f", *(step + 1, settings.total_steps),
                     last["loss"], last["aux_loss"])  # fmt: skip
    model.eval()
    return rows


def pretrain(
    model_dir: str | os.PathLike,
    table: str | os.PathLike,
    config: dict,
    out_dir: str | os.PathLike,
    describe: Callable[[Path, dict], object] | None = None,
) -> dict:
    """Pretrain `model_dir` on `table`; save model + processor + logs to `out_dir`; return the evaluation.
    `describe(folder, evaluation)` writes the model's self-description into the folder being saved, before it
    is renamed into place (`mgiqa.model.stage_info.record_pretrain`)."""
    from mgiqa.config import derive_seed
    from mgiqa.io import write_json, write_table
    from mgiqa.model.loading import atomic_dir, load_model, load_processor
    from mgiqa.model.pretrain_eval import feature_probe, generation_accuracy, rating_accuracy
    from mgiqa.model.tiny import patch_embedding

    if config["model"]["source"] != "tiny":
        raise ConfigError("pretrain: only the tiny demo model is pretrained (model.source is not tiny)")
    settings = PretrainSettings.from_config(config)
    if settings.whiten_patches and patch_embedding(config) == "dct":
        raise ConfigError(
            "pretrain.whiten_patches would overwrite the DCT patch embedding of model.tiny.patch_embedding: dct "
            "(set one of them)"
        )
    image_size = int(config["model"]["image_size"])
    df = load_pretrain_table(table)
    train, held_out = df[df["split"] == "train"], df[df["split"] != "train"]
    if held_out.empty:
        raise DataIntegrityError(f"{table}: no held-out rows (split != train) to evaluate the pretraining on")
    model = load_model(model_dir, config["model"]["dtype"])
    processor = load_processor(model_dir, image_size)
    examples = task_examples(train, settings.tasks)
    data = EncodedExamples(
        processor, list(examples["path"]), list(examples["target"]), image_size, list(examples["task"])
    )
    log.info(
        "pretraining on %d images x tasks %s (%d held out), %d steps",
        *(len(train), list(settings.tasks), len(held_out), settings.total_steps),
    )
    images = EncodedExamples(processor, list(train["path"]), list(train["target"]), image_size)
    test = EncodedExamples(processor, list(held_out["path"]), list(held_out["target"]), image_size)
    if settings.whiten_patches:
        whiten_patch_embedding(model, images)
    probe_init = feature_probe(model, images, test, train, held_out)
    type_ids, level_ids, n_types = class_labels(train)  # examples are task-major: tile once per task
    aux = (type_ids.repeat(len(settings.tasks)), level_ids.repeat(len(settings.tasks)), n_types)
    rows = train_steps(model, data, settings, derive_seed(config, "pretrain"), aux)
    evaluation = {"n_train": len(train), "n_held_out": len(held_out), "steps": settings.steps}
    evaluation |= {"vision_steps": settings.vision_steps, "tasks": list(settings.tasks)}
    log.info("pretraining took %.1f s", rows[-1]["seconds"] if rows else 0.0)  # timings stay out of the model
    probe = feature_probe(model, images, test, train, held_out)
    evaluation |= {f"probe_{k}_srcc_init": v for k, v in probe_init.items()}
    evaluation |= {f"probe_{k}_srcc": v for k, v in probe.items()}
    if "distortion" in settings.tasks:
        evaluation |= generation_accuracy(model, processor, held_out, image_size)
    for task in settings.tasks:
        if task != "distortion":
            evaluation |= rating_accuracy(model, processor, held_out, image_size, task)
    log.info("pretrain evaluation (held out): %s", evaluation)
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        processor.save_pretrained(tmp)
        write_table(
            Path(tmp) / "train_log.csv",
            pd.DataFrame(rows, columns=["step", "loss", "aux_loss", "lr"]),
        )
        write_json(Path(tmp) / "pretrain_eval.json", evaluation)
        if describe is not None:
            describe(Path(tmp), evaluation)
    return evaluation
