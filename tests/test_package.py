"""Packaging: metadata, built-in recipes by name, the zoo-data:// data root, public names."""

import configparser
import importlib.util
import os

import pytest

from tests.conftest import REPO
from zoo import RecipeError, load_recipe
from zoo.config import builtin
from zoo.config import paths as root
from zoo.config.loading import to_yaml
from zoo.errors import DataError


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return cfg


def _listed(cfg: configparser.ConfigParser, section: str, key: str) -> list[str]:
    return [x.strip() for x in cfg[section][key].splitlines() if x.strip()]


def test_setup_cfg_lists_every_subpackage_and_installs_the_recipes():
    cfg = _setup_cfg()
    packages = set(_listed(cfg, "options", "packages"))
    on_disk = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "zoo").rglob("__init__.py")
    }
    assert on_disk <= packages, f"add {sorted(on_disk - packages)} to setup.cfg packages"
    assert packages - on_disk == {"zoo.recipes"}
    assert _listed(cfg, "options", "package_dir") == ["zoo.recipes = recipes"]
    assert cfg["options.package_data"]["zoo.recipes"].strip() == "*.yaml"


def test_setup_cfg_metadata_names_a_free_distribution_and_three_pythons():
    cfg = _setup_cfg()
    assert cfg["metadata"]["name"] == "keras-recipe-zoo"
    assert cfg["options"]["python_requires"] == ">=3.11,<3.14"
    classifiers = _listed(cfg, "metadata", "classifiers")
    for minor in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {minor}" in classifiers
    requires = _listed(cfg, "options", "install_requires")
    assert any(r.startswith("tensorflow>=") and "<2.22" in r for r in requires)
    assert any(r.startswith("keras>=") for r in requires)
    assert _listed(cfg, "options.entry_points", "console_scripts") == ["zoo = zoo.cli.main:main"]
    extras = cfg["options.extras_require"]
    assert "matplotlib" in extras["plots"] and "matplotlib" in extras["test"]
    assert "nbmake" in extras["test"] and "ipykernel" in extras["notebooks"]


def test_constraints_pin_exactly_what_the_requirements_allow():
    from packaging.requirements import Requirement

    pins = {}
    for line in (REPO / "constraints" / "ci.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints/ci.txt: {line!r} is not an exact pin"
            pins[name.lower().replace("_", "-")] = version
    for spec in _listed(_setup_cfg(), "options", "install_requires"):
        if spec.startswith("#"):
            continue
        req = Requirement(spec)
        key = req.name.lower().replace("_", "-")
        assert key in pins, f"constraints/ci.txt pins no {req.name}"
        assert req.specifier.contains(pins[key]), f"{req.name}=={pins[key]} outside {spec}"


def test_builtin_recipes_are_found_by_name_only():
    assert builtin.folder() is not None
    assert {"mnist_cnn", "mnist_mlp", "imdb_lstm"} <= set(builtin.names())
    assert builtin.find("mnist_cnn") == builtin.find("mnist_cnn.yaml") != None  # noqa: E711
    assert builtin.find("recipes/mnist_cnn.yaml") is None  # A path is never a name.
    assert builtin.find("no_such_recipe") is None


def test_load_recipe_takes_a_builtin_name_or_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Outside the checkout: names still work.
    by_name = load_recipe("mnist_cnn", ["training.epochs=1"])
    by_path = load_recipe(REPO / "recipes" / "mnist_cnn.yaml", ["training.epochs=1"])
    assert by_name == by_path and by_name.name == "mnist_cnn"


@pytest.mark.parametrize("typo", ["mnist_cn", "imdb_lsmt"])
def test_unknown_recipe_name_suggests_the_closest_builtin(typo):
    with pytest.raises(RecipeError) as err:
        load_recipe(typo)
    text = str(err.value)
    assert "neither a recipe file nor a built-in recipe" in text and "Did you mean" in text
    assert repr(typo.replace("cn", "cnn").replace("lsmt", "lstm")) in text


def test_a_missing_yaml_path_is_reported_as_a_path(tmp_path):
    with pytest.raises(RecipeError, match="file not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_extends_resolves_a_builtin_name(tmp_path):
    (tmp_path / "mine.yaml").write_text("extends: mnist_cnn\ntraining: {epochs: 1}\n")
    recipe = load_recipe(tmp_path / "mine.yaml")
    assert recipe.model.name == "mnist_cnn" and recipe.training.epochs == 1
    assert recipe.data.name == "mnist"  # From mnist_base, which mnist_cnn extends.
    (tmp_path / "typo.yaml").write_text("extends: mnist_cnnn\n")
    with pytest.raises(RecipeError, match="Did you mean 'mnist_cnn'"):
        load_recipe(tmp_path / "typo.yaml")


def test_data_root_is_zoo_data_dir_else_the_user_cache(monkeypatch, tmp_path):
    from zoo import settings

    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "d"))
    assert root.data_root() == tmp_path / "d"
    monkeypatch.delenv("ZOO_DATA_DIR")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))  # zoo's cache root.
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    assert root.data_root() == tmp_path / "cache" / "data"
    assert settings.tfdata_cache_root() == tmp_path / "cache" / "tfdata"
    assert settings.extracted_root() == tmp_path / "cache" / "extracted"
    monkeypatch.delenv("ZOO_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert root.data_root() == tmp_path / "xdg" / "zoo" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert root.data_root() == tmp_path / "home" / ".cache" / "zoo" / "data"
    assert settings.presets_cache_root() == tmp_path / "home" / ".cache" / "zoo" / "presets"


def test_zoo_data_paths_stay_symbolic_in_the_recipe(tmp_path):
    (tmp_path / "r.yaml").write_text(
        "model: {name: video_cnn}\n"
        "data: {source: npz, path: zoo-data://vol/v.npz, splits: {test: test}}\n"
    )
    recipe = load_recipe(tmp_path / "r.yaml")
    assert recipe.data.path == "zoo-data://vol/v.npz"
    assert "path: zoo-data://vol/v.npz" in to_yaml(recipe)
    again = load_recipe(tmp_path / "r.yaml", ["data.path=zoo-data://other/o.npz"])
    assert again.data.path == "zoo-data://other/o.npz"


def test_zoo_data_file_is_read_from_the_data_root(tmp_path, monkeypatch):
    import numpy as np

    from zoo.data.sources.npz import ensure_ready

    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    (tmp_path / "vol").mkdir()
    images, labels = np.zeros((3, 4, 4, 4), "uint8"), np.array([[0], [1], [0]])
    arrays = {f"{s}_{k}": v for s in ("train", "test") for k, v in (("images", images),
              ("labels", labels))}  # fmt: skip
    np.savez(tmp_path / "vol" / "v.npz", **arrays)
    (tmp_path / "r.yaml").write_text(
        "model: {name: video_cnn}\n"
        "data: {source: npz, path: zoo-data://vol/v.npz, splits: {train: train, test: test}}\n"
    )
    assert "test 3" in ensure_ready(load_recipe(tmp_path / "r.yaml").data)


def test_missing_zoo_data_file_says_where_it_comes_from_and_where_it_goes(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as err:
        root.resolve("zoo-data://imdb/aclImdb.tar.gz")
    text = " ".join(str(err.value).split())
    assert str(tmp_path / "imdb" / "aclImdb.tar.gz") in text
    assert "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz" in text
    assert "ZOO_DATA_DIR" in text


@pytest.mark.parametrize("bad", ["zoo-data://", "zoo-data:///etc/passwd", "zoo-data://a/../../x"])
def test_zoo_data_paths_cannot_leave_the_data_root(bad):
    with pytest.raises(DataError, match="below the data root"):
        root.resolve(bad)


def test_no_public_name_is_shadowed_by_a_module():
    # `import zoo.train` (the `python -m zoo.train` alias) must not replace a public name.
    import zoo.train

    assert zoo.train_recipe is importlib.import_module("zoo.api").train
    assert callable(zoo.train)  # The module forwards calls to zoo.api.train.
    for name in set(zoo.__all__) - {"train"}:
        assert importlib.util.find_spec(f"zoo.{name}") is None, f"zoo/{name}.py shadows it"


def test_shipped_recipes_name_no_checkout_relative_data():
    for path in (REPO / "recipes").glob("*.yaml"):
        assert "../" not in path.read_text(), f"{path.name} names a path outside itself"
    assert os.environ["ZOO_DATA_DIR"]  # conftest points the data root at the shared data.


def test_keras_load_model_knows_zoos_layers_after_import_zoo(tmp_path):
    # A fresh process: `import zoo` imports no Keras, yet a .keras file holding zoo's own
    # layers loads with plain keras.saving.load_model (safe mode) afterwards.
    import subprocess
    import sys

    code = (
        "import sys\nimport zoo\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules\n"
        "import keras, numpy as np\n"
        "from zoo.models.layers import CleanText\n"
        "inp = keras.Input((), dtype='string')\n"
        "keras.Model(inp, CleanText()(inp)).save(sys.argv[1])\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "out = model(np.array(['a<br />b']))\n"
        "print(type(model.layers[-1]).__name__, out.numpy()[0].decode())\n"
    )
    path = str(tmp_path / "m.keras")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["CleanText", "a", "b"]
    # And in a process that never imports zoo's layers, the file does not load.
    bare = "import sys, keras\nkeras.saving.load_model(sys.argv[1])\n"
    out = subprocess.run(
        [sys.executable, "-c", bare, path], capture_output=True, text=True, timeout=120
    )
    assert out.returncode != 0 and "CleanText" in out.stderr


def test_without_matplotlib_reports_skip_their_pngs_and_say_so_once(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, logging\nsys.modules['matplotlib'] = None  # As if not installed.\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "from pathlib import Path\nfrom zoo.evaluation import report\n"
        "out = Path(sys.argv[1])\n"
        "r = {'confusion_matrix': [[1, 0], [0, 1]], 'class_names': ['a', 'b'], 'accuracy': 1.0}\n"
        "print(report.write_split_report(out, 'test', r, 't'),\n"
        "      report.plot_history({'loss': [1.0, 0.5]}, out / 'c.png', 't'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "None"] and not list(tmp_path.iterdir())
    assert out.stderr.count("matplotlib is not installed") == 1
    assert "keras-recipe-zoo[plots]" in out.stderr


def test_multi_worker_compat_warns_only_outside_the_tested_keras_minors():
    import keras

    from zoo.training.compat_multi_worker import TESTED_KERAS_MINORS, keras_warning

    assert keras_warning(keras.__version__) is None  # CI's Keras is a tested one.
    (major, minor), *_ = sorted(TESTED_KERAS_MINORS)
    assert keras_warning(f"{major}.{minor}.9") is None
    message = keras_warning(f"{major}.{minor + 1}.0")
    assert message and f"{major}.{minor + 1}.0" in message and f"{major}.{minor}" in message
    assert "\n" not in message


def test_a_runs_file_names_are_spelt_only_in_the_runs_layout_module():
    """zoo/runs/layout.py names every file of a run; no other module spells one."""
    import re

    from zoo.runs import layout

    names = {
        v
        for k, v in vars(layout).items()
        if k.isupper() and isinstance(v, str) and ("." in v or "_" in v) and k != "LITERT_STEM"
    }
    assert {"model.keras", "metrics.json", "recipe.yaml", "history.csv"} <= names
    spelt = []
    for path in (REPO / "zoo").rglob("*.py"):
        if path.name == "layout.py" and path.parent.name == "runs":
            continue
        code = path.read_text()
        for name in names:
            if re.search(rf"[\"']{re.escape(name)}[\"']", code):
                spelt.append(f"{path.relative_to(REPO)}: {name}")
    assert not [s for s in spelt if not s.endswith(": saved_model")], spelt
