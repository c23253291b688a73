"""Load and validate pipeline configs; derive per-stage seeds and ablation specs."""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mgiqa import package_data
from mgiqa.config_input import check_structure, read_config_file
from mgiqa.errors import ConfigError

# packaged with importlib.resources (in a checkout: links to workflow/schemas/ and config/)
SCHEMA_PATH = package_data.package_path(package_data.SCHEMA)
DEFAULT_CONFIG = package_data.package_path(package_data.DEFAULT_CONFIG)


def load_schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


MESSAGE_CHARS = 300  # a schema message quotes the value it refuses: at most this much of it


def _with_defaults(validator_class):
    """A validator class that fills each absent property that has a schema `default:` (a deep copy), then
    validates into it: `snakemake.utils.validate(..., set_default=True)`'s semantics (the jsonschema FAQ
    recipe), so a section given as `{}` (or defaulted to one) gets its own keys' defaults too. Defaults sit
    only on plain `properties` (never inside a oneOf branch, where a failing branch would leave them)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if isinstance(subschema, dict) and "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


DefaultingValidator = _with_defaults(jsonschema.Draft202012Validator)


def schema_defaults(schema: dict | None = None) -> dict[str, Any]:
    """Every `default:` of the schema's plain properties, by dotted key (`compute.threads_per_job`)."""
    out: dict[str, Any] = {}

    def walk(node: dict, prefix: str) -> None:
        for name, sub in (node.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            key = f"{prefix}{name}"
            if "default" in sub:
                out[key] = sub["default"]
            walk(sub, key + ".")

    walk(schema if schema is not None else load_schema(), "")
    return out


def validate_config(config: dict, source: str | os.PathLike = "<config>") -> dict:
    """Validate `config` against the schema, filling in place every absent key that has a schema default
    (the effective config then shows every value used); raise ConfigError naming the offending field."""
    check_structure(config, source)  # bounded size, finite numbers: before jsonschema formats any of it
    validator = DefaultingValidator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = []
        for err in errors[:10]:
            field = ".".join(str(p) for p in err.absolute_path) or "<top level>"
            message = err.message
            if len(message) > MESSAGE_CHARS:
                message = f"{message[: MESSAGE_CHARS // 2]} ... {message[-MESSAGE_CHARS // 2 :]}"
            lines.append(f"  {field}: {message}")
        raise ConfigError(f"{source}: invalid config:\n" + "\n".join(lines))
    _check_cross_references(config, source)
    return config


def _check_cross_references(config: dict, source) -> None:
    weights = config["reward"]["weights"]
    for attr in config["reward"]["attributes"]:
        if attr not in weights:
            raise ConfigError(f"{source}: reward.weights: no weight for attribute {attr!r}")
    for name, spec in config["ablations"].items():
        if not spec["sft"] and not spec["grpo"]:
            raise ConfigError(f"{source}: ablations.{name}: neither sft nor grpo; use the zero_shot method")
        if isinstance(spec["train"], list):
            unknown = set(spec["train"]) - set(config["datasets"]["train"])
            if unknown:
                raise ConfigError(
                    f"{source}: ablations.{name}.train: not in datasets.train: {sorted(unknown)}"
                )
    # A dataset may both train and evaluate only through disjoint splits (training reads split == train,
    # evaluation split == test); mgiqa.pipeline.check_datasets_known verifies the registry declares a split.


def load_config(path: str | os.PathLike | None = None) -> dict:
    path = Path(path) if path else DEFAULT_CONFIG
    return validate_config(read_config_file(path), path)


def deep_merge(base: dict, override: dict) -> dict:
    """Snakemake's merge of config files: mappings merge recursively, everything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_merged_config(paths: list[str | os.PathLike]) -> dict:
    """Configs merged in order (the first is usually config/config.yaml), then validated."""
    config: dict = {}
    for path in paths:
        config = deep_merge(config, read_config_file(path))
    return validate_config(config, " + ".join(map(str, paths)))


def derive_seed(config: dict, *parts: Any) -> int:
    """A stable 31-bit seed for one stage, from the master seed and the stage's identity."""
    key = "/".join([str(config["seed"]), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little") & 0x7FFFFFFF


def ablation(config: dict, name: str) -> dict:
    try:
        return config["ablations"][name]
    except KeyError as exc:
        raise ConfigError(f"unknown ablation {name!r}; known: {sorted(config['ablations'])}") from exc


def write_effective_config(config: dict, path: str | os.PathLike) -> str:
    """Write the merged, validated config the CLI stages read; rewritten only when it changed."""
    from mgiqa.io import write_text

    path = Path(path)
    text = yaml.safe_dump(config, sort_keys=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_text(path, text)
    return str(path)
