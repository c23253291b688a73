"""Hostile config files: alias bombs, nan / inf / huge numbers, non-UTF-8 bytes, FIFOs; each a named error."""

from __future__ import annotations

import os
import threading
import time

import pytest
import yaml

from mgiqa.config import load_config, load_merged_config, validate_config
from mgiqa.errors import ConfigError


def billion_laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nseeds: *a{levels - 1}\n"


def bomb_config(repo_root) -> str:
    """The demo config whose `seeds` is a billion laughs (the anchors in an unused key, defined first)."""
    anchors, seeds = billion_laughs().rsplit("\n", 2)[0], billion_laughs().rsplit("\n", 2)[1]
    anchors = "x_anchors:\n" + "\n".join("  " + line for line in anchors.splitlines()) + "\n"
    return anchors + demo_text(repo_root, **{"seeds: [0]": seeds})


def demo_text(repo_root, **replace) -> str:
    text = (repo_root / "config" / "config.yaml").read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


def test_an_alias_bomb_in_seeds_is_refused_while_loading_with_its_line(tmp_path, repo_root):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb_config(repo_root), encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"bomb\.yaml: not valid YAML: more than 16 alias uses") as info:
        load_config(path)
    assert time.perf_counter() - start < 2 and "line 4," in str(info.value)


def test_an_alias_bomb_snakemake_loaded_fails_validation_quickly_with_a_short_message(demo_config):
    # Snakemake's loader (yte) keeps aliases as shared references; validation must not walk 387M values
    demo_config["seeds"] = yaml.safe_load(billion_laughs())["seeds"]
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"snakemake config: more than 20,000 values \(at seeds\.") as info:
        validate_config(demo_config, "snakemake config")
    assert time.perf_counter() - start < 2 and len(str(info.value)) < 300


def test_a_few_aliases_still_load(tmp_path, repo_root):
    path = tmp_path / "anchors.yaml"
    path.write_text(demo_text(repo_root, **{"seeds: [0]": "seeds: &s [0]"}) + "x_unused: *s\n")
    with pytest.raises(ConfigError, match="x_unused"):  # loaded; the schema then refuses the extra key
        load_config(path)


@pytest.mark.parametrize(
    "value, field",
    [(".nan", "learning_rate"), (".inf", "learning_rate"), ("-.inf", "learning_rate"), (".NaN", "beta")],
)
def test_nan_and_inf_numbers_are_refused_with_the_field(demo_config, value, field):
    demo_config["grpo"][field] = yaml.safe_load(value)
    with pytest.raises(ConfigError, match=rf"my\.yaml: grpo\.{field}: -?(nan|inf) is not a finite number"):
        validate_config(demo_config, "my.yaml")


def test_steps_are_bounded(demo_config):
    demo_config["grpo"]["steps"] = 10**30
    with pytest.raises(ConfigError, match=r"grpo\.steps: a 100-bit integer is out of range"):
        validate_config(demo_config, "my.yaml")
    demo_config["grpo"]["steps"] = 10**9
    with pytest.raises(ConfigError, match=r"grpo\.steps: 1000000000 is greater than the maximum of 10000000"):
        validate_config(demo_config, "my.yaml")


def test_steps_of_ten_to_the_thirty_in_a_file_are_refused(tmp_path, repo_root, demo_config):
    path = tmp_path / "steps.yaml"
    steps = f"steps: {demo_config['sft']['steps']}"
    path.write_text(demo_text(repo_root, **{steps: "steps: 1000000000000000000000000000000"}))
    with pytest.raises(ConfigError, match=r"steps\.yaml: sft\.steps: a 100-bit integer is out of range"):
        load_config(path)
    path.write_text(demo_text(repo_root, **{steps: "steps: " + "9" * 5000}))
    with pytest.raises(ConfigError, match=r"steps\.yaml: not valid YAML: Exceeds the limit"):
        load_config(path)


def test_a_latin1_config_names_the_line_and_byte(tmp_path, repo_root):
    path = tmp_path / "latin1.yaml"
    text = demo_text(repo_root)
    path.write_bytes(("# r\u00e9sum\u00e9 of the demo\n" + text).encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.yaml:1: not UTF-8 \(byte 0xe9 at offset 3\)"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"latin1\.yaml:1: not UTF-8"):
        load_merged_config([path])


def test_a_fifo_as_config_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    result = []
    worker = threading.Thread(target=lambda: result.append(_error_of(load_config, fifo)), daemon=True)
    worker.start()
    worker.join(5)
    assert result and "config.yaml: config file is a FIFO (named pipe), not a regular file" in result[0]


def test_dev_zero_and_a_directory_as_config_are_refused(tmp_path):
    assert "config file is a character device, not a regular file" in _error_of(load_config, "/dev/zero")
    assert "config file is a directory, not a regular file" in _error_of(load_config, tmp_path)


def test_a_huge_config_file_is_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: x\n" + "#" * (1 << 20) + "\n")
    assert "huge.yaml: config file is larger than the 1,048,576 bytes allowed" in _error_of(load_config, path)


def _error_of(function, *args) -> str:
    try:
        function(*args)
    except ConfigError as exc:
        return str(exc)
    raise AssertionError(f"{function.__name__}{args} did not raise ConfigError")
