"""The GRPO reward as ONE TRL reward function (`mgiqa_total`), with its components logged separately.

Why one function: TRL calls every reward function separately and sums them with weights. Splitting the
reward into per-attribute functions would re-parse every completion and recompute the batch statistics
(mu_i, var_i) once per function. Here each generation batch is parsed once and
`mgiqa.rewards.multi_attribute_reward` computes every attribute's fidelity, the weighted fidelity and the
format term in one pass; the returned total is what the advantages are computed from. TRL logs it as
`reward` (and `rewards/mgiqa_total/mean`); the components go through TRL's `log_metric` hook as
`reward/<attribute>`, `reward/fidelity`, `reward/format`, `parse_failure_rate` and `parse_failure/<field>`,
averaged over the processes that logged them (an attribute no image of a batch has a label for is not
logged for that batch, so it never counts as 0).

The flat completions are regrouped into [B, K] by the dataset's `item_id` column, never by position
alone. Parse failures get the worst-answer reward (`mgiqa.rewards`), and no format reward.

Ablations: `multi_reward: false` scores the overall field only (RL2R's fidelity + format). `alignment: false`
forms pairs across every image of the batch (the mixed-scope plan puts several datasets in one batch);
with alignment, pairs stay inside each image's comparison group (`dataset` + `group`: a scene id of one
dataset never meets the same id of another).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mgiqa.errors import ConfigError, DataIntegrityError

REWARD_NAME = "mgiqa_total"


@dataclass(frozen=True)
class RewardSpec:
    prompt_kind: str
    names: tuple[str, ...]  # reward dimensions: attributes then "overall" (label column "mos")
    weights: dict[str, float]
    ground_truth: str = "hard"
    gamma: float = 1e-6
    format_weight: float = 1.0
    within_groups: bool = True


def reward_spec(config: dict, spec: Mapping) -> RewardSpec:
    """The reward of one ablation: prompt kind, attributes that count, weights, ground truth."""
    from mgiqa.prompts import prompt_fields

    reward = config["reward"]
    fields = prompt_fields(spec["prompt"])
    if spec["multi_reward"]:
        if spec["prompt"] != "attribute":
            raise ConfigError(
                "multi_reward needs the attribute prompt (the overall prompt has no attribute scores)"
            )
        names = (*[a for a in reward["attributes"] if a in fields], "overall")
    else:
        names = ("overall",)
    weights = {n: float(reward["weights"].get(n, 1.0 if n == "overall" else np.nan)) for n in names}
    missing = [n for n, w in weights.items() if np.isnan(w)]
    if missing:
        raise ConfigError(f"reward.weights: no weight for {missing}")
    return RewardSpec(
        prompt_kind=spec["prompt"],
        names=names,
        weights=weights,
        ground_truth=reward["ground_truth"],
        gamma=float(reward["gamma"]),
        format_weight=float(reward["format_weight"]),
        within_groups=bool(spec["alignment"]),
    )


def completion_text(completion) -> str:
    """The text of a TRL completion: a string, or chat messages whose last turn is the assistant's."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        content = completion[-1].get("content", "")
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if p.get("type") == "text")
        return content if isinstance(content, str) else ""
    return ""


def group_by_item(item_ids: Sequence[str]) -> np.ndarray:
    """Flat completion indices as [B, K]: row b lists the completions of the b-th distinct item id."""
    order: dict[str, list[int]] = {}
    for i, item in enumerate(item_ids):
        order.setdefault(str(item), []).append(i)
    sizes = {len(v) for v in order.values()}
    if len(sizes) != 1:
        raise DataIntegrityError(f"reward: images have different numbers of completions {sorted(sizes)}")
    return np.array(list(order.values()), dtype=np.int64)


def _per_item(values: Sequence, index: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=object)[index]  # [B, K]
    if any(len({repr(v) for v in row}) != 1 for row in arr):
        raise DataIntegrityError(f"reward: column {name!r} differs between the completions of one image")
    return arr[:, 0]


class MultiDimensionalReward:
    """TRL reward function: all completions of a generation batch in, the total reward per completion out."""

    def __init__(self, spec: RewardSpec):
        from mgiqa.prompts import prompt_fields

        self.spec = spec
        self.fields = prompt_fields(spec.prompt_kind)
        missing = [n for n in spec.names if n not in self.fields]
        if missing:
            raise ConfigError(
                f"reward dimensions {missing} are not fields of the {spec.prompt_kind!r} prompt"
            )
        self.__name__ = REWARD_NAME

    def compute(self, texts: Sequence[str], item_ids: Sequence[str], columns: Mapping[str, Sequence]) -> dict:
        """Rewards of flat completions: {"total", "fidelity", "format", <name>...} as flat [N] arrays, plus
        "parsed" [N, F] scores (NaN = failure) in `self.fields` order."""
        from mgiqa.parsing import parse_batch
        from mgiqa.rewards import multi_attribute_reward

        index = group_by_item(item_ids)
        n = len(texts)
        values, format_ok = parse_batch(list(texts), self.fields)
        cols = [self.fields.index(name) for name in self.spec.names]
        scores = values[:, cols][index]  # [B, K, A]
        labels = np.stack(
            [
                _per_item(columns["mos" if a == "overall" else a], index, a).astype(float)
                for a in self.spec.names
            ],
            1,
        )
        std = np.full(labels.shape, np.nan)
        if "overall" in self.spec.names and "mos_std" in columns:
            std[:, self.spec.names.index("overall")] = _per_item(columns["mos_std"], index, "mos_std").astype(
                float
            )
        groups = None
        if self.spec.within_groups:  # group ids are per dataset: key them by dataset too
            keys = [f"{d}/{g}" for d, g in zip(columns["dataset"], columns["group"], strict=True)]
            groups = _per_item(keys, index, "group")
        out = multi_attribute_reward(
            scores,
            labels,
            None,
            self.spec.weights,
            names=self.spec.names,
            std=std,
            groups=groups,
            format_ok=format_ok[index],
            format_weight=self.spec.format_weight,
            ground_truth=self.spec.ground_truth,
            gamma=self.spec.gamma,
        )
        flat = {}
        for key, grid in out.items():
            arr = np.full(n, np.nan)
            arr[index.ravel()] = np.asarray(grid, dtype=float).ravel()
            flat[key] = arr
        flat["parsed"] = values
        return flat

    def metrics(self, result: dict) -> dict[str, float]:
        """Batch means of the components (an attribute only where it counted) and parse-failure rates."""
        out = {
            "reward/fidelity": float(np.mean(result["fidelity"])),
            "reward/format": float(np.mean(result["format"])),
        }
        for name in self.spec.names:
            finite = np.isfinite(result[name])
            if finite.any():
                out[f"reward/{name}"] = float(result[name][finite].mean())
        failed = np.isnan(result["parsed"])
        out["parse_failure_rate"] = float(failed.any(axis=1).mean())
        for j, field in enumerate(self.fields):
            out[f"parse_failure/{field}"] = float(failed[:, j].mean())
        return out

    def __call__(
        self, prompts=None, completions=None, item_id=None, log_metric=None, **columns
    ) -> list[float]:
        if completions is None or item_id is None:
            raise DataIntegrityError("reward: TRL passed no completions or no item_id column")
        result = self.compute([completion_text(c) for c in completions], item_id, columns)
        if log_metric is not None:
            for name, value in self.metrics(result).items():
                log_metric(name, value)
        return result["total"].tolist()


def reward_from_config(config: dict, spec: Mapping) -> MultiDimensionalReward:
    return MultiDimensionalReward(reward_spec(config, spec))
