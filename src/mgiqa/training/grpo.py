"""GRPO with TRL's GRPOTrainer, the batch-plan sampler and the multi-dimensional Thurstone reward.

`PlanGRPOTrainer` changes one thing in TRL's trainer: the train sampler. Each process's generation batch
(per_device_train_batch_size x steps_per_generation = B x K rows) is one plan batch: B images of one
comparison scope, each repeated K = num_generations times. TRL calls the reward function once per
generation batch with all its B x K completions, so the pairwise fidelity reward compares the images of
that batch, and only those (RL2R: "pairs are formed inside one device's batch").

The reward is one TRL reward function (`mgiqa_total`, weight 1): the weighted multi-attribute fidelity plus
the weighted format reward, computed in a single pass; its components and the parse-failure rate are logged
through TRL's `log_metric` (see `mgiqa.training.reward_adapter`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from mgiqa.config import ablation, derive_seed
from mgiqa.errors import ConfigError
from mgiqa.io import read_table
from mgiqa.training import datasets as ds
from mgiqa.training.batch_log import BatchLog
from mgiqa.training.logging_callback import GRPO_COLUMNS, CsvLogCallback
from mgiqa.training.probe import HeldOutProbe, held_out_probe
from mgiqa.training.reward_adapter import reward_from_config
from mgiqa.training.run import start_run, train_and_finish
from mgiqa.training.sampler import (
    BatchPlanSampler,
    check_single_scale,
    plan_batch_indices,
    select_plan_batches,
)
from mgiqa.training.trainer_args import common_args, freeze_vision_tower, model_init_kwargs
from mgiqa.training.vllm_colocate import reseed_rollouts, vllm_args

log = logging.getLogger(__name__)

CONFIG_SECTIONS = ("model", "generation", "grpo", "batches", "reward")


def _trainer_class():
    from trl import GRPOTrainer

    from mgiqa.training.resume import ExactResumeMixin

    class PlanGRPOTrainer(ExactResumeMixin, GRPOTrainer):
        """GRPOTrainer whose generation batches are the batch plan's batches (one per process and step)."""

        def __init__(
            self,
            *args,
            plan_batches: list[list[int]],
            batch_log: BatchLog,
            probe: HeldOutProbe | None,
            **kwargs,
        ):
            self.plan_batches = plan_batches
            self.probe = probe
            super().__init__(*args, **kwargs)
            self.batch_log = batch_log
            self.add_callback(batch_log)
            images_per_batch = len(plan_batches[0])
            local = self.args.per_device_train_batch_size * self.args.steps_per_generation
            if local != images_per_batch * self.num_generations:
                raise ConfigError(
                    f"generation batch per process is {local} rows, but a plan batch gives "
                    f"{images_per_batch} images x {self.num_generations} generations"
                )

        def _get_train_sampler(self, dataset=None):
            return BatchPlanSampler(
                self.plan_batches,
                num_generations=self.num_generations,
                repeat_count=self.num_iterations * self.args.steps_per_generation,
                num_processes=self.accelerator.num_processes,
                seed=self.args.seed,
            )

        def log(self, logs, start_time=None):
            # a training step's log (not the end-of-training summary): add the held-out probe when it is due
            if (
                self.probe is not None
                and "loss" in logs
                and self.probe.due(self.state.global_step, self.args.max_steps)
            ):
                from trl.models import unwrap_model_for_generation

                with unwrap_model_for_generation(self.model_wrapped, self.accelerator) as model:
                    logs = {**logs, **self.probe.measure(model, self.processing_class)}
            return super().log(logs, start_time)

        def _generate_and_score_completions(self, inputs):
            # `inputs`: this process's generation batch (B x K rows), the rows the reward compares together
            if self.model.training:
                self.batch_log.record(self.state.global_step + 1, inputs)
            return super()._generate_and_score_completions(inputs)

    return PlanGRPOTrainer


def grpo_args(config: dict, work_dir: Path, seed: int):
    """TRL GRPOConfig from the config: one plan batch (B x K rows) per process per optimizer step."""
    from trl import GRPOConfig

    grpo = config["grpo"]
    k = int(grpo["num_generations"])
    b = int(config["batches"]["images_per_batch"])
    accumulation = int(grpo["gradient_accumulation_steps"])
    if (b * k) % accumulation:
        raise ConfigError(
            f"grpo.gradient_accumulation_steps={accumulation} must divide images_per_batch x num_generations = {b * k}"
        )
    return GRPOConfig(
        **common_args(config, work_dir, seed, grpo, accumulation),
        per_device_train_batch_size=b * k // accumulation,
        num_generations=k,
        max_completion_length=int(grpo.get("max_completion_length", config["generation"]["max_new_tokens"])),
        temperature=float(grpo["temperature"]),
        beta=float(grpo["beta"]),
        epsilon=float(grpo["epsilon"]),
        loss_type=grpo["loss_type"],
        scale_rewards="group",  # RL2R: (r - group mean) / (group std + 1e-4)
        num_iterations=1,
        model_init_kwargs=model_init_kwargs(config),
        **vllm_args(config),  # colocated engine: context and memory share (mgiqa.training.vllm_colocate)
        log_completions=bool(grpo["log_completions"]),
    )


def train_grpo(
    config: dict,
    ablation_name: str,
    seed: int,
    model_dir: str | os.PathLike,
    tables: Sequence[str | os.PathLike],
    batch_plan: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    callbacks: Sequence = (),
    describe: Callable[[Path, int], object] | None = None,
) -> dict:
    """Run (or resume) GRPO for one ablation and seed; write the final model to `output_dir`.

    `describe` (`mgiqa.model.stage_info.describe_grpo`) writes its `mgiqa_model.json` and card, within the save.
    """
    from transformers import set_seed

    from mgiqa.model import image_resolution
    from mgiqa.model.generate import require_vllm
    from mgiqa.model.loading import check_model_dir, load_processor

    spec = ablation(config, ablation_name)
    if config["compute"]["vllm"]:
        require_vllm()  # TRL would only fail after loading the model
    if not spec["grpo"]:
        raise ConfigError(f"ablations.{ablation_name}: grpo is false; its model is the SFT checkpoint")
    model_dir, output_dir, batch_plan = Path(model_dir), Path(output_dir), Path(batch_plan)
    check_model_dir(model_dir)
    prompt_kind = spec["prompt"]

    table = ds.read_prepared_tables(tables)
    datasets = ds.training_datasets(table, spec["train"], config)
    rows = ds.training_rows(table, datasets)
    plan = select_plan_batches(read_table(batch_plan), datasets, source=str(batch_plan))
    if spec["alignment"]:
        check_single_scale(plan, source=str(batch_plan))
    batches = plan_batch_indices(
        plan, list(zip(rows["dataset"], rows["image"], strict=True)), source=str(batch_plan)
    )
    expected = int(config["batches"]["images_per_batch"])
    if len(batches[0]) != expected:
        raise ConfigError(
            f"{batch_plan}: batches hold {len(batches[0])} images, batches.images_per_batch is {expected}"
        )
    image_size = image_resolution(config)  # model.resolution: square (image_size) or native pixel limits
    dataset = ds.build_dataset(rows, prompt_kind, image_size, with_target=False)
    reward = reward_from_config(config, spec)
    probe = held_out_probe(config, table, datasets, prompt_kind)

    run_seed = derive_seed(config, "grpo", ablation_name, seed)
    set_seed(run_seed)
    settings = {"ablation": spec, "seed": seed, "vllm": config["compute"]["vllm"]}
    run = start_run(config, "grpo", output_dir, settings, CONFIG_SECTIONS, [model_dir, *tables, batch_plan])

    processor = load_processor(model_dir, image_size)
    processor.tokenizer.padding_side = "left"
    trainer = _trainer_class()(
        model=str(model_dir),
        reward_funcs=[reward],
        args=grpo_args(config, run.work, run_seed),
        train_dataset=dataset,
        processing_class=processor,
        callbacks=[CsvLogCallback(run.log_path, GRPO_COLUMNS), *callbacks],
        plan_batches=batches,
        batch_log=run.batch_log(),
        probe=probe,
    )
    reseed_rollouts(config, ablation_name, seed, trainer.accelerator.process_index)  # after the engine starts
    if frozen := freeze_vision_tower(trainer.model, config["grpo"]):
        log.info("grpo: vision tower frozen (%d parameters)", frozen)
    return train_and_finish(run, trainer, processor, output_dir, describe=describe)
