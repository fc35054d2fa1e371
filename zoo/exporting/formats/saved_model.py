"""SavedModel whose `serving_default` takes a batch of raw examples named after the data's
input feature (e.g. `image`, uint8) and returns `probabilities`.

Its check also runs TensorFlow's own serving client, `saved_model_cli show` and `run`, in
subprocesses (see `cli_check`), as a real server would see the folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from zoo.exporting.formats.base import OUTPUT_NAME, SIGNATURE, Context, Format, register, replace


class SavedModelFormat(Format):
    name = "saved_model"

    def target(self, variant: str | None = None) -> str:
        return "saved_model"

    def tolerance(self, variant: str | None = None) -> float:
        return 1e-5

    def write(self, model: Any, path: Path, ctx: Context, variant: str | None = None) -> Path:
        import keras
        import tensorflow as tf

        info = ctx.info
        spec = tf.TensorSpec(
            (None, *info.input_shape), tf.as_dtype(info.input_dtype), name=info.input_name
        )
        model_dtype = model.inputs[0].dtype

        def serve(raw):
            return {OUTPUT_NAME: model(tf.cast(raw, model_dtype), training=False)}

        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(SIGNATURE, serve, input_signature=[spec])
        tmp = Path(tempfile.mkdtemp(prefix=".saved_model.tmp-", dir=path.parent))
        shutil.rmtree(tmp)
        archive.write_out(str(tmp), verbose=False)
        replace(tmp, path)
        return path

    def load(self, path: Path) -> Any:
        from zoo.exporting.artifacts import load

        return load(path).predict


def saved_model_cli_command() -> list[str]:
    """The venv's `saved_model_cli` script, else the module behind it."""
    script = Path(sys.executable).with_name("saved_model_cli")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]


def cli_check(path: Path, inputs: Any, input_name: str, timeout: int = 300) -> dict[str, Any]:
    """Run `saved_model_cli show` and `run` on `path`; returns {show_ok, run_ok,
    probabilities (from run, or None), detail}."""
    import numpy as np

    cli = saved_model_cli_command()
    out: dict[str, Any] = {"show_ok": False, "run_ok": False, "probabilities": None}
    shown = subprocess.run(
        [*cli, "show", "--dir", str(path), "--tag_set", "serve", "--signature_def", SIGNATURE],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    out["show_ok"] = shown.returncode == 0 and f"outputs['{OUTPUT_NAME}']" in shown.stdout
    if not out["show_ok"]:
        out["detail"] = (shown.stderr.strip().splitlines() or ["no output"])[-1]
        return out
    with tempfile.TemporaryDirectory(prefix="zoo-saved-model-cli-") as tmp:
        np.save(Path(tmp) / "inputs.npy", inputs)
        ran = subprocess.run(
            [
                *cli,
                "run",
                "--dir",
                str(path),
                "--tag_set",
                "serve",
                "--signature_def",
                SIGNATURE,
                "--inputs",
                f"{input_name}={Path(tmp) / 'inputs.npy'}",
                "--outdir",
                str(Path(tmp) / "out"),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result = Path(tmp) / "out" / f"{OUTPUT_NAME}.npy"
        out["run_ok"] = ran.returncode == 0 and result.is_file()
        if out["run_ok"]:
            out["probabilities"] = np.load(result)
        else:
            out["detail"] = (ran.stderr.strip().splitlines() or ["no output"])[-1]
    return out


SAVED_MODEL = register(SavedModelFormat())
