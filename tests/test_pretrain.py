"""Demo pretraining: targets, table checks, a short deterministic run that saves a loadable model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter
from test_tiny_model import tiny_config

from mgiqa.errors import ConfigError, DataIntegrityError


def distorted_table(root, n_refs: int = 4) -> pd.DataFrame:
    """Synthetic references x (blur, noise) x levels 1..3, plus the clean references; refs 0-2 train."""
    rng = np.random.default_rng(0)
    rows = []
    for ref in range(n_refs):
        base = Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).resize((56, 56))
        variants = {("", 0): base}
        for level in (1, 2, 3):
            variants[("01", level)] = base.filter(ImageFilter.GaussianBlur(level))
            noisy = np.asarray(base, dtype=float) + rng.normal(0, 12 * level, (56, 56, 3))
            variants[("11", level)] = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        for (distortion, level), image in variants.items():
            name = f"I{ref:02d}_{distortion or '00'}_{level:02d}.png"
            image.save(root / name)
            rows.append(
                {
                    "image": name,
                    "group": "g",
                    "split": "train" if ref < n_refs - 1 else "test",
                    "mos": 5.0 - level,
                    "distortion": distortion or None,
                    "distortion_level": level or None,
                    "path": str(root / name),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from mgiqa.model.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("pretrain")
    (root / "images").mkdir()
    table = root / "pretrain.csv"
    distorted_table(root / "images").to_csv(table, index=False)
    config = tiny_config()
    config["pretrain"] = {
        "vision_steps": 2,
        "steps": 2,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "warmup_steps": 2,
        "tasks": ["distortion", "attribute", "overall"],
    }
    return {"root": root, "table": table, "config": config, "model": build_tiny_model(root / "init", config)}


def test_targets_round_trip():
    from mgiqa.model.pretrain_data import parse_target, target_text

    assert target_text("gaussian_blur", 3) == "distortion: gaussian blur, level 3"
    assert target_text("07", 2.0) == target_text(7.0, 2) == "distortion: type 7, level 2"
    assert target_text(None, None) == target_text(float("nan"), float("nan")) == "distortion: none"
    for text in ("distortion: gaussian blur, level 3", "distortion: type 7, level 2", "distortion: none"):
        name, level = parse_target(text)
        assert target_text(name, level) == text if level else name == "none"
    assert parse_target("garbage") == (None, None)


def test_learning_rate_schedule():
    from mgiqa.model.pretrain import PretrainSettings

    s = PretrainSettings(steps=100, learning_rate=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert s.lr_at(0) == pytest.approx(0.1) and s.lr_at(9) == pytest.approx(1.0)
    assert s.lr_at(99) == pytest.approx(0.1, abs=1e-3)
    assert all(s.lr_at(i) >= s.lr_at(i + 1) for i in range(10, 99))
    with pytest.raises(ConfigError, match="unknown keys"):
        PretrainSettings.from_config({"pretrain": {"steps": 1, "typo_rate": 2}})
    s = PretrainSettings(steps=50, vision_steps=50, learning_rate=1.0, warmup_steps=10)
    assert s.total_steps == 100 and s.lr_at(99) == pytest.approx(0.1, abs=1e-3)


def test_table_checks(tmp_path):
    from mgiqa.model.pretrain_data import load_pretrain_table

    df = distorted_table(tmp_path)
    df.drop(columns="distortion_level").to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataIntegrityError, match="distortion_level"):
        load_pretrain_table(tmp_path / "a.csv")
    bad = df.copy()
    bad.loc[3, "distortion_level"] = 0
    bad.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataIntegrityError, match=r"b\.csv:5"):
        load_pretrain_table(tmp_path / "b.csv")


@pytest.mark.slow
def test_pretrain_saves_a_loadable_model_deterministically(setup, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from mgiqa.model.pretrain import pretrain

    evaluation = pretrain(setup["model"], setup["table"], setup["config"], tmp_path / "a")
    assert evaluation["n_train"] == 21 and evaluation["n_held_out"] == 7
    assert evaluation["vision_steps"] == 2 and evaluation["steps"] == 2
    for key in ("probe_distortion_level_srcc", "probe_mos_srcc", "distortion_accuracy", "level_accuracy"):
        assert key in evaluation
    for task in ("attribute", "overall"):
        assert 0.0 <= evaluation[f"{task}_parsed_fraction"] <= 1.0 and f"{task}_mos_srcc" in evaluation
    out = tmp_path / "a"
    AutoProcessor.from_pretrained(out)
    AutoModelForImageTextToText.from_pretrained(out)
    log = pd.read_csv(out / "train_log.csv")
    assert log["step"].tolist() == [1, 2, 3, 4] and np.isfinite(log["aux_loss"]).all()
    assert evaluation["tasks"] == ["distortion", "attribute", "overall"]
    assert log["loss"].isna().tolist() == [True, True, False, False]  # phase 1 trains the vision tower only
    assert json.loads((out / "pretrain_eval.json").read_text())["steps"] == 2
    seen = []  # the self-description is written into the folder being saved, before the rename

    def describe(folder, ev):
        seen.append(
            (folder, (folder / "model.safetensors").is_file(), (tmp_path / "b").exists(), ev["steps"])
        )

    pretrain(setup["model"], setup["table"], setup["config"], tmp_path / "b", describe=describe)
    assert len(seen) == 1 and seen[0][0] != tmp_path / "b" and seen[0][1:] == (True, False, 2)
    first, second = load_file(out / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert all((first[k] == second[k]).all() for k in first)
    before = load_file(setup["model"] / "model.safetensors")
    assert any(not (first[k] == before[k]).all() for k in first)  # training changed the weights
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temporary directories left


def test_pretrain_refuses_hub_models(setup, tmp_path):
    from mgiqa.model.pretrain import pretrain

    config = dict(setup["config"], model=dict(setup["config"]["model"], source="hub"))
    with pytest.raises(ConfigError, match="tiny"):
        pretrain(setup["model"], setup["table"], config, tmp_path / "x")


def test_rating_tasks_answer_in_the_prompt_format_with_severity_never_mos(tmp_path):
    from mgiqa.model.pretrain_data import load_pretrain_table, severity_labels, task_examples
    from mgiqa.parsing import parse_response
    from mgiqa.prompts import prompt_fields

    df = distorted_table(tmp_path)
    df["sharpness"] = np.where(df["distortion"] == "01", 6.0 - df["distortion_level"], np.nan)
    df.to_csv(tmp_path / "t.csv", index=False)
    table = load_pretrain_table(tmp_path / "t.csv")
    blurred = table[(table["distortion"] == 1) & (table["distortion_level"] == 3)].iloc[0]
    assert severity_labels(blurred) == {"overall": 3.0, "sharpness": 3.0, "color": 5.0, "noise": 5.0,
                                        "composition": 5.0}  # fmt: skip
    clean = table[table["distortion_level"].isna()].iloc[0]
    assert severity_labels(clean)["overall"] == 5.0
    examples = task_examples(table, ("distortion", "attribute", "overall"))
    assert len(examples) == 3 * len(table)
    assert examples["task"].tolist() == ["distortion"] * len(table) + ["attribute"] * len(table) + [
        "overall"
    ] * len(table)
    assert examples["target"].iloc[: len(table)].tolist() == table["target"].tolist()
    for task in ("attribute", "overall"):
        for (_, row), target in zip(
            table.iterrows(), examples[examples["task"] == task]["target"], strict=True
        ):
            parsed = parse_response(target, prompt_fields(task))
            assert parsed.format_ok
            assert parsed.values["overall"] == severity_labels(row)["overall"]  # the level, not the MOS
            assert (
                parsed.values["overall"] != row["mos"] or row["distortion_level"] != row["distortion_level"]
            )


def test_tasks_are_validated():
    from mgiqa.model.pretrain import PretrainSettings
    from mgiqa.model.pretrain_data import pretrain_messages

    s = PretrainSettings.from_config({"pretrain": {"steps": 1, "tasks": ["distortion", "overall"]}})
    assert s.tasks == ("distortion", "overall")
    with pytest.raises(ConfigError, match="tasks"):
        PretrainSettings.from_config({"pretrain": {"steps": 1, "tasks": ["caption"]}})
    with pytest.raises(ConfigError, match="tasks"):
        pretrain_messages("caption")


def test_pretraining_sees_the_image_tokens_at_the_positions_generation_uses(setup):
    """The pretraining batch must give the model the same inputs as the processor does in SFT, GRPO and
    generation (with `mm_token_type_ids`, Qwen2.5-VL gives image tokens 3-D M-RoPE positions). Without it the
    loop trained the demo base model at other positions, and its answers ran on past their end."""
    import torch

    from mgiqa.model.loading import load_model, load_processor
    from mgiqa.model.pretrain_data import EncodedExamples, pretrain_messages

    model = load_model(setup["model"])
    processor = load_processor(setup["model"], 56)
    table = pd.read_csv(setup["table"])
    target = (
        "<think>very sharp</think>\nSharpness: 5.0, Color: 5.0, Noise: 5.0, Composition: 5.0, Overall: 5.0"
    )
    data = EncodedExamples(processor, [table["path"][0]], [target], 56, ["attribute"])
    batch = data.batch(torch.arange(1))
    from mgiqa.model import prepare_image

    prompt = processor.apply_chat_template(
        pretrain_messages("attribute"), tokenize=False, add_generation_prompt=True
    )
    reference = processor(
        text=[prompt + target + "<|im_end|>"],
        images=[prepare_image(table["path"][0], 56)],
        return_tensors="pt",
    )
    assert torch.equal(batch["input_ids"], reference["input_ids"])
    assert torch.equal(batch["mm_token_type_ids"], reference["mm_token_type_ids"])
    with torch.no_grad():
        ours = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        theirs = model(**reference).logits
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_whitening_over_a_dct_patch_embedding_is_refused_before_anything_loads(setup, tmp_path):
    from mgiqa.model.pretrain import pretrain

    config = {**setup["config"], "model": {**setup["config"]["model"]}}
    config["model"]["tiny"] = {**config["model"]["tiny"], "patch_embedding": "dct"}
    config["pretrain"] = {**config["pretrain"], "whiten_patches": True}
    with pytest.raises(ConfigError, match="whiten_patches"):
        pretrain(tmp_path / "no-model", tmp_path / "no-table.csv", config, tmp_path / "out")
