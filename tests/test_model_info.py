"""Checkpoints that describe themselves: every stage writes `mgiqa_model.json` and a model card beside its
weights; `mgiqa score` / `predict` take the settings from it and refuse a config that disagrees."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
import yaml
from hue_world import DATASET, write_hue_table
from test_pretrain import distorted_table

from mgiqa import cli
from mgiqa.errors import ConfigError, DataIntegrityError
from mgiqa.model import Resolution
from mgiqa.model.checkpoint_settings import resolve_settings
from mgiqa.model.model_info import INFO_FILE, info_from_config, read_model_info, write_model_info


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def stages(tmp_path_factory, _test_config):
    """The four stage commands run for a step or two each: build-model -> pretrain -> sft -> grpo."""
    from mgiqa.data.batches import build_batch_plan

    root = tmp_path_factory.mktemp("stages")
    config = json.loads(json.dumps(_test_config))
    config["datasets"]["train"] = [DATASET]
    config["pretrain"] |= {"vision_steps": 1, "steps": 1, "batch_size": 4, "warmup_steps": 1}
    config["sft"] |= {"steps": 2, "batch_size": 2, "save_steps": 1}
    config["grpo"] |= {"steps": 1, "num_generations": 2, "save_steps": 1}
    config["generation"]["max_new_tokens"] = 12
    config_path = root / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "pretrain").mkdir()
    pretrain_table = root / "demo_pretrain.csv"
    distorted_table(root / "pretrain").to_csv(pretrain_table, index=False)
    table = write_hue_table(root / "data", n_train=8, n_val=0, n_test=4)
    rows = pd.read_csv(table)
    plan = root / "plan.csv"
    build_batch_plan(rows[rows["split"] == "train"], 4, scope="group", min_mos_spread=0.2, seed=0).to_csv(
        plan, index=False
    )
    models = {name: root / "models" / name for name in ("init", "base", "sft", "grpo")}
    c = ["--config", str(config_path)]
    assert cli.main(["build-model", *c, "-o", str(models["init"])]) == 0
    assert cli.main(["pretrain", *c, "--model", str(models["init"]), "--table", str(pretrain_table),
                     "-o", str(models["base"])]) == 0  # fmt: skip
    assert cli.main(["sft", *c, "--prompt", "attribute", "--seed", "0", "--model", str(models["base"]),
                     "--tables", str(table), "-o", str(models["sft"])]) == 0  # fmt: skip
    assert cli.main(["grpo", *c, "--ablation", "mg_iqa", "--seed", "0", "--model", str(models["sft"]),
                     "--tables", str(table), "--batch-plan", str(plan), "-o", str(models["grpo"])]) == 0  # fmt: skip
    return {"root": root, "config": config, "config_path": config_path, "table": table, **models}


def test_every_stage_writes_its_settings_and_provenance_beside_the_weights(stages):
    infos = {name: read_model_info(stages[name]) for name in ("init", "base", "sft", "grpo")}
    square = Resolution("square", stages["config"]["model"]["image_size"])
    assert all(info.usage.resolution == square for info in infos.values())
    assert all(
        info.usage.readout == "expected" and info.usage.max_new_tokens == 12 for info in infos.values()
    )
    assert [i.provenance.stage for i in infos.values()] == ["base", "pretrain", "sft", "grpo"]
    assert infos["init"].usage.prompt is None and infos["init"].fixed == ("resolution",)
    assert infos["base"].provenance.datasets == ("demo_pretrain",) and infos["base"].provenance.steps == 2
    assert infos["base"].provenance.parent_model == str(stages["init"])
    for name, parent in (("sft", "base"), ("grpo", "sft")):
        info = infos[name]
        assert info.usage.prompt == "attribute" and info.fixed == ("prompt", "resolution")
        assert info.provenance.datasets == (DATASET,) and info.provenance.seed == 0
        assert info.provenance.parent_model == str(stages[parent])
    assert infos["sft"].provenance.steps == 2 and infos["grpo"].provenance.steps == 1
    assert infos["sft"].provenance.recipe["sft"]["steps"] == 2
    assert infos["grpo"].provenance.recipe["ablation"]["mg_iqa"]["prompt"] == "attribute"
    assert len({i.provenance.config_hash for i in infos.values()}) == 1  # one config for the whole chain
    assert infos["grpo"].provenance.mgiqa_version == "0.1.0"


def test_every_stage_writes_a_model_card_with_its_recipe(stages):
    from huggingface_hub import ModelCard

    for name in ("init", "base", "sft", "grpo"):
        card = ModelCard.load(stages[name] / "README.md")
        assert card.data.library_name == "transformers" and "mgiqa" in card.data.tags
        assert "## Training recipe" in card.text and "mgiqa.Scorer.from_pretrained" in card.text
    grpo = (stages["grpo"] / "README.md").read_text()
    assert "| prompt | attribute | yes |" in grpo and f"`{DATASET}`" in grpo
    assert "## Evaluation" in (stages["base"] / "README.md").read_text()  # the pretraining's held-out figures


def test_the_info_file_and_card_are_deterministic(stages, tmp_path):
    info = info_from_config(
        stages["config"], "sft", prompt="overall", fixed=("prompt",), recipe_sections=("sft",)
    )
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write_model_info(tmp_path / folder, info)
    for name in (INFO_FILE, "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["README.md", INFO_FILE]  # no temp files
    assert read_model_info(tmp_path / "a") == info


def test_a_broken_info_file_names_the_file_and_the_field(stages, tmp_path):
    good = json.loads((stages["sft"] / INFO_FILE).read_text())
    path = tmp_path / INFO_FILE
    cases = [
        (lambda d: d["usage"].update(readout="bogus"), r"usage\.readout: 'bogus' is not one of"),
        (lambda d: d["provenance"].pop("stage"), r"provenance\.stage: missing"),
        (lambda d: d["usage"]["resolution"].update(size="56"), r"usage\.resolution\.size: '56' is not int"),
        (lambda d: d.update(fixed=["colour"]), r"fixed: \['colour'\] are not among"),
        (lambda d: d.update(format=99), r"format: version 99 is not 1"),
    ]
    for edit, message in cases:
        data = json.loads(json.dumps(good))
        edit(data)
        path.write_text(json.dumps(data))
        with pytest.raises(DataIntegrityError, match=rf"{path}: {message}"):
            read_model_info(tmp_path)
    path.write_text("{not json")
    with pytest.raises(DataIntegrityError, match=rf"{path}: not JSON"):
        read_model_info(tmp_path)


def test_without_a_config_the_checkpoint_settings_replace_the_default_config(stages, demo_config):
    assert demo_config["model"]["image_size"] == 112  # the packaged default: the silent 112 px of before
    settings = resolve_settings(stages["sft"], demo_config, config_source=None)
    assert settings.prompt == "attribute"
    assert settings.config["model"]["image_size"] == stages["config"]["model"]["image_size"]
    assert settings.config["generation"]["max_new_tokens"] == 12


def test_an_explicit_config_that_disagrees_on_what_the_model_was_trained_with_is_an_error(stages):
    config = json.loads(json.dumps(stages["config"]))
    config["model"]["image_size"] = 112
    with pytest.raises(ConfigError, match=r"usage\.resolution: the model was trained at 'square 56', the config "
                                          r"other\.yaml asks for 'square 112'"):  # fmt: skip
        resolve_settings(stages["grpo"], config, config_source="other.yaml")
    with pytest.raises(
        ConfigError, match=r"usage\.prompt: .*'attribute' prompt, --prompt asks for 'overall'"
    ):
        resolve_settings(stages["sft"], stages["config"], config_source="c.yaml", prompt="overall")
    assert resolve_settings(
        stages["init"], stages["config"], config_source="c.yaml", prompt="overall"
    ).prompt == ("overall")  # a base model answers either prompt


def test_an_explicit_config_keeps_its_evaluation_choices_and_says_so(stages, caplog):
    config = json.loads(json.dumps(stages["config"]))
    config["evaluation"]["readout"] = "text"
    with caplog.at_level(logging.WARNING):
        settings = resolve_settings(stages["sft"], config, config_source="text.yaml")
    assert settings.config["evaluation"]["readout"] == "text"
    assert "usage.readout is 'expected'; the config text.yaml sets evaluation.readout: 'text'" in caplog.text


def test_a_checkpoint_without_the_file_is_used_with_the_config_as_it_is(tmp_path, test_config):
    settings = resolve_settings(tmp_path, test_config, config_source=None)
    assert settings.info is None and settings.config == test_config and settings.prompt == "attribute"


def test_score_and_predict_refuse_a_conflicting_config(stages, tmp_path, capsys):
    config = json.loads(json.dumps(stages["config"]))
    config["model"]["image_size"] = 112
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(config, sort_keys=False))
    image = pd.read_csv(stages["table"])["path"].iloc[0]
    assert cli.main(["score", image, "--checkpoint", str(stages["grpo"]), "--config", str(other)]) == 2
    assert "usage.resolution: the model was trained at 'square 56'" in capsys.readouterr().err
    argv = ["predict", "--config", str(other), "--model", str(stages["sft"]), "--prompt", "attribute",
            "--benchmark-tables", str(stages["table"]), "--out-dir", str(tmp_path / "p")]  # fmt: skip
    assert cli.main(argv) == 2
    assert f"{stages['sft'] / INFO_FILE}: usage.resolution" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_a_copied_base_model_keeps_the_info_it_came_with_and_a_plain_one_fixes_nothing(stages, tmp_path):
    from mgiqa.model.tiny import build_tiny_model

    plain = build_tiny_model(tmp_path / "plain", stages["config"])  # weights alone, as from elsewhere
    for source, expected_stage in ((stages["sft"], "sft"), (plain, "base")):
        config = json.loads(json.dumps(stages["config"]))
        config["model"] |= {"source": "local", "local_path": str(source)}
        path = tmp_path / f"{expected_stage}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        out = tmp_path / "copies" / expected_stage
        assert cli.main(["build-model", "--config", str(path), "-o", str(out)]) == 0
        info = read_model_info(out)
        assert info.provenance.stage == expected_stage and (out / "README.md").is_file()
    assert info.fixed == () and info.provenance.parent_model == str(plain)
    assert read_model_info(tmp_path / "copies" / "sft") == read_model_info(stages["sft"])


def _probe_log(folder, rows):
    folder.mkdir(parents=True)
    columns = ["step", "loss", "probe_srcc", "probe_parse_rate"]
    pd.DataFrame(rows, columns=columns).to_csv(folder / "train_log.csv", index=False)


def test_the_probe_evaluation_is_the_last_probed_step_of_the_train_log():
    from mgiqa.training.probe import probe_evaluation

    nan = float("nan")
    log = pd.DataFrame(
        [[1, 0.9, 0.10, 0.50], [2, 0.8, nan, nan], [3, 0.7, 0.4321, 0.875], [4, 0.6, nan, nan]],
        columns=["step", "loss", "probe_srcc", "probe_parse_rate"],
    )
    assert probe_evaluation(log) == {"heldout_step": 3, "heldout_srcc": 0.4321, "heldout_parse_rate": 0.875}
    log.loc[2, "probe_srcc"] = nan  # the probe ran but too few answers parsed for an SRCC
    assert probe_evaluation(log) == {"heldout_step": 3, "heldout_parse_rate": 0.875}
    assert probe_evaluation(log.drop(index=[0, 2])) == {}  # the probe never ran
    assert probe_evaluation(log[["step", "loss"]]) == {}  # an SFT log


def test_the_grpo_card_reports_the_held_out_probe_and_the_sft_card_no_evaluation(tmp_path, test_config):
    from mgiqa.model.stage_info import describe_grpo, describe_sft

    config = json.loads(json.dumps(test_config))
    config["datasets"]["train"] = [DATASET]
    config["grpo"]["probe"] = {"every": 2, "images": 4}
    table = write_hue_table(tmp_path / "data", n_train=4, n_val=6, n_test=0, size=8)
    nan = float("nan")
    grpo = tmp_path / "grpo"
    _probe_log(grpo, [[1, 0.9, 0.125, 1.0], [2, 0.8, 0.4321, 0.75], [3, 0.7, nan, nan]])
    describe_grpo(config, "mg_iqa", 0, tmp_path / "sft", [table])(grpo, 3)
    card = (grpo / "README.md").read_text()
    assert "## Evaluation" in card and "| heldout_srcc | 0.4321 |" in card
    assert "| heldout_step | 2 |" in card and "| heldout_parse_rate | 0.75 |" in card
    assert "| n_held_out | 4 |" in card  # the probe's validation rows: 4 of the 6
    assert read_model_info(grpo).provenance.steps == 3

    unprobed = tmp_path / "unprobed"
    _probe_log(unprobed, [[1, 0.9, nan, nan]])
    describe_grpo(config, "mg_iqa", 0, tmp_path / "sft", [table])(unprobed, 1)
    config["grpo"]["probe"] = None
    off = tmp_path / "off"
    _probe_log(off, [[1, 0.9, nan, nan]])
    describe_grpo(config, "mg_iqa", 0, tmp_path / "sft", [table])(off, 1)
    sft = tmp_path / "sft_out"
    _probe_log(sft, [[1, 0.9, nan, nan]])
    describe_sft(config, "attribute", 0, tmp_path / "base", [table])(sft, 1)
    for folder in (unprobed, off, sft):
        assert "## Evaluation" not in (folder / "README.md").read_text(), folder
        assert read_model_info(folder).provenance.steps == 1
