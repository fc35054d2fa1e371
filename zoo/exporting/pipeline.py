"""Write a recipe's export matrix and check every artifact: one path for the trainer's
`_export` step and for `zoo export`.

`plan` turns the recipe's export section into (format, variant) pairs; `export_and_check`
checks every format's optional dependency before writing anything, writes each format's
artifacts through its `Format` (all its variants in one `write_variants` call), then
checks them all in one fresh process (`zoo.exporting.verify`): float artifacts
elementwise on held-out inputs, quantised ones by test accuracy, the SavedModel through
its serving signature, as a server calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.data.pipeline import head
from zoo.errors import ZooError
from zoo.exporting.formats import FORMATS, Context
from zoo.exporting.formats.base import Blocker, written
from zoo.exporting.verify import MAX_ACCURACY_DROP, Job

if TYPE_CHECKING:
    import keras

    from zoo.data.bundle import DataBundle

HELD_OUT = 64  # Examples compared elementwise.
ACCURACY_EXAMPLES = 2000  # Test examples scoring a quantised artifact.
REPRESENTATIVE = 200  # Training examples calibrating full-int8 quantisation.

Item = tuple[str, "str | None"]


def plan(export: Any) -> list[Item]:
    """The (format, variant) pairs a recipe's `export` section asks for, in order: each
    registered format reads its own part of the section (`Format.planned`)."""
    ordered = sorted(FORMATS.values(), key=lambda f: f.plan_order)
    return [(fmt.name, variant) for fmt in ordered for variant in fmt.planned(export)]


def require(items: Sequence[Item]) -> None:
    """One ZooError naming the extra, before anything is written, if a format's optional
    dependency is missing."""
    for name, _ in items:
        FORMATS[name].require()


def unconvertible(roots: Sequence[Any], items: Sequence[Item]) -> list[tuple[Item, list[Blocker]]]:
    """(item, what blocks it) for each item whose format declares it cannot convert
    something in `roots` (the model, and the data's preprocessor in front of it): see
    `Format.unconvertible`. Reads the layers only, so it runs before any training."""
    found = []
    for item in items:
        blockers = FORMATS[item[0]].blockers(roots, item[1])
        if blockers:
            found.append((item, blockers))
    return found


def describe_unconvertible(
    model_name: str, found: Sequence[tuple[Item, list[Blocker]]], field: Callable[[Item], str]
) -> list[tuple[str, str]]:
    """(field, message) per format of `found`, its blocked variants together: what cannot
    be converted (layers, op, why) and the way out (drop the field, or the format's
    `instead`). `field(item)` names where the item was asked for (`export.litert`)."""
    by_format: dict[str, list[tuple[Item, list[Blocker]]]] = {}
    for item, blockers in found:
        by_format.setdefault(item[0], []).append((item, blockers))
    out = []
    for name, entries in by_format.items():
        fmt = FORMATS[name]
        variants = [item[1] for item, _ in entries if item[1] is not None]
        shown = f" (quantize {', '.join(variants)})" if variants and len(fmt.variants) > 1 else ""
        blockers = list(dict.fromkeys(b for _, bs in entries for b in bs))
        insteads = list(dict.fromkeys(b.rule.instead for b in blockers if b.rule.instead))
        where = field(entries[0][0])
        message = (
            f"{fmt.title or fmt.name} cannot convert model {model_name}{shown}: "
            + "; ".join(b.describe() for b in blockers)
            + f". Drop {where}"
            + "".join(f", or {i}" for i in insteads)
            + "."
        )
        out.append((where, message))
    return out


def target(item: Item) -> str:
    return FORMATS[item[0]].target(item[1])


def kind(item: Item) -> str:
    return FORMATS[item[0]].kind(item[1])


def by_format(items: Sequence[Item]) -> list[tuple[str, list[Item]]]:
    """`items` grouped by format, formats and variants in the order first given: one
    `Format.write_variants` call per group."""
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item[0], []).append(item)
    return list(groups.items())


def write(
    model: keras.Model,
    items: Sequence[Item],
    path_for: Callable[[str], Path],
    ctx: Context,
    guard: Callable[[Path], AbstractContextManager[Any]] = lambda _p: nullcontext(),
) -> dict[str, Path]:
    """Write `items`, each format's variants in one `write_variants` call: {kind: path}.

    Every artifact's `guard` is held while its format writes (the first one innermost, so
    a failure of the work the variants share names the first path), and each variant's
    own failure is raised again under its own guard, which names its own path. A format
    whose variants failed is one ZooError, one sentence per failure, raised after its
    other variants are written and before any later format is begun, as when each item
    was written alone."""
    paths: dict[str, Path] = {}
    for name, group in by_format(items):
        targets = [(item[1], path_for(target(item))) for item in group]
        with ExitStack() as guards:
            for _, path in reversed(targets):
                guards.enter_context(guard(path))
            outcomes = FORMATS[name].write_variants(model, targets, ctx)
        failures = []
        for item, (variant, path) in zip(group, targets, strict=True):
            try:
                with guard(path):
                    paths[kind(item)] = written(outcomes[variant])
            except ZooError as exc:
                failures.append(str(exc))
        if failures:
            raise ZooError(" ".join(failures))
    return paths


def export_and_check(
    model: keras.Model,
    bundle: DataBundle,
    items: Sequence[Item],
    path_for: Callable[[str], Path],
    *,
    split: str,
    guard: Callable[[Path], AbstractContextManager[Any]] = lambda _p: nullcontext(),
    max_accuracy_drop: float = MAX_ACCURACY_DROP,
    check: bool = True,
) -> tuple[dict[str, Path], dict[str, Any]]:
    """({kind: path}, {kind: check record}); `check=False` writes only (followers)."""
    import numpy as np

    from zoo.evaluation import scoring
    from zoo.exporting import verify

    require(items)
    found = unconvertible([model], items)
    if found:  # The trainer refused these before training; `zoo export` meets them here.
        lines = describe_unconvertible(model.name, found, lambda item: f"--format {item[0]}")
        raise ZooError("; ".join(f"{where}: {message}" for where, message in lines))
    quantised = [i for i in items if FORMATS[i[0]].tolerance(i[1]) is None]
    representative = None
    if ("litert", "int8") in items:
        sample = _representative(bundle)
        representative = lambda: sample  # noqa: E731
    ctx = Context(bundle.info, representative)
    paths = write(model, items, path_for, ctx, guard)
    if not check or not paths:
        return paths, {}
    held_out = head(bundle.split(split), HELD_OUT)[0]
    labelled = head(bundle.split(split), ACCURACY_EXAMPLES) if quantised else (None, None)
    whole = scoring.predictor(model)
    jobs = []
    for item in items:
        fmt = FORMATS[item[0]]
        tolerance = fmt.tolerance(item[1])
        if tolerance is None:
            x, y = labelled
            jobs.append(
                Job(kind(item), paths[kind(item)], x, whole(x), None, y, None, max_accuracy_drop)
            )
            continue
        front, servable, notes = fmt.servable(model)
        x = held_out if front is None else np.asarray(front(held_out))
        expected = whole(x) if front is None else scoring.predictor(servable)(x)
        jobs.append(Job(kind(item), paths[kind(item)], x, expected, tolerance, notes=notes))
    # The SavedModel's check calls its serving signature (`serving_default`) on raw inputs
    # in the fresh process: what `saved_model_cli run` proved, without two more processes.
    return paths, verify.run(jobs)


def _representative(bundle: DataBundle) -> Any:
    train = bundle.split("train")
    if train is None:
        raise ZooError(
            "LiteRT int8 quantisation needs a representative sample from the training split, "
            "and the recipe's data has no train split; add one under data.splits or choose "
            "quantize: dynamic_int8."
        )
    return head(train, REPRESENTATIVE, "a representative training sample")[0]


def describe_failures(failed: dict[str, Any]) -> str:
    """One clause per failed check, for the error message."""
    parts = []
    for name, c in failed.items():
        if c.get("check") == "accuracy":
            parts.append(
                f"{name} scores {c['accuracy']:.4f} test accuracy, {c['accuracy_drop']:.4f} "
                f"below the float model (allowed {c['max_accuracy_drop']})"
            )
        else:
            parts.append(
                f"{name} differs from the trained model by {c['max_abs_difference']:.2e} "
                f"(tolerance {c.get('tolerance', 0):.0e})"
            )
    return "; ".join(parts)
