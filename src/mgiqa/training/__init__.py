"""Training: SFT warmup (TRL SFTTrainer) and GRPO (TRL GRPOTrainer) with the batch-plan sampler.

Submodules import torch/transformers/TRL lazily where they can; `mgiqa.training.sft.train_sft` and
`mgiqa.training.grpo.train_grpo` are the entry points the CLI commands call.
"""
