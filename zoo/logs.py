"""What zoo prints, set up in one place for the CLI and the library alike.

Why one place: the CLI configured logging and the library did not, so a script calling
`zoo.train(...)` printed none of zoo's lines (data check, run directory) and, writing to
a file, 60 KB of redrawn progress bar. Now every entry point calls `setup()`:

- zoo's own lines (`zoo: ...`) go to stderr, once each. The library adds its handler
  only when the program has configured no logging of its own (`force` for the CLI).
- TensorFlow's C++ start-up block (absl's "All log messages before
  absl::InitializeLog()", oneDNN and "Could not find cuda drivers" lines, printed twice)
  and the `cuInit` error of a machine without a GPU are held back, unless the user asks
  for them (`verbose`, `zoo -v`, or their own TF_CPP_MIN_LOG_LEVEL). absl writes that
  block from C++ before any level applies, so it is filtered at the file descriptor
  while TensorFlow is imported; anything else written then is passed on.
- Keras's progress: a redrawn bar on a terminal, one line per epoch otherwise
  (`progress_verbosity`), for both.

Bottom layer: imports nothing of zoo.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

LOGGER = "zoo"
_HANDLER_FLAG = "_zoo_handler"
# absl/TensorFlow C++ lines: I/W/E + MMDD, or absl's pre-initialisation notice.
_STARTUP_NOISE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ |WARNING: All log messages before absl::)"
)


VERBOSE_ENV = "ZOO_VERBOSE"  # Set by `zoo -v`; worker processes inherit it.


def setup(*, verbose: bool | None = None, force: bool = False) -> logging.Logger:
    """zoo's lines on stderr, TensorFlow's start-up noise held back; idempotent.

    `force` (the CLI): always attach zoo's handler. Otherwise only when neither the zoo
    logger nor the root logger has a handler, i.e. the program left logging to us.
    `verbose` None reads ZOO_VERBOSE."""
    if verbose is None:
        verbose = os.environ.get(VERBOSE_ENV, "") not in ("", "0")
    log = logging.getLogger(LOGGER)
    if not verbose:
        quiet_tensorflow()
    already = any(getattr(h, _HANDLER_FLAG, False) for h in log.handlers)
    configured = bool(log.handlers) or bool(logging.getLogger().handlers)
    if not already and (force or not configured):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("zoo: %(message)s"))
        setattr(handler, _HANDLER_FLAG, True)
        log.addHandler(handler)
        log.propagate = False
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    logging.getLogger("absl").setLevel(logging.DEBUG if verbose else logging.WARNING)
    return log


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (a run's log tee included)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def progress_verbosity(quiet: bool = False, tty: bool | None = None) -> int | str:
    """Keras `verbose`: a redrawn progress bar only on a terminal; to a file or pipe one
    line per epoch (a bar's frames would fill a log with megabytes), as with quiet."""
    if tty is None:
        tty = sys.stdout.isatty()
    return 2 if quiet or not tty else "auto"


# ------------------------------------------------------------------ TensorFlow's noise
def quiet_tensorflow() -> None:
    """Hold back TensorFlow's C++ start-up lines unless the user set TF_CPP_MIN_LOG_LEVEL."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return  # The user's own choice, kept as it is.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # Also the cuInit error without a GPU.
    if "tensorflow" not in sys.modules and not any(
        isinstance(f, _QuietImport) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietImport())


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps TensorFlow's loader so its import runs with fd 2
    filtered. Removes itself on first use and changes nothing else about the import."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("tensorflow")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            with filtered_stderr():
                run(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Everything written to file descriptor 2 in the block, minus absl's start-up lines,
    is written out when the block ends (a temporary file holds it meanwhile)."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # No stderr to filter.
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = b"".join(line for line in held if not _STARTUP_NOISE.match(line))
            if kept:
                os.write(2, kept)
