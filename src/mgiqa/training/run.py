"""One training run's lifecycle, shared by SFT and GRPO: work folder, fingerprint, resume, final output.

`start_run` prepares `<output>.work/` (wiped when the run's settings or inputs changed, see
`checkpoints.run_fingerprint`), drops checkpoints a kill left incomplete, and finds the one to resume from;
`train_and_finish` saves the final model with its logs and self-description into `output_dir` (all or nothing)
and removes the work folder.
Every process calls both; only the main process writes.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mgiqa.training.batch_log import BatchLog, batch_log_paths
from mgiqa.training.checkpoints import (
    finalize_output,
    latest_checkpoint,
    prepare_work_dir,
    run_fingerprint,
    work_dir_for,
)
from mgiqa.training.trainer_args import process_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    stage: str
    work: Path
    state: object  # accelerate's PartialState
    resume: Path | None

    @property
    def log_path(self) -> Path:
        return self.work / "train_log.csv"

    def batch_log(self) -> BatchLog:
        return BatchLog(self.work, self.state.process_index)


def start_run(
    config: dict,
    stage: str,
    output_dir: str | os.PathLike,
    settings: dict,
    sections: Sequence[str],
    inputs: Sequence[str | os.PathLike],
) -> Run:
    """Prepare the work folder of a run whose identity is `settings` + config `sections` + `inputs`."""
    check_inputs_outside_output(output_dir, inputs)
    work = work_dir_for(output_dir)
    settings = {"stage": stage, **settings, "config": {k: config[k] for k in sections}}
    state = process_state(config)  # before the trainer: see process_state
    if state.is_main_process:
        prepare_work_dir(work, run_fingerprint(settings, list(inputs)))
        resume = latest_checkpoint(work)  # and removes checkpoints a kill left incomplete or torn
    state.wait_for_everyone()
    if not state.is_main_process:  # after the main process removed the unusable ones
        resume = latest_checkpoint(work, remove_unusable=False)
    if resume is not None:
        log.info("resuming %s from %s", stage, resume)
    return Run(stage, work, state, resume)


def check_inputs_outside_output(output_dir: str | os.PathLike, inputs: Sequence[str | os.PathLike]) -> None:
    """Refuse a run whose output directory holds one of its inputs: the finished model replaces that directory."""
    output = Path(output_dir).resolve()
    for path in inputs:
        resolved = Path(path).resolve()
        if resolved == output or output in resolved.parents:
            raise ValueError(
                f"input {path} lies inside the output directory {output_dir}, which the run replaces with the "
                "trained model: write the model to another directory"
            )


def train_and_finish(
    run: Run,
    trainer,
    processor,
    output_dir: str | os.PathLike,
    *,
    merge_lora=False,
    describe: Callable[[Path, int], object] | None = None,
) -> dict:
    """Train (from `run.resume` if any), save the final model with the step and batch logs, clean up.

    `describe(folder, steps)` writes the model's `mgiqa_model.json` and card into the folder being saved
    (which already holds `train_log.csv`), as part of the atomic save; main process only.
    """
    trainer.train(resume_from_checkpoint=str(run.resume) if run.resume else None)
    finalize_output(
        trainer,
        processor,
        output_dir,
        merge_lora=merge_lora,
        extra_files=(run.log_path, *batch_log_paths(run.work, run.state.num_processes)),
        describe=None if describe is None else lambda folder: describe(folder, trainer.state.global_step),
    )
    if run.state.is_main_process:
        shutil.rmtree(run.work)
    return {"output": Path(output_dir), "resumed_from": run.resume, "global_step": trainer.state.global_step}
