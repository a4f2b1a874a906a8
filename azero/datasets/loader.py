"""The loader used by task creation: which file a projected task reads (the reference's pair and seed choice)
and its first train and valid rows, checked."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from azero.datasets.files import (NUM_CLASSES, RANDOM_PAIR_SALT, DatasetError, dataset_filename, read_manifest,
                                  regression_filename)


def _num_classes(spec: Any) -> int:
    """Classes among which random pairs are drawn: the manifest's count for a user's folder, else 10."""
    manifest = read_manifest(spec.path) if getattr(spec, "path", "") else None
    if manifest is None or manifest["kind"] != "classification":
        return NUM_CLASSES
    return len(manifest["classes"])

def select_pair_and_seed(spec: Any, data_seed: int) -> tuple[int, int, int]:
    """(positive, negative, file seed) of a projected task, as the reference's task creator picks them.

    Both classes given: file seed = min + data_seed mod (max - min). Neither: an MT19937 seeded with
    HashMix(856572777, data_seed) draws the pair index among the non-held-out pairs (i < j in 0..9,
    lexicographic; 0..k-1 for a folder built from a user's data with k classes), then the file seed in
    [min, max).
    """
    pos, neg = spec.positive_class, spec.negative_class
    lo, hi = int(spec.min_supported_data_seed), int(spec.max_supported_data_seed)
    if hi <= lo:
        raise DatasetError(f"max_supported_data_seed={hi} must exceed min_supported_data_seed={lo}")
    data_seed = int(data_seed) % 2**32
    if pos is not None and neg is not None:
        pos, neg = int(pos), int(neg)
        if not 0 <= pos < neg:
            raise DatasetError(f"positive_class={pos} must be smaller than negative_class={neg} and >= 0")
        return pos, neg, lo + data_seed % (hi - lo)
    if pos is not None or neg is not None:
        raise DatasetError("give both positive_class and negative_class, or neither (random pairs)")
    held_out = set()
    for pair in spec.held_out_pairs or ():
        if len(pair) != 2:
            raise DatasetError(f"held_out_pairs entry {tuple(pair)} is not a pair of classes")
        a, b = (int(c) for c in pair)
        held_out.add((min(a, b), max(a, b)))
    num_classes = _num_classes(spec)
    eligible = [(i, j) for i in range(num_classes) for j in range(i + 1, num_classes) if (i, j) not in held_out]
    if not eligible:
        raise DatasetError("held_out_pairs holds out every class pair; none is left to choose from")
    # The compiled RNG is needed only here, so that building datasets works without the extensions.
    from azero._core.rng import RandomGenerator, hash_mix

    rng = RandomGenerator(hash_mix(RANDOM_PAIR_SALT, data_seed))
    pos, neg = eligible[rng.uniform_i32(0, len(eligible))]
    return pos, neg, rng.uniform_i32(lo, hi)

def check_dataset_folder(spec: Any) -> Path:
    """The folder a projected task reads its files from; DatasetError if the spec names none or it is missing."""
    if not spec.path:
        raise DatasetError("projected task needs 'path' (the folder of built dataset files)")
    if not spec.dataset_name:
        raise DatasetError("projected task needs 'dataset_name' (e.g. cifar10, digits, or your --name)")
    folder = Path(spec.path)
    if not folder.is_dir():
        raise DatasetError(f"dataset folder {folder} does not exist (build it with: azero datasets build)")
    return folder

def load_projected_task(spec: Any, data_seed: int, num_train: int,
                        num_valid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, valid_x, valid_y) float64 arrays of a projected task (docs/semantics.md §7.5 task creation).

    ``spec`` carries positive_class, negative_class (None = not given), dataset_name, path, held_out_pairs,
    min_supported_data_seed, max_supported_data_seed and features_size. Copies the first num_train train
    rows and num_valid valid rows of the selected file; the test split is not read.
    """
    folder = check_dataset_folder(spec)
    dim = int(spec.features_size)
    pos, neg, seed = select_pair_and_seed(spec, data_seed)
    name = dataset_filename(spec.dataset_name, pos, neg, dim, seed)
    path = folder / name
    if not path.is_file():
        pair_files = list(folder.glob(f"binary_{spec.dataset_name}-pos_{pos}-neg_{neg}-dim_{dim}-seed_*.h5"))
        detail = (f"{len(pair_files)} other seeds of this pair are there" if pair_files
                  else f"pair ({pos}, {neg}) with dim {dim} is not present at all")
        raise DatasetError(f"missing dataset file {path} ({detail})")
    return _read_task_file(path, dim, num_train, num_valid, binary=True)

def load_projected_regression_task(spec: Any, data_seed: int, num_train: int,
                                   num_valid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, valid_x, valid_y) float64 arrays of a regression task built from a user's data.

    The file ``regression_<dataset_name>-dim_<F>-seed_<s>.h5`` of ``spec.path`` with s = min_supported_data_seed
    + data_seed mod (max - min), as for a fixed class pair; its first num_train / num_valid rows.
    """
    folder = check_dataset_folder(spec)
    lo, hi = int(spec.min_supported_data_seed), int(spec.max_supported_data_seed)
    if hi <= lo:
        raise DatasetError(f"max_supported_data_seed={hi} must exceed min_supported_data_seed={lo}")
    dim = int(spec.features_size)
    path = folder / regression_filename(spec.dataset_name, dim, lo + int(data_seed) % 2**32 % (hi - lo))
    if not path.is_file():
        raise DatasetError(f"missing dataset file {path} (build it with: azero datasets build --source csv:FILE "
                           "--task regression)")
    return _read_task_file(path, dim, num_train, num_valid, binary=False)

def _read_task_file(path: Path, dim: int, num_train: int, num_valid: int,
                    binary: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    counts = {"train": int(num_train), "valid": int(num_valid)}
    arrays: list[np.ndarray] = []
    try:
        with h5py.File(path, "r") as handle:
            stored_dim = handle.attrs.get("dim")
            if stored_dim is not None and int(stored_dim) != dim:
                raise DatasetError(f"{path}: stored dim {int(stored_dim)} != features_size {dim}")
            for split, count in counts.items():
                arrays.extend(_read_split(handle, path, split, count, dim, binary))
    except OSError as exc:
        raise DatasetError(f"cannot read dataset file {path} ({exc.__class__.__name__})") from None
    train_features, train_labels, valid_features, valid_labels = arrays
    return train_features, train_labels, valid_features, valid_labels

def _read_split(handle: h5py.File, path: Path, split: str, count: int, dim: int,
                binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` rows of one split as float64, with shape, count and value checks (labels 0/1 if
    ``binary``, finite otherwise)."""
    features_name, labels_name = f"{split}_features", f"{split}_labels"
    for name in (features_name, labels_name):
        if name not in handle:
            raise DatasetError(f"{path}: dataset '{name}' is missing")
    features, labels = handle[features_name], handle[labels_name]
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise DatasetError(f"{path}: '{features_name}' {features.shape} and '{labels_name}' {labels.shape} "
                           "are not (n, F) and (n,)")
    if features.shape[1] != dim:
        raise DatasetError(f"{path}: '{features_name}' has {features.shape[1]} features, features_size is {dim}")
    if count < 1:
        raise DatasetError(f"num_{split}_examples={count} must be positive")
    if features.shape[0] < count:
        raise DatasetError(f"{path}: {count} {split} examples requested, the file has {features.shape[0]}")
    x = np.ascontiguousarray(features[:count], dtype=np.float64)
    y = np.ascontiguousarray(labels[:count], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        raise DatasetError(f"{path}: non-finite value in '{features_name}' row {bad[0]}")
    bad = np.flatnonzero((y != 0.0) & (y != 1.0) if binary else ~np.isfinite(y))
    if bad.size:
        raise DatasetError(f"{path}: '{labels_name}' row {bad[0]} is {y[bad[0]]}, expected "
                           f"{'0 or 1' if binary else 'a finite number'}")
    return x, y
