"""Hub calls end: a server that accepts the connection and never answers gives exit 2 with
one message naming the endpoint, after bounded timeouts and retries."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from zoo.presets import network

REPO = Path(__file__).resolve().parents[1]


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte."""

    def __init__(self, port: int = 0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        with contextlib.suppress(OSError):  # Wakes the thread blocked in accept().
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


def _zoo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "ZOO_HUB_TIMEOUT": "1", "ZOO_HUB_RETRIES": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "zoo", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,  # Without deadlines the command never returns: this fails the test.
        env=full,
    )


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    return line


def test_silent_hugging_face_endpoint_exits_2_naming_it(silent, tmp_path):
    endpoint = f"http://127.0.0.1:{silent.port}"
    env = {"HF_ENDPOINT": endpoint, "ZOO_CACHE_DIR": str(tmp_path)}
    error = _error(_zoo("evaluate", "hf://org/name", env=env))
    assert f"Hugging Face Hub at {endpoint} did not answer for hf://org/name" in error
    assert "2 tries" in error and "ZOO_HUB_TIMEOUT" in error
    assert silent.accepted  # The connection was made: this is the silent case.


def test_silent_kaggle_endpoint_exits_2_naming_it(tmp_path):
    # kagglesdk's TEST environment is http://localhost:7777.
    try:
        server = SilentServer(7777)
    except OSError:
        pytest.fail("port 7777 is in use here; the Kaggle test needs it")
    try:
        env = {"KAGGLE_API_ENVIRONMENT": "TEST", "ZOO_CACHE_DIR": str(tmp_path)}
        error = _error(_zoo("evaluate", "kaggle://owner/model/keras/v1", env=env))
    finally:
        server.close()
    assert "Kaggle at http://localhost:7777 did not answer for kaggle://owner" in error


def test_a_call_that_ignores_every_timeout_is_abandoned_at_the_deadline(monkeypatch):
    monkeypatch.setenv("ZOO_HUB_DEADLINE", "0.2")
    monkeypatch.setenv("ZOO_HUB_RETRIES", "0")
    never = threading.Event()
    with pytest.raises(network.HubTimeout) as err:
        network.call(never.wait, host="Some Hub", endpoint="http://x", what="hf://a/b")
    assert "Some Hub at http://x did not answer for hf://a/b (1 try," in str(err.value)


def test_other_errors_are_not_retried(monkeypatch):
    calls = []

    def missing():
        calls.append(1)
        raise FileNotFoundError("no such repository")

    with pytest.raises(FileNotFoundError):
        network.call(missing, host="H", endpoint="e", what="w")
    assert len(calls) == 1


def test_malformed_settings_are_named(monkeypatch):
    monkeypatch.setenv("ZOO_HUB_TIMEOUT", "soon")
    with pytest.raises(network.ZooError) as err:
        network.call(lambda: 1, host="H", endpoint="e", what="w")
    assert "ZOO_HUB_TIMEOUT='soon'" in str(err.value)


@pytest.mark.slow  # a tiny training, then a publish to a silent hub
def test_publishing_to_a_silent_hub_exits_2_naming_it(silent, tmp_path):
    import numpy as np

    import zoo

    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 32), ("test", 16)):
        arrays[f"{split}_images"] = rng.random((n, 3, 4)).astype(np.float32)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).astype(np.int64)
    np.savez(tmp_path / "d.npz", **arrays)
    (tmp_path / "r.yaml").write_text(
        "name: tiny\nmodel: {name: mlp, params: {hidden_units: [4], rescale: null}}\n"
        f"data: {{source: npz, path: {tmp_path / 'd.npz'}, splits: {{train: train, test: test}}}}\n"
        "training: {batch_size: 8, epochs: 1}\nevaluation: {splits: [test]}\n"
        "export: {keras: true, saved_model: false}\n"
    )
    run = zoo.train(tmp_path / "r.yaml", output_dir=tmp_path / "run", verbose=0)
    endpoint = f"http://127.0.0.1:{silent.port}"
    env = {"HF_ENDPOINT": endpoint, "HF_TOKEN": "hf_not_a_real_token"}
    error = _error(_zoo("publish", str(run.run_dir), "hf://org/name", env=env))
    assert f"Hugging Face Hub at {endpoint} did not answer for hf://org/name" in error
    assert silent.accepted
