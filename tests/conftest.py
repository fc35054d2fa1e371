"""Shared test set-up: real data from ../shared/data, MNIST prepared once per session.

The raw files are read in place (never copied into the repo). ZOO_SHARED_DATA overrides
their location; ZOO_DATA_DIR (the data root of `zoo-data://` paths in recipes) is
pointed at it. Caches go to a session folder (ZOO_CACHE_DIR). TFDS prepares MNIST into a
temporary data directory for the session. Tests that read the shared data carry the
`shared_data` marker (set here for every test using the MNIST fixtures) and are skipped,
saying why, when the folder is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ZOO_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
MANUAL_DIR = SHARED_DATA / "tfds-manual"
_session_dirs: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # Set before any test imports tensorflow_datasets, and inherited by CLI subprocesses.
    data_dir = tempfile.mkdtemp(prefix="zoo-tfds-")
    _session_dirs.append(data_dir)
    os.environ["TFDS_DATA_DIR"] = data_dir
    os.environ["ZOO_TFDS_MANUAL_DIR"] = str(MANUAL_DIR)
    os.environ["ZOO_DATA_DIR"] = str(SHARED_DATA)
    # Disk caches and cached vocabularies of this session only: never the user's, and
    # never a vocabulary an earlier session learnt (tests count adaptations).
    cache_dir = tempfile.mkdtemp(prefix="zoo-cache-")
    _session_dirs.append(cache_dir)
    os.environ["ZOO_CACHE_DIR"] = cache_dir
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# Fixtures that read ../shared/data: a test using one needs the shared data.
SHARED_FIXTURES = frozenset({"manual_dir", "mnist_ready", "cnn_run", "imdb_slice", "imdb_run"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = not SHARED_DATA.is_dir()
    skip = pytest.mark.skip(
        reason=f"needs the shared data folder {SHARED_DATA} (../shared/data beside the "
        "checkout, or ZOO_SHARED_DATA)"
    )
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared_data)
        if missing and item.get_closest_marker("shared_data"):
            item.add_marker(skip)


def pytest_unconfigure(config: pytest.Config) -> None:
    for d in _session_dirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def manual_dir() -> Path:
    """The folder with the original MNIST files; missing data fails the test loudly."""
    wanted = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    missing = [f for f in wanted if not (MANUAL_DIR / f).is_file()]
    assert not missing, (
        f"MNIST raw files {missing} not found in {MANUAL_DIR}. Put ../shared beside the "
        "checkout or point ZOO_SHARED_DATA at the folder holding tfds-manual/."
    )
    return MANUAL_DIR


@pytest.fixture(scope="session")
def mnist_ready(manual_dir: Path) -> str:
    """MNIST prepared into the session's TFDS data dir; returns that dir."""
    from zoo.config.schema import TfdsData
    from zoo.data.sources.tfds import prepare

    prepare(TfdsData(name="mnist", manual_dir=str(manual_dir)))
    return os.environ["TFDS_DATA_DIR"]


# Small but real: 4,000 training digits, enough for a CNN to clear 90% in two epochs.
SMALL_MNIST = (
    "data.splits.train=train[:4000]",
    "data.splits.validation=train[4000:4500]",
    "data.splits.test=test[:1000]",
)


@pytest.fixture(scope="session")
def cnn_run(mnist_ready, tmp_path_factory):
    """One real two-epoch CNN run on SMALL_MNIST, shared by every test that needs a run."""
    from zoo import load_recipe, train_recipe

    overrides = [*SMALL_MNIST, "training.epochs=2", "export.tflite=true"]
    recipe = load_recipe(REPO / "recipes/mnist_cnn.yaml", overrides)
    return train_recipe(recipe, output_dir=tmp_path_factory.mktemp("run"), verbose=0)


def run_cli(
    *args: str, timeout: int = 600, module: str = "zoo.train"
) -> subprocess.CompletedProcess[str]:
    """Run `python -m MODULE ARGS` (zoo.train by default) in a fresh process from the repo root."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
