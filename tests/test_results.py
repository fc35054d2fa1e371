"""`zoo results` is the view of every run: finished, failed, interrupted, search trials and
presets each appear with their status, and a folder whose records are broken is a row
with the reason (never a traceback, never a gap). Real tiny runs on synthetic npz data."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from zoo.cli.main import main

RECIPE = """\
name: tiny
seed: 1
model: {{name: mlp, params: {{hidden_units: [8]}}}}
data:
  source: npz
  path: {path}
  splits: {{train: train, validation: val, test: test}}
training: {{batch_size: 16, epochs: 2, metrics: [accuracy]}}
evaluation: {{splits: [test]}}
export: {{keras: true, saved_model: false}}
search:
  parameters:
    model.params.hidden_units: {{choice: [[4], [8, 4]]}}
  trials: 2
  sampler: random
  pruner: null
"""


class _Stop(keras.callbacks.Callback):
    """Ends a run after its first epoch with `error` (as a crash or a Ctrl-C would)."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = error

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        raise self.error


pytestmark = pytest.mark.slow  # Three tiny runs and a 2-trial search: under a minute.


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """runs/{done, broke, killed, tiny-search} made by the real trainer and search."""
    from zoo.training import trainer

    root = tmp_path_factory.mktemp("results")
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 64), ("val", 32), ("test", 32)):
        labels = np.arange(n) % 2
        arrays[f"{split}_images"] = (rng.random((n, 3, 4)) + labels[:, None, None]).astype(
            "float32"
        )
        arrays[f"{split}_labels"] = labels.astype("int64")
    np.savez(root / "d.npz", **arrays)
    (root / "tiny.yaml").write_text(RECIPE.format(path=root / "d.npz"))
    runs = root / "runs"
    zoo.train(root / "tiny.yaml", output_dir=runs / "done", verbose=0)
    recipe = zoo.load_recipe(root / "tiny.yaml", ["training.epochs=3"])
    with pytest.raises(RuntimeError):
        trainer.run(
            recipe,
            output_dir=runs / "broke",
            verbose=0,
            callbacks=[_Stop(RuntimeError("disk on fire"))],
        )
    with pytest.raises(KeyboardInterrupt):
        trainer.run(
            recipe, output_dir=runs / "killed", verbose=0, callbacks=[_Stop(KeyboardInterrupt())]
        )
    zoo.search(root / "tiny.yaml", output_dir=runs / "tiny-search")
    return runs


def _table(capsys, tmp_path: Path, *args: str) -> tuple[int, list[dict[str, str]], str]:
    """`zoo results ARGS --csv F`: exit code, the CSV's rows, stderr."""
    out = tmp_path / "results.csv"
    out.unlink(missing_ok=True)
    code = main(["results", *args, "--csv", str(out)])
    err = capsys.readouterr().err
    return code, list(csv.DictReader(out.open())) if out.exists() else [], err


def test_every_run_is_shown_with_its_status(runs, tmp_path, capsys):
    code, rows, err = _table(capsys, tmp_path, str(runs))
    assert code == 0, err
    by_folder = {r["weights"].rsplit("/", 1)[-1]: r for r in rows}
    assert by_folder["done"]["status"] == "finished"
    assert by_folder["broke"]["status"] == "failed"
    assert "disk on fire" in by_folder["broke"]["note"]
    assert by_folder["killed"]["status"] == "interrupted"
    assert by_folder["killed"]["note"] == "stopped during training"
    assert by_folder["tiny-search"]["status"] == "search"
    assert by_folder["tiny-search"]["note"] == "2 trials: 2 finished"
    trials = [r for r in rows if r["weights"].split("/")[-1].startswith("trial-")]
    assert len(trials) == 2 and {t["status"] for t in trials} == {"finished"}
    assert all(float(t["val_accuracy"]) >= 0 for t in trials)  # A trial's objective split.
    # Epochs: finished ones from metrics.json, the broken ones from history.csv.
    assert by_folder["done"]["epochs"] == "2" and by_folder["killed"]["epochs"] in ("0", "1")
    assert all(r["date"][:2] == "20" for r in rows)
    # The fields that tell the rows apart: the epochs override and the trials' layers.
    assert "training.epochs" in rows[0] and "model.params.hidden_units" in rows[0]
    assert by_folder["broke"]["training.epochs"] == "3"
    assert float(by_folder["done"]["test_accuracy"]) >= 0


def test_where_and_sort(runs, tmp_path, capsys):
    code, rows, err = _table(
        capsys, tmp_path, str(runs), "--where", "status=finished", "--sort=-epochs"
    )
    assert code == 0, err
    assert {r["status"] for r in rows} == {"finished"} and len(rows) == 3
    code, rows, _ = _table(capsys, tmp_path, str(runs), "--where", "training.epochs=3")
    assert sorted(r["weights"].rsplit("/", 1)[-1] for r in rows) == ["broke", "killed"]
    shown = zoo.results([runs], sort="-training.epochs", where=["kind!=search"])
    assert [r.fields["training.epochs"] for r in shown] == [3, 3, 2, 2, 2]
    assert zoo.results([runs], sort="training.epochs")[-1].kind == "search"  # No value: last.
    code = main(["results", str(runs), "--sort", "test_acuracy"])
    assert code == 2 and "Did you mean test_accuracy" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("file", "content", "reason"),
    [
        ("metrics.json", "{not json", "metrics.json is not valid JSON"),
        ("metrics.json", "[1, 2]", "metrics.json holds a list where a mapping belongs"),
        ("metrics.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("metrics.json", '{"training": {"parameters": "many"}}', "training.parameters is 'many'"),
        ("metrics.json", '{"test": [0.9]}', "`test` is a list where a mapping belongs"),
        ("status.json", '"finished"', "status.json holds a str"),
        ("recipe.yaml", "a: [" * 200 + "]" * 200, "recipe.yaml"),
    ],
)
def test_a_broken_folder_is_listed_with_its_reason(runs, tmp_path, capsys, file, content, reason):
    shutil.copytree(runs / "done", tmp_path / "runs" / "done")
    shutil.copytree(runs / "done", tmp_path / "runs" / "bad")
    (tmp_path / "runs" / "bad" / file).write_text(content)
    (tmp_path / "out").mkdir()
    code, rows, err = _table(capsys, tmp_path / "out", str(tmp_path / "runs"))
    assert code == 0 and "Traceback" not in err
    by_folder = {r["weights"].rsplit("/", 1)[-1]: r for r in rows}
    assert by_folder["done"]["status"] == "finished"
    assert by_folder["bad"]["status"] == "unreadable"
    assert reason in by_folder["bad"]["note"], by_folder["bad"]["note"]


def test_a_folder_with_nothing_of_zoo_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["results", str(tmp_path / "empty")]) == 2
    assert "holds no zoo run" in capsys.readouterr().err
