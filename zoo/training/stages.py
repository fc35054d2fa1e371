"""The stages of a run, timed and named: what `--check` reports, what an interrupted run
says it was doing, and the time each step after fit took.

With `strict` (the `--check` run), any failure inside a stage becomes a ZooError naming
the stage (exit 2): a defect met by the recipe's own code path is the recipe's to fix.
Otherwise only ZooErrors are the user's, and other exceptions keep their traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from zoo.errors import ZooError
from zoo.runs.status import RunStopped
from zoo.stage import set_stage

log = logging.getLogger("zoo")


@dataclass
class Stage:
    name: str
    seconds: float
    detail: str = ""


@dataclass
class Stages:
    """Each stage that passed, in order."""

    strict: bool = False
    label: str = "run"
    done: list[Stage] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str, announce: bool = True) -> Iterator[Callable[[str], None]]:
        """Time the block as stage `name`; the yielded function sets its detail."""
        detail = [""]
        set_stage(name)
        if announce:
            log.info("%s: %s …", self.label, name)
        start = time.perf_counter()
        try:
            yield lambda text: detail.__setitem__(0, text)
        except (RunStopped, KeyboardInterrupt, SystemExit):
            raise
        except ZooError as exc:
            if self.strict:  # Keeps its type and exit code; the message names the stage.
                exc.args = (f"--check failed at {name}: {exc}", *exc.args[1:])
            raise
        except Exception as exc:
            if not self.strict:
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            raise ZooError(
                f"--check failed at {name}: {type(exc).__name__}: {first}. A full run would "
                "fail the same way; fix the recipe, the data or the environment first."
            ) from None
        seconds = time.perf_counter() - start
        self.done.append(Stage(name, seconds, detail[0]))
        if announce:
            log.info("%s: %s done in %.1f s", self.label, name, seconds)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.done)

    def breakdown(self) -> str:
        """`strategy 0.1 s, data 3.2 s, ...`: where a run's time went, in one line."""
        return ", ".join(f"{s.name} {s.seconds:.1f} s" for s in self.done)

    def lines(self) -> list[str]:
        """One line per stage (`check: data  ok  1.2 s  ...`), then the total."""
        width = max((len(s.name) for s in self.done), default=0)
        out = [
            f"{self.label}: {s.name:<{width}}  ok  {s.seconds:5.1f} s  {s.detail}".rstrip()
            for s in self.done
        ]
        out.append(
            f"{self.label}: passed in {self.seconds:.1f} s; nothing written outside a "
            "temporary folder"
        )
        return out
