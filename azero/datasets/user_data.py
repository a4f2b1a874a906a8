"""A user's own data (``npz:FILE`` or ``csv:FILE``): reading and checking it, and building binary pair or
regression task files from it with the same splits, projection and standardisation as the named sources."""
from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from azero.datasets.build import _split_and_project, project_pair
from azero.datasets.files import (FORMAT_VERSION, MANIFEST_NAME, NUM_CLASSES, USER_FORMATS, USER_TASKS, DatasetError,
                                  _azero_version, _write_atomically, dataset_filename, regression_filename)
from azero.datasets.sources import _sklearn_attr


def parse_user_source(source: str) -> tuple[str, Path] | None:
    """("npz" | "csv", file) for a ``npz:FILE`` / ``csv:FILE`` source, None for the named sources."""
    fmt, colon, file = source.partition(":")
    if not colon or fmt not in USER_FORMATS:
        return None
    if not file:
        raise DatasetError(f"--source {source!r} names no file (expected {fmt}:FILE)")
    return fmt, Path(file)

def load_user_data(fmt: str, path: Path, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(features (n, D) float64, labels (n,) as stored, label name) from an npz or csv file, checked.

    npz: arrays ``X`` (n, D) numeric and ``y`` (n,). csv: a header row; every column but the label column
    (``label_column``, default the last) must be numeric; the labels may be numbers or names.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if fmt == "npz":
        if label_column is not None:
            raise DatasetError(f"{path}: --label-column is for csv files; an npz file holds arrays X and y")
        features, labels = _load_npz(path)
        label_name = "y"
    else:
        features, labels, label_name = _load_csv(path, label_column)
    if features.shape[0] == 0:
        raise DatasetError(f"{path}: no data rows")
    return features, labels, label_name

def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable npz file ({type(exc).__name__})") from None
    for name in ("X", "y"):
        if name not in arrays:
            raise DatasetError(f"{path}: no array {name!r} (the file holds {', '.join(sorted(arrays)) or 'none'}; "
                               "expected X (rows x features) and y (labels))")
    features, labels = arrays["X"], arrays["y"]
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise DatasetError(f"{path}: X has shape {features.shape} and y {labels.shape}; expected (n, D) and (n,)")
    if features.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: X has dtype {features.dtype}; expected numbers")
    features = features.astype(np.float64)
    _check_finite(features, lambda row, col: f"{path}: X row {row} column {col}")
    if labels.dtype.kind == "f":
        _check_finite(labels[:, np.newaxis], lambda row, col: f"{path}: y row {row}")
    return features, labels

def _load_csv(path: Path, label_column: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read as csv ({type(exc).__name__})") from None
    if not rows:
        raise DatasetError(f"{path}: empty file")
    header = [name.strip() for name in rows[0]]
    if len(header) < 2:
        raise DatasetError(f"{path}: the header has {len(header)} column; expected features and a label column")
    label_name = header[-1] if label_column is None else label_column
    if label_name not in header:
        raise DatasetError(f"{path}: no label column {label_name!r} (columns: {', '.join(header)})")
    label_index = header.index(label_name)
    feature_names = [name for i, name in enumerate(header) if i != label_index]
    data = rows[1:]
    features = np.empty((len(data), len(feature_names)))
    labels = []
    for row_number, row in enumerate(data):
        line = row_number + 2
        if len(row) != len(header):
            raise DatasetError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
        labels.append(row[label_index].strip())
        values = row[:label_index] + row[label_index + 1:]
        for col, text in enumerate(values):
            try:
                value = float(text)
            except ValueError:
                raise DatasetError(f"{path}: column {feature_names[col]!r} is not numeric (line {line}: "
                                   f"{text.strip()!r})") from None
            if not math.isfinite(value):
                raise DatasetError(f"{path}: line {line}, column {feature_names[col]!r}: {text.strip()} "
                                   "(NaN and infinite values are not allowed)")
            features[row_number, col] = value
    return features, _csv_labels(path, labels, label_name), label_name

def _csv_labels(path: Path, labels: list[str], label_name: str) -> np.ndarray:
    """Numbers if every label parses as one (then they must be finite), else the label strings."""
    try:
        numbers = np.array([float(text) for text in labels])
    except ValueError:
        return np.array(labels)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        raise DatasetError(f"{path}: line {bad[0] + 2}, column {label_name!r}: {labels[bad[0]]} "
                           "(NaN and infinite values are not allowed)")
    return numbers

def _check_finite(values: np.ndarray, where: Callable[[int, int], str]) -> None:
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        row, col = (int(i) for i in bad[0])
        raise DatasetError(f"{where(row, col)} is {values[row, col]} (NaN and infinite values are not allowed)")

def _user_split_sizes(where: str, total: int, num_train: int | None, num_valid: int | None,
                      num_test: int | None, minimum: int) -> tuple[int, int, int]:
    """(train, valid, test) out of `total` rows: 60/20/20 % unless given; each split at least `minimum`."""
    num_valid = total // 5 if num_valid is None else num_valid
    num_test = total // 5 if num_test is None else num_test
    num_train = total - num_valid - num_test if num_train is None else num_train
    for field, value in (("train", num_train), ("valid", num_valid), ("test", num_test)):
        if value < minimum:
            raise DatasetError(f"{where}: too few rows ({total}) for the splits: the {field} split gets {value}, "
                               f"it needs at least {minimum}")
    if num_train + num_valid + num_test > total:
        raise DatasetError(f"{where}: too few rows ({total}) for {num_train} train + {num_valid} valid + "
                           f"{num_test} test")
    return num_train, num_valid, num_test

def build_user_datasets(source: str, out_dir: str | os.PathLike, *, task: str = "classification",
                        label_column: str | None = None, name: str | None = None,
                        seeds: Iterable[int] = range(0, 10), dim: int = 16, num_train: int | None = None,
                        num_valid: int | None = None, num_test: int | None = None, overwrite: bool = False,
                        progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Build task files from ``npz:FILE`` or ``csv:FILE``; returns the manifest written beside them.

    classification: one file per (class pair, seed), as the named sources (classes numbered 0..k-1 in sorted
    label order, at most 10; per pair the first min(count) rows of each class; default splits 60/20/20 %).
    regression: one file per seed over all rows, the numeric target standardised with the train split's
    scaler. The manifest (``azero_dataset.json``) records kind, name, classes, dim, seeds and the smallest
    split sizes, i.e. the largest num_train_examples / num_valid_examples every file can serve.
    """
    parsed = parse_user_source(source)
    if parsed is None:
        raise DatasetError(f"unknown user source {source!r}; expected npz:FILE or csv:FILE")
    if task not in USER_TASKS:
        raise DatasetError(f"unknown task {task!r}; expected one of {', '.join(USER_TASKS)}")
    fmt, path = parsed
    seeds = [int(s) for s in seeds]
    for seed in seeds:
        if not 0 <= seed < 2**32:
            raise DatasetError(f"seed {seed} is outside [0, 2**32)")
    if dim < 1:
        raise DatasetError(f"dim={dim} must be positive")
    name = path.stem if name is None else name
    if not name or not all(c.isalnum() or c in "_." for c in name):
        raise DatasetError(f"dataset name {name!r} must be letters, digits, '_' or '.' (it goes into file names)")
    _sklearn_attr("sklearn.model_selection", "train_test_split")
    features, labels, label_name = load_user_data(fmt, path, label_column)
    out = Path(out_dir)
    manifest: dict[str, Any] = {"kind": task, "name": name, "source": str(path), "label": label_name,
                                "dim": dim, "seeds": seeds, "format_version": FORMAT_VERSION}
    if task == "classification":
        jobs = _classification_jobs(path, features, labels, label_name, name, dim, seeds, num_train, num_valid,
                                    num_test, manifest)
    else:
        jobs = _regression_jobs(path, features, labels, label_name, name, dim, seeds, num_train, num_valid,
                                num_test, manifest)
    out.mkdir(parents=True, exist_ok=True)
    version = _azero_version()
    for done, (file_name, make, attrs) in enumerate(jobs, 1):
        target = out / file_name
        if overwrite or not target.exists():
            if version is not None:
                attrs["azero_version"] = version
            _write_atomically(target, make(), attrs)
        if progress is not None:
            progress(done, len(jobs))
    manifest_path = out / MANIFEST_NAME
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest

def _classification_jobs(path: Path, features: np.ndarray, labels: np.ndarray, label_name: str, name: str,
                         dim: int, seeds: list[int], num_train: int | None, num_valid: int | None,
                         num_test: int | None, manifest: dict[str, Any]) -> list:
    classes = np.unique(labels)
    if len(classes) < 2:
        found = repr(classes[0].item()) if len(classes) else "none"
        raise DatasetError(f"{path}: label column {label_name!r} has fewer than 2 classes ({found}); "
                           "classification needs at least 2")
    if len(classes) > NUM_CLASSES:
        raise DatasetError(f"{path}: label column {label_name!r} has {len(classes)} classes; the binary pair "
                           f"tasks support at most {NUM_CLASSES} (for a numeric target use --task regression)")
    class_ids = np.searchsorted(classes, labels)
    counts = [int(np.count_nonzero(class_ids == c)) for c in range(len(classes))]
    jobs = []
    smallest: tuple[int, ...] | None = None
    for pos in range(len(classes)):
        for neg in range(pos + 1, len(classes)):
            per_class = min(counts[pos], counts[neg])
            where = f"{path}: pair ({classes[pos].item()!r}, {classes[neg].item()!r})"
            sizes = _user_split_sizes(where, 2 * per_class, num_train, num_valid, num_test, minimum=2)
            smallest = sizes if smallest is None else tuple(map(min, smallest, sizes))
            rows = np.concatenate([np.flatnonzero(class_ids == pos)[:per_class],
                                   np.flatnonzero(class_ids == neg)[:per_class]])
            pair_labels = np.repeat(np.array([1, 0], dtype=np.int64), per_class)
            for seed in seeds:
                attrs = {"source": name, "pos": pos, "neg": neg, "dim": dim, "seed": seed, "per_class": per_class,
                         "format_version": FORMAT_VERSION}
                jobs.append((dataset_filename(name, pos, neg, dim, seed),
                             lambda r=rows, l=pair_labels, s=seed, z=sizes: project_pair(features[r], l, s, dim, *z),
                             attrs))
    assert smallest is not None  # at least two classes make one pair
    manifest.update(classes=[c.item() for c in classes], class_counts=counts,
                    num_train_examples=smallest[0], num_valid_examples=smallest[1], num_test_examples=smallest[2])
    return jobs

def _regression_jobs(path: Path, features: np.ndarray, labels: np.ndarray, label_name: str, name: str,
                     dim: int, seeds: list[int], num_train: int | None, num_valid: int | None,
                     num_test: int | None, manifest: dict[str, Any]) -> list:
    if labels.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: label column {label_name!r} is not numeric; regression needs a numeric target")
    targets = labels.astype(np.float64)
    sizes = _user_split_sizes(str(path), len(targets), num_train, num_valid, num_test, minimum=1)

    def make(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        indices, projected = _split_and_project(features, targets, seed, dim, *sizes, stratify=False)
        mean = targets[indices["train"]].mean()
        scale = targets[indices["train"]].std() or 1.0
        return {split: (projected[split], ((targets[rows] - mean) / scale).astype(np.float32))
                for split, rows in indices.items()}

    manifest.update(num_train_examples=sizes[0], num_valid_examples=sizes[1], num_test_examples=sizes[2])
    return [(regression_filename(name, dim, seed), lambda s=seed: make(s),
             {"source": name, "dim": dim, "seed": seed, "format_version": FORMAT_VERSION}) for seed in seeds]
