"""An offline byte-level BPE tokenizer with Qwen2.5-VL's pre-tokenizer, special tokens and chat template.

The tiny demo model cannot download Qwen's 151k-token vocabulary, so it trains a small BPE on text the
pipeline actually produces (prompt templates, attribute analyses, scores, pretraining targets). Everything
else matches the real tokenizer: the `Qwen2Tokenizer` class (same pre-tokenizer regex, NFC normalizer,
byte-level decoder, so every string is encodable), the same added tokens in the same order, and the same
chat template (TRL ships the original; TRL recognises it by identity).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from mgiqa.errors import ConfigError

# Added tokens of Qwen/Qwen2.5-VL-*-Instruct in id order (151643..151664): (content, special)
QWEN2_5_VL_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)

# Words an image-quality analysis uses, beyond what the prompt templates contain.
ANALYSIS_VOCABULARY = """
The image is sharp, crisp, clear, detailed, well focused, slightly blurry, blurry, very blurry, out of focus.
Edges are well defined, soft, smeared, jagged, ringing, halos, aliasing, motion blur, gaussian blur, lens blur.
Colors are natural, accurate, vivid, saturated, oversaturated, desaturated, washed out, faded, dull, muted,
shifted, tinted, with a color cast, too warm, too cool, quantized, banded, grayscale.
Noise is absent, low, mild, moderate, visible, strong, heavy, severe: gaussian noise, impulse noise, salt and
pepper, grain, speckle, jpeg compression, blocking, block artifacts, ringing artifacts, posterization.
Brightness and contrast are good, balanced, too dark, underexposed, too bright, overexposed, low contrast,
high contrast, clipped highlights, crushed shadows.
Composition is balanced, pleasing, centered, cluttered, tilted, cropped, empty, symmetric, rule of thirds.
The subject, object, scene, background, foreground, texture, details, pattern, shapes, sky, building,
person, face, text. Overall the quality is excellent, good, fair, poor, bad, acceptable, degraded.
No distortion. Distortion: none, blur, noise, jpeg, color, contrast, brightness, pixelate, level.
"""


# The chat template's own words around the turns (its default system prompt and the role names).
CHAT_TEXT = ("system\nYou are a helpful assistant.", "user\n", "assistant\n")


def qwen2_5_vl_chat_template() -> str:
    """The original Qwen2.5-VL-Instruct chat template, as TRL ships it for identity comparison."""
    try:
        return resources.files("trl").joinpath("chat_templates/qwen2_5_vl.jinja").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ConfigError(f"trl's packaged Qwen2.5-VL chat template is missing: {exc}") from exc


def prompt_template_texts() -> list[str]:
    """Every string in the packaged prompt templates (`mgiqa/templates/prompts.yaml`)."""
    import yaml

    path = resources.files("mgiqa").joinpath("templates/prompts.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: prompt templates not found (the tokenizer corpus needs them)") from exc
    texts: list[str] = []
    _collect_strings(data, texts)
    if not texts:
        raise ConfigError(f"{path}: no prompt text found")
    return texts


def _collect_strings(node, out: list[str]) -> None:
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        for value in node.values():
            _collect_strings(value, out)
    elif isinstance(node, list):
        for value in node:
            _collect_strings(value, out)


def score_strings() -> list[str]:
    """Scores on the 1..5 scale in the forms the responses use: 1, 1.0, 1.5 ... 5.0, 1.00 ... 5.00."""
    tenths = [f"{i / 10:.1f}" for i in range(10, 51)]
    return [str(i) for i in range(1, 6)] + tenths + [f"{i / 100:.2f}" for i in range(100, 501, 25)]


def default_corpus(extra: Iterable[str] = ()) -> list[str]:
    """Training text for the tiny tokenizer: prompt templates, analysis vocabulary, scores, `extra`."""
    texts = prompt_template_texts()
    texts += [ANALYSIS_VOCABULARY, *CHAT_TEXT]
    scores = score_strings()
    texts.extend(
        f"Sharpness: {a}, Color: {b}, Noise: {c}, Composition: {d}, Overall: {e}"
        for a, b, c, d, e in zip(scores, scores[3:], scores[7:], scores[11:], scores[13:], strict=False)
    )
    texts.extend(extra)
    return texts


def train_tokenizer(corpus: Iterable[str], vocab_size: int):
    """Train a byte-level BPE on `corpus`; return a `Qwen2Tokenizer` with Qwen2.5-VL's added tokens.

    The BPE gets `vocab_size - len(added tokens)` entries at most, so the whole tokenizer fits a model
    embedding of `vocab_size` rows. Training is deterministic for a given corpus.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    n_added = len(QWEN2_5_VL_ADDED_TOKENS)
    byte_alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(byte_alphabet) + n_added:
        raise ConfigError(
            f"model.tiny.vocab_size: {vocab_size} is below the {len(byte_alphabet) + n_added} "
            "entries a byte-level tokenizer with Qwen2.5-VL's added tokens needs"
        )
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - n_added,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=sorted(byte_alphabet),
        special_tokens=[],
    )
    bpe.train_from_iterator(list(corpus), trainer=trainer)
    vocab = dict(sorted(bpe.get_vocab(with_added_tokens=False).items(), key=lambda kv: kv[1]))
    merges = _merges_of(bpe)

    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token="<|endoftext|>",  # registered first: Qwen's first added token; eos is set below
        pad_token="<|endoftext|>",
        errors="replace",
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
        model_max_length=32768,
    )
    tokenizer.add_tokens([AddedToken(t, special=s, normalized=False) for t, s in QWEN2_5_VL_ADDED_TOKENS])
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.chat_template = qwen2_5_vl_chat_template()
    return tokenizer


def _merges_of(bpe) -> list[tuple[str, str]]:
    import json

    model = json.loads(bpe.to_str())["model"]
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
