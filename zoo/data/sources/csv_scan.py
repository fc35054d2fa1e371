"""One streaming pass over a CSV/TSV file: the data check, the labels and the split sizes.

The pass reads rows with Python's `csv` reader (so line numbers count quoted multi-line
cells the way a user's editor does) and keeps one integer per row (its label id; line
numbers only where they stop following the row index), never the rows: it refuses a row
with the wrong number of columns, a blank label, a feature cell that is not a number or
(with the check on) NaN/Inf, naming the line; and it counts each split's labels. Its
result is saved under the cache root (never beside the user's file: data folders are often
shared or read-only) keyed by the file's absolute path, size and mtime and the reading
options, so a second run starts at once.

Single-file fraction splits use a seeded hash of the row index (`unit`): the rows whose
hash falls below a threshold form the test split, the next ones validation. The
thresholds are picked from all N hashes so the sizes are exactly round(N × fraction), as
before; the pipeline recomputes the same hash in TensorFlow, so the file is never held
in memory.

For a text file's training rows the pass also picks the vocabulary's sample: the
`adapt_sample` rows with the smallest hash under another seed (`sample_seed`), kept as a
bounded bottom-k while the file streams past. The saved scan keeps only the hash cutoff,
which selects the same rows again when the texts are needed without a fresh pass.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import logging
import math
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import DataError, did_you_mean
from zoo.fs import replace_atomically

log = logging.getLogger("zoo")

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
SCAN_VERSION = 2


def unit(index: Any, seed: int) -> Any:
    """A seeded hash of row indices in [0, 1): numpy uint64 arrays (or ints)."""
    import numpy as np

    x = np.asarray(index, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = (x + np.uint64(1)) * np.uint64(GOLDEN) + np.uint64((seed * MIX1) & MASK)
        h = h ^ (h >> np.uint64(30))
        h = h * np.uint64(MIX1)
        h = h ^ (h >> np.uint64(27))
        h = h * np.uint64(MIX2)
        h = h ^ (h >> np.uint64(31))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def unit_tf(index: Any, seed: int) -> Any:
    """`unit` in TensorFlow, for the pipeline's split filter (same bits)."""
    import tensorflow as tf

    def c(v: int):
        return tf.constant(v & MASK, tf.uint64)

    x = tf.cast(index, tf.uint64)
    h = (x + c(1)) * c(GOLDEN) + c(seed * MIX1)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, c(30)))
    h = h * c(MIX1)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, c(27)))
    h = h * c(MIX2)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, c(31)))
    return tf.cast(tf.bitwise.right_shift(h, c(11)), tf.float64) / float(1 << 53)


@dataclass
class SplitScan:
    """One split's share of a file: examples, raw label → count and first line."""

    examples: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    first_line: dict[str, int] = field(default_factory=dict)


@dataclass
class FileScan:
    """What the pass learnt about one file (JSON-serialisable but for `sample_texts`)."""

    header: list[str] | None
    columns: list[int]  # Input columns (text or features), in the recipe's order.
    label_at: int
    rows: int
    blank_lines: bool
    # (test, validation) hash thresholds: unit < t0 is test, t0 <= unit < t1 validation.
    thresholds: list[float] | None
    splits: dict[str, SplitScan]
    # The text sample to learn a vocabulary from: the training rows whose `sample_unit`
    # is below `sample_cutoff` (None: no sample asked for). The texts themselves are only
    # held by the scan that just read them, never saved.
    sample_cutoff: float | None = None
    # The file starts with a UTF-8 byte order mark (Excel's "CSV UTF-8"): read past it.
    bom: bool = False
    sample_texts: list[str] | None = field(default=None, repr=False, compare=False)


def sample_seed(seed: int) -> int:
    """The hash seed that picks text samples: never a split seed (those are < 2**32), so
    the sample is independent of the split."""
    return seed + (1 << 32)


class _Sampler:
    """The `want` smallest-hash rows' texts, kept while the file streams past (a bounded
    bottom-k sample: memory ~2 × `keep` texts, whatever the file's size)."""

    BLOCK = 8192

    def __init__(self, want: int, share: float, seed: int):
        # Enough candidates that `want` of them are still training rows once the split
        # thresholds are known (train is `share` of the rows), with a wide margin.
        self.keep = math.ceil(want / max(share, 1e-6) * 1.25) + 1024
        self.want = want
        self.seed = sample_seed(seed)
        self.cutoff = math.inf
        self.pending: list[str] = []
        self.start = 0  # Row index of pending[0].
        self.hashes: list[Any] = []
        self.rows: list[Any] = []
        self.texts: list[str] = []

    def add(self, text: str) -> None:
        self.pending.append(text)
        if len(self.pending) >= self.BLOCK:
            self.flush()

    def flush(self) -> None:
        import numpy as np

        if not self.pending:
            return
        index = np.arange(self.start, self.start + len(self.pending))
        h = unit(index, self.seed)
        picked = np.flatnonzero(h < self.cutoff)
        self.hashes.append(h[picked])
        self.rows.append(index[picked])
        self.texts.extend(self.pending[i] for i in picked)
        self.start += len(self.pending)
        self.pending = []
        if len(self.texts) > 2 * self.keep:
            self._prune()

    def _prune(self) -> None:
        """Keep the `keep` smallest hashes (in file order); later rows must hash below
        the largest kept one to become candidates."""
        import numpy as np

        h, rows = np.concatenate(self.hashes), np.concatenate(self.rows)
        order = np.sort(np.argsort(h, kind="stable")[: self.keep])
        self.texts = [self.texts[i] for i in order]
        self.hashes, self.rows = [h[order]], [rows[order]]
        self.cutoff = float(h[order].max())

    def finish(self, is_train: Any) -> tuple[float, list[str]]:
        """(cutoff, texts): the training rows (`is_train(rows)` → bool mask) with the
        smallest hashes, at most `want`, in file order; exactly the training rows whose
        hash is below the cutoff."""
        import numpy as np

        self.flush()
        if not self.texts:
            return 2.0, []
        h, rows = np.concatenate(self.hashes), np.concatenate(self.rows)
        train = np.flatnonzero(is_train(rows))
        chosen = np.sort(train[np.argsort(h[train], kind="stable")[: self.want]])
        texts = [self.texts[i] for i in chosen]
        if math.isinf(self.cutoff) and len(train) <= self.want:
            return 2.0, texts  # Never pruned, and few enough: every training row.
        if not len(chosen):
            return 0.0, []
        # Rows dropped along the way hash above every chosen one, so "hash below the
        # cutoff" selects exactly the chosen rows.
        return float(np.nextafter(h[chosen].max(), 2.0)), texts


def delimiter(path: Path, config: Any) -> str:
    return config.delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")


def _index(column: str | int, header: list[str] | None, path: Path, name: str) -> int:
    if isinstance(column, int):
        return column
    if header is None:
        raise DataError(
            f"data.{name} is the name {column!r}, but data.header is false; give the "
            "column's 0-based index instead, or set data.header: true."
        )
    if column not in header:
        raise DataError(
            f"data.{name}: {path} has no column {column!r}.{did_you_mean(column, header)} "
            f"Its columns: {', '.join(header)}."
        )
    return header.index(column)


def _units(n: int, seed: int, chunk: int = 1 << 20) -> Any:
    """`unit` of rows 0..n-1 as one float64 array, computed a chunk at a time (the
    temporaries of a whole-array hash would cost several times the result's memory)."""
    import numpy as np

    out = np.empty(n, np.float64)
    for lo in range(0, n, chunk):
        out[lo : lo + chunk] = unit(np.arange(lo, min(n, lo + chunk)), seed)
    return out


def _thresholds(n: int, fractions: tuple[float, float], seed: int) -> list[float] | None:
    """Hash cut points giving exactly round(n × test) test rows, round(n × val) validation."""

    test, val = fractions
    if not test and not val:
        return None
    n_test, n_val = round(n * test), round(n * val)
    ks = [k for k in (n_test, n_test + n_val) if k < n]
    u = _units(n, seed)
    if ks:
        u.partition(ks)  # In place: only the two order statistics are needed.
    return [float(u[k]) if k < n else math.inf for k in (n_test, n_test + n_val)]


def _key(
    path: Path,
    config: Any,
    role: str,
    fractions: tuple[float, float],
    seed: int,
    sample: int | None,
) -> str:
    st = path.stat()
    blob = json.dumps(
        {
            "v": SCAN_VERSION,
            "file": [st.st_size, st.st_mtime_ns],
            "role": role,
            "fractions": fractions if any(fractions) else None,
            "seed": seed if any(fractions) or sample else None,
            "sample": sample,
            "options": config.model_dump(
                mode="json",
                include={
                    "text_column",
                    "feature_columns",
                    "label_column",
                    "header",
                    "delimiter",
                    "check",
                },
            ),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _store(path: Path, config: Any) -> Path:
    """Where the scan of `path` is saved: under the cache root (`data.cache_dir`,
    ZOO_CACHE_DIR, else ~/.cache/zoo/tfdata), never beside the user's data, whose folder
    may be shared or read-only. Named by a digest of the file's absolute path, size and
    mtime: an edited file gets a new name, and the key inside (`_key`) still decides."""
    from zoo.data.cache import cache_root

    real = path.resolve()
    st = real.stat()
    ident = f"{real}\0{st.st_size}\0{st.st_mtime_ns}"
    digest = hashlib.sha256(ident.encode()).hexdigest()[:24]
    return cache_root(config) / "csv-scans" / f"{digest}.json"


def _load_saved(path: Path, config: Any, key: str) -> FileScan | None:
    place = _store(path, config)
    try:
        saved = json.loads(place.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    try:
        scan = saved["scan"]
        scan["splits"] = {r: SplitScan(**s) for r, s in scan["splits"].items()}
        return FileScan(**scan)
    except (KeyError, TypeError, AttributeError):  # A damaged cache file: scan again.
        return None


def _save(path: Path, config: Any, key: str, scan: FileScan) -> None:
    saved = asdict(scan)
    saved.pop("sample_texts")
    text = json.dumps({"key": key, "scan": saved})
    place = _store(path, config)
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(place, text)
    except OSError as exc:
        log.info(
            "csv: could not save the scan of %s under %s (%s); the next run scans it again",
            path,
            place.parent,
            exc.strerror or exc,
        )


def scan(
    path: Path,
    config: Any,
    role: str,
    *,
    fractions: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
    sample: int | None = None,
) -> FileScan:
    """The file's scan, from the saved one when the file and options are unchanged.

    `sample` (text files' training rows only) also picks that many training texts by a
    seeded hash for the vocabulary (`FileScan.sample_cutoff`); a fresh scan hands them
    over in `sample_texts`, so adapting never reads the file again."""
    if not path.is_file():
        raise DataError(
            f"data.splits.{role}: {path} is not a file. Name a CSV/TSV file below data.path."
        )
    key = _key(path, config, role, fractions, seed, sample)
    saved = _load_saved(path, config, key)
    if saved is not None:
        log.info("csv: %s: labels and counts from the saved scan (file unchanged)", path.name)
        return saved
    result = _scan(path, config, role, fractions, seed, sample)
    _save(path, config, key, result)
    return result


def _scan(
    path: Path,
    config: Any,
    role: str,
    fractions: tuple[float, float],
    seed: int,
    sample: int | None = None,
) -> FileScan:
    text = config.text_column is not None
    names = [str(config.text_column)] if text else [str(c) for c in config.feature_columns]
    header: list[str] | None = None
    columns: list[int] = []
    label_at = width = need = 0
    label_ids: dict[str, int] = {}
    ids = array("i")
    # Line numbers kept compactly: row i starts on line i + shift, and `shifts` records
    # (row, shift) each time the shift changes (quoted multi-line cells, blank lines).
    shifts: list[tuple[int, int]] = []
    shift = None
    blank_lines = False
    train_share = 1.0 - sum(fractions) if role == "train" else 1.0
    sampler = _Sampler(sample, train_share, seed) if sample and text else None
    with path.open("rb") as raw:
        bom = raw.read(3) == codecs.BOM_UTF8
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter(path, config))
            line = 1
            for row in reader:
                at, line = line, reader.line_num + 1
                if not row:
                    blank_lines = True
                    continue
                if not width:  # The first row: the header, or the first data row.
                    width = len(row)
                    if config.header:
                        header = [h.strip() for h in row]
                    names_in = header
                    label_at = _index(config.label_column, names_in, path, "label_column")
                    field_name = "text_column" if text else "feature_columns"
                    wanted = [config.text_column] if text else config.feature_columns
                    columns = [_index(c, names_in, path, field_name) for c in wanted]
                    need = max([*columns, label_at]) + 1
                    if config.header:
                        continue
                if len(row) != width:
                    raise DataError(
                        f"{path} line {at} has {len(row)} columns, but "
                        + ("the header has" if header is not None else "the first row has")
                        + f" {width} (data.splits.{role}). Fix that row (a text cell holding "
                        "the delimiter must be quoted), or check data.delimiter."
                    )
                if width < need:
                    raise DataError(
                        f"{path} (data.splits.{role}) line {at} has {len(row)} columns; the "
                        f"recipe's columns need at least {need}. Check data.delimiter and the "
                        "column names."
                    )
                label = row[label_at].strip()
                if config.check and not label:
                    raise DataError(
                        f"{path} (data.splits.{role}) line {at}: the label cell (data."
                        f"label_column {config.label_column!r}) is blank; a blank is not a "
                        "class. Fill in the label or drop the row."
                    )
                if not text:
                    _numbers(row, columns, names, path, role, at, config.check)
                elif sampler is not None:
                    sampler.add(row[columns[0]])
                if at - len(ids) != shift:
                    shift = at - len(ids)
                    shifts.append((len(ids), shift))
                ids.append(label_ids.setdefault(label, len(label_ids)))
    except UnicodeDecodeError:
        raise DataError(_not_utf8(path, role)) from None
    except csv.Error as exc:
        raise DataError(f"Cannot read {path} as CSV (data.splits.{role}): {exc}") from None
    thresholds, splits, cutoff, texts = _summarise(
        role, fractions, seed, sampler, ids, label_ids, shifts
    )
    return FileScan(
        header, columns, label_at, len(ids), blank_lines, thresholds, splits, cutoff, bom, texts
    )


def _not_utf8(path: Path, role: str) -> str:
    """The message for a file that is not UTF-8, naming the first bad line (found by a
    second, byte-level pass: the text reader's error knows only a buffer offset)."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return (
                    f"{path} (data.splits.{role}) line {number} is not UTF-8 (byte "
                    f"0x{raw[exc.start]:02x}); the file may be Latin-1 or another encoding. "
                    "Save it as UTF-8 (e.g. iconv -f latin1 -t utf-8 IN > OUT)."
                )
    return f"{path} (data.splits.{role}) is not UTF-8 text. Save it as UTF-8."


def _summarise(
    role: str,
    fractions: tuple[float, float],
    seed: int,
    sampler: _Sampler | None,
    ids: array,
    label_ids: dict[str, int],
    shifts: list[tuple[int, int]],
) -> tuple[list[float] | None, dict[str, SplitScan], float | None, list[str] | None]:
    """(thresholds, splits, sample cutoff, sample texts) from the per-row label ids, a
    chunk of rows at a time (memory: the ids and one float per row for the thresholds)."""
    import numpy as np

    n = len(ids)
    thresholds = _thresholds(n, fractions, seed)
    label_arr = np.frombuffer(ids, dtype=np.int32) if n else np.zeros(0, np.int32)
    names_by_id = {i: v for v, i in label_ids.items()}
    shift_rows = np.array([r for r, _ in shifts], np.int64)
    shift_by = np.array([s for _, s in shifts], np.int64)

    def roles_of(index: Any) -> dict[str, Any]:
        if thresholds is None:
            return {role: np.ones(len(index), bool)}
        u = unit(index, seed)
        return {
            "test": u < thresholds[0],
            "validation": (u >= thresholds[0]) & (u < thresholds[1]),
            "train": u >= thresholds[1],
        }

    names = [role] if thresholds is None else ["test", "validation", "train"]
    counts = {r: np.zeros(len(label_ids), np.int64) for r in names}
    first = {r: np.full(len(label_ids), -1, np.int64) for r in names}
    chunk = 1 << 20
    for lo in range(0, n, chunk):
        index = np.arange(lo, min(n, lo + chunk))
        block = label_arr[lo : lo + chunk]
        for name, mask in roles_of(index).items():
            values, at = np.unique(block[mask], return_index=True)
            counts[name] += np.bincount(block[mask], minlength=len(label_ids))
            fresh = first[name][values] < 0
            first[name][values[fresh]] = index[mask][at[fresh]]
    splits = {}
    for name in names:
        seen = np.flatnonzero(counts[name])
        rows_first = first[name][seen]
        lines = rows_first + shift_by[np.searchsorted(shift_rows, rows_first, "right") - 1]
        splits[name] = SplitScan(
            examples=int(counts[name].sum()),
            labels={names_by_id[int(v)]: int(counts[name][v]) for v in seen},
            first_line={names_by_id[int(v)]: int(x) for v, x in zip(seen, lines, strict=True)},
        )
    cutoff, texts = None, None
    if sampler is not None:
        cutoff, texts = sampler.finish(
            lambda rows: roles_of(rows)["train" if thresholds is not None else role]
        )
    return thresholds, splits, cutoff, texts


def _numbers(
    row: list[str],
    columns: list[int],
    names: list[str],
    path: Path,
    role: str,
    at: int,
    check: bool,
) -> None:
    """Every feature cell must be a number (and, with the check on, finite)."""
    for j, c in enumerate(columns):
        value = row[c]
        try:
            number = float(value)
        except ValueError:
            what = "is blank" if not value.strip() else f"holds {value[:40]!r}"
            raise DataError(
                f"{path} (data.splits.{role}) line {at}: the feature column {names[j]!r} "
                f"{what}, not a number. Fill or drop that row; data.feature_columns must "
                "name numeric columns."
            ) from None
        if check and not math.isfinite(number):
            raise DataError(
                f"data.splits.{role}: the input at line {at} of {path} holds NaN or "
                "infinite values; a model trained on it gets NaN weights. Clean or drop "
                "those examples (or set data.check: false to train anyway)."
            )
