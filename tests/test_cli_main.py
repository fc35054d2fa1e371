"""The one `zoo` command: dispatch, help without TensorFlow, names, progress output."""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from zoo.cli.main import COMMANDS, main
from zoo.logs import progress_verbosity


def _python(code: str, *args: str, cwd=REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_every_command_answers_help_as_zoo_command_without_tensorflow():
    code = (
        "import sys\nfrom zoo.cli.main import COMMANDS, main\n"
        "for cmd in [None, *COMMANDS]:\n"
        "    try:\n        code = main(['--help'] if cmd is None else [cmd, '--help'])\n"
        "    except SystemExit as e:\n        code = e.code\n"
        "    assert code == 0, (cmd, code)\n"
        "print('TF-IMPORTED' if 'tensorflow' in sys.modules else 'NO-TF')\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("NO-TF")
    assert out.stdout.startswith("usage: zoo [-v] COMMAND")
    for cmd in COMMANDS:
        assert f"usage: zoo {cmd} " in out.stdout, cmd
    assert set(COMMANDS) >= {
        "train",
        "evaluate",
        "predict",
        "export",
        "list",
        "prepare",
        "publish",
        "results",
        "search",
    }


def test_python_dash_m_zoo_and_zoo_train_alias_both_work(tmp_path):
    top = _python("", "-m", "zoo", "train", "mnist_cnn", "--dry-run", cwd=tmp_path)
    alias = _python("", "-m", "zoo.train", "mnist_cnn", "--dry-run", cwd=tmp_path)
    assert top.returncode == alias.returncode == 0, top.stderr + alias.stderr
    assert top.stdout == alias.stdout and "name: mnist_cnn" in top.stdout


def test_unknown_command_exits_2_with_a_suggestion(capsys):
    assert main(["trian"]) == 2
    err = capsys.readouterr().err
    assert "no command 'trian'" in err and "Did you mean 'train'" in err


def test_no_command_prints_usage_and_exits_2(capsys):
    assert main([]) == 2
    assert "commands:" in capsys.readouterr().out


def test_unknown_recipe_name_exits_2_with_did_you_mean(tmp_path):
    out = _python("", "-m", "zoo", "train", "mnist_cn", cwd=tmp_path)
    assert out.returncode == 2
    assert "error: Recipe mnist_cn" in out.stderr and "Did you mean 'mnist_cnn'" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("quiet", "tty", "verbose"), [(False, True, "auto"), (False, False, 2), (True, True, 2)]
)
def test_progress_bar_only_on_a_terminal(quiet, tty, verbose):
    # A pipe or file gets one line per epoch (Keras verbose=2), never redrawn bar frames.
    assert progress_verbosity(quiet, tty) == verbose
