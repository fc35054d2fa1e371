"""Run `python -m zoo.train` as an N-worker MultiWorkerMirroredStrategy cluster on this host.

    python tools/local_cluster.py --workers 2 recipes/mnist_cnn.yaml --output-dir runs/c [...]

Everything after the options goes to `zoo.train` (or `--module`) unchanged, on every
worker. Each worker gets free loopback ports it shares with the others through `TF_CONFIG`
(worker 0 is the chief, which alone writes the run directory). Output lines are prefixed
`[worker i]`. The exit code is the worst worker's (the first to fail by itself); when
one worker fails, or on Ctrl-C / SIGTERM, every worker this tool started is stopped, so
a half-dead cluster never waits forever on its missing peer.

Prepare the data first (`zoo prepare`): workers preparing the same TFDS
dataset at once would race. To resume a killed cluster, run the same command again: every
worker restores the chief's backup in the shared `--output-dir`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10.0


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now (held open until all are chosen)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_configs(ports: Sequence[int]) -> list[str]:
    """One TF_CONFIG (JSON) per worker: the same cluster, each its own task index."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        for i in range(len(ports))
    ]


def _pump(index: int, stream, out) -> None:
    for line in iter(stream.readline, ""):
        out.write(f"[worker {index}] {line}")
        out.flush()
    stream.close()


def _stop(procs: Sequence[subprocess.Popen]) -> None:
    """SIGTERM each still-running worker, then SIGKILL what is left after a grace period."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def worst(codes: Sequence[int]) -> int:
    """The cluster's exit code: the first worker that failed by itself (exit code > 0),
    else the first killed by a signal (128 + signal, as shells report it), else 0.
    Workers this tool stopped after another failed do not hide the real failure."""
    failed = [c for c in codes if c > 0]
    if failed:
        return failed[0]
    signalled = [c for c in codes if c < 0]
    return 128 - signalled[0] if signalled else 0


def run_cluster(
    workers: int,
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    out=None,
    poll_seconds: float = 0.2,
) -> list[int]:
    """Start `workers` copies of `command`, each with its TF_CONFIG, stream their prefixed
    output to `out`, and return their exit codes (negative: stopped by that signal)."""
    out = out or sys.stdout
    base_env = dict(os.environ if env is None else env)
    # Workers import the checkout this tool lives in, wherever it is started from.
    pythonpath = os.pathsep.join(filter(None, [str(REPO), base_env.get("PYTHONPATH")]))
    procs: list[subprocess.Popen] = []
    threads: list[threading.Thread] = []
    stopping: dict[str, int | None] = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index, config in enumerate(tf_configs(free_ports(workers))):
            proc = subprocess.Popen(
                list(command),
                env={**base_env, "TF_CONFIG": config, "PYTHONPATH": pythonpath},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,  # Ctrl-C reaches this tool only, which stops them.
            )
            procs.append(proc)
            out.write(f"local_cluster: worker {index} is pid {proc.pid}\n")
            t = threading.Thread(target=_pump, args=(index, proc.stdout, out), daemon=True)
            t.start()
            threads.append(t)
        while stopping["signal"] is None:
            codes = [p.poll() for p in procs]
            failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                out.write(
                    f"local_cluster: worker {failed[0]} exited with {codes[failed[0]]}, "
                    "stopping the others\n"
                )
                break
            if all(c == 0 for c in codes):
                break
            time.sleep(poll_seconds)
        if stopping["signal"] is not None:
            out.write(f"local_cluster: signal {stopping['signal']}, stopping every worker\n")
    finally:
        _stop(procs)
        for t in threads:
            t.join(timeout=5)
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopping["signal"] is not None:
        raise _Interrupted(int(stopping["signal"]))
    return [int(p.returncode) for p in procs]


class _Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        self.signum = signum


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        usage="python tools/local_cluster.py [--workers N] [--module M] RECIPE [zoo.train args]",
    )
    p.add_argument("--workers", type=int, default=2, help="number of worker processes (2)")
    p.add_argument(
        "--module", default="zoo.train", help="the Python module each worker runs (zoo.train)"
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the module")
    args = p.parse_args(argv)
    if args.workers < 1 or (args.module == "zoo.train" and not args.args):
        p.error("give --workers >= 1 and a recipe")
    try:
        codes = run_cluster(args.workers, [sys.executable, "-m", args.module, *args.args])
    except _Interrupted as stop:
        return 128 + stop.signum
    print(f"local_cluster: exit codes {codes}", file=sys.stderr)
    return worst(codes)


if __name__ == "__main__":
    sys.exit(main())
