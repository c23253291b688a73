"""The dataset registry: registry.yaml (real datasets) + registry_demo.yaml (the embedded demo), validated.

Every entry is checked against `ENTRY_SCHEMA` (JSON Schema) and a few cross-field rules; errors name the file,
the entry and the field. The field meanings are documented at the top of registry.yaml.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path

import jsonschema
import yaml

from mgiqa.data.label_layouts import FAMILIES
from mgiqa.errors import ConfigError
from mgiqa.package_data import package_path

REGISTRY_PATH = package_path("registry.yaml", "mgiqa.data")  # packaged (importlib.resources)
DEMO_REGISTRY_PATH = package_path("registry_demo.yaml", "mgiqa.data")

ROLES = ("train", "benchmark", "pretrain")
DOMAINS = ("synthetic", "authentic", "ai-generated", "restoration")
ARCHIVES = ("tgz", "tar", "zip", "none")
ATTRIBUTE_NAMES = ("sharpness", "color", "noise", "composition")
SPLIT_NAMES = ("train", "val", "test")

_SHA256 = {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"}
_INTERVAL = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
_TEXT = {"type": "string", "minLength": 1}
_ARCHIVE_OVERRIDES = {"archive": {"enum": list(ARCHIVES)}, "root": _TEXT, "note": _TEXT}


def _kind(name: str, required: list[str], **properties) -> dict:
    return {
        "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
        "then": {
            "required": ["kind", *required],
            "properties": {"kind": {"const": name}, **properties},
            "additionalProperties": False,
        },
    }


_SOURCE = {
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"enum": ["huggingface", "url", "manual", "generated"]}},
    "allOf": [
        _kind("huggingface", ["repo", "file", "sha256"], repo=_TEXT, file=_TEXT, sha256=_SHA256,
              revision=_TEXT, **_ARCHIVE_OVERRIDES),
        _kind("url", ["url", "sha256"], url={"type": "string", "pattern": "^https?://"}, sha256=_SHA256,
              **_ARCHIVE_OVERRIDES),
        _kind("manual", ["instructions"], instructions=_TEXT, file=_TEXT, sha256=_SHA256, **_ARCHIVE_OVERRIDES),
        _kind("generated", ["recipe"], recipe=_TEXT),
    ],
}  # fmt: skip

_ATTRIBUTE = {
    "oneOf": [
        {
            "type": "object",
            "required": ["column", "range"],
            "properties": {"column": _TEXT, "range": _INTERVAL, "higher_is_better": {"type": "boolean"}},
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["distortion_types"],
            "properties": {"distortion_types": {"type": "array", "items": _TEXT, "minItems": 1}},
            "additionalProperties": False,
        },
    ]
}

_SPLITS = {
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"enum": ["all_test", "by_reference", "reference_lists", "official", "by_name", "column"]}},
    "allOf": [
        _kind("all_test", []),
        _kind("reference_lists", ["lists"], lists={
            "type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {s: {"type": "array", "items": _TEXT, "uniqueItems": True} for s in SPLIT_NAMES}}),
        _kind("by_reference", ["ratios", "seed"],
              ratios={"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 3, "maxItems": 3},
              seed={"type": "integer", "minimum": 0}),
        _kind("official", [], when_absent={"enum": ["error", "all_test"]}),
        _kind("by_name", ["rules", "default"], default={"enum": list(SPLIT_NAMES)},
              rules={"type": "array", "minItems": 1, "items": {
                  "type": "object", "required": ["match", "split"], "additionalProperties": False,
                  "properties": {"match": _TEXT, "split": {"enum": list(SPLIT_NAMES)}}}}),
        _kind("column", ["column", "values"], column=_TEXT,
              values={"type": "object", "minProperties": 1,
                      "additionalProperties": {"enum": list(SPLIT_NAMES)}}),
    ],
}  # fmt: skip

_GROUPS = {
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"enum": ["none", "reference", "prefix", "column"]}},
    "allOf": [
        _kind("none", []),
        _kind("reference", []),
        _kind("prefix", ["separator"], separator=_TEXT),
        _kind("column", ["column"], column=_TEXT),
    ],
}

ENTRY_SCHEMA = {
    "type": "object",
    "required": ["title", "role", "domain", "sources", "archive", "root", "images", "labels", "mos", "std",
                 "groups", "splits", "expected_rows"],
    "additionalProperties": False,
    "properties": {
        "title": _TEXT,
        "role": {"enum": list(ROLES)},
        "domain": {"enum": list(DOMAINS)},
        "citation": _TEXT,
        "terms": _TEXT,
        "notes": _TEXT,
        "sources": {"type": "array", "minItems": 1, "items": _SOURCE},
        "archive": {"enum": list(ARCHIVES)},
        "root": _TEXT,
        "images": _TEXT,
        "labels": {
            "type": "object",
            "required": ["file", "parser"],
            "additionalProperties": False,
            "properties": {
                "file": _TEXT,
                "parser": {"enum": sorted(FAMILIES)},
                "sources": {"type": "array", "minItems": 1, "items": _SOURCE},
            },
        },
        "mos": {
            "type": "object",
            "required": ["min", "max", "higher_is_better", "nominal"],
            "additionalProperties": False,
            "properties": {"min": {"type": "number"}, "max": {"type": "number"},
                           "higher_is_better": {"type": "boolean"}, "nominal": {"type": "boolean"}},
        },
        "std": {
            "type": "object",
            "required": ["kind"],
            "additionalProperties": False,
            "properties": {"kind": {"enum": ["std", "variance", "none"]}, "scale": {"oneOf": [_INTERVAL, {"type": "null"}]}},
            "if": {"properties": {"kind": {"enum": ["std", "variance"]}}},
            "then": {"required": ["kind", "scale"], "properties": {"scale": _INTERVAL}},
        },
        "attributes": {"type": "object", "propertyNames": {"enum": list(ATTRIBUTE_NAMES)},
                       "additionalProperties": _ATTRIBUTE},
        "distortion": {
            "type": "object",
            "required": ["pattern", "levels"],
            "additionalProperties": False,
            "properties": {"pattern": _TEXT, "levels": {"type": "integer", "minimum": 2}},
        },
        "groups": _GROUPS,
        "splits": _SPLITS,
        "expected_rows": {"type": ["integer", "null"], "minimum": 1},
        "extracted": {  # what the archive unpacks to: the extraction limits (mgiqa.data.archive_limits)
            "type": "object",
            "additionalProperties": False,
            "properties": {"bytes": {"type": "integer", "minimum": 1}, "files": {"type": "integer", "minimum": 1}},
        },
    },
}  # fmt: skip


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(ENTRY_SCHEMA)


def validate_entry(key: str, entry, source: str | os.PathLike = "<registry>") -> dict:
    """Check one entry against ENTRY_SCHEMA and the cross-field rules; raise ConfigError naming the field."""
    validator = _validator()
    errors = sorted(
        validator.iter_errors(entry),
        key=lambda e: (len(list(e.absolute_path)), list(map(str, e.absolute_path))),
    )
    if errors:
        lines = []
        for err in errors[:8]:
            # the deepest explanation of a oneOf/if-then failure is the useful one
            detail = min(err.context, key=lambda e: len(e.message)) if err.context else err
            field = ".".join(str(p) for p in detail.absolute_path) or "<entry>"
            lines.append(f"  {key}.{field}: {detail.message}")
        raise ConfigError(f"{source}: invalid registry entry {key!r}:\n" + "\n".join(dict.fromkeys(lines)))
    _check_rules(key, entry, source)
    return entry


def _check_rules(key: str, entry: dict, source) -> None:
    def fail(field: str, message: str):
        raise ConfigError(f"{source}: invalid registry entry {key!r}: {key}.{field}: {message}")

    if not entry["mos"]["max"] > entry["mos"]["min"]:
        fail("mos", "max must be greater than min")
    scale = entry["std"].get("scale")
    if scale is not None and not scale[1] > scale[0]:
        fail("std.scale", "the second bound must be greater than the first")
    for name, spec in (entry.get("attributes") or {}).items():
        if "range" in spec and not spec["range"][1] > spec["range"][0]:
            fail(f"attributes.{name}.range", "the second bound must be greater than the first")
        if "distortion_types" in spec and not entry.get("distortion"):
            fail(f"attributes.{name}", "distortion_types needs a `distortion` pattern")
    if entry.get("distortion"):
        try:
            groups = set(re.compile(entry["distortion"]["pattern"]).groupindex)
        except re.error as exc:
            fail("distortion.pattern", f"not a valid regex: {exc}")
        if not {"type", "level"} <= groups:
            fail("distortion.pattern", "needs the named groups (?P<type>...) and (?P<level>...)")
    splits = entry["splits"]
    if splits["kind"] == "by_reference" and abs(sum(splits["ratios"]) - 1.0) > 1e-6:
        fail("splits.ratios", f"must sum to 1, got {sum(splits['ratios'])}")
    if splits["kind"] == "reference_lists":
        seen: dict[str, str] = {}
        for split, refs in splits["lists"].items():
            for ref in refs:
                if ref in seen:
                    fail(f"splits.lists.{split}", f"reference {ref!r} is also in {seen[ref]}")
                seen[ref] = split
    for i, rule in enumerate(splits.get("rules", [])):
        try:
            re.compile(rule["match"])
        except re.error as exc:
            fail(f"splits.rules.{i}.match", f"not a valid regex: {exc}")
    for field in ("root", "images", "labels.file"):
        value = entry["labels"]["file"] if field == "labels.file" else entry[field]
        parts = Path(value).parts
        if Path(value).is_absolute() or ".." in parts:
            fail(field, f"{value!r} must be a relative path inside the dataset")


def _read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: registry file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a registry must be a mapping of dataset key -> entry")
    return data


def load_registry(extra_paths=None) -> dict[str, dict]:
    """registry.yaml, then registry_demo.yaml (if present), then `extra_paths` in order; every entry validated.
    A key defined twice is an error, except that an extra path may redefine (override) a packaged entry."""
    registry: dict[str, dict] = {}
    origin: dict[str, Path] = {}
    packaged = [REGISTRY_PATH, *([DEMO_REGISTRY_PATH] if DEMO_REGISTRY_PATH.is_file() else [])]
    extras = [
        Path(p) for p in ([extra_paths] if isinstance(extra_paths, str | os.PathLike) else extra_paths or [])
    ]
    for path in [*packaged, *extras]:
        for key, entry in _read_yaml(path).items():
            if not isinstance(key, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_]*", key):
                raise ConfigError(f"{path}: dataset key {key!r} must be lower-case letters, digits and _")
            if key in registry and path in packaged:
                raise ConfigError(f"{path}: dataset {key!r} is already defined in {origin[key]}")
            registry[key] = validate_entry(key, entry, path)
            origin[key] = path
    return registry


_DEFAULT: dict[str, dict] | None = None


def get_dataset(key: str, registry: dict | None = None) -> dict:
    """One registry entry (a copy); ConfigError listing the known keys when `key` is unknown."""
    global _DEFAULT
    if registry is None:
        if _DEFAULT is None:
            _DEFAULT = load_registry()
        registry = _DEFAULT
    if key not in registry:
        raise ConfigError(f"unknown dataset {key!r}; known: {', '.join(sorted(registry))}")
    return copy.deepcopy(registry[key])
