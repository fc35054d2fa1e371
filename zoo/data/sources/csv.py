"""CSV/TSV files: a text column or numeric feature columns, and a label column.

One file per split (`data.splits` name files below `data.path`), or `data.path` a single
file cut into train/validation/test by fractions with a seeded hash of the row index.
Labels that are not the integers 0..N-1 are mapped to them in sorted order of the
training labels; the names become the run's class names (`classes.json` in the run
directory). Files stream: one checked pass (`csv_scan`, saved for the next run) learns
labels and counts, then `tf.data`'s CsvDataset reads the rows during training, so memory
does not grow with the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zoo import limits
from zoo.data.archive import locate
from zoo.data.bundle import DataBundle, DataInfo
from zoo.data.check import SplitStats
from zoo.data.pipeline import finish_split
from zoo.data.sources import csv_scan
from zoo.data.sources.csv_scan import FileScan
from zoo.errors import DataError

if TYPE_CHECKING:
    import tensorflow as tf

    from zoo.config.schema import CsvData


def _label_mapping(labels: list[str]) -> dict[str, int]:
    """Integers 0..N-1 keep their value; other labels map to 0..N-1 in sorted order
    (numeric order when all are numbers, so 2 comes before 10)."""
    distinct = set(labels)
    try:
        numbers = {v: float(v) for v in distinct}
    except ValueError:
        return {v: i for i, v in enumerate(sorted(distinct))}
    ordered = sorted(distinct, key=lambda v: (numbers[v], v))
    if all(numbers[v] == i for i, v in enumerate(ordered)) and all(
        v.lstrip("-").isdigit() for v in ordered
    ):
        return {v: int(v) for v in ordered}
    return {v: i for i, v in enumerate(ordered)}


ROWS = 1024  # Rows parsed, hashed and mapped together: per-row functions cost too much.


def _rows(path: Path, config: CsvData, scan: FileScan, text: bool) -> tf.data.Dataset:
    """Blocks of (row indices, inputs, raw label strings) of every data row, streamed."""
    import tensorflow as tf

    wanted = [*scan.columns, scan.label_at]
    # CsvDataset stops at blank lines (Python's reader skips them) and would read a byte
    # order mark into the first cell when there is no header row to skip.
    if scan.blank_lines or (scan.bom and scan.header is None):
        ds = _rows_python(path, config, scan, text).batch(ROWS)
    else:
        select = sorted(set(wanted))
        defaults = [
            tf.constant("", tf.string) if (text or c == scan.label_at) else tf.float32
            for c in select
        ]
        csv_rows = tf.data.experimental.CsvDataset(
            str(path),
            defaults,
            header=scan.header is not None,
            field_delim=csv_scan.delimiter(path, config),
            select_cols=select,
        )
        pos = [select.index(c) for c in scan.columns]
        label_pos = select.index(scan.label_at)

        def arrange(*cells):
            x = cells[pos[0]] if text else tf.stack([cells[p] for p in pos], axis=1)
            return x, cells[label_pos]

        ds = csv_rows.batch(ROWS).map(arrange)

    def number(b, xy):
        x, label = xy
        return b * ROWS + tf.range(tf.shape(label, out_type=tf.int64)[0]), x, label

    return ds.enumerate().map(number)


def _rows_python(path: Path, config: CsvData, scan: FileScan, text: bool) -> tf.data.Dataset:
    """The same rows from Python's csv reader, for files CsvDataset misreads."""
    import csv

    import tensorflow as tf

    def rows():
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=csv_scan.delimiter(path, config))
            first = scan.header is not None
            for row in reader:
                if not row:
                    continue
                if first:
                    first = False
                    continue
                x = row[scan.columns[0]] if text else [float(row[c]) for c in scan.columns]
                yield x, row[scan.label_at]

    x_spec = (
        tf.TensorSpec((), tf.string) if text else tf.TensorSpec((len(scan.columns),), tf.float32)
    )
    spec = (x_spec, tf.TensorSpec((), tf.string))
    return tf.data.Dataset.from_generator(rows, output_signature=spec)


def _split(
    path: Path,
    config: CsvData,
    scan: FileScan,
    role: str,
    mapping: dict[str, int],
    text: bool,
    seed: int,
) -> tf.data.Dataset:
    """One split's unbatched (input, int64 label), rows picked by the seeded row hash."""
    import tensorflow as tf

    lo_t = hi_t = None
    if scan.thresholds is not None:
        lo, hi = {
            "test": (-1.0, scan.thresholds[0]),
            "validation": (scan.thresholds[0], scan.thresholds[1]),
            "train": (scan.thresholds[1], 2.0),
        }[role]
        lo_t, hi_t = tf.constant(lo, tf.float64), tf.constant(hi, tf.float64)
    keys = list(mapping)
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(keys, tf.string), tf.constant([mapping[k] for k in keys], tf.int64)
        ),
        default_value=-1,
    )

    def block(index, x, label):
        y = table.lookup(tf.strings.strip(label))
        if lo_t is None:
            return x, y
        u = csv_scan.unit_tf(index, seed)
        keep = u < hi_t if role == "test" else tf.logical_and(u >= lo_t, u < hi_t)
        return tf.boolean_mask(x, keep), tf.boolean_mask(y, keep)

    ds = _rows(path, config, scan, text)
    return ds.map(block, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()


def _sample_size(config: CsvData) -> int | None:
    """How many training texts the vocabulary is learnt from when the scan picks them
    (`data.text.adapt_sample`); None where it does not (features, `adapt_examples`)."""
    if config.text_column is None:
        return None
    from zoo.config.schema import TextOptions

    options = config.text or TextOptions()
    return None if options.adapt_examples else options.adapt_sample


def _sampled_texts(path: Path, config: CsvData, scan: FileScan, seed: int) -> tf.data.Dataset:
    """The training texts the scan picked (hash below `sample_cutoff`), streamed from the
    file in file order: the same texts a fresh scan hands over in `sample_texts`."""
    import tensorflow as tf

    cutoff = tf.constant(scan.sample_cutoff, tf.float64)
    train_from = None if scan.thresholds is None else tf.constant(scan.thresholds[1], tf.float64)

    def pick(index, x, label):
        keep = csv_scan.unit_tf(index, csv_scan.sample_seed(seed)) < cutoff
        if train_from is not None:
            keep = tf.logical_and(keep, csv_scan.unit_tf(index, seed) >= train_from)
        return tf.boolean_mask(x, keep)

    return _rows(path, config, scan, True).map(pick).unbatch()


def _plan(root: Path, config: CsvData, seed: int) -> dict[str, tuple[Path, FileScan]]:
    """role → (file, its scan) for every split the recipe gives."""
    plan: dict[str, tuple[Path, FileScan]] = {}
    sample = _sample_size(config)
    if root.is_file():
        fractions = (config.test_fraction, config.validation_fraction)
        scan = csv_scan.scan(root, config, "train", fractions=fractions, seed=seed, sample=sample)
        for role in ("train", "validation", "test"):
            if role == "train" or (scan.thresholds and scan.splits[role].examples):
                plan[role] = (root, scan)
        return plan
    for role in ("train", "validation", "test"):
        name = getattr(config.splits, role)
        if name is None:
            continue
        fractions = (0.0, 0.0)
        if role == "train" and config.splits.validation is None:
            fractions = (0.0, config.validation_fraction)
        path = root / name
        plan[role] = (
            path,
            csv_scan.scan(
                path,
                config,
                role,
                fractions=fractions,
                seed=seed,
                sample=sample if role == "train" else None,
            ),
        )
        if fractions[1] and plan[role][1].thresholds is not None:
            plan["validation"] = plan[role]
    return plan


def load(config: CsvData, *, batch_size: int, seed: int) -> DataBundle:

    root = locate(config.path, config.extract_dir)
    plan = _plan(root, config, seed)
    text = config.text_column is not None

    def part(role: str) -> csv_scan.SplitScan:
        return plan[role][1].splits[role]

    for role, (path, _) in plan.items():
        if part(role).examples == 0:
            raise DataError(f"data.splits.{role}: {path} holds no data rows.")
    train_labels = part("train").labels
    limits.CLASSES.check(
        len(train_labels),
        f"the number of distinct labels in data.label_column {config.label_column!r} of "
        f"{plan['train'][0]} (data.splits.train)",
    )
    mapping = _label_mapping(list(train_labels))
    pipelines: dict[str, tf.data.Dataset | None] = {"validation": None, "test": None}
    sizes: dict[str, int] = {}
    stats: dict[str, SplitStats] = {}
    raw: dict[str, tf.data.Dataset] = {}
    versions: dict[str, list] = {}
    for role, (path, scan) in plan.items():
        counts = part(role)
        unknown = sorted(set(counts.labels) - set(mapping))
        if unknown:
            raise DataError(
                f"{path} (data.splits.{role}) has labels {unknown[:5]} that the training "
                f"split never uses (line {counts.first_line[unknown[0]]}); known labels: "
                f"{', '.join(sorted(mapping))}."
            )
        if config.check:  # Complete: the scan read every row of the file.
            stats[role] = SplitStats(
                role=role,
                examples=counts.examples,
                label_counts={mapping[k]: v for k, v in counts.labels.items()},
                first_at={mapping[k]: v for k, v in counts.first_line.items()},
                locate=lambda line, path=path: f"line {line} of {path}",
            )
        sizes[role] = counts.examples
        st = path.stat()
        versions[role] = [str(path), st.st_size, st.st_mtime_ns]
        share = counts.examples / max(scan.rows, 1)
        estimate = (
            int(st.st_size * share) if text else counts.examples * 4 * (len(scan.columns) + 2)
        )
        ds = _split(path, config, scan, role, mapping, text, seed)
        raw[role] = ds  # Uncached, in file order: what text adapting samples.
        pipelines[role] = finish_split(
            ds,
            config,
            role,
            batch_size=batch_size,
            seed=seed,
            size_bytes=estimate,
            examples=counts.examples,
            version=versions[role],
        )
    train_path, train_scan = plan["train"]
    text_sample = train_scan.sample_texts
    if text_sample is None and train_scan.sample_cutoff is not None:
        text_sample = _sampled_texts(train_path, config, train_scan, seed)
    class_names = [name for name, _ in sorted(mapping.items(), key=lambda kv: kv[1])]
    info = DataInfo(
        input_name="text" if text else "features",
        input_shape=() if text else (len(config.feature_columns),),
        input_dtype="string" if text else "float32",
        num_classes=len(class_names),
        class_names=tuple(class_names),
        num_examples=sizes,
    )
    return DataBundle(
        info=info,
        stats=stats,
        raw=raw,
        text_sample=text_sample,
        version=versions,
        **pipelines,  # train/validation/test
    )
