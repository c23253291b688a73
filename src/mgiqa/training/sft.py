"""SFT warmup with TRL's SFTTrainer: image + prompt -> the target response rendered from the labels.

The dataset is in TRL's conversational prompt-completion form with an `image` column, so TRL's
vision-language collator builds the inputs and, with `completion_only_loss`, the loss covers the
response tokens only. Full fine-tuning, or LoRA (PEFT) when `sft.lora.enabled`: the adapter is merged into
the saved weights, so downstream stages load a plain model. SFT is shared by every ablation with the same
prompt kind: it trains on the split=train rows of all `datasets.train`.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from mgiqa.config import derive_seed
from mgiqa.errors import ConfigError
from mgiqa.training import datasets as ds
from mgiqa.training.batch_log import ROW_KEYS, BatchLog
from mgiqa.training.logging_callback import SFT_COLUMNS, CsvLogCallback
from mgiqa.training.run import start_run, train_and_finish
from mgiqa.training.trainer_args import common_args, freeze_vision_tower, model_init_kwargs

log = logging.getLogger(__name__)

CONFIG_SECTIONS = ("model", "sft")


class RecordingCollator:
    """Wraps the trainer's collator: queues the identity (ROW_KEYS) of every batch it collates, in order."""

    def __init__(self, collator):
        self.collator = collator
        self.pending: deque[list[dict]] = deque()

    def __call__(self, examples: list[dict]):
        self.pending.append([{k: example[k] for k in ROW_KEYS} for example in examples])
        return self.collator(examples)


def _trainer_class():
    from trl import SFTTrainer

    from mgiqa.training.resume import ExactResumeMixin

    class LoggedSFTTrainer(ExactResumeMixin, SFTTrainer):
        """SFTTrainer that writes the rows of each optimizer step to this process's batch log.

        The dataloader collates ahead of training (accelerate prefetches one batch), so the collator queues
        each batch's rows and `get_batch_samples`, which fetches the batches of one optimizer step, takes
        as many off the queue as it fetched, in order. Batches a resume skips are never collated.
        """

        def __init__(self, *args, batch_log: BatchLog, **kwargs):
            super().__init__(*args, **kwargs)
            if self.args.dataloader_num_workers:
                raise ConfigError(
                    "the SFT batch log needs dataloader_num_workers == 0 (in-process collation)"
                )
            self.batch_log = batch_log
            self.data_collator = RecordingCollator(self.data_collator)
            self.add_callback(batch_log)

        def get_batch_samples(self, epoch_iterator, num_batches, device):
            batches, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
            if batches:
                pending = self.data_collator.pending
                rows = [row for _ in batches for row in pending.popleft()]
                self.batch_log.record(self.state.global_step + 1, rows)
            return batches, num_items

    return LoggedSFTTrainer


def sft_args(config: dict, work_dir: Path, seed: int):
    from trl import SFTConfig

    sft = config["sft"]
    return SFTConfig(
        **common_args(config, work_dir, seed, sft, int(sft["gradient_accumulation_steps"])),
        per_device_train_batch_size=int(sft["batch_size"]),
        completion_only_loss=True,
        remove_unused_columns=False,  # the collator reads image/prompt/completion; the rest is ignored
        max_length=None,  # never truncate: the image tokens sit inside the prompt
        model_init_kwargs=model_init_kwargs(config),
    )


def lora_config(config: dict):
    """A PEFT LoraConfig when sft.lora.enabled, else None."""
    lora = config["sft"]["lora"]
    if not lora["enabled"]:
        return None
    from peft import LoraConfig

    missing = [k for k in ("r", "alpha", "dropout") if k not in lora]
    if missing:
        raise ConfigError(f"sft.lora: missing {missing}")
    return LoraConfig(
        r=int(lora["r"]),
        lora_alpha=int(lora["alpha"]),
        lora_dropout=float(lora["dropout"]),
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )


def train_sft(
    config: dict,
    prompt_kind: str,
    seed: int,
    model_dir: str | os.PathLike,
    tables: Sequence[str | os.PathLike],
    output_dir: str | os.PathLike,
    *,
    callbacks: Sequence = (),
    describe: Callable[[Path, int], object] | None = None,
) -> dict:
    """Run (or resume) SFT for one prompt kind and seed; write the final (merged) model to `output_dir`.

    `describe` (`mgiqa.model.stage_info.describe_sft`) writes its `mgiqa_model.json` and card, within the save.
    """
    from transformers import set_seed

    from mgiqa.model import image_resolution
    from mgiqa.model.loading import check_model_dir, load_processor

    model_dir, output_dir = Path(model_dir), Path(output_dir)
    check_model_dir(model_dir)
    table = ds.read_prepared_tables(tables)
    rows = ds.training_rows(table, ds.training_datasets(table, "all", config))
    image_size = image_resolution(config)  # model.resolution: square (image_size) or native pixel limits
    style = config["sft"]["target_style"]
    dataset = ds.build_dataset(rows, prompt_kind, image_size, with_target=True, target_style=style)

    run_seed = derive_seed(config, "sft", prompt_kind, seed)
    set_seed(run_seed)
    settings = {"prompt": prompt_kind, "seed": seed}
    run = start_run(config, "sft", output_dir, settings, CONFIG_SECTIONS, [model_dir, *tables])

    processor = load_processor(model_dir, image_size)
    peft_config = lora_config(config)
    trainer = _trainer_class()(
        model=str(model_dir),
        args=sft_args(config, run.work, run_seed),
        train_dataset=dataset,
        processing_class=processor,
        peft_config=peft_config,
        callbacks=[CsvLogCallback(run.log_path, SFT_COLUMNS), *callbacks],
        batch_log=run.batch_log(),
    )
    if frozen := freeze_vision_tower(trainer.model, config["sft"]):
        log.info("sft: vision tower frozen (%d parameters)", frozen)
    merge = peft_config is not None
    return train_and_finish(run, trainer, processor, output_dir, merge_lora=merge, describe=describe)
