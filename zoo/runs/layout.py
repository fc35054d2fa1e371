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

# Artifacts (the export formats name their targets with these).
MODEL = "model.keras"  # The raw-input model; also a preset's.
SAVED_MODEL = "saved_model"
ONNX_DIR = "onnx"
ONNX_MODEL = "model.onnx"
LITERT_STEM = "model"  # model.tflite, model-<quantisation>.tflite
CHECKPOINTS = "checkpoints"
BEST_CHECKPOINT = "best.keras"
FITTED_WEIGHTS = "fitted.weights.h5"
TENSORBOARD = "tensorboard"

# Records of the run.
HISTORY = "history.csv"
ENVIRONMENT = "environment.json"
BUILDER = "builder.json"
CLASSES = "classes.json"
VOCABULARY = "vocabulary.txt"
CARD = "model_card.md"
SUMMARY = "model_summary.txt"
CURVES = "training_curves.png"


def litert_file(quantization: str | None) -> str:
    """model.tflite, or model-<quantisation>.tflite."""
    suffix = "" if quantization in (None, "none") else f"-{quantization}"
    return f"{LITERT_STEM}{suffix}.tflite"


def confusion_matrix(split: str) -> str:
    return f"confusion_matrix_{split}.png"


def export_record(kind: str) -> str:
    """What `zoo export` writes beside an artifact: its fresh-process check."""
    return f"export-{kind}.json"


def evaluation_folder(split: str, preset: str | None = None) -> str:
    """Where `zoo evaluate` writes: `evaluation-<split>` in a run, or
    `evaluation-<preset>-<split>` in the working folder for a preset."""
    return f"evaluation-{split}" if preset is None else f"evaluation-{preset}-{split}"
