"""Projected binary classification datasets (docs/semantics.md §7.5): the builder and the loader used by task creation.

Modules: `files` (format constants, file names, manifest, atomic writes), `sources` (the named sources),
`build` (projected datasets of the named sources), `user_data` (npz/csv data), `digits` (the digits cache),
`loader` (what task creation reads).

The builder follows the reference's ``generate_datasets.py``: for each class pair (positive = smaller id, label 1;
negative = larger id, label 0) and seed, take the first ``per_class`` train-split examples of each class, split them
(stratified, twice) into train/valid/test, project the raw values with ``RandomState(seed).randn(D, dim)`` and
standardise with the train split's mean and population std. One HDF5 file per (pair, seed):

    binary_<source>-pos_<pos>-neg_<neg>-dim_<dim>-seed_<seed>.h5
        train_features (n_train, dim) float32   train_labels (n_train,) float32
        valid_features (n_valid, dim) float32   valid_labels (n_valid,) float32
        test_features  (n_test, dim)  float32   test_labels  (n_test,)  float32
        attributes: source, pos, neg, dim, seed, per_class, format_version, azero_version (when installed)

Sources: ``cifar10`` (the python-pickle batch folder), ``mnist`` and ``fashion_mnist`` (IDX files, plain or .gz)
and ``digits`` (scikit-learn's bundled 8x8 digits, the offline default). The reference's bytes depended on
TFDS/numpy/sklearn versions and TFDS's example order; here the order is the source files' order.

A user's own data (``npz:FILE`` with arrays ``X`` and ``y``, or ``csv:FILE`` with a header row) builds either
the same binary pair tasks (classes numbered 0..k-1 in sorted label order) or, for a numeric target,
regression tasks: one file per seed, ``regression_<name>-dim_<dim>-seed_<seed>.h5``, with the same splits,
projection and standardisation (the target standardised with the train split's mean and population std too).
Such a folder also holds ``azero_dataset.json`` (kind, classes, sizes), which the loader reads so that random
pairs are drawn among the folder's k classes instead of the reference's fixed 10.
"""
from azero.datasets.build import build_datasets, project_pair
from azero.datasets.digits import DIGITS_PRESET_DIM, DIGITS_PRESET_SEEDS, ensure_digits_datasets, user_cache_dir
from azero.datasets.files import (FORMAT_VERSION, MANIFEST_NAME, NUM_CLASSES, SOURCES, USER_FORMATS, USER_TASKS,
                                  DatasetError, dataset_filename, read_manifest, regression_filename)
from azero.datasets.loader import (check_dataset_folder, load_projected_regression_task, load_projected_task,
                                   select_pair_and_seed)
from azero.datasets.sources import load_source, read_idx
from azero.datasets.user_data import build_user_datasets, load_user_data, parse_user_source

__all__ = ["DIGITS_PRESET_DIM", "DIGITS_PRESET_SEEDS", "FORMAT_VERSION", "MANIFEST_NAME", "NUM_CLASSES", "SOURCES",
           "USER_FORMATS", "USER_TASKS", "DatasetError", "build_datasets", "build_user_datasets",
           "check_dataset_folder", "dataset_filename", "ensure_digits_datasets", "load_projected_regression_task",
           "load_projected_task", "load_source", "load_user_data", "parse_user_source", "project_pair", "read_idx",
           "read_manifest", "regression_filename", "select_pair_and_seed", "user_cache_dir"]
