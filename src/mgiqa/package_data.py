"""Files the package ships for the CLI, read with `importlib.resources` so that an installed wheel works
from any folder: the config schema, the default configs, the dataset registry and the prompt templates.

In a checkout `src/mgiqa/schemas/config.schema.yaml` and `src/mgiqa/configs/*.yaml` are symbolic links to
the workflow's own files (`workflow/schemas/config.schema.yaml`, `config/*.yaml`, where Snakemake expects
them), so each file exists once; building the wheel copies their contents into the package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SCHEMA = "schemas/config.schema.yaml"
DEFAULT_CONFIG = "configs/config.yaml"  # the embedded demo
PAPER_CONFIG = "configs/paper.yaml"


def package_path(relative: str, package: str = "mgiqa") -> Path:
    """The packaged file `relative` (a path inside `package`) as a file-system path.

    The package is installed as plain files (wheels are unpacked, editable installs point at `src/`), so
    `importlib.resources.files` gives a real path; `Path()` refuses anything else with a TypeError."""
    return Path(resources.files(package).joinpath(relative))
