"""Errors a user can fix. The CLI prints them as one paragraph and exits with code 2.

Anything that is not a `ZooError` is a bug in zoo and keeps its traceback (exit 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZooError(Exception):
    """A problem with the user's input (recipe, data, arguments, paths), not with zoo."""

    exit_code = 2


class RegistryError(ZooError, KeyError):
    """Unknown model name or builder parameter. Also a KeyError, as lookups raise."""

    def __str__(self) -> str:  # KeyError would print the repr of its argument.
        return str(self.args[0]) if self.args else ""


class DataError(ZooError):
    """A dataset cannot be found, prepared or read."""


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """' Did you mean 'x' or 'y'?' for the closest choices, or '' when none is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=n, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
