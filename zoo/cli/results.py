"""`zoo results DIR... [--csv PATH] [--markdown PATH] [--readme README.md]`

One row per finished run or preset (a DIR may also be a folder of them): recipe, model,
parameters, size on disk, every test metric, training time, hardware, and where the
weights live. Prints the Markdown table; writes CSV/Markdown files when asked, and with
--readme replaces the table between the README's results markers. Reads JSON only: no
TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zoo results",
        description="A results table (CSV + Markdown) of finished runs and presets.",
        epilog="Example: zoo results runs/ ~/.cache/zoo/published --csv results.csv",
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run or preset folders, or their parent")
    p.add_argument("--csv", metavar="PATH", help="write the table as CSV")
    p.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    p.add_argument("--readme", metavar="PATH", help="replace the table in this README")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from zoo.cli.common import configure_logging, guarded

    configure_logging()

    def body() -> int:
        from zoo.fs import atomic_write_text
        from zoo.usecases import results

        rows = results.collect(args.dirs)
        table = results.to_markdown(rows)
        if args.csv:
            atomic_write_text(Path(args.csv), results.to_csv(rows))
        if args.markdown:
            atomic_write_text(Path(args.markdown), table)
        if args.readme:
            results.update_readme(Path(args.readme), table)
        sys.stdout.write(table)
        return 0

    return guarded(body)


if __name__ == "__main__":
    sys.exit(main())
