"""What a search leaves in its study folder: trials.csv / trials.md, history.png,
importance.png (once enough trials finished) and best.yaml (a complete recipe, no
`search:` section, that `zoo train best.yaml` trains again with the best parameters)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zoo.config.search_space import Search, trial_raw
from zoo.fs import atomic_write_text
from zoo.tuning import describe
from zoo.tuning import study as studies
from zoo.tuning.runner import decode

IMPORTANCE_MIN = 4  # finished trials before a parameter-importance plot means anything


def rows(study: Any, search: Search) -> list[dict[str, Any]]:
    """One row per trial: number, params (as recipe values), objective, state, seconds."""
    out = []
    for t in study.get_trials(deepcopy=False):
        value = (
            t.value
            if t.value is not None
            else (
                t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None
            )
        )
        out.append(
            {
                "number": t.number,
                "params": decode(search, t.params),
                "objective": value,
                "state": t.state.name.lower()
                + (" (interrupted)" if t.user_attrs.get("interrupted") else ""),
                "seconds": t.user_attrs.get("seconds"),
                "retry_of": t.user_attrs.get("retry_of"),
            }
        )
    return out


def write_table(table: list[dict[str, Any]], search: Search, folder: Path) -> None:
    names = list(search.parameters)
    header = ["number", *names, search.objective.metric, "state", "seconds", "retry_of"]

    def cells(row: Mapping[str, Any]) -> list[str]:
        params = [json.dumps(row["params"].get(n)) if n in row["params"] else "" for n in names]
        obj = "" if row["objective"] is None else f"{row['objective']:.4f}"
        secs = "" if row["seconds"] is None else f"{row['seconds']:.1f}"
        retry = "" if row["retry_of"] is None else str(row["retry_of"])
        return [str(row["number"]), *params, obj, row["state"], secs, retry]

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(cells(r) for r in table)
    _write(folder / studies.TABLE_CSV, buf.getvalue())
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in table]
    _write(folder / studies.TABLE_MARKDOWN, "\n".join(lines) + "\n")


def _write(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def plot(study: Any, search: Search, table: list[dict[str, Any]], folder: Path) -> list[str]:
    """history.png always (with trials done); importance.png with enough finished trials."""
    try:
        import matplotlib
    except ImportError:  # The plots extra is optional; tables and best.yaml still come.
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in table if r["state"] == "complete"]
    made = []
    if done:
        maximize = study.direction.name == "MAXIMIZE"
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = [r["number"] for r in done]
        ys = [r["objective"] for r in done]
        best, running = [], None
        for y in ys:
            running = y if running is None else (max(running, y) if maximize else min(running, y))
            best.append(running)
        ax.scatter(xs, ys, label="trial")
        ax.step(xs, best, where="post", color="C1", label="best so far")
        pruned = [r for r in table if r["state"] == "pruned" and r["objective"] is not None]
        if pruned:
            ax.scatter(
                [r["number"] for r in pruned],
                [r["objective"] for r in pruned],
                marker="x",
                color="grey",
                label="pruned (last epoch)",
            )
        ax.set_xlabel("trial")
        ax.set_ylabel(f"{search.objective.split} {search.objective.metric}")
        ax.set_title("optimisation history")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / "history.png")
        plt.close(fig)
        made.append("history.png")
    if len(done) >= IMPORTANCE_MIN and len(search.parameters) >= 1:
        import optuna

        try:
            importance = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError):
            importance = {}
        if importance:
            fig, ax = plt.subplots(figsize=(6, 1 + 0.5 * len(importance)))
            ax.barh(list(importance), list(importance.values()))
            ax.set_xlabel("importance (fANOVA)")
            ax.set_title("parameter importance")
            fig.tight_layout()
            fig.savefig(folder / "importance.png")
            plt.close(fig)
            made.append("importance.png")
    return made


def write_best(
    study: Any, search: Search, base: Mapping[str, Any], folder: Path
) -> dict[str, Any] | None:
    """best.yaml (complete recipe with the best params); the best trial's row, or None."""
    import yaml

    from zoo.config.loading import validate

    try:
        best = study.best_trial
    except ValueError:
        return None
    params = decode(search, best.params)
    raw = trial_raw(base, search, params)
    if "description" not in params:  # Not the searched recipe's: it described other values.
        raw["description"] = describe.description(
            f"{base.get('name')}-search", best.number, params, best=True
        )
    recipe = validate(raw, source="best.yaml")
    text = (
        f"# Best trial {best.number} of the search: {search.objective.split} "
        f"{search.objective.metric} = {best.value:.4f}.\n"
        f"# Parameters: {describe.params(params)}\n"
        + yaml.safe_dump(recipe.model_dump(mode="json", exclude={"search"}), sort_keys=False)
    )
    _write(folder / studies.BEST, text)
    return {
        "number": best.number,
        "value": best.value,
        "params": params,
        "run_dir": best.user_attrs.get("run_dir"),
    }
