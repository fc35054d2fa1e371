"""A key given twice in any YAML zoo reads is refused with both lines, never merged away."""

import textwrap
from pathlib import Path

import pytest

from zoo.cli.main import main
from zoo.config import yaml_limits
from zoo.errors import ZooError


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


TWO_TRAINING = """\
model: {name: mnist_cnn}
data: {name: mnist}
training:
  epochs: 3
export: {keras: true}
training:
  batch_size: 8
"""


def test_two_training_blocks_exit_2_naming_both_lines(tmp_path, capsys):
    recipe = _write(tmp_path, "r.yaml", TWO_TRAINING)
    assert main(["train", str(recipe), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{recipe}:6" in err and "'training'" in err and "lines 3 and 6" in err


def test_duplicate_in_an_extended_parent_names_the_parent(tmp_path, capsys):
    _write(
        tmp_path, "base.yaml", "model: {name: mnist_cnn}\ndata: {name: mnist}\nseed: 1\nseed: 2\n"
    )
    child = _write(tmp_path, "child.yaml", "extends: base.yaml\n")
    assert main(["train", str(child), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "base.yaml") in err and "lines 3 and 4" in err


def test_duplicate_in_a_set_value_is_refused(capsys):
    code = main(["train", "mnist_cnn", "--dry-run", "--set", "training={epochs: 1, epochs: 2}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "'epochs' twice" in err and "both on line 1" in err


def test_nested_duplicates_and_equal_keys_spelled_differently():
    with pytest.raises(yaml_limits.DuplicateKeyError) as err:
        yaml_limits.load("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert (err.value.first_line, err.value.line) == (2, 4)
    with pytest.raises(yaml_limits.DuplicateKeyError):
        yaml_limits.load("1: x\n0x1: y\n")  # Both are the int 1.


def test_merge_keys_may_still_be_overridden():
    data, _ = yaml_limits.load("base: &b {a: 1, c: 3}\nchild:\n  <<: *b\n  a: 2\n")
    assert data["child"] == {"a": 2, "c": 3}


def test_load_file_names_the_file_for_zoos_own_yaml(tmp_path):
    best = _write(tmp_path, "best.yaml", "name: x\nname: y\n")
    with pytest.raises(ZooError) as err:
        yaml_limits.load_file(best)
    assert f"{best}:2" in str(err.value) and "lines 1 and 2" in str(err.value)
