"""Train and publish each shipped recipe whose data is here, then tabulate the presets.

    python tools/publish_presets.py [RECIPE ...] [--out DIR] [--set K=V ...]
        [--run RECIPE=RUN_DIR ...] [--manual-dir DIR] [--readme README.md]

Walks every built-in recipe (or those named, built-in names or YAML paths): a base that
other recipes extend and that is not complete on its own, an invalid recipe, and a recipe
whose data is neither here nor preparable offline are skipped, each saying why. The others
are trained into OUT/runs/<recipe> (a finished run there is reused, an unfinished one
resumed) and published as the preset OUT/<recipe>.

`--run RECIPE=RUN_DIR` publishes a run that already finished elsewhere (a long training
on another machine, copied here) as OUT/<recipe>, without training or reading data; the
run must be of that recipe. Recipes named and runs given are all published; with
`--run` and no RECIPE named, only those runs are.

Then every preset in OUT (those published before included) is tabulated with `zoo
results` into OUT/results.csv and OUT/results.md, and with --readme into the README's
table (between its `<!-- zoo results: start/end -->` markers). OUT defaults to
~/.cache/zoo/published: presets hold binaries and never go into the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # Publish with the checkout this tool lives in.


def _default_out() -> Path:
    from zoo.settings import cache_root

    return cache_root() / "published"


class Step:
    """What the tool does with one recipe: publish `run` (None: train `recipe` first), or
    skip it saying `skip` why. (A plain class: the tests load this file by path, and a
    dataclass needs its module in sys.modules.)"""

    def __init__(self, name: str, recipe: Any = None, run: Path | None = None, skip: str = ""):
        self.name, self.recipe, self.run, self.skip = name, recipe, run, skip

    def __repr__(self) -> str:
        return f"Step({self.name!r}, run={self.run}, skip={self.skip!r})"


def _runs(pairs: list[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pair in pairs:
        name, sep, folder = pair.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise SystemExit(f"--run {pair!r}: write RECIPE=RUN_DIR, e.g. --run mnist_cnn=runs/x")
        out[name.strip()] = Path(folder.strip()).expanduser()
    return out


def plan(names: list[str], overrides: list[str], runs: dict[str, Path]) -> list[Step]:
    """One Step per name, in order; nothing is trained or prepared here."""
    from zoo import load_recipe
    from zoo.config import builtin
    from zoo.errors import ZooError
    from zoo.usecases.listing import survey

    where = builtin.folder()
    bases = {e.name for e in survey(where) if e.base} if where else set()
    steps = []
    for name in names:
        stem = Path(name).stem if name.endswith(".yaml") else name  # A recipe path too.
        if stem in runs:
            steps.append(Step(stem, run=runs[stem]))
            continue
        if name in bases:
            steps.append(Step(stem, skip="a base recipe: others extend it, it is not complete"))
            continue
        try:
            steps.append(Step(stem, recipe=load_recipe(name, overrides)))
        except ZooError as exc:
            steps.append(Step(stem, skip=f"not a complete recipe ({_first(exc, 120)})"))
    return steps


def _first(exc: BaseException, chars: int) -> str:
    return " ".join(str(exc).split())[:chars]


def _publish_given(step: Step, dest: Path) -> str:
    """Publish a finished run given with --run; '' or why it was not."""
    from zoo.errors import ZooError
    from zoo.presets.publish import publish
    from zoo.runs.manifest import read_manifest

    assert step.run is not None
    try:
        recipe = (read_manifest(step.run) or {}).get("recipe")
    except ZooError as exc:
        return _first(exc, 300)
    if recipe is not None and recipe != step.name:
        return f"{step.run} is a run of the recipe {recipe!r}, not {step.name!r}"
    try:
        publish(step.run, str(dest))
    except ZooError as exc:  # Unfinished, a failed export check, not a zoo run.
        return _first(exc, 300)
    return ""


def _train_and_publish(step: Step, out: Path) -> str:
    """Train (or reuse, or resume) OUT/runs/<name> and publish it; '' or why not."""
    from zoo import train_recipe
    from zoo.errors import ZooError
    from zoo.presets.publish import publish
    from zoo.runs.status import is_finished
    from zoo.usecases.prepare import prepare_one

    ready, detail = prepare_one(step.recipe.data, None, None)
    if not ready:
        return f"data not here ({detail[:200]})"
    run = out / "runs" / step.name
    try:
        if not is_finished(run):
            train_recipe(step.recipe, output_dir=run, verbose=0)
        publish(run, str(out / step.name))
    except ZooError as exc:  # E.g. a fine-tuning recipe whose source is not published.
        return _first(exc, 300)
    return ""


def presets_in(out: Path) -> list[Path]:
    """Every preset folder directly in `out`, by name."""
    from zoo.presets import format as fmt

    if not out.is_dir():
        return []
    return sorted(p for p in out.iterdir() if p.is_dir() and fmt.is_preset(p))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipes", nargs="*", help="built-in recipe names or paths (default: all)")
    p.add_argument("--out", type=Path, help="folder for runs and presets (default: cache)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    p.add_argument(
        "--run",
        dest="runs",
        action="append",
        default=[],
        metavar="RECIPE=RUN_DIR",
        help="publish this finished run as RECIPE's preset, without training (repeatable)",
    )
    p.add_argument("--manual-dir", help="TFDS manual folder (sets ZOO_TFDS_MANUAL_DIR)")
    p.add_argument("--readme", type=Path, help="replace the results table in this README")
    args = p.parse_args(argv)
    from zoo.logs import quiet_tensorflow

    quiet_tensorflow()  # Start-up lines held back as the zoo command does; a set level wins.
    if args.manual_dir:
        os.environ["ZOO_TFDS_MANUAL_DIR"] = str(Path(args.manual_dir).resolve())

    from zoo import api
    from zoo.config import builtin
    from zoo.logs import setup as configure_logging

    configure_logging(force=True)
    out = (args.out or _default_out()).expanduser().resolve()
    runs = _runs(args.runs)
    # Recipes named and runs given are all published; with neither, every built-in recipe.
    names = [*args.recipes, *(r for r in runs if r not in args.recipes)] or builtin.names()
    published = []
    for step in plan(names, args.overrides, runs):
        start = time.perf_counter()
        if not step.skip:
            dest = out / step.name
            step.skip = _publish_given(step, dest) if step.run else _train_and_publish(step, out)
        if step.skip:
            print(f"skip {step.name}: {step.skip}")
            continue
        published.append(step.name)
        print(f"published {step.name} -> {out / step.name} ({time.perf_counter() - start:.0f} s)")
    if not published:
        print("nothing published")
        return 1
    rows = api.results(presets_in(out))
    table = api.results_table(rows)
    (out / "results.csv").write_text(api.results_table(rows, "csv"))
    (out / "results.md").write_text(table)
    if args.readme:
        api.update_results_readme(args.readme, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
