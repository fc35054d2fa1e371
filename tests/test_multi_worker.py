"""Multi-worker training on a loopback cluster started by tools/local_cluster.py.

Every test here runs real worker processes: TensorFlow fixes its collective set-up at
start-up, so a cluster cannot live inside the pytest process.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SMALL_MNIST

pytestmark = pytest.mark.slow

TOOL = [sys.executable, str(REPO / "tools" / "local_cluster.py")]


def worker_tails(log: str, lines: int = 15) -> str:
    """The last lines each worker printed (tracebacks left out): what a failure shows."""
    tails = []
    for worker in range(2):
        mine = [
            line
            for line in log.splitlines()
            if line.startswith(f"[worker {worker}]") and line.strip()[11:].strip()
            and not line[11:].startswith("  ")
        ]  # fmt: skip
        tails.extend(mine[-lines:])
    return "\n".join(tails)


def cluster(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TOOL, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("fixes", "failure"),
    [
        ("none", "Attempt to convert a value (PerReplica"),  # Symbolic build, keras#20585.
        ("build", "Invalid reduction dimension 0 for input with 0 dimensions"),  # Scalar mean.
        ("both", None),
    ],
)
def test_each_compat_fix_is_still_needed_and_together_they_work(fixes, failure):
    """Fails when Keras fixes a bug upstream (then delete that fix) or when a fix breaks."""
    out = cluster("--module", "tests.multi_worker_probe", fixes)
    lines = [line for line in out.stdout.splitlines() if "PROBE" in line]
    assert len(lines) == 2, out.stdout[-3000:]
    if failure is None:
        assert out.returncode == 0, out.stdout[-3000:]
        assert all("PROBE OK" in line for line in lines)
        assert len({line.split()[-1] for line in lines}) == 1  # Same loss on both workers.
    else:
        assert out.returncode == 1
        assert all("PROBE FAILED" in line and failure in line for line in lines), lines


def test_two_worker_cluster_trains_mnist_and_workers_agree(mnist_ready, tmp_path):
    run_dir, scratch = tmp_path / "run", tmp_path / "scratch"
    scratch.mkdir()
    sets = [a for s in (*SMALL_MNIST, "training.epochs=2") for a in ("--set", s)]
    out = cluster(
        "--workers",
        "2",
        "recipes/mnist_cnn.yaml",
        "--output-dir",
        str(run_dir),
        "-q",
        *sets,
        env={"TMPDIR": str(scratch)},
    )
    assert out.returncode == 0, worker_tails(out.stdout)
    log = out.stdout
    assert "[worker 0] zoo: strategy: CollectiveAllReduceStrategy with 2 replica(s)" in log
    assert "global batch 64 (32 per replica)" in log
    digests = dict(re.findall(r"\[worker (\d)\] zoo: weights checksum: (\w+)", log))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"], log[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.85  # Chance is 0.10.
    assert metrics["export"]["saved_model"]["ok"] and metrics["export"]["keras"]["ok"]
    assert (run_dir / "saved_model" / "saved_model.pb").is_file()
    rows = (run_dir / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1"]
    assert not (run_dir / "backup").exists()  # Removed once the run finished.
    assert not list(scratch.iterdir())  # Worker 1's scratch run directory was cleaned up.


def _wait_for(paths: list[Path], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, f"never appeared: {paths}"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_local_cluster_stops_every_worker_when_one_fails(tmp_path):
    out = cluster("--workers", "3", "--module", "tests.cluster_sleeper", str(tmp_path), "1")
    assert out.returncode == 3
    assert "[worker 1] worker 1 started" in out.stdout
    assert "worker 1 exited with 3, stopping the others" in out.stdout
    assert "exit codes [-15, 3, -15]" in out.stderr
    pids = [int((tmp_path / f"worker-{i}.pid").read_text()) for i in range(3)]
    assert all(_gone(pid) for pid in pids)


def test_local_cluster_stops_every_worker_on_sigterm(tmp_path):
    tool = subprocess.Popen(
        [*TOOL, "--workers", "2", "--module", "tests.cluster_sleeper", str(tmp_path), "-1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pid_files = [tmp_path / f"worker-{i}.pid" for i in range(2)]
    _wait_for(pid_files)
    tool.send_signal(signal.SIGTERM)
    output, _ = tool.communicate(timeout=60)
    assert tool.returncode == 128 + signal.SIGTERM, output
    assert "stopping every worker" in output
    assert all(_gone(int(p.read_text())) for p in pid_files)


def test_killed_cluster_worker_and_restarted_cluster_resume(mnist_ready, tmp_path):
    run_dir, log_file = tmp_path / "run", tmp_path / "cluster.log"
    sets = [a for s in (*SMALL_MNIST, "training.epochs=2") for a in ("--set", s)]
    args = [*TOOL, "--workers", "2", "recipes/mnist_cnn.yaml", "--output-dir", str(run_dir), "-q"]
    with log_file.open("w") as log:
        tool = subprocess.Popen([*args, *sets], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not list((run_dir / "backup").glob("epoch-*.weights.h5")):  # Epoch 1 is done.
        assert tool.poll() is None and time.monotonic() < deadline, log_file.read_text()[-3000:]
        time.sleep(0.02)
    pid = int(re.search(r"worker 1 is pid (\d+)", log_file.read_text()).group(1))
    os.kill(pid, signal.SIGKILL)  # Worker 1 dies inside epoch 2; the tool stops worker 0.
    assert tool.wait(timeout=120) != 0
    codes = re.search(r"exit codes \[(-?\d+), (-?\d+)\]", log_file.read_text()).groups()
    assert codes[1] == "-9" and codes[0] != "0"  # Worker 0 failed or was stopped, never hung.
    assert not (run_dir / "metrics.json").exists()

    out = cluster(*args[2:], *sets)  # The same command again.
    assert out.returncode == 0, worker_tails(out.stdout)
    for worker in (0, 1):
        assert f"[worker {worker}] zoo: resuming {run_dir} after epoch 1 of 2" in out.stdout
    digests = dict(re.findall(r"\[worker (\d)\] zoo: weights checksum: (\w+)", out.stdout))
    assert digests["0"] == digests["1"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["training"]["resumed_after_epoch"] == 1
    assert metrics["test"]["accuracy"] > 0.85
    rows = (run_dir / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1"]


def test_distribution_benchmark_reads_keras_step_times_and_checks_sections():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "benchmark_distribution", REPO / "tools" / "benchmark_distribution.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    log = "Epoch 1/2\n100/100 - 3s - 31ms/step - loss: 1\nEpoch 2/2\n100/100 - 1s - 12ms/step"
    assert bench._last_steps_per_second(log) == pytest.approx(83.3)
    assert bench._last_steps_per_second("5/5 - 9s - 2s/step") == pytest.approx(0.5)
    out = subprocess.run(
        [sys.executable, "tools/benchmark_distribution.py", "--sections", "speed,nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "unknown section(s) ['nope']" in out.stderr
