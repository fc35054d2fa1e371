"""Help text that drifted from the code: `zoo --help` names every export format of the
FORMATS registry, `zoo list --help` has no stray backtick, `zoo predict --help` names
presets, .onnx and .tflite."""

from __future__ import annotations

import pytest

from zoo.cli.main import main
from zoo.exporting.formats import FORMATS


def _help(capsys, *args: str) -> str:
    if not args:  # `zoo --help` returns; a command's argparse help exits.
        assert main(["--help"]) == 0
        return capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main([*args, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_main_help_names_every_export_format(capsys):
    line = next(x for x in _help(capsys).splitlines() if x.strip().startswith("export "))
    assert set(FORMATS) == {"saved_model", "keras", "onnx", "litert"}
    assert all(name in line for name in FORMATS) and "tflite" not in line


def test_list_and_predict_help(capsys):
    assert "`" not in _help(capsys, "list")
    text = " ".join(_help(capsys, "predict").split())
    for needed in ("preset", ".onnx", ".tflite", "--json", "folders"):
        assert needed in text


def test_evaluate_help_says_where_a_preset_report_goes(capsys):
    text = " ".join(_help(capsys, "evaluate").split())
    assert "./evaluation-<preset>-<split>" in text and "RUN_DIR/evaluation-<split>" in text
