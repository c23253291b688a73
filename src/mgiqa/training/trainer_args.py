"""TrainingArguments shared by the SFT and GRPO stages (device, precision, schedule, checkpoints, logs)."""

from __future__ import annotations

import sys
from pathlib import Path

# The latest checkpoint plus the one before it, in case the latest is damaged beyond what the resume check sees.
SAVE_TOTAL_LIMIT = 2


def process_state(config: dict):
    """accelerate's process state, joined the way the trainer will join it: on CPU, `cpu=True`.

    Without `cpu=True`, a CPU process started by `accelerate launch` comes up non-distributed until the
    trainer's arguments re-initialise the state: every rank would then be "main" (and run main-only work such
    as preparing the work dir) and `wait_for_everyone` would not wait.
    """
    from accelerate import PartialState

    from mgiqa.model.loading import device_for

    return PartialState(cpu=device_for(config) != "cuda")


def uses_deepspeed(config: dict) -> bool:
    from mgiqa.memory import ZERO_STAGES

    return ZERO_STAGES[config["compute"]["accelerate_config"]] > 0


def weights_dtype(config: dict) -> str:
    """The dtype the trained weights are held in: model.dtype under DeepSpeed, else float32.

    DeepSpeed keeps its own fp32 master copy of bf16/fp16 weights. Without it (plain DDP or one process),
    weights loaded in bf16 are updated in place by AdamW in bf16, and at small learning rates most updates
    round to nothing (bf16 keeps 8 significant bits: a weight of 0.1 moves in steps of about 4e-4). So the
    weights stay in fp32 and model.dtype becomes the autocast precision of the forward and backward passes
    (`bf16` / `fp16` in the TrainingArguments, see `common_args`).
    """
    return config["model"]["dtype"] if uses_deepspeed(config) else "float32"


def model_init_kwargs(config: dict) -> dict:
    """How TRL loads the model from its directory: in `weights_dtype`."""
    return {"dtype": weights_dtype(config)}


def common_args(config: dict, work_dir: Path, seed: int, stage: dict, accumulation: int) -> dict:
    """Keyword arguments for TRL's SFTConfig / GRPOConfig that both stages set the same way.

    TRL's configs default to bf16 and gradient checkpointing on; both are set explicitly here: bf16/fp16
    autocast when model.dtype asks for it (bf16 on CPU too; fp16 only on a GPU, where the Trainer's loss
    scaler exists), checkpointing from model.gradient_checkpointing. See `weights_dtype` for the weights.
    """
    from mgiqa.errors import ConfigError
    from mgiqa.model.loading import device_for

    on_gpu = device_for(config) == "cuda"
    dtype = config["model"]["dtype"]
    if dtype == "float16" and not on_gpu:
        raise ConfigError("model.dtype: float16 training needs a GPU (loss scaling); use bfloat16 on CPU")
    steps = int(stage["steps"])
    return {
        "output_dir": str(work_dir),
        "max_steps": steps,
        "gradient_accumulation_steps": accumulation,
        "learning_rate": float(stage["learning_rate"]),
        "lr_scheduler_type": "linear",
        "warmup_steps": 0,
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": int(stage.get("save_steps", steps)),
        "save_total_limit": SAVE_TOTAL_LIMIT,
        "report_to": config["compute"]["report_to"],
        "seed": seed,
        "data_seed": seed,
        "use_cpu": not on_gpu,
        "bf16": dtype == "bfloat16",
        "fp16": dtype == "float16",
        "activation_checkpointing": bool(config["model"]["gradient_checkpointing"]),
        "dataloader_num_workers": 0,
        # every trainable parameter gets a gradient at every step (each row has its image), so DDP need not
        # search the graph for unused ones (the Trainer's default without checkpointing, and for PEFT models)
        "ddp_find_unused_parameters": False,
        # Trainer's progress bar where a person watches a terminal; plain log lines in Snakemake's log files
        "disable_tqdm": not sys.stderr.isatty(),
    }


def freeze_vision_tower(model, stage: dict) -> int:
    """Freeze the vision tower (`model.visual` of Qwen2.5-VL) when the stage's `freeze_vision_tower` is set.

    The Trainer builds its optimizer over the parameters that require a gradient when training starts, so
    freezing after the trainer is constructed and before `train()` leaves the tower out of the optimizer (and
    out of DDP's gradient reduction). With PEFT the adapters inside the tower are frozen too. Returns the
    number of parameters frozen (0 when the option is off).
    """
    if not stage["freeze_vision_tower"]:
        return 0
    tower = model.get_base_model() if hasattr(model, "get_base_model") else model
    visual = tower.model.visual
    visual.requires_grad_(False)
    return sum(p.numel() for p in visual.parameters())
