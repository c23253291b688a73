"""`mgiqa.Scorer`: rate your own images with a checkpoint, from Python.

```python
import mgiqa
scorer = mgiqa.Scorer.from_pretrained("models/grpo/mg_iqa/seed0")
for result in scorer.score("photos/*.jpg"):      # files, folders, glob patterns, PIL images
    print(result.image, result.overall, result.attributes, result.reasoning)
```

The checkpoint's `mgiqa_model.json` gives the prompt kind, resolution, readout and dtype
(`mgiqa.model.checkpoint_settings`); a checkpoint without it is used with the config (default: the packaged
demo config). Responses are greedy and parsed as in the evaluation (`mgiqa.parsing`); a field that does not
parse is None, never a guess. torch loads on `from_pretrained`, not on `import mgiqa`.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mgiqa.errors import DataIntegrityError

THINK = re.compile(r"<think>(.*?)</think>", re.IGNORECASE | re.DOTALL)
GLOB_CHARS = re.compile(r"[*?[]")


@dataclass(frozen=True)
class ImageScore:
    """One image's rating: `overall` and `attributes` on 1-5 (None where the response did not parse)."""

    image: str
    overall: float | None
    attributes: dict[str, float | None]
    reasoning: str
    readout: str
    parse_ok: bool
    failed_fields: tuple[str, ...]
    response: str
    written_scores: dict[str, float | None] | None = field(default=None)  # the `expected` readout's digits

    def to_dict(self) -> dict:
        """The JSON record of `mgiqa score --json`."""
        doc = {
            "image": self.image,
            "readout": self.readout,
            "scores": {**self.attributes, "overall": self.overall},
            "reasoning": self.reasoning,
            "parse_ok": self.parse_ok,
            "failed_fields": list(self.failed_fields),
            "response": self.response,
        }
        if self.written_scores is not None:
            doc["written_scores"] = self.written_scores
        return doc


def image_extensions() -> set[str]:
    from PIL import Image

    return {ext.lower() for ext in Image.registered_extensions()}


def expand_images(inputs: Iterable[str | os.PathLike]) -> tuple[list[str], dict[str, str]]:
    """(image paths, input -> why it gave none): a folder gives its image files (by extension, sorted), a
    glob pattern its matches (sorted, `**` recursive); any other input is kept as a path. Each path once."""
    extensions = image_extensions()
    paths: list[str] = []
    empty: dict[str, str] = {}
    for item in map(str, inputs):
        if Path(item).is_dir():
            found = sorted(
                str(p) for p in Path(item).iterdir() if p.is_file() and p.suffix.lower() in extensions
            )
            if not found:
                empty[item] = "a folder with no image files"
        elif GLOB_CHARS.search(item) and not Path(item).exists():
            found = sorted(p for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not found:
                empty[item] = "no file matches this pattern"
        else:
            found = [item]
        paths += found
    return list(dict.fromkeys(paths)), empty


def unreadable_images(paths: list[str], max_pixels: int) -> dict[str, str]:
    """image -> why it cannot be scored, for every path that is missing, not a file or does not decode."""
    from mgiqa.data.images import check_image

    problems = {}
    for path in paths:
        if not Path(path).exists():
            problems[path] = "not found"
        elif not Path(path).is_file():
            problems[path] = "not a regular file"
        elif (reason := check_image(path, max_pixels)) is not None:
            problems[path] = reason
    return problems


class Scorer:
    """A loaded checkpoint that rates images (`score`). Build it with `Scorer.from_pretrained`."""

    def __init__(self, checkpoint: str | os.PathLike, config: dict, prompt: str, device: str | None = None):
        """Load `checkpoint` with an already resolved `config` and prompt kind (see `from_pretrained`)."""
        from mgiqa.model import image_resolution
        from mgiqa.model.loading import device_for, load_model, load_processor
        from mgiqa.prompts import prompt_fields

        self.checkpoint = Path(checkpoint)
        self.config = config
        self.prompt = prompt
        self.fields = prompt_fields(prompt)
        self.readout = config["evaluation"]["readout"]
        self.resolution = image_resolution(config)
        self.model = load_model(checkpoint, config["model"]["dtype"], device or device_for(config))
        self.processor = load_processor(checkpoint, self.resolution)

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        *,
        config: str | os.PathLike | dict | None = None,
        prompt: str | None = None,
        device: str | None = None,
        revision: str | None = None,
    ) -> Scorer:
        """A scorer of the model folder `path` (or a Hub repo id, downloaded with huggingface_hub).

        `config`: a config file or dict for what the checkpoint does not fix (batch size, backend); the
        checkpoint's settings must agree with it. `prompt`: attribute or overall (default: the checkpoint's).
        `device`: e.g. "cuda" (default: the config's compute.backend)."""
        from mgiqa.config import load_config
        from mgiqa.model.checkpoint_settings import resolve_settings

        local = Path(path)
        if not local.is_dir():
            local = download(str(path), revision)
        if isinstance(config, dict):
            loaded, source = config, "given as a dict"
        else:
            loaded, source = load_config(config), None if config is None else str(config)
        settings = resolve_settings(local, loaded, config_source=source, prompt=prompt)
        return cls(local, settings.config, settings.prompt, device)

    def score(self, images) -> list[ImageScore]:
        """One `ImageScore` per image: `images` is a path, a folder, a glob pattern, a PIL image, or a list
        of these. A path that is missing or does not decode raises DataIntegrityError naming it."""
        from PIL import Image

        from mgiqa.data.images import max_image_pixels

        items = [images] if isinstance(images, (str, os.PathLike, Image.Image)) else list(images)
        named: list[tuple[str, object]] = []
        for index, item in enumerate(items):
            if isinstance(item, Image.Image):
                named.append((f"<image {index}>", item))
                continue
            paths, empty = expand_images([item])
            if empty:
                raise DataIntegrityError("; ".join(f"{k}: {v}" for k, v in empty.items()))
            if problems := unreadable_images(paths, max_image_pixels(self.config)):
                raise DataIntegrityError("; ".join(f"{k}: {v}" for k, v in problems.items()))
            named += [(p, p) for p in paths]
        return self._score(named)

    def _score(self, named: list[tuple[str, object]]) -> list[ImageScore]:
        from mgiqa.model import generate, prepare_image
        from mgiqa.progress import progress
        from mgiqa.prompts import build_messages

        messages = build_messages(self.prompt)
        batch_size = int(self.config["evaluation"]["batch_size"])
        starts = range(0, len(named), batch_size)
        results = []
        for start in progress(starts, total=len(starts), desc="score", unit="batch"):
            chunk = named[start : start + batch_size]
            outputs = generate.generate_batch(
                self.model,
                self.processor,
                [prepare_image(image, self.resolution) for _, image in chunk],
                lambda _image: messages,
                max_new_tokens=int(self.config["generation"]["max_new_tokens"]),
                with_digit_probs=self.readout == "expected",
            )
            results += [
                self._result(name, completion)
                for (name, _), (completion,) in zip(chunk, outputs, strict=True)
            ]
        return results

    def _result(self, name: str, completion) -> ImageScore:
        from mgiqa.model.readout import readout_values, response_text
        from mgiqa.parsing import parse_response

        text = response_text(completion)
        parsed = parse_response(text, self.fields)
        values = readout_values(completion, self.fields, self.readout)
        think = THINK.search(text)
        return ImageScore(
            image=name,
            overall=values.get("overall"),
            attributes={f: values.get(f) for f in self.fields if f != "overall"},
            reasoning=think.group(1).strip() if think else "",
            readout=self.readout,
            parse_ok=parsed.ok,
            failed_fields=tuple(parsed.failed),
            response=text,
            written_scores=None if self.readout == "text" else {f: parsed.values.get(f) for f in self.fields},
        )


def download(repo_id: str, revision: str | None = None) -> Path:
    """A Hub model's files (safetensors, configs, tokenizer, card, mgiqa_model.json) in the local HF cache."""
    import httpx2
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    from mgiqa.errors import DownloadError
    from mgiqa.model.hub import ALLOW_PATTERNS

    if repo_id.count("/") != 1 or Path(repo_id).exists():
        raise DataIntegrityError(f"{repo_id}: not a model folder, nor a Hub repo id (owner/name)")
    try:
        local = snapshot_download(
            repo_id=repo_id, revision=revision, allow_patterns=[*ALLOW_PATTERNS, "*.md"]
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, httpx2.HTTPError, OSError) as exc:
        raise DownloadError(f"{repo_id}: no such model folder here, and as a Hub repo: {exc}") from exc
    return Path(local)
