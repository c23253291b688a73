"""Batched generation for image-conditioned chat prompts: transformers (left padding) or vLLM.

Greedy decoding of a batch gives the same texts as decoding its images one at a time (the prompts are
left-padded, so every prompt ends where generation starts). Sampling is reproducible for a given seed and
batch composition: callers that must be resumable fix the batches up front and seed each one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from mgiqa.errors import ConfigError, DataIntegrityError
from mgiqa.model import image_resolution, prepare_image
from mgiqa.model.readout import Completion, digit_token_ids
from mgiqa.model.sampling import Sampling, sampling_from_config
from mgiqa.model.vllm_backend import EXPECTED_NEEDS_TRANSFORMERS, VllmGenerator, require_vllm

log = logging.getLogger(__name__)

MessagesFn = Callable[[Image.Image], list[dict]]
__all__ = [
    "EXPECTED_NEEDS_TRANSFORMERS",
    "VllmGenerator",
    "generate_batch",
    "predict_benchmark",
    "require_vllm",
]


def render_prompts(processor, images: Sequence[Image.Image], messages_fn: MessagesFn) -> list[str]:
    """The chat-template text (with the generation prompt) of each image's messages."""
    return [
        processor.apply_chat_template(messages_fn(image), tokenize=False, add_generation_prompt=True)
        for image in images
    ]


def generate_batch(
    model,
    processor,
    images: Sequence[Image.Image],
    messages_fn: MessagesFn,
    *,
    max_new_tokens: int,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    min_p: float = 0.0,
    repetition_penalty: float = 1.0,
    num_samples: int = 1,
    seed: int = 0,
    image_size=None,
    with_digit_probs: bool = False,
) -> list[list[str]] | list[list[Completion]]:
    """Generate `num_samples` responses per image in one batch; returns one list of texts per image.

    `messages_fn(image)` gives the chat messages for one image (an `{"type": "image"}` entry marks where the
    image goes). Images are sized by `prepare_image(image, image_size)` (an int side or a
    `mgiqa.model.Resolution`; left as given when None). Greedy decoding needs `num_samples == 1`. Every
    sampling parameter is passed to `generate` (`mgiqa.model.sampling`), so the model's own
    generation_config adds nothing and vLLM (`VllmGenerator`) decodes alike.
    `with_digit_probs`: return `readout.Completion`s (text, token texts, digit probabilities per step) for
    the `expected` readout instead of plain texts.
    """
    import torch

    sampling = Sampling(do_sample, temperature, top_p, top_k, min_p, repetition_penalty)
    if not images:
        return []
    sampling.check(num_samples)
    if image_size is not None:
        images = [prepare_image(image, image_size) for image in images]
    texts = render_prompts(processor, images, messages_fn)
    inputs = processor(
        text=texts, images=list(images), padding=True, padding_side="left", return_tensors="pt"
    )
    inputs = inputs.to(model.device)
    gen_kwargs = {
        "max_new_tokens": max_new_tokens,
        "num_return_sequences": num_samples,
        **sampling.transformers_kwargs(),
    }
    tokenizer = processor.tokenizer
    torch.manual_seed(seed)
    if with_digit_probs:
        gen_kwargs |= {"output_logits": True, "return_dict_in_generate": True}
    with torch.inference_mode():
        output = model.generate(**inputs, **gen_kwargs, pad_token_id=tokenizer.pad_token_id)
    sequences = output.sequences if with_digit_probs else output
    completions = sequences[:, inputs["input_ids"].shape[1] :]
    decoded = tokenizer.batch_decode(
        completions, skip_special_tokens=True, clean_up_tokenization_spaces=False
    )
    if with_digit_probs:
        digit_ids = digit_token_ids(tokenizer)
        probs = torch.stack(output.logits, 1).float().softmax(-1)[..., digit_ids].cpu().numpy()
        decoded = [
            Completion(text, token_pieces(tokenizer, ids.tolist(), text), p)
            for text, ids, p in zip(decoded, completions, probs, strict=True)
        ]
    return [decoded[i * num_samples : (i + 1) * num_samples] for i in range(len(images))]


def token_pieces(tokenizer, ids: list[int], text: str) -> tuple[str, ...]:
    """The decoded text of each token, such that they join to `text` (skipped special tokens are "").

    Token-by-token decoding is exact for whole characters; where a character spans tokens (byte-level BPE),
    each token gets what decoding it added to the prefix before it."""
    kwargs = {"skip_special_tokens": True, "clean_up_tokenization_spaces": False}
    pieces = tuple(tokenizer.decode([i], **kwargs) for i in ids)
    if "".join(pieces) == text:
        return pieces
    prefixes = [tokenizer.decode(ids[:n], **kwargs) for n in range(len(ids) + 1)]
    return tuple(b[len(a) :] if b.startswith(a) else "" for a, b in zip(prefixes, prefixes[1:], strict=False))


# ---- benchmark prediction (resumable) -------------------------------------------------------------

PREDICTION_FIELDS = ("overall", "sharpness", "color", "noise", "composition")
SAMPLE_SEPARATOR = "\n<|sample|>\n"


def prediction_row(row, texts: list, fields: tuple[str, ...], readout: str = "text") -> dict:
    """One prediction-table row: each field averaged over the samples where it parsed.

    `texts`: the responses (strings, or `readout.Completion`s for the `expected` readout)."""
    from mgiqa.model.readout import readout_values, response_text

    parsed = [readout_values(text, list(fields), readout) for text in texts]
    texts = [response_text(t) for t in texts]
    record = {"image": row["image"], "mos": float(row["mos"]), "group": row["group"]}
    failed = []
    for field in PREDICTION_FIELDS:
        values = [p.get(field) for p in parsed] if field in fields else []
        values = [v for v in values if v is not None]
        record[f"pred_{field}"] = sum(values) / len(values) if values else None
        if field in fields and not values:
            failed.append(field)
    record["parse_ok"] = not failed
    record["failed_fields"] = ";".join(failed)
    record["raw_text"] = SAMPLE_SEPARATOR.join(texts)
    return record


def predict_benchmark(
    model_dir: str | os.PathLike,
    table: str | os.PathLike,
    prompt_kind: str,
    config: dict,
    out_csv: str | os.PathLike,
    *,
    seed: int | None = None,
    generator=None,
    split: str = "test",
    readout: str | None = None,
) -> Path:
    """Predict every image of a prepared benchmark table; write the prediction table to `out_csv`.

    Resumable: each finished batch is appended (flushed, fsynced) to `.{out}.partial.jsonl`; a restart
    skips the batches found there. Batches are fixed by table order and batch `b` is seeded `seed + b`, so
    a resumed run writes the same table as an uninterrupted one. Only the evaluated rows are predicted
    (`split`: `test`, the rows with split == test, or `all`, every row; `predictions.evaluated_rows`);
    `readout` overrides evaluation.readout (an external method's own readout). `generator` (from `load_generator`) lets several benchmarks share one loaded model.
    """
    import pandas as pd

    from mgiqa.config import derive_seed
    from mgiqa.evaluation.predictions import PREDICTION_COLUMNS, evaluated_rows
    from mgiqa.io import content_identity, read_table, write_table
    from mgiqa.progress import progress
    from mgiqa.prompts import build_messages, prompt_fields

    fields = prompt_fields(prompt_kind)
    df = read_table(table)
    missing = [c for c in ("image", "mos", "group", "path") if c not in df.columns]
    if missing:
        raise DataIntegrityError(f"{table}: benchmark table lacks columns {missing}")
    df = evaluated_rows(df, split, str(table)).reset_index(drop=True)
    evaluation = config["evaluation"]
    batch_size = int(evaluation["batch_size"])
    num_samples = int(evaluation["num_samples"])
    readout = readout or evaluation["readout"]
    sampling = sampling_from_config(config, do_sample=num_samples > 1)
    resolution = image_resolution(config)
    if readout == "expected" and config["compute"]["vllm"]:
        raise ConfigError(EXPECTED_NEEDS_TRANSFORMERS)
    if seed is None:
        seed = derive_seed(config, "predict", Path(table).stem)
    # The resume key names the contents of the model and of the table, not their paths: a model retrained
    # at the same path, or an edited table, starts the predictions over.
    settings = {"model": str(Path(model_dir).resolve()), "model_identity": content_identity(model_dir),
                "table_identity": content_identity(table), "prompt": prompt_kind, "seed": seed,
                "num_samples": num_samples, "batch_size": batch_size, "n_images": len(df), "readout": readout,
                "max_new_tokens": int(config["generation"]["max_new_tokens"]), "split": split,
                "sampling": sampling.as_dict(), "resolution": resolution.describe()}  # fmt: skip
    out_csv = Path(out_csv)
    partial = PartialPredictions(out_csv.parent / f".{out_csv.name}.partial.jsonl", settings)
    done = partial.load()
    batches = [list(range(s, min(s + batch_size, len(df)))) for s in range(0, len(df), batch_size)]
    todo = [b for b in range(len(batches)) if b not in done]
    log.info(
        "%s: %d images, %d/%d batches already done", out_csv, len(df), len(batches) - len(todo), len(batches)
    )
    if todo:
        generate = generator if generator is not None else load_generator(model_dir, config, seed)
        messages = build_messages(prompt_kind)
        for b in progress(todo, total=len(todo), desc=f"predict {out_csv.stem}", unit="batch"):
            rows = df.iloc[batches[b]]
            images = [prepare_image(path, resolution) for path in rows["path"]]
            texts = generate(
                images,
                lambda _image: messages,
                max_new_tokens=settings["max_new_tokens"],
                **sampling.as_dict(),
                num_samples=num_samples,
                seed=seed + b,
                with_digit_probs=readout == "expected",
            )
            records = [
                prediction_row(row, t, fields, readout)
                for (_, row), t in zip(rows.iterrows(), texts, strict=True)
            ]
            partial.append(b, records)
            done[b] = records
    records = [r for b in range(len(batches)) for r in done[b]]
    write_table(out_csv, pd.DataFrame.from_records(records, columns=PREDICTION_COLUMNS))
    partial.remove()
    return out_csv


def load_generator(model_dir, config: dict, seed: int):
    """A callable with `generate_batch`'s keyword contract on the configured backend."""
    from functools import partial

    from mgiqa.model.loading import device_for, load_model, load_processor

    resolution = image_resolution(config)
    if config["compute"]["vllm"]:
        return VllmGenerator(model_dir, seed=seed, dtype=config["model"]["dtype"], image_size=resolution)
    model = load_model(model_dir, config["model"]["dtype"], device_for(config))
    processor = load_processor(model_dir, resolution)
    return partial(generate_batch, model, processor)


class PartialPredictions:
    """Append-only JSON-lines record of finished batches; a header line pins the run's settings."""

    def __init__(self, path: Path, settings: dict):
        self.path = path
        self.settings = settings

    def load(self) -> dict[int, list[dict]]:
        """Finished batches by index; a torn last line (killed mid-write) and its batch are dropped."""
        if not self.path.exists():
            self._write_lines([{"settings": self.settings}])
            return {}
        lines = self.path.read_text(encoding="utf-8").split("\n")
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn write: everything before it is intact
        previous = entries[0].get("settings") if entries else None
        if previous != self.settings:
            previous = previous if isinstance(previous, dict) else {}
            changed = sorted(
                k for k in self.settings.keys() | previous.keys() if previous.get(k) != self.settings.get(k)
            )
            log.warning("%s: left by another run (%s differ); starting over", self.path, ", ".join(changed))
            self._write_lines([{"settings": self.settings}])
            return {}
        done = {e["batch"]: e["records"] for e in entries[1:]}
        self._write_lines([entries[0], *({"batch": b, "records": r} for b, r in done.items())])
        return done

    def append(self, batch: int, records: list[dict]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"batch": batch, "records": records}) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def _write_lines(self, entries: list[dict]) -> None:
        from mgiqa.io import write_text

        write_text(self.path, "".join(json.dumps(e) + "\n" for e in entries))
