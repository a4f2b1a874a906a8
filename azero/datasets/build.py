"""The builder of the projected binary datasets of the named sources (the reference's ``generate_datasets.py``):
per class pair and seed, stratified splits, a random projection and the train split's standardisation."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from azero.datasets.files import FORMAT_VERSION, DatasetError, _azero_version, _write_atomically, dataset_filename
from azero.datasets.sources import _sklearn_attr, load_source

# Sizes of the reference script (docs/semantics.md §7.5); per_class defaults to half the total, as there.
REFERENCE_NUM_TRAIN = 8000
REFERENCE_NUM_VALID = 1000
REFERENCE_NUM_TEST = 1000


def _pair_sizes(source: str, available: dict[int, int], pos: int, neg: int, per_class: int | None,
                num_train: int | None, num_valid: int | None, num_test: int | None) -> tuple[int, int, int, int]:
    """(per_class, num_train, num_valid, num_test) for one pair, checked against what the source holds.

    digits: per_class defaults to all examples of the rarer class of the pair, the splits to 60/20/20 % of
    the pair's 2 * per_class examples (valid = test = total // 5). Other sources: the reference's
    8000/1000/1000 and per_class = half the total.
    """
    if source == "digits":
        if per_class is None:
            per_class = min(available[pos], available[neg])
        total = 2 * per_class
        num_valid = total // 5 if num_valid is None else num_valid
        num_test = total // 5 if num_test is None else num_test
        num_train = total - num_valid - num_test if num_train is None else num_train
    else:
        num_train = REFERENCE_NUM_TRAIN if num_train is None else num_train
        num_valid = REFERENCE_NUM_VALID if num_valid is None else num_valid
        num_test = REFERENCE_NUM_TEST if num_test is None else num_test
        if per_class is None:
            per_class = (num_train + num_valid + num_test) // 2
    for field, value in (("num_train", num_train), ("num_valid", num_valid), ("num_test", num_test)):
        if value < 2:
            raise DatasetError(f"{field}={value}: each split needs at least 2 examples (one per class)")
    for cls in (pos, neg):
        if available[cls] < per_class:
            raise DatasetError(f"{source} has only {available[cls]} train examples of class {cls}, "
                               f"per_class={per_class} asked")
    if num_train + num_valid + num_test > 2 * per_class:
        raise DatasetError(f"num_train + num_valid + num_test = {num_train + num_valid + num_test} exceeds the "
                           f"{2 * per_class} examples of pair ({pos}, {neg}) (per_class={per_class})")
    return per_class, num_train, num_valid, num_test

def _normalise_pairs(pairs: Iterable[Sequence[int]] | None, classes: list[int], source: str) -> list[tuple[int, int]]:
    if pairs is None:
        return [(a, b) for i, a in enumerate(classes) for b in classes[i + 1:]]
    result = []
    for pair in pairs:
        if len(pair) != 2:
            raise DatasetError(f"pair {tuple(pair)} must hold exactly two classes")
        a, b = (int(c) for c in pair)
        if a == b:
            raise DatasetError(f"pair ({a}, {b}) needs two different classes")
        for cls in (a, b):
            if cls not in classes:
                raise DatasetError(f"class {cls} is not in the {source} train split (classes {classes})")
        result.append((min(a, b), max(a, b)))
    return result

def project_pair(features: np.ndarray, labels: np.ndarray, seed: int, dim: int, num_train: int,
                 num_valid: int, num_test: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The reference procedure for one pair and seed on its (2 * per_class, D) raw rows and 0/1 labels.

    Returns {split: (features float32 (n, dim), labels float32 (n,))} for train, valid, test.
    """
    indices, projected = _split_and_project(features, labels, seed, dim, num_train, num_valid, num_test,
                                            stratify=True)
    return {name: (projected[name], labels[rows].astype(np.float32)) for name, rows in indices.items()}

def _split_and_project(features: np.ndarray, targets: np.ndarray, seed: int, dim: int, num_train: int,
                       num_valid: int, num_test: int, stratify: bool
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Row indices of the train/valid/test splits and their projected, standardised float32 features.

    Splits: sklearn's train_test_split twice with random_state=seed (stratified by the targets if asked).
    Projection: RandomState(seed).randn(D, dim); standardisation: the train split's mean and population std.
    """
    train_test_split = _sklearn_attr("sklearn.model_selection", "train_test_split")
    # train_test_split permutes every array the same way, so splitting row indices equals splitting the rows.
    trainval, test = train_test_split(np.arange(targets.shape[0]), train_size=num_train + num_valid,
                                      test_size=num_test, random_state=seed,
                                      stratify=targets if stratify else None)
    train, valid = train_test_split(trainval, train_size=num_train, test_size=num_valid, random_state=seed,
                                    stratify=targets[trainval] if stratify else None)
    indices = {"train": train, "valid": valid, "test": test}
    # Same numbers as the reference's np.random.seed(seed); np.random.randn(D, dim), without global state.
    projection = np.random.RandomState(seed).randn(features.shape[1], dim)
    projected = {name: np.dot(features[rows].astype(np.float64), projection) for name, rows in indices.items()}
    # StandardScaler semantics: train mean and population std; a constant feature keeps scale 1.
    mean, scale = _train_scaler(projected["train"])
    return indices, {name: ((values - mean) / scale).astype(np.float32) for name, values in projected.items()}

def _train_scaler(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, population std) per column of the train split; a constant column keeps scale 1."""
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale == 0.0] = 1.0
    return mean, scale

def build_datasets(source: str, out_dir: str | os.PathLike, *, source_dir: str | os.PathLike | None = None,
                   pairs: Iterable[Sequence[int]] | None = None, seeds: Iterable[int] = range(0, 100),
                   dim: int = 16, num_train: int | None = None, num_valid: int | None = None,
                   num_test: int | None = None, per_class: int | None = None, overwrite: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Build one projected dataset file per (pair, seed); returns every requested file's path, pair-major.

    pairs: class pairs (either order; the smaller id is positive), default all i < j of the source's classes.
    Sizes left as None take the source's defaults (see ``_pair_sizes``). Existing files are kept unless
    ``overwrite``. ``progress(done, total)`` is called after each file.
    """
    requested = seeds
    seeds = [int(s) for s in seeds]
    if not seeds:
        shown = (f"{requested.start}:{requested.stop}" if isinstance(requested, range) else repr(requested))
        raise DatasetError(f"seeds {shown} is an empty range (give A:B with A < B)")
    for seed in seeds:
        if not 0 <= seed < 2**32:
            raise DatasetError(f"seed {seed} is outside [0, 2**32)")
    if dim < 1:
        raise DatasetError(f"dim={dim} must be positive")
    if per_class is not None and per_class < 1:
        raise DatasetError(f"per_class={per_class} must be positive")
    _sklearn_attr("sklearn.model_selection", "train_test_split")
    features, labels = load_source(source, source_dir)
    classes = sorted(int(c) for c in np.unique(labels))
    available = {cls: int(np.count_nonzero(labels == cls)) for cls in classes}
    pair_list = _normalise_pairs(pairs, classes, source)
    sizes = {pair: _pair_sizes(source, available, *pair, per_class, num_train, num_valid, num_test)
             for pair in pair_list}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = _azero_version()
    paths: list[Path] = []
    total = len(pair_list) * len(seeds)
    for pos, neg in pair_list:
        pair_per_class, n_train, n_valid, n_test = sizes[(pos, neg)]
        rows = np.concatenate([np.flatnonzero(labels == pos)[:pair_per_class],
                               np.flatnonzero(labels == neg)[:pair_per_class]])
        pair_features = features[rows]
        pair_labels = np.repeat(np.array([1, 0], dtype=np.int64), pair_per_class)
        for seed in seeds:
            path = out / dataset_filename(source, pos, neg, dim, seed)
            if overwrite or not path.exists():
                splits = project_pair(pair_features, pair_labels, seed, dim, n_train, n_valid, n_test)
                attrs = {"source": source, "pos": pos, "neg": neg, "dim": dim, "seed": seed,
                         "per_class": pair_per_class, "format_version": FORMAT_VERSION}
                if version is not None:
                    attrs["azero_version"] = version
                _write_atomically(path, splits, attrs)
            paths.append(path)
            if progress is not None:
                progress(len(paths), total)
    return paths
