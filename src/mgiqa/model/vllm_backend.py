"""Generation on vLLM with `generate_batch`'s keyword contract (only when `vllm` is installed).

Decoding matches the transformers backend: the same pixels (`mgiqa.model.prepare_image`), the same
processor pixel limits, and every sampling parameter explicit (`mgiqa.model.sampling`), with the model's own
generation_config ignored (`LLM(generation_config="vllm")`: vLLM's neutral defaults, as SamplingParams).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from PIL import Image

from mgiqa.errors import ConfigError
from mgiqa.model import Resolution, prepare_image
from mgiqa.model.sampling import Sampling

# vLLM returns top-k log-probabilities, not those of chosen tokens: the expected readout is transformers-only
EXPECTED_NEEDS_TRANSFORMERS = (
    "evaluation.readout expected needs the transformers backend (compute.vllm: false)"
)


def require_vllm() -> None:
    """Raise ConfigError unless vllm can be imported (compute.vllm asks for it)."""
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "compute.vllm is true but vllm is not installed (pip install 'mgiqa[vllm]'), "
            "or set compute.vllm: false to use transformers"
        ) from exc


def pixel_limits(image_size) -> dict:
    """vLLM's `mm_processor_kwargs`: the processor pixel limits the transformers path uses."""
    if image_size is None:
        return {}
    if not isinstance(image_size, Resolution):
        image_size = Resolution("square", int(image_size))
    if image_size.mode == "square":
        return {"min_pixels": image_size.size**2, "max_pixels": image_size.size**2}
    return {"min_pixels": image_size.min_pixels, "max_pixels": image_size.max_pixels}


class VllmGenerator:
    """The same contract as `generate_batch`, on vLLM."""

    def __init__(self, model_dir: str | os.PathLike, *, seed: int, dtype: str = "auto", image_size=None):
        require_vllm()
        from vllm import LLM

        from mgiqa.model.loading import load_processor

        self.processor = load_processor(model_dir, image_size)
        # the same pixel limits as the transformers path, so both see the same visual tokens
        pixels = pixel_limits(image_size)
        self.llm = LLM(
            model=str(model_dir),
            seed=seed,
            dtype=dtype,
            limit_mm_per_prompt={"image": 1},
            mm_processor_kwargs=pixels or None,
            generation_config="vllm",
        )

    def __call__(
        self,
        images: Sequence[Image.Image],
        messages_fn,
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
    ) -> list[list[str]]:
        from vllm import SamplingParams

        from mgiqa.model.generate import render_prompts

        if with_digit_probs:
            raise ConfigError(EXPECTED_NEEDS_TRANSFORMERS)
        sampling = Sampling(do_sample, temperature, top_p, top_k, min_p, repetition_penalty)
        sampling.check(num_samples)
        if image_size is not None:
            images = [prepare_image(image, image_size) for image in images]
        texts = render_prompts(self.processor, images, messages_fn)
        # one request per image with n samples and its own seed: the n samples of a request differ
        params = SamplingParams(n=num_samples, max_tokens=max_new_tokens, seed=seed, **sampling.vllm_kwargs())
        requests = [
            {"prompt": t, "multi_modal_data": {"image": im}} for t, im in zip(texts, images, strict=True)
        ]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        return [[c.text for c in out.outputs] for out in outputs]
