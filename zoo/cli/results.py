"""`zoo results DIR... [--where FIELD=VALUE] [--sort FIELD] [--csv PATH] [--markdown PATH]
[--readme README.md]`

Every run below the DIRs (walked recursively), one row each with its status: finished,
failed, interrupted, running, pruned, search, search trial, preset, or unreadable with
the reason. Columns: recipe, model, status, date, epochs, the recipe fields that differ
between the rows, parameters, size, every test metric, training time, training
examples/s, batch-1 latency (ms) of the fastest verified export and its format, hardware
and the folder (a record from before a figure existed leaves its cell empty). Prints the
Markdown table; writes CSV/Markdown files when asked, and with --readme replaces the table
between the README's results markers. Reads JSON and YAML only: no TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo results",
        description="One table (Markdown, CSV) of every run, search trial and preset below "
        "the folders given, with status, date, epochs and the recipe fields that differ.",
        epilog="Examples: zoo results runs/ --where status=failed; "
        "zoo results runs/ --sort=-test_accuracy --csv results.csv",
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run or preset folders, or a parent")
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="keep rows whose column or recipe field has this value (FIELD!=VALUE: has not); "
        "repeatable, e.g. status=finished, training.epochs=3",
    )
    p.add_argument(
        "--sort",
        metavar="FIELD",
        help="order by a column or recipe field; --sort=-FIELD for descending",
    )
    p.add_argument("--csv", metavar="PATH", help="write the table as CSV")
    p.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    p.add_argument("--readme", metavar="PATH", help="replace the table in this README")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        from zoo import api
        from zoo.fs import atomic_write_text

        rows = api.results(args.dirs, where=args.where, sort=args.sort)
        if not rows:
            print("no rows match the --where conditions", file=sys.stderr)
        table = api.results_table(rows)
        if args.csv:
            atomic_write_text(Path(args.csv), api.results_table(rows, "csv"))
        if args.markdown:
            atomic_write_text(Path(args.markdown), table)
        if args.readme:
            api.update_results_readme(args.readme, table)
        sys.stdout.write(table)
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
