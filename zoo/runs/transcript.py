"""`train.log`: everything a run prints, kept in its folder.

Why a tee of `sys.stdout` and `sys.stderr` rather than a log handler: a run's output is
zoo's lines *and* Keras's per-epoch lines (written to stdout), and a user reading the log
later wants both, in order. What is printed before the run folder exists (the data
check) is held in memory and written once the folder is claimed. Output of C++ code
(written to the file descriptors directly) is not captured.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO


class _Tee(io.TextIOBase):
    def __init__(self, stream: TextIO, transcript: Transcript) -> None:
        self._stream = stream
        self._transcript = transcript

    def write(self, text: str) -> int:
        self._transcript.record(text)
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Transcript:
    """While open, whatever is written to sys.stdout/sys.stderr is also kept; `attach`
    names the file it goes to from then on (earlier text is written first)."""

    def __init__(self) -> None:
        self._held: list[str] = []
        self._file: TextIO | None = None
        self._saved: tuple[TextIO, TextIO] | None = None

    def record(self, text: str) -> None:
        if self._file is not None:
            self._file.write(text)
            self._file.flush()
        else:
            self._held.append(text)

    def attach(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._file.write("".join(self._held))
        self._file.flush()
        self._held.clear()

    def __enter__(self) -> Transcript:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, self)  # type: ignore[assignment]
        sys.stderr = _Tee(sys.stderr, self)  # type: ignore[assignment]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
        if self._file is not None:
            self._file.close()
