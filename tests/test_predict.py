"""`predict_benchmark` (resumable, same table after a kill) and `mgiqa score` (text and JSON)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from test_tiny_model import tiny_config

from mgiqa.errors import DataIntegrityError


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from mgiqa.model.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("predict")
    config = tiny_config()
    config["evaluation"] |= {"batch_size": 2, "num_samples": 2}
    config["generation"] |= {"max_new_tokens": 6, "temperature": 1.0}
    model_dir = build_tiny_model(root / "model", config)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(5):
        path = root / "images" / f"im{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray((rng.random((40 + 8 * i, 60, 3)) * 255).astype(np.uint8)).save(path)
        rows.append({"image": f"images/im{i}.png", "mos": 1.0 + i * 0.7, "group": "g", "path": str(path)})
    table = root / "bench.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    config_path = root / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    return {"root": root, "config": config, "model": model_dir, "table": table, "config_path": config_path}


def test_predictions_table_layout(setup, tmp_path):
    from mgiqa.evaluation.predictions import PREDICTION_COLUMNS, read_predictions
    from mgiqa.model.generate import SAMPLE_SEPARATOR, predict_benchmark

    out = predict_benchmark(setup["model"], setup["table"], "attribute", setup["config"], tmp_path / "p.csv")
    df = read_predictions(out)
    assert tuple(df.columns) == PREDICTION_COLUMNS
    assert df["image"].tolist() == [f"images/im{i}.png" for i in range(5)]
    assert all(text.count(SAMPLE_SEPARATOR) == 1 for text in df["raw_text"])  # two samples each
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]  # no partial file left behind


@pytest.mark.slow
def test_resume_after_kill_gives_the_same_table(setup, tmp_path, monkeypatch):
    from mgiqa.model import generate

    args = (setup["model"], setup["table"], "attribute", setup["config"])
    reference = generate.predict_benchmark(*args, tmp_path / "ref.csv")

    real_append = generate.PartialPredictions.append

    def killed_after_first_batch(self, batch, records):
        real_append(self, batch, records)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write('{"batch": 1, "records": [{"image": "images/im2.p')  # torn write of the next batch
        raise KeyboardInterrupt

    monkeypatch.setattr(generate.PartialPredictions, "append", killed_after_first_batch)
    out = tmp_path / "resumed.csv"
    with pytest.raises(KeyboardInterrupt):
        generate.predict_benchmark(*args, out)
    partial = tmp_path / ".resumed.csv.partial.jsonl"
    assert partial.exists() and not out.exists()

    monkeypatch.setattr(generate.PartialPredictions, "append", real_append)
    batches_run = []
    real_generator = generate.load_generator

    def counting_generator(*a, **k):
        fn = real_generator(*a, **k)

        def wrapped(images, *args, **kwargs):
            batches_run.append(kwargs["seed"])
            return fn(images, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(generate, "load_generator", counting_generator)
    generate.predict_benchmark(*args, out)
    assert len(batches_run) == 2  # batch 0 came from the partial file
    assert out.read_bytes() == reference.read_bytes()
    assert not partial.exists()


def predict_killed_after_first_batch(args, out, monkeypatch) -> None:
    """`predict_benchmark(*args, out)` interrupted right after its first batch is recorded."""
    from mgiqa.model import generate

    real_append = generate.PartialPredictions.append

    def killed_after_first_batch(self, batch, records):
        real_append(self, batch, records)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(generate.PartialPredictions, "append", killed_after_first_batch)
        with pytest.raises(KeyboardInterrupt):
            generate.predict_benchmark(*args, out)


def test_a_model_retrained_at_the_same_path_starts_the_predictions_over(setup, tmp_path, monkeypatch, caplog):
    """Killed after one batch, the model folder replaced by another model: no row of the old one survives."""
    import copy
    import shutil

    from mgiqa.model import generate
    from mgiqa.model.tiny import build_tiny_model

    model = tmp_path / "model"
    shutil.copytree(setup["model"], model)
    args = (model, setup["table"], "attribute", setup["config"])
    out = tmp_path / "pred.csv"
    predict_killed_after_first_batch(args, out, monkeypatch)

    retrained = copy.deepcopy(setup["config"])
    retrained["seed"] += 1  # another initialisation: the "retrain" written at the same path
    shutil.rmtree(model)
    build_tiny_model(model, retrained)
    with caplog.at_level("WARNING"):
        generate.predict_benchmark(*args, out)
    assert any("model_identity" in r.message and "starting over" in r.message for r in caplog.records)
    fresh = generate.predict_benchmark(*args, tmp_path / "fresh.csv")
    assert out.read_bytes() == fresh.read_bytes()  # every row from the new model
    old = generate.predict_benchmark(setup["model"], *args[1:], tmp_path / "old.csv")
    assert out.read_bytes() != old.read_bytes()  # and the two models do answer differently


def test_an_edited_benchmark_table_starts_the_predictions_over(setup, tmp_path, monkeypatch, caplog):
    import shutil

    from mgiqa.model import generate

    table = tmp_path / "bench.csv"
    shutil.copy(setup["table"], table)
    args = (setup["model"], table, "attribute", setup["config"])
    out = tmp_path / "pred.csv"
    predict_killed_after_first_batch(args, out, monkeypatch)
    df = pd.read_csv(table)
    df["mos"] = df["mos"][::-1].to_numpy()  # same images and row count, other labels
    df.to_csv(table, index=False)
    with caplog.at_level("WARNING"):
        generate.predict_benchmark(*args, out)
    assert any("table_identity" in r.message for r in caplog.records)
    assert pd.read_csv(out)["mos"].tolist() == df["mos"].tolist()


def test_prediction_row_averages_samples_and_reports_failures():
    from mgiqa.model.generate import prediction_row

    row = {"image": "a.png", "mos": 3.0, "group": "g"}
    fields = ("sharpness", "color", "noise", "composition", "overall")
    texts = [
        "<think>ok</think>\nSharpness: 4, Color: 3, Noise: 2, Composition: 5, Overall: 3",
        "<think>ok</think>\nSharpness: 2, Color: 3, Noise: 2, Composition: x, Overall: 4",
    ]
    record = prediction_row(row, texts, fields)
    assert record["pred_sharpness"] == 3.0 and record["pred_overall"] == 3.5
    assert record["pred_composition"] == 5.0  # averaged over the samples where it parsed
    assert record["parse_ok"] is True
    record = prediction_row(row, ["no scores here"], ("overall",))
    assert record["pred_overall"] is None and record["pred_sharpness"] is None
    assert record["parse_ok"] is False and record["failed_fields"] == "overall"


def test_table_without_paths_is_rejected(setup, tmp_path):
    from mgiqa.model.generate import predict_benchmark

    bad = tmp_path / "bad.csv"
    pd.read_csv(setup["table"]).drop(columns="path").to_csv(bad, index=False)
    with pytest.raises(DataIntegrityError, match="path"):
        predict_benchmark(setup["model"], bad, "overall", setup["config"], tmp_path / "p.csv")


def test_score_json_and_text(setup, capsys, monkeypatch):
    from mgiqa import cli
    from mgiqa.model import generate

    images = [str(setup["root"] / "images" / f"im{i}.png") for i in range(3)]
    base = ["score", *images, "--checkpoint", str(setup["model"]), "--config", str(setup["config_path"])]
    assert cli.main([*base, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["prompt"] == "attribute" and [r["image"] for r in doc["results"]] == images
    assert set(doc["results"][0]["scores"]) == {"sharpness", "color", "noise", "composition", "overall"}
    assert doc["results"][0]["readout"] == setup["config"]["evaluation"]["readout"] == "expected"
    assert set(doc["results"][0]["written_scores"]) == set(doc["results"][0]["scores"])

    text_config = setup["root"] / "config_text.yaml"
    text_config.write_text(yaml.safe_dump(setup["config"] | {"evaluation": {**setup["config"]["evaluation"],
                                                                           "readout": "text"}}))  # fmt: skip
    base = ["score", *images, "--checkpoint", str(setup["model"]), "--config", str(text_config)]
    response = (
        "<think>Edges are sharp.</think>\nSharpness: 4, Color: 3.5, Noise: 2, Composition: 3, Overall: 3.2"
    )
    monkeypatch.setattr(generate, "generate_batch", lambda m, p, ims, fn, **k: [[response] for _ in ims])
    assert cli.main([*base, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["scores"] == {
        "sharpness": 4.0,
        "color": 3.5,
        "noise": 2.0,
        "composition": 3.0,
        "overall": 3.2,
    }
    assert result["reasoning"] == "Edges are sharp." and result["parse_ok"] is True
    assert result["readout"] == "text" and "written_scores" not in result
    assert cli.main(base) == 0
    text = capsys.readouterr().out
    assert "overall: 3.20" in text and "reasoning: Edges are sharp." in text
