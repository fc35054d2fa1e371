"""What every `zoo` command shares: logging set-up and the error contract.

A `ZooError` prints as `error: ...` (one paragraph, no traceback) and exits 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable


def configure_logging() -> None:
    """zoo's own progress lines on stderr; library chatter (TFDS, absl) stays quiet."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("zoo: %(message)s"))
    log = logging.getLogger("zoo")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.getLogger("absl").setLevel(logging.WARNING)


def guarded(body: Callable[[], int]) -> int:
    """Run a command's body under the error contract; returns the exit code."""
    from zoo.errors import ZooError

    try:
        return body()
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
