"""README drift: every `zoo <command>`, `--format X` and `[extra]` it names exists.

Why: the README is the first thing a user runs, and it drifted from the code before (export
named as "saved_model, keras or tflite", extras missing from Install). Commands come from
zoo.cli.main.COMMANDS, formats from the export FORMATS registry, extras from setup.cfg.
"""

from __future__ import annotations

import configparser
import re

from tests.conftest import REPO
from zoo.cli.main import COMMANDS
from zoo.exporting.formats import FORMATS

README = (REPO / "README.md").read_text(encoding="utf-8")


def _code() -> list[str]:
    """Inline code spans and code-block lines: where the README shows commands."""
    spans = re.findall(r"`([^`\n]+)`", README)
    blocks, fenced = [], False
    for line in README.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith("    "):
            blocks.append(line)
    return spans + blocks


def _extras() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return set(cfg["options.extras_require"])


def test_every_zoo_command_in_the_readme_exists():
    named = {
        m
        for text in _code()
        for m in re.findall(r"(?:^|[\s(])(?<!from )zoo ([a-z][a-z_-]*)\b", text)
    }
    assert {"train", "evaluate", "prepare", "search", "export"} <= named  # The scan finds them.
    assert named <= set(COMMANDS), sorted(named - set(COMMANDS))


def test_every_export_format_in_the_readme_is_registered():
    named = {
        fmt
        for group in re.findall(r"--format ([a-z_]+(?:\|[a-z_]+)*)", README)
        for fmt in group.split("|")
    }
    assert {"onnx", "litert", "saved_model"} <= named
    assert named <= set(FORMATS), sorted(named - set(FORMATS))


def test_every_extra_in_the_readme_is_in_setup_cfg_and_install_lists_them_all():
    named = set()
    for group in re.findall(r"(?:\.|keras-recipe-zoo)\[([a-z0-9_,-]+)\]", README):
        named |= set(group.split(","))
    for line in README.splitlines():  # `... 'keras-recipe-zoo[onnx]'` / `[litert]`
        if "pip install" in line:
            for group in re.findall(r"`\[([a-z0-9_,-]+)\]`", line):
                named |= set(group.split(","))
    extras = _extras()
    assert {"test", "onnx", "litert", "search", "hub"} <= named
    assert named <= extras, sorted(named - extras)
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z0-9_-]+)` \|", install, flags=re.M))
    assert listed == extras, (sorted(extras - listed), sorted(listed - extras))


def test_run_directory_section_names_the_files_a_run_writes():
    from zoo.runs import layout

    section = README.split("## A run directory", 1)[1].split("\n## ", 1)[0]
    for name in ("builder.json", "model_summary.txt", layout.LOG, layout.RECIPE, layout.STATUS):
        assert f"`{name}`" in section, name
    assert "`./evaluation-<preset>-<split>/`" in section
