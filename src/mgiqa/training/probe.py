"""A held-out probe during GRPO: the current policy's SRCC on a few dozen validation images, every N steps.

The training reward is measured on the batch being trained on; whether GRPO teaches *ranking* shows only on
images it never trains on. `grpo.probe: {every: N, images: M}` takes up to M rows of `split == val` of the
run's training datasets (spread evenly over them, the same rows every run), scores them greedily with the
evaluation readout every N optimizer steps (and at the first and last step), and logs the mean over datasets
of the within-dataset SRCC against MOS (datasets rate on different scales) as `probe/srcc`, with the share of
parsed answers as `probe/parse_rate`. They land in `train_log.csv` as `probe_srcc` / `probe_parse_rate`,
and the last of them in the model card's evaluation (`probe_evaluation`).

The probe runs on every process (ZeRO-3 gathers parameters collectively), inside `torch.random.fork_rng` so
the training's sampling stream is the same with and without it, with the model in eval mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mgiqa.errors import DataIntegrityError

PROBE_SPLIT = "val"
MIN_PER_DATASET = 3  # an SRCC of fewer parsed answers says nothing


@dataclass(frozen=True)
class ProbeSettings:
    every: int
    images: int


def probe_settings(config: dict) -> ProbeSettings | None:
    probe = config["grpo"]["probe"]
    if not probe:
        return None
    return ProbeSettings(every=int(probe["every"]), images=int(probe["images"]))


def held_out_probe(
    config: dict, table: pd.DataFrame, datasets: list[str], prompt_kind: str
) -> HeldOutProbe | None:
    """The probe `grpo.probe` asks for on the training datasets' validation rows of `table`, or None."""
    settings = probe_settings(config)
    if settings is None:
        return None
    return HeldOutProbe(probe_rows(table, datasets, settings.images), settings, config, prompt_kind)


def probe_rows(table: pd.DataFrame, datasets: list[str], images: int) -> pd.DataFrame:
    """Up to `images` validation rows, the same share of each training dataset, evenly spaced in table order."""
    val = table[(table["split"] == PROBE_SPLIT) & table["dataset"].isin(datasets)]
    if val.empty:
        raise DataIntegrityError(
            f"grpo.probe: the training datasets {sorted(datasets)} have no split == {PROBE_SPLIT!r} rows"
        )
    per_dataset = max(MIN_PER_DATASET, images // val["dataset"].nunique())
    picked = []
    for _, rows in val.groupby("dataset", sort=True):
        index = np.unique(np.linspace(0, len(rows) - 1, min(len(rows), per_dataset)).round().astype(int))
        picked.append(rows.iloc[index])
    return pd.concat(picked).reset_index(drop=True)


def within_dataset_srcc(datasets: list[str], mos: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over datasets of the SRCC of the parsed predictions with MOS (NaN when no dataset has enough)."""
    from scipy.stats import spearmanr

    frame = pd.DataFrame({"dataset": datasets, "mos": mos, "pred": predicted}).dropna()
    values = []
    for _, rows in frame.groupby("dataset"):
        if len(rows) >= MIN_PER_DATASET and rows["pred"].nunique() > 1:
            values.append(float(spearmanr(rows["mos"], rows["pred"]).statistic))
    return float(np.mean(values)) if values else math.nan


class HeldOutProbe:
    """Scores the probe rows with a model; `due(step, last)` says when."""

    def __init__(self, rows: pd.DataFrame, settings: ProbeSettings, config: dict, prompt_kind: str):
        from mgiqa.model import image_resolution, prepare_image
        from mgiqa.prompts import build_messages, prompt_fields

        resolution = image_resolution(config)  # as training and evaluation size their images
        self.images = [prepare_image(path, resolution) for path in rows["path"]]
        self.datasets = rows["dataset"].astype(str).tolist()
        self.mos = rows["mos"].to_numpy(dtype=float)
        self.settings = settings
        self.messages = build_messages(prompt_kind)
        self.fields = prompt_fields(prompt_kind)
        self.readout = config["evaluation"]["readout"]
        self.max_new_tokens = int(config["generation"]["max_new_tokens"])
        self.batch_size = int(config["evaluation"]["batch_size"])

    def due(self, step: int, last: int) -> bool:
        return step == 1 or step == last or step % self.settings.every == 0

    def measure(self, model, processor) -> dict[str, float]:
        """{"probe/srcc", "probe/parse_rate"} of `model` (an unwrapped model) on the probe images."""
        import torch

        from mgiqa.model.generate import generate_batch
        from mgiqa.model.readout import readout_values

        was_training = model.training
        model.eval()
        predicted = []
        try:
            with torch.random.fork_rng(devices=[]):
                for start in range(0, len(self.images), self.batch_size):
                    responses = generate_batch(
                        model,
                        processor,
                        self.images[start : start + self.batch_size],
                        lambda _image: self.messages,
                        max_new_tokens=self.max_new_tokens,
                        with_digit_probs=self.readout == "expected",
                    )
                    for (response,) in responses:
                        value = readout_values(response, list(self.fields), self.readout).get("overall")
                        predicted.append(math.nan if value is None else float(value))
        finally:
            model.train(was_training)
        predicted = np.asarray(predicted)
        return {
            "probe/srcc": within_dataset_srcc(self.datasets, self.mos, predicted),
            "probe/parse_rate": float(np.isfinite(predicted).mean()),
        }


def probe_evaluation(log: pd.DataFrame) -> dict:
    """The model card's evaluation from a GRPO `train_log.csv`: the held-out probe's last measurement.

    `heldout_step`, `heldout_srcc` and `heldout_parse_rate` of the last step the probe ran (it logs a parse
    rate whenever it runs; an SRCC it could not compute is left out). Empty when the probe never ran.
    """
    if "probe_parse_rate" not in log.columns:
        return {}
    measured = log[log["probe_parse_rate"].notna()]
    if measured.empty:
        return {}
    last = measured.iloc[-1]
    evaluation = {"heldout_step": int(last["step"]), "heldout_parse_rate": float(last["probe_parse_rate"])}
    if "probe_srcc" in log.columns and pd.notna(last["probe_srcc"]):
        evaluation["heldout_srcc"] = float(last["probe_srcc"])
    return evaluation
