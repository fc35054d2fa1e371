"""`zoo COMMAND ...`: the one console script; each command lives in `zoo.cli.<command>`.

`zoo train RECIPE` is `zoo.cli.train.main([RECIPE])`, and so on: this module only picks
the command and forwards the rest of the arguments unchanged, so each command keeps its
own parser (and `zoo <command> --help`). Nothing here imports TensorFlow; a command
imports it only when it has work to do.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

# Command → one-line summary (the module zoo.cli.<command> has main(argv)).
COMMANDS: dict[str, str] = {
    "train": "train, evaluate and export the model a recipe (name or YAML path) describes",
    "evaluate": "re-score a saved model on a split of its recipe's data",
    "predict": "classify image/text files or .npy/.npz arrays with a saved model",
    "export": "re-export a finished run as saved_model, keras, onnx or litert",
    "list": "the registered models and the built-in recipes (with where each reads its data)",
    "search": "tune any recipe fields its search: section names (Optuna; resumable, --workers N)",
    "prepare": "make every dataset the recipes read ready; say what is missing and where it goes",
    "publish": "write a finished run as a preset (folder, hf://ORG/NAME, kaggle://...)",
    "results": "one table (Markdown, CSV) of every run, search trial and preset, with status",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    rows = "\n".join(f"  {name:{width}}  {summary}" for name, summary in COMMANDS.items())
    return (
        "usage: zoo [-v] COMMAND [ARGS...]\n\n"
        "A Keras 3 model zoo: registered builders, validated YAML recipes, one trainer.\n\n"
        f"commands:\n{rows}\n\n"
        "-v shows TensorFlow's own start-up lines too. "
        "`zoo COMMAND --help` describes a command. Example: zoo train mnist_cnn --set "
        "training.epochs=1\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to `zoo.cli.<command>.main(rest)`; returns its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-v", "--verbose"):  # TensorFlow's own start-up lines too.
        from zoo.logs import VERBOSE_ENV

        os.environ[VERBOSE_ENV] = "1"
        args = args[1:]
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(usage())
        return 0 if args else 2
    if args[0] == "--version":
        from zoo import __version__

        print(f"zoo {__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        from zoo.errors import did_you_mean

        print(
            f"error: zoo has no command {command!r}.{did_you_mean(command, list(COMMANDS))} "
            f"Commands: {', '.join(COMMANDS)} (see zoo --help).",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"zoo.cli.{command}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
