"""One table (mgiqa.rule_config) of the config keys each rule depends on: a config edit reruns the same jobs
under Snakemake (`--rerun-triggers params`: the job's params differ from the recorded ones) as under DVC (a
stage reruns when one of its `params` values changes), on config/test.yaml's DAG."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mgiqa import rule_config as RC
from mgiqa.dvc_export import (
    CONFIG_RULE,
    DEFAULT_TARGETS,
    Export,
    build_dvc_yaml,
    snakemake_jobs,
    stage_name,
)

REPO = Path(__file__).resolve().parents[1]


def _config_file(tmp_path: Path, name: str, edit: tuple[str, object] | None = None) -> str:
    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    # the test config's own (relative) paths: a forced dry DAG of results/tables/main.csv writes nothing
    if edit:
        *parents, leaf = edit[0].split(".")
        node = config
        for part in parents:
            node = node[part]
        assert leaf in node, edit  # an edit of a key the file sets (DVC lists only those)
        node[leaf] = edit[1]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _export(path: str) -> Export:
    return Export(REPO, "Snakefile", [path], list(DEFAULT_TARGETS), "dvc.yaml")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rule_config")
    path = _config_file(tmp, "base.yaml")
    export = _export(path)
    jobs = snakemake_jobs(export)
    return tmp, path, export, jobs, build_dvc_yaml(jobs, export)["stages"]


def _snakemake_reruns(base_jobs, edited_jobs) -> set[str]:
    """Jobs whose params differ from the base DAG's: what `--rerun-triggers params` reruns (Snakemake
    compares the same serialized params against the ones stored with each output)."""
    before = {stage_name(j): j.params for j in base_jobs}
    assert set(before) == {stage_name(j) for j in edited_jobs}  # the edit leaves the DAG's shape alone
    return {stage_name(j) for j in edited_jobs if j.params != before[stage_name(j)]}


def _dvc_reruns(stages: dict, base_path: str, edited_path: str) -> set[str]:
    """Stages one of whose `params` has another value in the edited config file (registry unchanged)."""
    texts = {base_path: yaml.safe_load(Path(base_path).read_text())}
    edited = yaml.safe_load(Path(edited_path).read_text())
    changed = set()
    for name, stage in stages.items():
        for entry in stage.get("params", []):
            for file, keys in entry.items():
                if file != base_path:
                    continue
                if not keys:  # the whole file (dvc_yaml_check)
                    keys = sorted(set(texts[file]) | set(edited))
                if any(RC.lookup(texts[file], k) != RC.lookup(edited, k) for k in keys):
                    changed.add(name)
    return changed


EDITS = {
    ("model.dtype", "bfloat16"): {"build_tiny_model", "pretrain_base_model", "sft", "grpo", "predict"},
    ("grpo.learning_rate", 1.0e-3): {"grpo"},
    ("evaluation.bootstrap", 20): {"metrics", "figures", "tables"},
    ("ablations.mg_iqa.multi_reward", False): {"grpo", "tables"},
}


@pytest.mark.parametrize("edit", list(EDITS), ids=[k for k, _ in EDITS])
def test_a_config_edit_reruns_the_same_jobs_with_either_tool(base, edit):
    tmp, base_path, _, base_jobs, stages = base
    edited_path = _config_file(tmp, "edited.yaml", edit)
    edited_export = _export(edited_path)
    edited_jobs = snakemake_jobs(edited_export)
    # the edited DAG's dvc params are those of the base file's stages, with the file renamed
    edited_export.config_texts = {base_path: edited_export.config_texts[edited_path]}

    snakemake = _snakemake_reruns(base_jobs, edited_jobs)
    assert f"{CONFIG_RULE}" in snakemake  # the effective config is rewritten (no DVC stage: each writes it)
    snakemake.discard(CONFIG_RULE)
    dvc = _dvc_reruns(stages, base_path, edited_path) - {"dvc_yaml_check"}
    assert snakemake == dvc
    assert {name.split("-")[0] for name in snakemake} == EDITS[edit]
    if edit[0].startswith("ablations."):
        assert "grpo-mg_iqa-0" in snakemake and not any(n.startswith("grpo-rl2r") for n in snakemake)


def test_every_rule_is_in_the_table(base):
    _, _, _, jobs, _ = base
    assert {j.rule for j in jobs} <= set(RC.RULE_CONFIG_KEYS)
    workflow_rules = set()
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        workflow_rules |= {
            line.split()[1].rstrip(":") for line in text.splitlines() if line.strip().startswith("rule ")
        }
        for rule in RC.RULE_CONFIG_KEYS:
            if f'RC.settings(config, REG, "{rule}")' in text:
                assert f"rule {rule}:" in text, (smk.name, rule)
    shell_rules = {j.rule for j in jobs}
    for rule in shell_rules - {CONFIG_RULE}:
        assert any(
            f'RC.settings(config, REG, "{rule}")' in p.read_text()
            for p in (REPO / "workflow" / "rules").glob("*.smk")
        ), rule
    assert set(RC.RULE_CONFIG_KEYS) <= workflow_rules


def test_generated_datasets_depend_on_the_demo_settings(demo_config):
    from mgiqa.pipeline import registry

    reg = registry(demo_config)
    assert RC.config_keys("fetch_dataset", demo_config, reg, {"dataset": "demo_bid"}) == ["seed", "demo"]
    settings = RC.job_settings("fetch_dataset", demo_config, reg, {"dataset": "demo_bid"})
    assert settings["config"]["demo"] == demo_config["demo"] and set(settings["registry"]) <= {
        "sources",
        "archive",
        "root",
    }
