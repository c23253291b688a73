"""TrainingArguments shared by the SFT and GRPO stages (device, precision, schedule, checkpoints, logs)."""

from __future__ import annotations

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


def model_init_kwargs(config: dict) -> dict:
    """How TRL loads the model from its directory: the config's dtype."""
    return {"dtype": config["model"]["dtype"]}


def common_args(config: dict, work_dir: Path, seed: int, stage: dict, accumulation: int) -> dict:
    """Keyword arguments for TRL's SFTConfig / GRPOConfig that both stages set the same way.

    TRL's configs default to bf16 and gradient checkpointing on; both are set explicitly here: bf16/fp16
    only on a GPU and only when model.dtype asks for it, checkpointing from model.gradient_checkpointing.
    """
    from mgiqa.model.loading import device_for

    on_gpu = device_for(config) == "cuda"
    dtype = config["model"]["dtype"]
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
        "report_to": "none",
        "seed": seed,
        "data_seed": seed,
        "use_cpu": not on_gpu,
        "bf16": on_gpu and dtype == "bfloat16",
        "fp16": on_gpu and dtype == "float16",
        "activation_checkpointing": bool(config["model"].get("gradient_checkpointing", False)),
        "dataloader_num_workers": 0,
        # every trainable parameter gets a gradient at every step (each row has its image), so DDP need not
        # search the graph for unused ones (the Trainer's default without checkpointing, and for PEFT models)
        "ddp_find_unused_parameters": False,
        "disable_tqdm": True,
    }
