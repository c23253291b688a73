"""The demo pretraining tasks and their data: prompts, answers, the checked table, encoded examples.

Tasks (config `pretrain.tasks`), each a prompt and an answer per pretraining image:
- `distortion`: name the distortion an image carries and its level ("distortion: gaussian blur, level 3", or
  "distortion: type 13, level 4" for numbered KADID-10k types), from the `distortion` / `distortion_level`
  columns.
- `attribute` / `overall`: the benchmarks' two rating prompts (mgiqa.prompts) answered in their response
  format with distortion SEVERITY scores, `6 - level` (5 when undistorted), for the overall score and for
  the attribute the distortion's family impairs (the table's attribute columns, which the KADID parser
  derives from type and level); attributes without a defect get 5. This is the instruction following a
  real base VLM brings: the zero-shot model answers in the format, from what it sees.
A MOS never appears in any of them.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pandas as pd

from mgiqa.errors import ConfigError, DataIntegrityError

PRETRAIN_PROMPT = "Which distortion does this image have, and how strong is it?"
NO_DISTORTION = "none"
TASKS = ("distortion", "attribute", "overall")


def pretrain_messages(task: str = "distortion") -> list[dict]:
    """The user turn of a pretraining task (the rating tasks use the benchmarks' prompts)."""
    from mgiqa.prompts import build_messages

    if task not in TASKS:
        raise ConfigError(f"pretrain.tasks: {task!r} is not one of {list(TASKS)}")
    if task != "distortion":
        return build_messages(task)
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PRETRAIN_PROMPT}]}]


def severity_labels(row) -> dict[str, float]:
    """Rating-task labels of one pretraining row: 6 - level overall, the row's attribute columns, else 5."""
    from mgiqa.evaluation.predictions import ATTRIBUTES

    level = row["distortion_level"]
    named = parse_target(row["target"])[1] is not None
    labels = {"overall": float(6 - int(level)) if named else 5.0}
    for attr in ATTRIBUTES:
        value = row.get(attr)
        labels[attr] = 5.0 if value is None or pd.isna(value) else float(value)
    return labels


def task_examples(df: pd.DataFrame, tasks) -> pd.DataFrame:
    """One row per (image, task), in task-major order, with `task` and that task's `target` answer."""
    from mgiqa.prompts import render_target

    frames = []
    for task in tasks:
        frame = df.copy()
        frame["task"] = task
        if task != "distortion":
            frame["target"] = [render_target(task, severity_labels(r)) for _, r in df.iterrows()]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def target_text(distortion, level) -> str:
    """The answer the model learns: `distortion: NAME, level L`, or `distortion: none`."""
    if distortion is None or (isinstance(distortion, float) and math.isnan(distortion)):
        return f"distortion: {NO_DISTORTION}"
    if isinstance(distortion, (int, np.integer)) or (
        isinstance(distortion, float) and distortion.is_integer()
    ):
        distortion = str(int(distortion))  # a type code that pandas read as a number
    name = str(distortion).strip().replace("_", " ")
    if not name or name == NO_DISTORTION:
        return f"distortion: {NO_DISTORTION}"
    if name.isdigit():  # a numbered type (KADID-10k: 01..25)
        name = f"type {int(name)}"
    return f"distortion: {name}, level {int(level)}"


def tokenizer_corpus() -> list[str]:
    """Pretraining text for the tokenizer corpus: the prompt and answers of every form."""
    answers = [target_text(f"{t:02d}", level) for t in range(1, 26) for level in range(1, 6)]
    return [PRETRAIN_PROMPT, target_text(None, None), *answers]


def parse_target(text: str) -> tuple[str | None, int | None]:
    """(distortion, level) from a generated answer; None for what is not there."""
    match = re.search(r"distortion:\s*(\w[\w ]*?)\s*(?:,\s*level\s*(\d))?\s*$", text.strip().lower())
    if not match:
        return None, None
    return match.group(1), int(match.group(2)) if match.group(2) else None


def load_pretrain_table(path: str | os.PathLike) -> pd.DataFrame:
    """The prepared pretraining table with `path`, `split`, `distortion`, `distortion_level` checked."""
    from mgiqa.io import read_table

    df = read_table(path)
    missing = [c for c in ("image", "path", "split", "distortion", "distortion_level") if c not in df.columns]
    if missing:
        raise DataIntegrityError(f"{path}: pretraining table lacks columns {missing}")
    named = df["distortion"].notna() & (df["distortion"].astype(str).str.strip() != NO_DISTORTION)
    bad = named & ~df["distortion_level"].between(1, 9)
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise DataIntegrityError(f"{path}:{line}: distortion_level must be 1..9 where a distortion is named")
    if not (df["split"] == "train").any():
        raise DataIntegrityError(f"{path}: no rows with split == train")
    df = df.copy()
    df["target"] = [
        target_text(d, lv) for d, lv in zip(df["distortion"], df["distortion_level"], strict=True)
    ]
    return df


class EncodedExamples:
    """Images (uint8) and the token ids / answer-only labels of a set of examples, encoded once.

    `batch(index, generator)` runs the image processor per batch; with a generator every image gets a random
    flip / transpose (the dihedral group keeps a spatially uniform distortion and its level unchanged).
    """

    def __init__(self, processor, paths, targets, image_size: int, tasks=None):
        import torch

        from mgiqa.model import prepare_image

        self.processor = processor
        tokenizer = processor.tokenizer
        tasks = list(tasks) if tasks is not None else ["distortion"] * len(paths)
        cache: dict[str, torch.Tensor] = {}  # an image shared by several tasks is loaded once
        for p in paths:
            if str(p) not in cache:
                cache[str(p)] = torch.from_numpy(np.array(prepare_image(p, image_size))).permute(2, 0, 1)
        self.images = torch.stack([cache[str(p)] for p in paths])
        prefixes = {}
        for task in dict.fromkeys(tasks):
            text = processor.apply_chat_template(
                pretrain_messages(task), tokenize=False, add_generation_prompt=True
            )
            enc = processor(text=[text], images=[self.images[0]], return_tensors="pt")
            self.grid = enc["image_grid_thw"][0]
            # mm_token_type_ids marks the image tokens: Qwen2.5-VL's get_rope_index gives them 3-D (M-RoPE)
            # positions only when it is passed, as the processor passes it in SFT, GRPO and generation.
            # Without it the image tokens get text positions: a model pretrained so sees its images at
            # other positions in every later stage (it kept writing past its answer, for one).
            prefixes[task] = (enc["input_ids"][0], enc["mm_token_type_ids"][0])
        answers = [tokenizer(t + "<|im_end|>", add_special_tokens=False)["input_ids"] for t in targets]
        width = max(len(prefixes[t][0]) + len(a) for t, a in zip(tasks, answers, strict=True))
        self.input_ids = torch.full((len(paths), width), tokenizer.pad_token_id, dtype=torch.long)
        self.mm_token_type_ids = torch.zeros((len(paths), width), dtype=torch.long)
        self.labels = torch.full((len(paths), width), -100, dtype=torch.long)
        self.attention_mask = torch.zeros((len(paths), width), dtype=torch.long)
        for i, (task, answer) in enumerate(zip(tasks, answers, strict=True)):
            prefix, token_types = prefixes[task]
            n_prefix = len(prefix)
            end = n_prefix + len(answer)
            self.input_ids[i, :n_prefix] = prefix
            self.mm_token_type_ids[i, :n_prefix] = token_types
            self.input_ids[i, n_prefix:end] = torch.tensor(answer)
            self.labels[i, n_prefix:end] = torch.tensor(answer)
            self.attention_mask[i, :end] = 1

    def __len__(self) -> int:
        return len(self.input_ids)

    def pixels(self, index, generator=None) -> dict:
        import torch

        images = self.images[index]
        if generator is not None:
            flips = torch.randint(0, 2, (len(index), 3), generator=generator).tolist()
            images = [_dihedral(image, *flip) for image, flip in zip(images, flips, strict=True)]
        out = self.processor.image_processor(images=list(images), return_tensors="pt")
        if not (out["image_grid_thw"] == self.grid).all():
            raise DataIntegrityError("pretraining images do not all give the same patch grid")
        return {"pixel_values": out["pixel_values"], "image_grid_thw": out["image_grid_thw"]}

    def batch(self, index, generator=None) -> dict:
        width = int(self.attention_mask[index].sum(1).max())
        return {
            "input_ids": self.input_ids[index, :width],
            "mm_token_type_ids": self.mm_token_type_ids[index, :width],
            "attention_mask": self.attention_mask[index, :width],
            "labels": self.labels[index, :width],
            **self.pixels(index, generator),
        }


def _dihedral(image, flip_h: int, flip_v: int, transpose: int):
    if flip_h:
        image = image.flip(-1)
    if flip_v:
        image = image.flip(-2)
    return image.transpose(-1, -2) if transpose else image


def class_labels(df: pd.DataFrame):
    """(distortion class index, level index or -100) per row, for the auxiliary visual head."""
    import torch

    names = [parse_target(t)[0] for t in df["target"]]
    classes = sorted(set(names))
    type_ids = torch.tensor([classes.index(n) for n in names], dtype=torch.long)
    levels = df["distortion_level"].fillna(0).astype(int).to_numpy()
    level_ids = torch.tensor(np.where(levels > 0, levels - 1, -100), dtype=torch.long)
    return type_ids, level_ids, len(classes)
