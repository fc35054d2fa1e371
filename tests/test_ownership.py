"""Ownership and verification under hostile folders (issue 22): zoo replaces only what
its record proves it wrote, reads presets and runs only through their manifests, reads its
own JSON files typed and bounded, and refuses mismatched re-exports. Every case goes
through the real CLI (`zoo.cli.<command>.main`): exit 2, one message, no user file lost.
One tiny real MLP run (3 classes, 4x4 inputs) serves the module."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.presets import format as fmt

REPO = Path(__file__).resolve().parents[1]
TINY = """name: tiny
model: {{name: mlp, params: {{hidden_units: [8]}}}}
data: {{source: npz, path: {npz}, splits: {{train: train, validation: null, test: test}},
        shuffle_buffer: 0}}
training: {{batch_size: 16, epochs: 1, optimizer: {{name: adam, learning_rate: 0.01}}}}
export: {{keras: true, saved_model: false}}
"""


def _npz(path: Path, classes: int, seed: int, side: int = 4) -> None:
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", 48), ("test", 24)):
        labels = np.arange(n) % classes
        x = rng.normal(size=(n, side, side)) + labels[:, None, None]
        arrays[f"{split}_images"] = x.astype("float32")
        arrays[f"{split}_labels"] = labels.astype("int64")
    np.savez(path, **arrays)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(folder, finished run, preset folder) of a tiny real MLP run, 3 classes."""
    from zoo import load_recipe, train_recipe
    from zoo.presets.publish import publish

    folder = tmp_path_factory.mktemp("own")
    _npz(folder / "tiny.npz", 3, 0)
    (folder / "tiny.yaml").write_text(TINY.format(npz="tiny.npz"))
    result = train_recipe(load_recipe(folder / "tiny.yaml"), output_dir=folder / "run", verbose=0)
    publish(result.run_dir, str(folder / "preset"))
    return folder, result.run_dir, folder / "preset"


def _main(command: str, args: list[str], capsys) -> tuple[int, str]:
    code = importlib.import_module(f"zoo.cli.{command}").main(args)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def _refused(command: str, args: list[str], capsys) -> str:
    code, out = _main(command, args, capsys)
    assert code == 2, out[-2000:]
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out[-2000:]
    return out[out.index("error:") :]


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


# ------------------------------------------------------------- 1. ownership: publish
def test_publish_over_a_users_folder_with_manifest_and_config_deletes_nothing(
    tiny, tmp_path, capsys
):
    _, run, _ = tiny
    dest = tmp_path / "project"
    dest.mkdir()
    (dest / "manifest.json").write_text('{"name": "my project"}')
    (dest / "config.json").write_text('{"builder": "mine"}')
    (dest / "thesis.tex").write_text("\\documentclass{article}")
    before = _tree(dest)
    message = _refused("publish", [str(run), str(dest)], capsys)
    assert "thesis.tex" in message and "zoo did not write" in message and "DEST" in message
    assert _tree(dest) == before
    assert [p.name for p in tmp_path.iterdir()] == ["project"]  # No temporary left.


def test_republish_over_a_preset_with_a_users_note_refuses_naming_it(tiny, tmp_path, capsys):
    _, run, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    (dest / "MY_NOTES.md").write_text("my notes")
    before = _tree(dest)
    message = _refused("publish", [str(run), str(dest)], capsys)
    assert "MY_NOTES.md" in message
    assert _tree(dest) == before


def test_republish_over_a_preset_whose_listed_file_was_edited_refuses(tiny, tmp_path, capsys):
    _, run, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    (dest / fmt.CARD).write_text("my edited card")
    message = _refused("publish", [str(run), str(dest)], capsys)
    assert fmt.CARD in message
    assert (dest / fmt.CARD).read_text() == "my edited card"


def test_republish_over_an_intact_preset_replaces_it(tiny, tmp_path, capsys):
    _, run, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    code, out = _main("publish", [str(run), str(dest)], capsys)
    assert code == 0, out
    fmt.verify(dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preset"]
    assert not (dest / ".zoo-temporary").exists()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_publish_leaves_a_marked_temporary_the_next_publish_removes(
    tiny, tmp_path, capsys
):
    _, run, _ = tiny
    dest = tmp_path / "preset"
    left = tmp_path / ".preset.zoo-tmp-abc123"  # What a publish killed mid-write leaves.
    left.mkdir()
    (left / "model.keras").write_bytes(b"half")
    marker = {"pid": _dead_pid(), "host": socket.gethostname()}
    (left / ".zoo-temporary").write_text(json.dumps(marker))
    alike = tmp_path / ".preset.zoo-tmp-mine"  # Looks alike, no marker: not zoo's.
    alike.mkdir()
    (alike / "keep.txt").write_text("mine")
    older = tmp_path / ".preset.tmp-xyz"  # An older zoo's: cannot be proven, stays.
    older.mkdir()
    code, out = _main("publish", [str(run), str(dest)], capsys)
    assert code == 0, out
    assert not left.exists()
    assert (alike / "keep.txt").read_text() == "mine" and older.is_dir()
    assert ".preset.tmp-xyz" in out  # Named, so the user can delete it.
    fmt.verify(dest)


def test_a_live_writers_temporary_is_left_alone(tiny, tmp_path, capsys):
    _, run, _ = tiny
    live = tmp_path / ".preset.zoo-tmp-live"
    live.mkdir()
    (live / ".zoo-temporary").write_text(
        json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
    )
    code, out = _main("publish", [str(run), str(tmp_path / "preset")], capsys)
    assert code == 0, out
    assert live.is_dir()


# ------------------------------------------------------------- 1. ownership: export
def test_export_into_a_preset_folder_is_refused_and_the_preset_stays_intact(tiny, tmp_path, capsys):
    _, _, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    before = _tree(dest)
    message = _refused("export", [str(dest), "--format", "keras"], capsys)
    assert "is a preset" in message and "source_run" in message
    assert _tree(dest) == before


def test_export_into_a_folder_without_zoos_record_is_refused(tiny, tmp_path, capsys):
    _, run, _ = tiny
    folder = _copy(run, tmp_path / "run")
    (folder / ".zoo-run.json").unlink()
    before = _tree(folder)
    message = _refused("export", [str(folder), "--format", "keras"], capsys)
    assert ".zoo-run.json" in message
    assert _tree(folder) == before


# ------------------------------------------------------------ 2. one verified path
def test_predict_refuses_a_preset_whose_model_fails_its_sha256(tiny, tmp_path, capsys):
    _, _, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    with (dest / fmt.MODEL).open("ab") as f:
        f.write(b"\0")
    np.save(tmp_path / "x.npy", np.zeros((4, 4), "float32"))
    message = _refused("predict", [str(dest), str(tmp_path / "x.npy")], capsys)
    assert "model.keras" in message and "sha256" in message


def test_predict_refuses_a_tampered_classes_json(tiny, tmp_path, capsys):
    _, _, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    (dest / fmt.CLASSES).write_text('{"class_names": ["evil", "evil", "evil"]}')
    np.save(tmp_path / "x.npy", np.zeros((4, 4), "float32"))
    message = _refused("predict", [str(dest), str(tmp_path / "x.npy")], capsys)
    assert "classes.json" in message and "sha256" in message


def test_predict_on_an_intact_preset_names_its_classes(tiny, tmp_path, capsys):
    _, _, preset = tiny
    np.save(tmp_path / "x.npy", np.zeros((4, 4), "float32"))
    code, out = _main("predict", [str(preset), str(tmp_path / "x.npy")], capsys)
    assert code == 0, out
    assert "x.npy: " in out and "top: " in out


def test_evaluate_refuses_a_preset_folder_without_manifest(tiny, tmp_path, capsys):
    _, _, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    (dest / fmt.MANIFEST).unlink()
    message = _refused("evaluate", [str(dest)], capsys)
    assert "manifest.json" in message and "cannot verify" in message
    assert not any(p.name.startswith("evaluation") for p in tmp_path.iterdir())


def test_predict_refuses_a_preset_folder_without_manifest(tiny, tmp_path, capsys):
    _, _, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    (dest / fmt.MANIFEST).unlink()
    np.save(tmp_path / "x.npy", np.zeros((4, 4), "float32"))
    message = _refused("predict", [str(dest), str(tmp_path / "x.npy")], capsys)
    assert "manifest.json" in message


def test_from_preset_ignores_a_classes_json_the_manifest_does_not_list(tiny, tmp_path):
    from zoo import from_preset

    _, _, preset = tiny
    dest = _copy(preset, tmp_path / "preset")
    manifest = json.loads((dest / fmt.MANIFEST).read_text())
    del manifest["files"][fmt.CLASSES]
    (dest / fmt.MANIFEST).write_text(json.dumps(manifest))
    (dest / fmt.CLASSES).write_text('{"class_names": ["x", "y", "z"]}')
    assert from_preset(dest).class_names == ["0", "1", "2"]


def test_predict_on_a_run_ignores_a_classes_json_the_run_does_not_list(tiny, tmp_path, capsys):
    from zoo.runs.manifest import read_manifest

    _, run, _ = tiny
    folder = _copy(run, tmp_path / "run")
    manifest = read_manifest(folder)
    manifest["entries"].remove("classes.json")  # Now a file zoo did not write.
    (folder / ".zoo-run.json").write_text(json.dumps(manifest))
    (folder / "classes.json").write_text('{"class_names": ["evil", "evil", "evil"]}')
    np.save(tmp_path / "x.npy", np.zeros((4, 4), "float32"))
    code, out = _main("predict", [str(folder), str(tmp_path / "x.npy")], capsys)
    assert code == 0, out
    assert "evil" not in out


# ------------------------------------------------------- 3. typed, bounded records
HOSTILE = {
    "list": "[1, 2, 3]",
    "deep": "[" * 100_000 + "]" * 100_000,
    "string-score": '{"test": {"accuracy": "0.9"}}',
    "bool-ok": '{"export": {"keras": {"ok": "yes"}}}',
    "not-json": "{oops",
    "latin-1": '{"x": "caf\xe9"}',
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("name", ["metrics.json", "status.json", ".zoo-run.json", "builder.json"])
def test_publish_of_a_run_with_a_hostile_record_is_one_message_naming_it(
    tiny, tmp_path, capsys, name, text
):
    _, run, _ = tiny
    folder = _copy(run, tmp_path / "run")
    (folder / name).write_bytes(text.encode("latin-1"))
    message = _refused("publish", [str(folder), str(tmp_path / "dest")], capsys)
    assert name in message
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize(
    "builder",
    [
        {"name": "no_such_model", "params": {}},
        {"name": "mlp", "params": {"hidden_units": "many"}},
        {"name": "mlp", "params": {"hidden_units": [1_000_000_000]}},
        {"name": "mlp", "params": {"hidden_units": [9], "input_shape": [4, 4], "num_classes": 3}},
        {"name": ["mlp"], "params": {}},
    ],
    ids=["unknown", "string-units", "huge", "other-shape", "list-name"],
)
def test_publish_with_a_hostile_builder_json_is_refused(tiny, tmp_path, capsys, builder):
    _, run, _ = tiny
    folder = _copy(run, tmp_path / "run")
    (folder / "builder.json").write_text(json.dumps(builder))
    message = _refused("publish", [str(folder), str(tmp_path / "dest")], capsys)
    assert "builder" in message
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_preset_manifest_or_config_is_one_message(tiny, tmp_path, capsys, text):
    _, _, preset = tiny
    for name in (fmt.MANIFEST, fmt.CONFIG):
        dest = _copy(preset, tmp_path / name)
        (dest / name).write_bytes(text.encode("latin-1"))
        np.save(tmp_path / "x.npy", np.zeros((4, 4), "float32"))
        message = _refused("predict", [str(dest), str(tmp_path / "x.npy")], capsys)
        assert name in message


def test_bounded_json_reader_refuses_a_huge_file(tmp_path):
    from zoo.errors import ZooError
    from zoo.fs import read_json

    path = tmp_path / "metrics.json"
    path.write_text("[" + "0," * 1000 + "0]")
    with pytest.raises(ZooError, match=r"metrics\.json is 2,003 bytes, over the 100 bytes"):
        read_json(path, max_bytes=100)
    assert read_json(path)[-1] == 0


# -------------------------------------------------------------- 4. wrong results
def test_export_quantize_naming_nothing_is_refused(tiny, capsys):
    _, run, _ = tiny
    before = _tree(run)
    message = _refused("export", [str(run), "--format", "litert", "--quantize", ",,"], capsys)
    assert "names no quantisation" in message and "int8" in message
    assert _tree(run) == before


def _swap_model(tiny, tmp_path: Path, npz_classes: int, side: int) -> Path:
    """A copy of the run whose model.keras was trained on other data."""
    from zoo import load_recipe, train_recipe

    _, run, _ = tiny
    other = tmp_path / "other"
    other.mkdir()
    _npz(other / "o.npz", npz_classes, 3, side)
    (other / "o.yaml").write_text(TINY.format(npz="o.npz"))
    trained = train_recipe(load_recipe(other / "o.yaml"), output_dir=other / "run", verbose=0)
    copy = _copy(run, tmp_path / "run")
    shutil.copyfile(trained.run_dir / "model.keras", copy / "model.keras")
    return copy


def test_export_of_a_model_with_another_input_shape_names_both(tiny, tmp_path, capsys):
    run = _swap_model(tiny, tmp_path, 3, side=5)
    message = _refused("export", [str(run), "--format", "keras"], capsys)
    assert "(5, 5)" in message and "(4, 4)" in message


def test_export_of_a_model_with_another_class_count_is_refused(tiny, tmp_path, capsys):
    run = _swap_model(tiny, tmp_path, 4, side=4)
    message = _refused("export", [str(run), "--format", "keras"], capsys)
    assert "4 classes" in message and "3" in message


# ------------------------------------------------------------------ 5. messages
def test_init_from_an_unfinished_run_says_to_finish_it(tiny, tmp_path):
    from zoo.errors import ZooError
    from zoo.presets.transfer import source

    _, run, _ = tiny
    folder = _copy(run, tmp_path / "run")
    (folder / "metrics.json").unlink()
    (folder / "status.json").write_text('{"stage": "fitted"}')
    with pytest.raises(ZooError) as caught:
        source(str(folder))
    text = str(caught.value)
    assert "running its train command again" in text and "fine-tuned from" in text
    assert "published" not in text


def test_a_non_utf8_output_path_is_one_message(tiny, tmp_path, capsys):
    _, run, _ = tiny
    bad = os.fsdecode(bytes(tmp_path) + b"/out\xff")
    message = _refused("publish", [str(run), bad], capsys)
    assert "\\xff" in message and "UTF-8" in message
    message = _refused("evaluate", [str(run), "--output-dir", bad], capsys)
    assert "--output-dir" in message and "UTF-8" in message
    assert list(tmp_path.iterdir()) == []


def test_write_errors_advise_only_flags_the_command_has(tmp_path):
    import errno

    from zoo.fs import OTHER_OUTPUT_DIR, write_error

    exc = OSError(errno.EACCES, "Permission denied")
    assert "--output-dir" not in str(write_error(tmp_path, exc))
    assert "another --output-dir" in str(write_error(tmp_path, exc, OTHER_OUTPUT_DIR))


def test_a_latin1_text_file_in_a_directory_source_is_one_data_error(tmp_path, capsys):
    for split in ("train", "test"):
        for label in ("a", "b"):
            folder = tmp_path / "d" / split / label
            folder.mkdir(parents=True)
            for i in range(3):
                (folder / f"{i}.txt").write_text(f"hello {label} {i}")
    (tmp_path / "d" / "train" / "a" / "latin.txt").write_bytes(b"line one\ncaf\xe9\n")
    (tmp_path / "r.yaml").write_text(
        "name: l1\nmodel: {name: text_rnn, params: {units: [4]}}\n"
        "data: {source: directory, kind: text, path: d, splits: {train: train, "
        "validation: null, test: test}, text: {max_tokens: 50, sequence_length: 8}}\n"
        "training: {batch_size: 4, epochs: 1}\n"
    )
    message = _refused(
        "train", [str(tmp_path / "r.yaml"), "--output-dir", str(tmp_path / "out")], capsys
    )
    assert "latin.txt is not UTF-8" in message and "line 2" in message
    assert not (tmp_path / "out").exists()
