"""The notebooks in notebooks/ run top to bottom (nbmake) and are committed without outputs."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_the_two_notebooks_exist_and_are_saved_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["01_builders.ipynb", "02_train_from_a_recipe.ipynb"]
    for path in NOTEBOOKS:
        code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert code, path
        assert all(c["outputs"] == [] and c["execution_count"] is None for c in code), path


def test_the_committed_notebooks_are_what_make_notebooks_writes():
    # Notebooks are generated from tools/make_notebooks.py; an edit to one side only
    # would let the reviewed source and the executed notebook drift apart.
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import make_notebooks
    finally:
        sys.path.remove(str(REPO / "tools"))
    expected = make_notebooks.notebooks()
    assert sorted(expected) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        committed = json.loads(path.read_text())
        cells = [(c["cell_type"], "".join(c["source"])) for c in committed["cells"]]
        want = [(c.cell_type, c.source) for c in expected[path.name].cells]
        assert cells == want, f"{path.name} differs: run python tools/make_notebooks.py"
        assert committed["metadata"]["kernelspec"] == expected[path.name].metadata.kernelspec


@pytest.mark.slow
def test_notebooks_execute_with_nbmake(mnist_ready):
    # A child pytest: nbmake runs each notebook in a fresh kernel, which inherits this
    # session's TFDS_DATA_DIR and ZOO_TFDS_MANUAL_DIR, so MNIST is read offline.
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", "notebooks", "-o", "addopts=", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-4000:]
    assert f"{len(NOTEBOOKS)} passed" in out.stdout
