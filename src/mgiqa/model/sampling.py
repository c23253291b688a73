"""Decoding settings of evaluation, spelled out in full for both backends.

A model's own `generation_config.json` sets defaults that one backend applies and the other does not
(Qwen2.5-VL-7B-Instruct's: do_sample true, temperature 0.1, top_p 0.001, top_k 1, repetition_penalty 1.05;
transformers merges them into every `generate` call, vLLM's `LLM.generate` with explicit `SamplingParams`
ignores them). Every parameter is therefore passed explicitly, from the config's `generation` section, and
vLLM is told to ignore the model's generation config (`generation_config="vllm"`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mgiqa.errors import ConfigError

GREEDY_NEEDS_ONE = "num_samples > 1 needs do_sample=True (greedy samples would be identical)"


@dataclass(frozen=True)
class Sampling:
    """One decoding setting. Greedy decoding ignores temperature / top_p / top_k / min_p on both backends;
    `repetition_penalty` applies to greedy decoding too (1.0 = off)."""

    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = no top-k cut (transformers and vLLM alike)
    min_p: float = 0.0
    repetition_penalty: float = 1.0

    def check(self, num_samples: int) -> None:
        if num_samples < 1:
            raise ConfigError(f"num_samples must be >= 1, got {num_samples}")
        if num_samples > 1 and not self.do_sample:
            raise ConfigError(GREEDY_NEEDS_ONE)

    def transformers_kwargs(self) -> dict:
        """`model.generate` keywords (every one given, so the model's generation_config adds nothing)."""
        kwargs = {"do_sample": self.do_sample, "repetition_penalty": self.repetition_penalty}
        if self.do_sample:
            return kwargs | {"temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k,
                             "min_p": self.min_p}  # fmt: skip
        # None unsets the model's sampling defaults, which greedy decoding would only warn about
        return kwargs | {"temperature": None, "top_p": None, "top_k": None, "min_p": None}

    def vllm_kwargs(self) -> dict:
        """`vllm.SamplingParams` keywords: temperature 0 is vLLM's greedy decoding."""
        return {
            "temperature": self.temperature if self.do_sample else 0.0,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repetition_penalty": self.repetition_penalty,
        }

    def as_dict(self) -> dict:
        return asdict(self)


def sampling_from_config(config: dict, do_sample: bool) -> Sampling:
    """The config's `generation` section (temperature, top_p, top_k, min_p, repetition_penalty)."""
    gen = config["generation"]
    return Sampling(
        do_sample=bool(do_sample),
        temperature=float(gen["temperature"]),
        top_p=float(gen["top_p"]),
        top_k=int(gen["top_k"]),
        min_p=float(gen["min_p"]),
        repetition_penalty=float(gen["repetition_penalty"]),
    )
