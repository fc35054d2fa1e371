"""The `search:` section is checked at load time, before any training and without
TensorFlow: bad bounds, unknown paths (did-you-mean), choices that break the recipe,
unknown directions, and an unreachable --storage all end in exit 2 with one message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

BASE = """\
name: s
seed: 1
model: {{name: mlp, params: {{hidden_units: [8]}}}}
data:
  source: npz
  path: {path}
  splits: {{train: train, validation: val, test: test}}
training: {{batch_size: 8, epochs: 1, metrics: [accuracy]}}
search:
  parameters:
{params}
{extra}
"""


def _recipe(tmp_path: Path, params: str, extra: str = "") -> Path:
    path = tmp_path / "s.yaml"
    body = "\n".join("    " + line for line in params.strip().splitlines())
    path.write_text(BASE.format(path=tmp_path / "d.npz", params=body, extra=extra))
    return path


def _load(path: Path):
    from zoo.config.loading import load_recipe

    return load_recipe(path)


def test_a_good_section_loads_without_tensorflow(tmp_path):
    recipe = _load(
        _recipe(
            tmp_path,
            "training.optimizer.learning_rate: {loguniform: [1.0e-4, 1.0e-1]}\n"
            "model.params.hidden_units: {choice: [[4], [8, 4]]}\n"
            "training.metrics[0].name: {choice: [accuracy]}\n"
            "training.epochs: {int: [1, 3]}",
        )
    )
    assert recipe.search.trials == 10
    assert recipe.search.parameters["training.epochs"].points() == [1, 2, 3]
    from zoo.config.search_space import direction

    assert direction(recipe.search.objective) == "maximize"
    assert _imports_tensorflow(tmp_path / "s.yaml") is False


def _imports_tensorflow(path) -> bool:
    """Whether loading `path` (valid or not) imports TensorFlow, in a fresh process: this
    pytest process has long imported it for other tests."""
    code = (
        "import sys\nfrom zoo import load_recipe, RecipeError\n"
        f"try:\n    load_recipe({str(path)!r})\nexcept RecipeError:\n    pass\n"
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ("training.epochs: {int: [5, 2]}", ["low 5 > high 2"]),
        ("training.optimizer.learning_rate: {uniform: [0.1, 0.01]}", ["low 0.1 > high 0.01"]),
        ("training.optimizer.learning_rate: {loguniform: [0, 0.1]}", ["must be > 0"]),
        ("training.optimizer.learning_rate: {loguniform: [-1, 0.1]}", ["must be > 0"]),
        ("training.optimiser.learning_rate: {uniform: [0.1, 0.2]}", ["optimizer"]),
        ("traning.epochs: {int: [1, 2]}", ["training"]),
        ("model.params.hidden_unit: {choice: [[4]]}", ["hidden_units"]),
        ("training.batch_size: {choice: [8, -1]}", ["batch_size=-1", "greater than 0"]),
        ("training.optimizer.name: {choice: [adam, adamm]}", ["adamm"]),
        ("training.epochs: {choice: [1, two]}", ["'two'", "training.epochs"]),
        ("training.epochs: {uniform: [0.5, 2.5]}", ["training.epochs"]),
        ("training.metrics[3].name: {choice: [accuracy]}", ["not an index"]),
        ("training.epochs: {int: [1, 2], choice: [1]}", ["exactly one"]),
    ],
)
def test_bad_sections_are_refused_at_load_time(tmp_path, params, words):
    from zoo.config.loading import RecipeError

    with pytest.raises(RecipeError) as err:
        _load(_recipe(tmp_path, params))
    for word in words:
        assert word in str(err.value), str(err.value)
    if "choice" in params:  # Choices are validated by applying them: still no TensorFlow.
        assert _imports_tensorflow(tmp_path / "s.yaml") is False


def test_unknown_metric_direction_must_be_given(tmp_path):
    from zoo.config.loading import RecipeError

    params = "training.epochs: {int: [1, 2]}"
    extra = "  objective: {metric: my_score}"
    with pytest.raises(RecipeError, match="set direction: maximize or minimize"):
        _load(_recipe(tmp_path, params, extra))
    extra = "  objective: {metric: loss}"
    from zoo.config.search_space import direction

    assert direction(_load(_recipe(tmp_path, params, extra)).search.objective) == "minimize"


def test_grid_needs_finite_parameters(tmp_path):
    from zoo.config.loading import RecipeError

    params = "training.optimizer.learning_rate: {loguniform: [1.0e-4, 1.0e-1]}"
    with pytest.raises(RecipeError, match="sampler grid needs finite choices"):
        _load(_recipe(tmp_path, params, "  sampler: grid"))


def test_cli_refuses_bad_input_with_exit_2(tmp_path):
    recipe = _recipe(tmp_path, "training.epochs: {int: [3, 1]}")
    result = run_cli("search", str(recipe), module="zoo", timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "low 3 > high 1" in result.stderr
    assert not (Path.cwd() / "runs" / "s-search").exists()


def test_cli_refuses_unreachable_storage_with_exit_2(tmp_path):
    recipe = _recipe(tmp_path, "training.epochs: {int: [1, 2]}")
    study = tmp_path / "study"
    for url in ("postgresql://nobody@127.0.0.1:1/none", "sqlite:////nonexistent/dir/x.db"):
        result = run_cli(
            "search",
            str(recipe),
            "--storage",
            url,
            "--output-dir",
            str(study),
            module="zoo",
            timeout=120,
        )
        assert result.returncode == 2, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        assert "cannot open the study database" in result.stderr
        assert not study.exists()
