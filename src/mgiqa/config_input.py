"""Config input a careless or hostile user may hand us, checked before the schema sees it.

- `read_config_file`: a regular file of at most `MAX_CONFIG_BYTES`, UTF-8 (a stray Latin-1 byte is named by
  line), YAML with at most `MAX_ALIASES` alias uses (an alias bomb, YAML's "billion laughs", is refused
  while loading: the line of the alias over the limit is named), a mapping at the top.
- `check_structure`: what any config, also one Snakemake loaded itself, must be before jsonschema walks it
  and formats parts of it into messages: at most `MAX_NODES` values counted as a tree (an alias is counted
  every time it is used), nested at most `MAX_DEPTH` deep, every number finite (``.nan``, ``.inf``) and every
  integer within 64 bits. The first offence is named by its field.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import yaml
from yaml.composer import ComposerError

from mgiqa.errors import ConfigError
from mgiqa.input_files import read_regular_file

MAX_CONFIG_BYTES = 1 << 20
MAX_ALIASES = 16  # at most about 3**5 copies: no bomb fits in 16 aliases
MAX_NODES = 20_000
MAX_DEPTH = 32
MAX_INT = 2**63 - 1


def read_config_file(path: str | os.PathLike) -> dict:
    """The mapping in the YAML (or JSON) config file `path`; ConfigError naming the file otherwise."""
    path = Path(path)
    data = read_regular_file(
        path, MAX_CONFIG_BYTES, lambda message: ConfigError(f"{path}: config file {message}")
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start}); save the file "
            "as UTF-8"
        ) from exc
    try:
        config = yaml.load(text, Loader=_AliasLimitedLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except ValueError as exc:  # a scalar its constructor refuses, e.g. an integer of more than 4300 digits
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a config must be a mapping")
    return config


class _AliasLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting alias uses while composing (`yaml.composer.Composer.compose_node`)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases = getattr(self, "_aliases", 0) + 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise ComposerError(
                    None, None, f"more than {MAX_ALIASES} alias uses (*name); a config needs few", mark
                )
        return super().compose_node(parent, index)


def check_structure(config, source: str | os.PathLike = "<config>") -> None:
    """Raise ConfigError naming the first field that makes `config` too big, too deep or not finite."""
    stack = [((), config)]
    nodes = 0
    while stack:
        where, value = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ConfigError(f"{source}: more than {MAX_NODES:,} values (at {_field(where)}); not a config")
        if len(where) > MAX_DEPTH:
            raise ConfigError(f"{source}: {_field(where[:MAX_DEPTH])}: nested more than {MAX_DEPTH} deep")
        if isinstance(value, dict):
            stack.extend(((*where, str(key)), item) for key, item in value.items())
        elif isinstance(value, list | tuple):
            stack.extend(((*where, str(i)), item) for i, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{source}: {_field(where)}: {value} is not a finite number")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ConfigError(
                f"{source}: {_field(where)}: a {value.bit_length()}-bit integer is out of range (at most 2**63 - 1)"
            )


def _field(where: tuple[str, ...]) -> str:
    return ".".join(where) or "<top level>"
