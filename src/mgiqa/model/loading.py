"""Save and load model directories: atomic save_pretrained, Auto-class loading, checks."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from mgiqa.errors import ConfigError, DataIntegrityError


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory next to `path`; on success it replaces `path`, else it is deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        os.replace(path, old / path.name)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old)


Describe = Callable[[Path], object]
"""A writer of a model's description (`mgiqa_model.json`, card) into the folder being saved."""


def save_pretrained_atomic(
    model, processor, out_dir: str | os.PathLike, describe: Describe | None = None
) -> Path:
    """`save_pretrained` model (safetensors) and processor into `out_dir`, all or nothing; `describe(folder)`
    (e.g. `stage_info.record_base`) writes its description into the folder before it is renamed into place."""
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        processor.save_pretrained(tmp)
        if describe is not None:
            describe(tmp)
    return out_dir


def check_model_dir(model_dir: str | os.PathLike) -> Path:
    """Raise DataIntegrityError unless `model_dir` holds a config naming its model type, and safetensors
    weights."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise DataIntegrityError(f"{model_dir}: not a model directory (no config.json)")
    model_type(model_dir)
    if not any(model_dir.glob("*.safetensors")):
        raise DataIntegrityError(f"{model_dir}: no *.safetensors weights")
    return model_dir


def model_type(model_dir: Path) -> str:
    """The `model_type` field of `model_dir/config.json`; DataIntegrityError naming the file otherwise."""
    import json

    from mgiqa.input_files import read_regular_file

    path = model_dir / "config.json"
    data = read_regular_file(path, 16 << 20, lambda m: DataIntegrityError(f"{path}: model config {m}"))
    try:
        config = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataIntegrityError(f"{path}: not a JSON model config: {exc}") from exc
    kind = config.get("model_type") if isinstance(config, dict) else None
    if not isinstance(kind, str) or not kind:
        raise DataIntegrityError(
            f"{path}: model_type: missing (a transformers model config names its architecture, e.g. "
            '"qwen2_5_vl"); the checkpoint is incomplete or not a model'
        )
    return kind


def torch_dtype(name: str):
    import torch

    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    except KeyError as exc:
        raise ConfigError(f"model.dtype: unknown dtype {name!r}") from exc


def load_processor(model_dir: str | os.PathLike, image_size=None):
    """`AutoProcessor` of `model_dir`; with `image_size` (an int, or a square `mgiqa.model.Resolution`), every
    image maps to image_size^2 pixels; with a native `Resolution`, to its own size within the pixel limits."""
    from transformers import AutoProcessor

    from mgiqa.model import Resolution

    processor = AutoProcessor.from_pretrained(check_model_dir(model_dir), trust_remote_code=False)
    if isinstance(image_size, Resolution):
        if image_size.mode == "native":
            ip = processor.image_processor
            ip.size = {"shortest_edge": image_size.min_pixels, "longest_edge": image_size.max_pixels}
            return processor
        image_size = image_size.size
    if image_size is not None:
        from mgiqa.model.tiny import image_processor_kwargs

        ip = processor.image_processor
        kwargs = image_processor_kwargs(image_size, ip.patch_size, ip.merge_size)
        ip.size = {"shortest_edge": kwargs["min_pixels"], "longest_edge": kwargs["max_pixels"]}
    return processor


def load_model(model_dir: str | os.PathLike, dtype: str = "float32", device: str | None = None):
    """`AutoModelForImageTextToText` of `model_dir` in eval mode, safetensors only, no remote code."""
    from transformers import CONFIG_MAPPING, AutoModelForImageTextToText

    model_dir = check_model_dir(model_dir)
    kind = model_type(model_dir)
    if kind not in CONFIG_MAPPING:
        raise DataIntegrityError(
            f"{model_dir / 'config.json'}: model_type: {kind!r} is not a model type this transformers knows"
        )
    model = AutoModelForImageTextToText.from_pretrained(
        model_dir, dtype=torch_dtype(dtype), use_safetensors=True, trust_remote_code=False
    )
    if device is not None:
        model = model.to(device)
    return model.eval()


def device_for(config: dict) -> str:
    """`cuda` when config compute.backend is cuda (and one is present), else `cpu`."""
    import torch

    backend = config["compute"]["backend"]
    if backend == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("compute.backend is cuda but no CUDA device is available")
        return "cuda"
    return "cpu"
