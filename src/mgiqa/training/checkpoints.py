"""Resumable training runs: a work dir beside the output, the latest complete checkpoint, atomic final save.

Layout for an output `models/grpo/mg_iqa/seed0/`:

- `models/grpo/mg_iqa/.seed0.work/` the Trainer's `output_dir`: `checkpoint-N/` (safetensors, optimizer,
  RNG, `trainer_state.json`), `train_log.csv`, `run.json` (the run's fingerprint). It lives outside the
  output because Snakemake deletes a rule's output directory before it reruns the rule.
- `models/grpo/mg_iqa/seed0/` written once, at the end, by renaming a fully written temp dir into place:
  model (safetensors) + processor + `train_log.csv` + the model's self-description (`mgiqa_model.json` and
  the card `README.md`, see `mgiqa.model.stage_info`). The work dir is then deleted.

A killed run restarts from its latest complete checkpoint (one with `trainer_state.json`, which the Trainer
writes last). A work dir whose fingerprint differs (other config, inputs or seed) is stale and is wiped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from mgiqa.io import write_json

log = logging.getLogger(__name__)

FINGERPRINT_FILE = "run.json"
TRAINER_STATE = "trainer_state.json"
CHECKPOINT_PREFIX = "checkpoint-"


def work_dir_for(output_dir: str | os.PathLike) -> Path:
    output_dir = Path(output_dir)
    return output_dir.parent / f".{output_dir.name}.work"


def file_identity(path: str | os.PathLike) -> list:
    """(path, size, mtime_ns) of a file, or of every file under a directory, sorted."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    out = []
    for f in files:
        st = f.stat()
        out.append([str(f), st.st_size, st.st_mtime_ns])
    return out


def run_fingerprint(settings: dict, inputs: list[str | os.PathLike]) -> str:
    """sha256 of the run's settings and the identity of its input files."""
    payload = {"settings": settings, "inputs": [file_identity(p) for p in inputs]}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def prepare_work_dir(work_dir: str | os.PathLike, fingerprint: str) -> Path:
    """Create `work_dir`, wiping it first if it belongs to a different run. Main process only."""
    work_dir = Path(work_dir)
    marker = work_dir / FINGERPRINT_FILE
    if work_dir.exists():
        previous = (
            json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") if marker.is_file() else None
        )
        if previous != fingerprint:
            log.warning("%s: left by a different run (settings or inputs changed); starting afresh", work_dir)
            shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        write_json(marker, {"fingerprint": fingerprint})
    return work_dir


def checkpoint_step(path: Path) -> int | None:
    name = path.name
    if not name.startswith(CHECKPOINT_PREFIX):
        return None
    suffix = name[len(CHECKPOINT_PREFIX) :]
    return int(suffix) if suffix.isdigit() else None


def latest_checkpoint(work_dir: str | os.PathLike, *, remove_unusable: bool = True) -> Path | None:
    """The highest-step complete and readable `checkpoint-N` in `work_dir`, or None.

    Incomplete ones (killed while saving: no trainer_state.json) and unreadable ones (a torn or refused file,
    see `resume.unreadable_reason`) are skipped with a warning and, with `remove_unusable` (the main
    process), removed, so that the Trainer's checkpoint rotation never counts them. When checkpoints exist
    but none is usable, the run starts over and says so.
    """
    from mgiqa.training.resume import unreadable_reason

    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return None
    candidates = []
    for path in work_dir.iterdir():
        step = checkpoint_step(path)
        if step is not None and path.is_dir():
            candidates.append((step, path))
    for _, path in sorted(candidates, reverse=True):
        if (path / TRAINER_STATE).is_file():
            reason = unreadable_reason(path)
            if reason is None:
                return path
            problem = f"unreadable checkpoint ({reason})"
        else:
            problem = f"incomplete checkpoint (no {TRAINER_STATE})"
        if remove_unusable:
            log.warning("%s: %s; skipping and removing it", path, problem)
            shutil.rmtree(path)
    if candidates and remove_unusable:
        log.warning("%s: no usable checkpoint left; training starts over from the first step", work_dir)
    return None


def finalize_output(
    trainer,
    processor,
    output_dir: str | os.PathLike,
    *,
    merge_lora: bool = False,
    extra_files: tuple[str | os.PathLike, ...] = (),
    describe: Callable[[Path], object] | None = None,
) -> Path:
    """Save the trained model + processor (+ `extra_files`) into `output_dir`, all or nothing.

    Every process must call this (ZeRO-3 / FSDP gather the weights in `trainer.save_model`); only the main
    process writes. The temp dir has a fixed name so that all ranks agree on it. `merge_lora` merges a PEFT
    adapter into the base weights, so downstream stages load a plain model. `describe(temp_dir)`, called on
    the main process once everything else is in the temp dir, writes the model's `mgiqa_model.json` and card
    there, so that no finished-looking `output_dir` ever lacks them.
    """
    output_dir = Path(output_dir)
    tmp = output_dir.parent / f".{output_dir.name}.saving"
    accelerator = trainer.accelerator
    if accelerator.is_main_process:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    if merge_lora:
        # not merge_and_unload() on the live model: under ZeRO-3 its parameters are empty shards. Every rank
        # saves the adapter (gathered), then the main process merges the saved files (training.lora_merge).
        from mgiqa.training.lora_merge import merge_saved_adapter

        adapter = output_dir.parent / f".{output_dir.name}.adapter"
        trainer.save_model(str(adapter))
        if accelerator.is_main_process:
            merge_saved_adapter(adapter, tmp)
            shutil.rmtree(adapter)
    else:
        trainer.save_model(str(tmp))
    if accelerator.is_main_process:
        processor.save_pretrained(tmp)
        (tmp / "training_args.bin").unlink(missing_ok=True)  # a pickle of the Trainer args; not a model file
        for f in extra_files:
            shutil.copy2(f, tmp / Path(f).name)
        if describe is not None:
            describe(tmp)
        _replace_dir(tmp, output_dir)
    accelerator.wait_for_everyone()
    return output_dir


def _replace_dir(src: Path, dst: Path) -> None:
    old = None
    if dst.exists():
        old = dst.parent / f".{dst.name}.old"
        if old.exists():
            shutil.rmtree(old)
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old)
