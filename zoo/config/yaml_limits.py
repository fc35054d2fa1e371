"""Bounded reading of recipe YAML: regular files only, a size cap, a depth cap, an alias cap.

A recipe is small, flat text. Anything else (a FIFO, /dev/zero, a directory, a 100 MiB
file, a structure nested hundreds deep, a "billion laughs" alias bomb) is refused with one
`LimitError` *before* it can block, exhaust memory or overflow Python's stack:

- the path is `stat`ed first and must be a regular file; it is then opened with
  O_NONBLOCK (so even a FIFO swapped in after the check never blocks), checked again with
  `fstat`, and at most `MAX_BYTES + 1` bytes are read;
- the text must be UTF-8 without NUL bytes;
- the YAML event stream (PyYAML's parser is a loop, not a recursion) is walked once with a
  counter: nesting deeper than `MAX_DEPTH`, or more than `MAX_NODES` nodes once every alias
  is expanded, is refused without composing a single node. Each anchor's expanded size and
  height are remembered, so an alias costs O(1) to account for however big it stands for.

Only then is the text composed and constructed with `UniqueKeyLoader`, PyYAML's
`SafeLoader` refusing a key given twice in one mapping (PyYAML keeps the last silently,
so two `training:` blocks would drop the first). `load_file` is the one entry point for
YAML files zoo reads outside recipe loading (run folders, presets, study folders).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024  # 1 MiB: the largest shipped recipe is a few KiB.
MAX_DEPTH = 50  # Nested mappings/sequences, aliases expanded; recipes use under 10.
MAX_NODES = 100_000  # Scalars + collections with every alias expanded.
MAX_EXTENDS = 16  # Files in one `extends:` chain.


class LimitError(ValueError):
    """Input refused by a limit or a file check; the message says what and how to fix it."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line  # 1-based line in the text, when known.


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of the regular file at `path`, at most `max_bytes`; `LimitError` else.

    Raises FileNotFoundError when nothing is there (callers word that themselves).
    """
    info = os.stat(path)  # Follows links: a link to a FIFO is a FIFO.
    if not stat.S_ISREG(info.st_mode):
        raise LimitError(f"is {_kind(info.st_mode)}, not a regular file; give a .yaml file.")
    if info.st_size > max_bytes:
        raise LimitError(
            f"is {info.st_size:,} bytes; recipes are limited to {max_bytes:,} bytes. "
            "Is this the right file?"
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise LimitError("is a directory, not a regular file; give a .yaml file.") from None
    try:
        info = os.fstat(fd)  # The file opened may not be the one stat()ed above.
        if not stat.S_ISREG(info.st_mode):
            raise LimitError(f"is {_kind(info.st_mode)}, not a regular file; give a .yaml file.")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise LimitError(
            f"is over {max_bytes:,} bytes; recipes are limited to that. Is this the right file?"
        )
    return decode(data)


def decode(data: bytes) -> str:
    """`data` as UTF-8 text without NUL bytes, else `LimitError` naming the line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LimitError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the recipe as UTF-8.",
            line,
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise LimitError("holds a NUL byte; recipes are plain text. Remove it.", line)
    return text


def check_structure(text: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Refuse YAML nested deeper than `max_depth` or expanding to over `max_nodes` nodes.

    Walks parser events only (no nodes are built). For each open collection a frame
    [nodes so far, levels of collections so far, anchor] is kept (a scalar has height 0,
    a collection 1 + its tallest item); anchors remember (size, height) so an
    alias adds its expanded size and height at once.
    """
    anchors: dict[str, tuple[int, int]] = {}
    stack: list[list[Any]] = [[0, 0, None]]  # The stream itself.
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) > max_depth:
                raise LimitError(
                    f"is nested more than {max_depth} levels deep; recipes are flat. "
                    "Remove the nesting.",
                    line,
                )
            stack.append([1, 1, event.anchor])
            total += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            size, height, anchor = stack.pop()
            if anchor is not None:
                anchors[anchor] = (size, height)
            stack[-1][0] += size
            stack[-1][1] = max(stack[-1][1], height + 1)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
            stack[-1][0] += 1
            total += 1
        elif isinstance(event, yaml.AliasEvent):
            size, height = anchors.get(event.anchor, (1, 0))  # Unknown: the composer says so.
            if len(stack) - 1 + height > max_depth:
                raise LimitError(
                    f"alias *{event.anchor} makes the value nested more than {max_depth} levels "
                    "deep; write the value out, flat.",
                    line,
                )
            stack[-1][0] += size
            stack[-1][1] = max(stack[-1][1], height + 1)
            total += size
        else:
            continue
        if total > max_nodes:
            raise LimitError(
                f"expands to more than {max_nodes:,} values once its aliases (*name) are "
                "expanded (an alias bomb?); write the recipe out without nested aliases.",
                line,
            )


class DuplicateKeyError(LimitError):
    """A mapping gives the same key twice; `line` is the second, `first_line` the first."""

    def __init__(self, key: Any, first_line: int, line: int):
        where = f"lines {first_line} and {line}" if first_line != line else f"both on line {line}"
        super().__init__(
            f"gives the key {key!r} twice in one mapping ({where}); YAML would silently keep "
            "only the second. Merge the two into one.",
            line,
        )
        self.key = key
        self.first_line = first_line


class UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that raises `DuplicateKeyError` for a key repeated in a mapping.

    Keys are compared as constructed values (`1` and `0x1` are the same key). Keys that a
    merge (`<<: *base`) brings in may be overridden, as YAML intends; only the mapping's
    own keys must be unique.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise DuplicateKeyError(key, seen[key], line)
                    seen[key] = line
                except TypeError:  # An unhashable key: SafeLoader words that error.
                    continue
        return super().construct_mapping(node, deep=deep)


def load(text: str) -> tuple[Any, yaml.Node | None]:
    """(Python data, composed node) for `text` after `check_structure`; unique keys only."""
    check_structure(text)
    loader = UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, node


def load_file(path: Path) -> Any:
    """The data of the YAML file at `path`, read within every limit above (regular file,
    size, depth, aliases, unique keys); any refusal is one `ZooError` naming the file and
    line. For zoo's own files (a run's or preset's recipe.yaml, a study's best.yaml) read
    outside recipe loading; recipes go through `zoo.config.loading`."""
    from zoo.errors import ZooError

    try:
        return load(read_text(path))[0]
    except FileNotFoundError:
        raise ZooError(f"{path}: file not found; check the path.") from None
    except LimitError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise ZooError(f"{where}: {exc}") from None
    except OSError as exc:
        raise ZooError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        what = getattr(exc, "problem", None) or str(exc)
        raise ZooError(f"{where}: is not valid YAML: {what}. Fix the syntax there.") from None
    except (ValueError, OverflowError, TypeError, RecursionError) as exc:
        raise ZooError(f"{path}: holds a value YAML cannot build ({exc}).") from None
