"""Strategy choice and cluster configuration errors, checked without a cluster."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from zoo.config.schema import CosineDecay, Distribution, PiecewiseConstant
from zoo.errors import ZooError
from zoo.training.compiling import scaled
from zoo.training.strategies import read_tf_config, resolve_name

TWO_WORKERS = {
    "cluster": {"worker": ["127.0.0.1:20001", "127.0.0.1:20002"]},
    "task": {"type": "worker", "index": 1},
}


def env(config) -> dict[str, str]:
    return {"TF_CONFIG": config if isinstance(config, str) else json.dumps(config)}


def test_tf_config_parsed():
    spec = read_tf_config(env(TWO_WORKERS))
    assert (spec.workers, spec.task_type, spec.task_index) == (2, "worker", 1)
    assert not spec.is_chief
    first = read_tf_config(env({**TWO_WORKERS, "task": {"type": "worker", "index": 0}}))
    assert first.is_chief
    with_chief = {
        "cluster": {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]},
        "task": {"type": "worker", "index": 0},
    }
    assert read_tf_config(env(with_chief)).workers == 2
    assert not read_tf_config(env(with_chief)).is_chief
    assert read_tf_config({}) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"cluster": {"worker": ["127.0.0.1:1"]}}, "needs a 'cluster' mapping and a 'task'"),
        (
            {"cluster": {"worker": "127.0.0.1:1"}, "task": {"type": "worker"}},
            "must be a list of 'host:port' strings",
        ),
        (
            {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "ps", "index": 0}},
            "task.type 'ps' is not a job",
        ),
        ({**TWO_WORKERS, "task": {"type": "worker", "index": 2}}, "task.index 2 is out of range"),
    ],
)
def test_malformed_tf_config_is_a_clear_error(config, message):
    with pytest.raises(ZooError, match=message) as err:
        read_tf_config(env(config))
    assert "Expected e.g." in str(err.value)


def test_auto_picks_by_what_is_configured(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    auto = Distribution()
    assert resolve_name(auto, gpu_count=0) == "default"
    assert resolve_name(auto, gpu_count=1) == "default"
    assert resolve_name(auto, gpu_count=4) == "mirrored"
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    assert resolve_name(auto, gpu_count=4) == "multi_worker"
    assert resolve_name(Distribution(tpu="grpc://10.0.0.2:8470"), gpu_count=0) == "tpu"
    assert resolve_name(Distribution(strategy="one_device"), gpu_count=4) == "one_device"


def test_linear_learning_rate_scaling():
    assert scaled(0.01, 4) == pytest.approx(0.04)
    cosine = scaled(CosineDecay(schedule="cosine_decay", initial_learning_rate=0.1), 2)
    assert cosine.initial_learning_rate == pytest.approx(0.2)
    steps = scaled(
        PiecewiseConstant(schedule="piecewise_constant", boundaries=[10], values=[0.1, 0.01]), 3
    )
    assert steps.values == pytest.approx([0.3, 0.03])


def _cli_with(env_extra: dict[str, str], *sets: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.train",
            "recipes/mnist_mlp.yaml",
            *[a for s in sets for a in ("--set", s)],
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env_extra},
    )


def test_tpu_without_a_tpu_exits_2_with_advice(mnist_ready):
    out = _cli_with({"TPU_NAME": ""}, "distribution.strategy=tpu")
    assert out.returncode == 2, out.stderr[-2000:]
    assert "no TPU could be reached" in out.stderr and "Traceback" not in out.stderr


def test_multi_worker_with_malformed_tf_config_exits_2(tmp_path):
    out = _cli_with(
        {"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 5}}'},
        "distribution.strategy=multi_worker",
    )
    assert out.returncode == 2
    assert "task.index 5 is out of range" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.iterdir())
