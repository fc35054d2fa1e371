"""Strategy choice and cluster configuration errors, checked without a cluster."""

import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from zoo.config.schema import CosineDecay, Distribution, PiecewiseConstant
from zoo.errors import ZooError
from zoo.training.compiling import scaled
from zoo.training.strategies import (
    address_problem,
    peers,
    read_tf_config,
    resolve_name,
    silent_peers,
)

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


# ----------------------------------------------------------- addresses and start-up
@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("a:b", "port 'b'"),
        ("localhost", "no port"),
        (":1234", "host is empty"),
        ("h:0", "port '0'"),
        ("h:65536", "port '65536'"),
        ("h:-1", "port '-1'"),
        ("h :1", "malformed"),
        (12, "not a 'host:port'"),
    ],
)
def test_bad_tf_config_addresses_are_refused(address, words):
    config = {"cluster": {"worker": ["127.0.0.1:1", address]}, "task": {"type": "worker"}}
    with pytest.raises(ZooError, match=r"cluster.worker\[1\]") as err:
        read_tf_config(env(config))
    assert words in str(err.value)


def test_good_addresses_pass():
    for address in ("localhost:1", "10.0.0.2:65535", "[::1]:2222", "host-a.example:80"):
        assert address_problem(address) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_silent_peers_names_only_those_not_listening():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        alive = f"127.0.0.1:{server.getsockname()[1]}"
        dead = f"127.0.0.1:{_free_port()}"
        tasks = [("worker 1", alive), ("worker 2", dead)]
        assert silent_peers(tasks, timeout=0.5) == [("worker 2", dead)]


def test_peers_lists_every_other_task():
    config = {
        "cluster": {"chief": ["h:1"], "worker": ["h:2", "h:3"]},
        "task": {"type": "worker", "index": 0},
    }
    assert peers(env(config)) == [("chief 0", "h:1"), ("worker 1", "h:3")]


_CREATE_STRATEGY = """
import sys
from zoo.cli.common import configure_logging, guarded
from zoo.config.schema import Distribution
from zoo.training.strategies import strategy
configure_logging()
sys.exit(guarded(lambda: strategy(Distribution(strategy="multi_worker",
                                               startup_timeout=float(sys.argv[1]))) and 0))
"""


def _start_worker(timeout: float) -> tuple[subprocess.Popen, str]:
    import os

    dead = f"127.0.0.1:{_free_port()}"
    config = {
        "cluster": {"worker": [f"127.0.0.1:{_free_port()}", dead]},
        "task": {"type": "worker", "index": 0},
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _CREATE_STRATEGY, str(timeout)],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CONFIG": json.dumps(config)},
    )
    return child, dead


@pytest.mark.slow
def test_missing_peer_times_out_with_exit_2_naming_it():
    child, dead = _start_worker(3)
    _, err = child.communicate(timeout=240)
    assert child.returncode == 2, err[-2000:]
    assert f"no answer from worker 1 at {dead}" in err
    assert "startup_timeout" in err and "Traceback" not in err
    assert sum(line.startswith("error:") for line in err.splitlines()) == 1


def test_rendezvous_names_the_silent_peer_without_tensorflow():
    from zoo.training.strategies import rendezvous

    own, dead = f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
    with pytest.raises(ZooError, match=f"no answer from worker 1 at {dead}"):
        rendezvous(own, [("worker 1", dead)], 1.0)


def test_rendezvous_returns_once_every_peer_answers():
    import threading

    from zoo.training.strategies import rendezvous

    a, b = f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
    finished, joined = threading.Event(), []

    def worker(own: str, peer: str) -> None:
        rendezvous(own, [("peer", peer)], 20)
        with socket.socket() as server:  # What TensorFlow's server does next on the port.
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", int(own.rpartition(":")[2])))
            server.listen()
            joined.append(own)
            finished.wait(25)

    threads = [threading.Thread(target=worker, args=p) for p in ((a, b), (b, a))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 25
    while len(joined) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    finished.set()
    for thread in threads:
        thread.join(5)
    assert sorted(joined) == sorted([a, b])


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_a_worker_blocked_in_strategy_creation(signum):
    child, _ = _start_worker(600)
    lines = []
    for line in child.stderr:  # Wait until it is blocked waiting for its peer.
        lines.append(line)
        if "waiting up to" in line:
            break
    time.sleep(2)  # Waiting for its silent peer by now.
    child.send_signal(signum)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 128 + signum, "".join(lines) + err
    assert f"interrupted ({signal.Signals(signum).name}) while waiting for the cluster" in err
