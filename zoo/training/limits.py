"""How much of a run to do: the whole run, the dev run behind `--check`, or a search trial.

One trainer runs all three (Lightning's `fast_dev_run` is the model): a quick check is
limits on the same loop, never a second loop, so it cannot pass what the run then fails.
`--check` runs every stage the real run runs (strategy, `init_from`/`freeze`, every
callback, every export format the recipe names, each verified in a fresh process) on one
batch per split, in a scratch folder deleted afterwards. A search trial trains fully but
writes only `model.keras` (unverified) and skips plots; the search exports and verifies
the best trial once the study ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from zoo.config.schema import Recipe


@dataclass(frozen=True)
class Limits:
    """`name` says which kind of run (shown in messages). `batches` caps every split per
    epoch (training steps, validation and evaluation batches); `epochs` caps the epochs.
    `evaluate` names the splits scored after fit (None: the recipe's). `export` False
    writes only model.keras; `verify_exports` False skips the fresh-process check.
    `reports` False skips the plots. `force_data_check` turns the data check on whatever
    the recipe says. `scratch` runs in a temporary folder that is deleted afterwards.
    `strict_stages` turns any failure into a ZooError naming its stage (exit 2)."""

    name: str = "run"
    batches: int | None = None
    epochs: int | None = None
    evaluate: tuple[str, ...] | None = None
    export: bool = True
    verify_exports: bool = True
    reports: bool = True
    force_data_check: bool = False
    scratch: bool = False
    strict_stages: bool = False

    def apply(self, recipe: Recipe) -> Recipe:
        """The recipe this run trains: its epochs, steps and data check as limited."""
        training: dict[str, object] = {}
        if self.epochs is not None:
            training["epochs"] = min(self.epochs, recipe.training.epochs)
        if self.batches is not None:
            training["steps_per_epoch"] = self.batches
            training["validation_steps"] = self.batches
        update: dict[str, object] = {}
        if training:
            update["training"] = recipe.training.model_copy(update=training)
        data: dict[str, object] = {}
        if self.force_data_check and not recipe.data.check:
            data["check"] = True
        if self.batches is not None:  # A few batches need no shuffle window of the whole set.
            window = self.batches * recipe.training.batch_size
            data["shuffle_buffer"] = min(recipe.data.shuffle_buffer, window)
        if data:
            update["data"] = recipe.data.model_copy(update=data)
        return recipe.model_copy(update=update) if update else recipe

    def splits(self, recipe: Recipe) -> list[str]:
        """The splits scored after fit."""
        return list(self.evaluate if self.evaluate is not None else recipe.evaluation.splits)


FULL = Limits()
CHECK = Limits(
    name="check",
    batches=1,
    epochs=1,
    force_data_check=True,
    scratch=True,
    strict_stages=True,
)


def trial(objective_split: str) -> Limits:
    """A search trial: scores only the objective's split; exports nothing but model.keras."""
    return Limits(
        name="trial",
        evaluate=(objective_split,),
        export=False,
        verify_exports=False,
        reports=False,
    )
