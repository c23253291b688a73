"""Which config keys and registry fields each workflow rule depends on: one table for both tools.

Snakemake reruns a job when its `params` change (`--rerun-triggers params`, on by default), DVC a stage when
one of its `params` changes. Both are derived from `RULE_CONFIG_KEYS` / `RULE_REGISTRY_KEYS` here: the rule
files pass `settings(config, REG, rule)` as one `params` entry (never read by the command: a rerun trigger),
and `mgiqa.dvc_export` lists the same keys as the stage's DVC params, so a config edit reruns the same jobs
with either tool (tests/test_rule_config.py).

A key names the values the rule's command reads at run time ({wildcard} is filled in per job); listing a
section covers every key under it. Over-listing only costs reruns. Config values that shape the DAG itself
(datasets, ablation prompts and training sets, seeds, paths, ...) end up in the job's paths and commands and
need no entry here (dvc.yaml's `dvc_yaml_check` stage guards them on the DVC side).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

RULE_CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "effective_config": (),  # writes the whole config; the jobs reading it take it as an ancient() input
    "fetch_dataset": (),  # + GENERATOR_KEYS for generated (demo) datasets
    "labels": (),
    "prepare": ("datasets.allow_missing_images", "datasets.max_image_pixels"),
    "batch_plan": ("seed", "batches", "grpo.steps", "compute.num_processes"),
    "build_tiny_model": ("seed", "model.tiny", "model.image_size", "model.dtype"),
    "pretrain_base_model": ("seed", "model.image_size", "model.dtype", "pretrain", "compute.backend"),
    "fetch_base_model": ("model.source", "model.hub_id", "model.revision", "model.local_path"),
    "fetch_external_model": ("evaluation.external",),
    "sft": ("seed", "model", "sft", "compute.backend"),
    "grpo": (
        "seed",
        "model",
        "grpo",
        "reward",
        "generation",
        "batches",
        "ablations.{ablation}",
        "evaluation.readout",  # the held-out probe's readout (grpo.probe)
        "compute.backend",
        "compute.vllm",
    ),
    "predict": (
        "seed",
        "model.image_size",
        "model.resolution",
        "model.min_pixels",
        "model.max_pixels",
        "model.dtype",
        "generation",
        "evaluation.batch_size",
        "evaluation.num_samples",
        "evaluation.readout",
        "evaluation.external",
        "compute.backend",
        "compute.vllm",
    ),
    "classical": (),
    "metrics": ("seed", "evaluation.bootstrap", "evaluation.confidence", "evaluation.external"),
    "figures": ("evaluation",),
    "tables": ("seed", "evaluation", "ablations"),
}
# generated (demo) datasets: fetch_dataset runs the generator, which reads these
GENERATOR_KEYS: tuple[str, ...] = ("seed", "demo")
# registry fields each per-dataset rule reads (None: the whole entry)
RULE_REGISTRY_KEYS: dict[str, tuple[str, ...] | None] = {
    "fetch_dataset": ("sources", "archive", "root"),
    "labels": None,
    "prepare": None,
}
MISSING = None  # the value of a key no config sets (and the schema gives no default)


def is_generated(registry: Mapping, dataset: str) -> bool:
    return any(src.get("kind") == "generated" for src in registry[dataset]["sources"])


def config_keys(rule: str, config: Mapping, registry: Mapping, wildcards: Mapping[str, str]) -> list[str]:
    """The dotted config keys one job of `rule` depends on (wildcards filled in)."""
    if rule not in RULE_CONFIG_KEYS:
        raise KeyError(f"rule {rule!r} is not in mgiqa.rule_config.RULE_CONFIG_KEYS")
    keys = [k.format(**wildcards) for k in RULE_CONFIG_KEYS[rule]]
    if rule == "fetch_dataset" and is_generated(registry, wildcards["dataset"]):
        keys = [*GENERATOR_KEYS, *keys]
    return list(dict.fromkeys(keys))


def registry_keys(rule: str, entry: Mapping) -> list[str] | None:
    """The fields of a registry entry one job of `rule` reads: a list, None for the whole entry, [] for none."""
    if rule not in RULE_REGISTRY_KEYS:
        return []
    fields = RULE_REGISTRY_KEYS[rule]
    return None if fields is None else [f for f in fields if f in entry]


def lookup(tree: Mapping, dotted: str, default: Any = MISSING) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def job_settings(rule: str, config: Mapping, registry: Mapping, wildcards: Mapping[str, str]) -> dict:
    """The values one job depends on: {"config": {key: value}, "registry": {...}} (a Snakemake param)."""
    out: dict[str, Any] = {
        "config": {k: lookup(config, k) for k in config_keys(rule, config, registry, wildcards)}
    }
    if rule in RULE_REGISTRY_KEYS:
        entry = registry[wildcards["dataset"]]
        fields = registry_keys(rule, entry)
        out["registry"] = dict(entry) if fields is None else {f: entry[f] for f in fields}
    return out


def settings(config: Mapping, registry: Mapping, rule: str) -> Callable:
    """A Snakemake `params` function: the job's `job_settings` (a rerun trigger no command reads)."""
    if rule not in RULE_CONFIG_KEYS:
        raise KeyError(f"rule {rule!r} is not in mgiqa.rule_config.RULE_CONFIG_KEYS")

    def params(wildcards) -> dict:
        return job_settings(rule, config, registry, dict(wildcards.items()))

    return params


def config_json(config: Mapping) -> str:
    """The effective config as one JSON line: rule effective_config's input (and its rerun trigger)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"))
