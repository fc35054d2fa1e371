"""What every `zoo` command shares: logging set-up, the error contract and signals.

A `ZooError` prints as `error: ...` (one paragraph, no traceback) and exits 2; anything
else is a bug and keeps its traceback.

SIGTERM and SIGINT must stop a command at every stage, also while TensorFlow blocks inside
C++ (creating a multi-worker strategy, a collective op), where Python signal handlers never
run. So `interruptible` blocks both signals in the main thread (threads started later,
TensorFlow's included, inherit the mask) and one dedicated thread takes them with
`signal.sigwait`, prints "interrupted (SIGTERM) while <stage>" and leaves at once with
`os._exit(128 + signum)`. Nothing half-written is renamed into place by an exit this
abrupt: zoo writes files through temporary names.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
_active = 0  # How many `interruptible` blocks are open (the waiter exits only then).
_waiter: threading.Thread | None = None


def configure_logging() -> None:
    """zoo's own progress lines on stderr; library chatter held back (zoo/logs.py)."""
    from zoo.logs import setup

    setup(force=True)


def _wait_for_signals() -> None:
    from zoo import stage

    while True:
        signum = signal.sigwait(_SIGNALS)
        if not _active:  # Outside a command (e.g. a test calling main()): the usual way.
            signal.pthread_kill(threading.main_thread().ident or 0, signum)
            continue
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.write(
                f"interrupted ({signal.Signals(signum).name}) while {stage.current()}\n"
            )
            sys.stderr.flush()
        os._exit(128 + signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM/SIGINT end the process promptly inside this block, whatever it is doing."""
    global _active, _waiter
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    if _waiter is None:
        _waiter = threading.Thread(target=_wait_for_signals, name="zoo-signals", daemon=True)
        _waiter.start()
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def guarded(body: Callable[[], int]) -> int:
    """Run a command's body under the error contract and `interruptible`; returns the
    exit code."""
    from zoo.errors import ZooError

    try:
        with interruptible():
            return body()
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def add_overrides(parser: argparse.ArgumentParser, help: str) -> None:
    """The `--set KEY=VALUE` option (repeatable, into `args.overrides`) that every command
    reading a recipe takes, spelt the same everywhere."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )
