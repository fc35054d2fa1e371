"""`python -m zoo.train`: help, dry run, exit codes and messages for bad input."""

import yaml

from tests.conftest import run_cli


def test_help_lists_every_flag():
    out = run_cli("--help")
    assert out.returncode == 0
    for flag in ("--set", "--output-dir", "--overwrite", "--dry-run"):
        assert flag in out.stdout


def test_dry_run_prints_resolved_recipe_with_overrides():
    out = run_cli("recipes/mnist_cnn.yaml", "--dry-run", "--set", "training.epochs=1")
    assert out.returncode == 0, out.stderr
    resolved = yaml.safe_load(out.stdout)
    assert resolved["training"]["epochs"] == 1
    assert resolved["model"]["name"] == "mnist_cnn"
    assert resolved["data"]["splits"]["train"] == "train[:55000]"  # from mnist_base.yaml


def test_bad_recipe_exits_2_with_one_message_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {name: mnist_cn}\ndata: {name: mnist}\ntraining: {epochs: x}\n")
    out = run_cli(str(bad))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith(f"error: Recipe {bad} has 2 problems:")
    assert "Did you mean 'mnist_cnn'" in out.stderr


def test_missing_recipe_file_exits_2():
    out = run_cli("recipes/does_not_exist.yaml")
    assert out.returncode == 2 and "file not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_arguments_exit_2():
    out = run_cli("recipes/mnist_cnn.yaml", "--epochs", "3")
    assert out.returncode == 2 and "unrecognized arguments" in out.stderr


def test_existing_run_directory_is_not_overwritten(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    out = run_cli("recipes/mnist_cnn.yaml", "--output-dir", str(tmp_path))
    assert out.returncode == 2
    # Not a zoo run (no .zoo-run.json): refused with or without --overwrite, files named.
    assert "holds files zoo did not write: metrics.json" in out.stderr
    assert "Traceback" not in out.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_new_commands_answer_help_without_importing_tensorflow():
    import subprocess
    import sys

    from tests.conftest import REPO

    for module in ("zoo.cli.evaluate", "zoo.cli.predict", "zoo.cli.export"):
        code = (
            "import runpy, sys\n"
            f"sys.argv = ['{module}', '--help']\n"
            "try:\n"
            f"    runpy.run_module('{module}', run_name='__main__')\n"
            "except SystemExit as e:\n"
            "    assert e.code == 0\n"
            "print('TF' if 'tensorflow' in sys.modules else 'no TF')\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert "usage: zoo " + module.rsplit(".", 1)[-1] in out.stdout
        assert out.stdout.strip().endswith("no TF"), module


def test_evaluate_model_outside_a_run_needs_a_recipe(tmp_path):
    model = tmp_path / "model.keras"
    model.write_bytes(b"not really a model")
    out = run_cli(str(model), module="zoo.cli.evaluate")
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: {model} is not in a run directory; pass --recipe")
