"""Train and publish each shipped recipe whose data is here, then tabulate the presets.

    python tools/publish_presets.py [RECIPE ...] [--out DIR] [--set K=V ...]
        [--manual-dir DIR] [--readme README.md]

For every built-in recipe (or those named) whose data is ready or can be prepared
offline, trains it into OUT/runs/<recipe> (a finished run there is reused, an unfinished
one resumed), publishes it as the preset OUT/<recipe>, then writes OUT/results.csv and
OUT/results.md with `zoo results` (and, with --readme, the README's table). OUT defaults
to ~/.cache/zoo/published: presets hold binaries and never go into the repository.
Recipes whose data is missing are skipped, saying why.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # Publish with the checkout this tool lives in.


def _default_out() -> Path:
    from zoo.presets.uris import cache_root

    return cache_root() / "published"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipes", nargs="*", help="built-in recipe names or paths (default: all)")
    p.add_argument("--out", type=Path, help="folder for runs and presets (default: cache)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    p.add_argument("--manual-dir", help="TFDS manual folder (sets ZOO_TFDS_MANUAL_DIR)")
    p.add_argument("--readme", type=Path, help="replace the results table in this README")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.manual_dir:
        os.environ["ZOO_TFDS_MANUAL_DIR"] = str(Path(args.manual_dir).resolve())

    from zoo import api, load_recipe, train_recipe
    from zoo.config import builtin
    from zoo.errors import ZooError
    from zoo.logs import setup as configure_logging
    from zoo.presets.publish import publish
    from zoo.runs.status import is_finished
    from zoo.usecases.prepare import prepare_one

    configure_logging(force=True)
    out = (args.out or _default_out()).expanduser().resolve()
    names = args.recipes or builtin.names()
    published = []
    for name in names:
        try:
            recipe = load_recipe(name, args.overrides)
        except ZooError as exc:  # Base recipes (mnist_base) are not complete on their own.
            print(f"skip {name}: not a complete recipe ({str(exc).splitlines()[0][:120]})")
            continue
        ready, detail = prepare_one(recipe.data, None, None)
        if not ready:
            print(f"skip {name}: data not here ({detail[:200]})")
            continue
        name = Path(name).stem if name.endswith(".yaml") else name  # A recipe path too.
        run = out / "runs" / name
        start = time.perf_counter()
        try:
            if not is_finished(run):
                train_recipe(recipe, output_dir=run, verbose=0)
            publish(run, str(out / name))
        except ZooError as exc:  # E.g. a fine-tuning recipe whose source is not published.
            print(f"skip {name}: {' '.join(str(exc).split())[:300]}")
            continue
        published.append(out / name)
        print(f"published {name} -> {out / name} ({time.perf_counter() - start:.0f} s)")
    if not published:
        print("nothing published")
        return 1
    rows = api.results(published)
    table = api.results_table(rows)
    (out / "results.csv").write_text(api.results_table(rows, "csv"))
    (out / "results.md").write_text(table)
    if args.readme:
        api.update_results_readme(args.readme, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
