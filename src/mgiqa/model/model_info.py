"""`mgiqa_model.json`: what a saved model needs to be used, and where it came from.

Every model folder a stage writes (`mgiqa build-model`, `pretrain`, `sft`, `grpo`) carries this file beside
its weights, with a model card (`README.md`, `mgiqa.model.model_card`). `usage` holds the settings to use it
with (prompt kind, image resolution, readout, dtype, completion budget, parser version); `fixed` names the
usage fields the weights were trained with (`prompt`, `resolution`): a config asking for other values is
refused (`mgiqa.model.checkpoint_settings`). `provenance` records the stage, the config (name and hash),
the training datasets, steps, seed, code version and parent model.

The file is deterministic (sorted keys, no timestamps): two runs of a stage write the same bytes, so the
model folder's content identity (prediction resume keys, DVC hashes) is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mgiqa.errors import DataIntegrityError
from mgiqa.model import Resolution, image_resolution

INFO_FILE = "mgiqa_model.json"
FORMAT_VERSION = 1
# Bump when mgiqa.parsing.parse_response changes what a response parses to.
PARSER_VERSION = 1
STAGES = ("base", "pretrain", "sft", "grpo")
PROMPTS = ("attribute", "overall")
READOUTS = ("text", "expected")
FIXABLE = ("prompt", "resolution")


@dataclass(frozen=True)
class Usage:
    """The settings a model is used with. `prompt` None: either prompt kind (a base model)."""

    prompt: str | None
    resolution: Resolution
    readout: str
    dtype: str
    max_new_tokens: int
    parser_version: int = PARSER_VERSION


@dataclass(frozen=True)
class Provenance:
    stage: str
    config_name: str
    config_hash: str
    datasets: tuple[str, ...] = ()
    steps: int | None = None
    seed: int | None = None
    parent_model: str | None = None
    base_model: str | None = None  # the Hub id the chain of models started from, when known
    recipe: dict = field(default_factory=dict)  # the config sections of the stage
    mgiqa_version: str = ""
    git_commit: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    usage: Usage
    fixed: tuple[str, ...]
    provenance: Provenance

    def to_dict(self) -> dict:
        usage = asdict(self.usage)
        usage["resolution"] = resolution_dict(self.usage.resolution)
        provenance = asdict(self.provenance)
        provenance["datasets"] = list(self.provenance.datasets)
        return {"format": FORMAT_VERSION, "usage": usage, "fixed": list(self.fixed), "provenance": provenance}


def resolution_dict(resolution: Resolution) -> dict:
    if resolution.mode == "square":
        return {"mode": "square", "size": resolution.size}
    return {"mode": "native", "min_pixels": resolution.min_pixels, "max_pixels": resolution.max_pixels}


def config_hash(config: dict) -> str:
    """sha256 of the config's canonical JSON (sorted keys): the same config gives the same hash."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def code_version() -> tuple[str, str | None]:
    """(mgiqa's version, the git commit of the checkout it runs from, or None outside a checkout)."""
    import mgiqa

    root = Path(mgiqa.__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return mgiqa.__version__, None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:  # no git on this machine: the commit is unknown, not an error
        return mgiqa.__version__, None
    return mgiqa.__version__, out.stdout.strip() if out.returncode == 0 else None


def info_from_config(
    config: dict,
    stage: str,
    *,
    prompt: str | None,
    fixed: tuple[str, ...],
    recipe_sections: tuple[str, ...],
    datasets: tuple[str, ...] = (),
    steps: int | None = None,
    seed: int | None = None,
    parent_model: str | os.PathLike | None = None,
    base_model: str | None = None,
    resolution: Resolution | None = None,
    recipe_extra: dict | None = None,
) -> ModelInfo:
    """The info of a model a stage made with `config` (`resolution`: when it is not the config's own;
    `recipe_extra`: more recipe entries beside the config sections)."""
    version, commit = code_version()
    usage = Usage(
        prompt=prompt,
        resolution=resolution or image_resolution(config),
        readout=config["evaluation"]["readout"],
        dtype=config["model"]["dtype"],
        max_new_tokens=int(config["generation"]["max_new_tokens"]),
    )
    provenance = Provenance(
        stage=stage,
        config_name=str(config.get("name", "")),
        config_hash=config_hash(config),
        datasets=tuple(datasets),
        steps=steps,
        seed=seed,
        parent_model=None if parent_model is None else str(parent_model),
        base_model=base_model,
        recipe={s: config[s] for s in recipe_sections if s in config} | (recipe_extra or {}),
        mgiqa_version=version,
        git_commit=commit,
    )
    info = ModelInfo(usage, tuple(fixed), provenance)
    validate(info.to_dict(), "<new model info>")  # a stage never writes a file it could not read back
    return info


def write_model_info(model_dir: str | os.PathLike, info: ModelInfo, evaluation: dict | None = None) -> Path:
    """Write `mgiqa_model.json` and the model card `README.md` into `model_dir` (each atomically)."""
    from mgiqa.io import write_json
    from mgiqa.model.model_card import write_model_card

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise DataIntegrityError(f"{model_dir}: not a model directory")
    write_json(model_dir / INFO_FILE, info.to_dict())
    write_model_card(model_dir, info, evaluation)
    return model_dir / INFO_FILE


def read_model_info(model_dir: str | os.PathLike) -> ModelInfo | None:
    """The model's info; None when it has no `mgiqa_model.json` (a model from elsewhere, e.g. the Hub)."""
    from mgiqa.input_files import read_regular_file

    path = Path(model_dir) / INFO_FILE
    if not path.exists():
        return None
    text = read_regular_file(path, 1 << 20, lambda m: DataIntegrityError(f"{path}: {m}"))
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise DataIntegrityError(f"{path}: not JSON: {exc}") from exc
    return validate(data, path)


def validate(data: Any, path) -> ModelInfo:
    """The ModelInfo of a parsed `mgiqa_model.json`; DataIntegrityError naming the file and field."""

    def fail(where: str, message: str) -> DataIntegrityError:
        return DataIntegrityError(f"{path}: {where}: {message}")

    def get(mapping: Any, key: str, where: str, kinds: tuple[type, ...], choices=None, nullable=False):
        if not isinstance(mapping, dict):
            raise fail(where.rsplit(".", 1)[0] or where, "not a JSON object")
        if key not in mapping:
            raise fail(where, "missing")
        value = mapping[key]
        if value is None and nullable:
            return None
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise fail(where, f"{value!r} is not {' or '.join(k.__name__ for k in kinds)}")
        if choices is not None and value not in choices:
            raise fail(where, f"{value!r} is not one of {list(choices)}")
        return value

    version = get(data, "format", "format", (int,))
    if version != FORMAT_VERSION:
        raise fail("format", f"version {version} is not {FORMAT_VERSION} (written by another mgiqa version)")
    u = get(data, "usage", "usage", (dict,))
    r = get(u, "resolution", "usage.resolution", (dict,))
    mode = get(r, "mode", "usage.resolution.mode", (str,), ("square", "native"))
    if mode == "square":
        resolution = Resolution("square", get(r, "size", "usage.resolution.size", (int,)))
    else:
        low = get(r, "min_pixels", "usage.resolution.min_pixels", (int,))
        high = get(r, "max_pixels", "usage.resolution.max_pixels", (int,))
        resolution = Resolution("native", None, low, high)
    usage = Usage(
        prompt=get(u, "prompt", "usage.prompt", (str,), PROMPTS, nullable=True),
        resolution=resolution,
        readout=get(u, "readout", "usage.readout", (str,), READOUTS),
        dtype=get(u, "dtype", "usage.dtype", (str,)),
        max_new_tokens=get(u, "max_new_tokens", "usage.max_new_tokens", (int,)),
        parser_version=get(u, "parser_version", "usage.parser_version", (int,)),
    )
    fixed = get(data, "fixed", "fixed", (list,))
    if unknown := [f for f in fixed if f not in FIXABLE]:
        raise fail("fixed", f"{unknown} are not among {list(FIXABLE)}")
    if "prompt" in fixed and usage.prompt is None:
        raise fail("fixed", "names prompt, but usage.prompt is null")
    p = get(data, "provenance", "provenance", (dict,))
    datasets = get(p, "datasets", "provenance.datasets", (list,))
    provenance = Provenance(
        stage=get(p, "stage", "provenance.stage", (str,), STAGES),
        config_name=get(p, "config_name", "provenance.config_name", (str,)),
        config_hash=get(p, "config_hash", "provenance.config_hash", (str,)),
        datasets=tuple(str(d) for d in datasets),
        steps=get(p, "steps", "provenance.steps", (int,), nullable=True),
        seed=get(p, "seed", "provenance.seed", (int,), nullable=True),
        parent_model=get(p, "parent_model", "provenance.parent_model", (str,), nullable=True),
        base_model=get(p, "base_model", "provenance.base_model", (str,), nullable=True),
        recipe=get(p, "recipe", "provenance.recipe", (dict,)),
        mgiqa_version=get(p, "mgiqa_version", "provenance.mgiqa_version", (str,)),
        git_commit=get(p, "git_commit", "provenance.git_commit", (str,), nullable=True),
    )
    return ModelInfo(usage, tuple(fixed), provenance)
