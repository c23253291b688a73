"""Methods evaluated with this pipeline's protocol but not trained by it: released checkpoints (a Hub id at a
revision, or a local folder) and internal models under another protocol (an evaluation-split override,
another prompt kind or readout).

`evaluation.external` lists them; each becomes a branch of the DAG (fetch -> predict -> metrics -> tables)
and a row of main.csv. An entry names exactly one model source:

- `hub_id` (+ `revision`): fetched by `mgiqa fetch-model` through huggingface_hub's snapshot_download,
  pinned to the commit the revision resolves to (`mgiqa.model.hub.snapshot_hub_model`);
- `local_path`: a model folder, copied (hard-linked) into `models/external/NAME`;
- `method`: the model of an internal method (`zero_shot` or an ablation), one per training seed.

`prompt` is the prompt kind (`attribute` or `overall`), `readout` overrides evaluation.readout, `train` names
what the checkpoint was trained on (its protocol; a released model's own training sets), `splits` the
evaluated rows: `test` (default), `all` (every image, as VisualQuality-R1 evaluates), or per benchmark.
"""

from __future__ import annotations

from pathlib import Path

from mgiqa.errors import ConfigError

SOURCES = ("hub_id", "local_path", "method")
EXTERNAL_DIR = "external"


def external_entries(config: dict) -> dict[str, dict]:
    """`evaluation.external` by name (checked: one source each, unique names, no clash with other methods)."""
    from mgiqa import pipeline

    entries: dict[str, dict] = {}
    taken = {pipeline.ZERO_SHOT, *config["ablations"], *pipeline.classical_methods(config)}
    for i, entry in enumerate(config["evaluation"]["external"]):
        name = entry["name"]
        where = f"evaluation.external[{i}] ({name})"
        if name in entries or name in taken:
            raise ConfigError(f"{where}: the name is already a method; external names must be new")
        given = [s for s in SOURCES if entry.get(s)]
        if len(given) != 1:
            raise ConfigError(f"{where}: give exactly one of {', '.join(SOURCES)} (got {given or 'none'})")
        method = entry.get("method")
        if method is not None and method not in (pipeline.ZERO_SHOT, *config["ablations"]):
            raise ConfigError(f"{where}.method: {method!r} is not zero_shot or an ablation")
        entries[name] = entry
    return entries


def external_methods(config: dict) -> list[str]:
    return list(external_entries(config))


def fetched_methods(config: dict) -> list[str]:
    """External methods whose model is fetched (hub or local), not an internal model."""
    return [n for n, e in external_entries(config).items() if not e.get("method")]


def entry(config: dict, name: str) -> dict:
    entries = external_entries(config)
    if name not in entries:
        raise ConfigError(f"unknown external method {name!r}; known: {sorted(entries)}")
    return entries[name]


def fetched_model(config: dict, name: str) -> str:
    return str(Path(config["paths"]["models"]) / EXTERNAL_DIR / name)


def model_dir(config: dict, name: str, seed) -> str:
    from mgiqa import pipeline

    spec = entry(config, name)
    if spec.get("method"):
        return pipeline.method_model(config, spec["method"], seed)
    return fetched_model(config, name)


def seeds(config: dict, name: str) -> list:
    from mgiqa import pipeline

    spec = entry(config, name)
    return pipeline.method_seeds(config, spec["method"]) if spec.get("method") else [0]


def split_of(config: dict, method: str, benchmark: str) -> str:
    """The evaluated rows of `benchmark` for `method`: `test` unless an external entry overrides it."""
    if method not in external_entries(config):
        return "test"
    splits = entry(config, method)["splits"]
    return splits if isinstance(splits, str) else splits.get(benchmark, "test")


def readout_of(config: dict, method: str) -> str:
    readout = config["evaluation"]["readout"]
    if method in external_entries(config):
        return entry(config, method).get("readout", readout)
    return readout


def fetch(config: dict, name: str, out_dir) -> Path:
    """Bring a released checkpoint into `out_dir`: a pinned Hub snapshot or a copy of a local folder."""
    from mgiqa.model.hub import copy_local_model, snapshot_hub_model

    spec = entry(config, name)
    if spec.get("hub_id"):
        return snapshot_hub_model(spec["hub_id"], spec.get("revision", "main"), out_dir)
    if spec.get("local_path"):
        return copy_local_model(spec["local_path"], out_dir)
    raise ConfigError(
        f"evaluation.external {name}: method {spec['method']!r} is evaluated in place, not fetched"
    )
