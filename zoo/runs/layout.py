"""Every file name of a run folder, in one place.

Why: the trainer, evaluate, export, publish, search and results all read or write the same
files; a name spelt in one module and read in another drifts. Other modules import the
names from here and never spell a run's file name themselves.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_RUNS_DIR = Path("runs")

# zoo's bookkeeping (never a run's entry, never "foreign").
MANIFEST = ".zoo-run.json"
LOCK = ".zoo-lock"

# What a run writes.
STATUS = "status.json"
METRICS = "metrics.json"
RECIPE = "recipe.yaml"
BACKUP = "backup"  # Weights and state of the last completed epoch (resume).
LOG = "train.log"  # Everything the run printed (zoo/runs/transcript.py).
