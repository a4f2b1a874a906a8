"""The digits task files of the digits_binary preset, built on first use into the user cache."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from azero.datasets.build import build_datasets
from azero.datasets.files import NUM_CLASSES, dataset_filename

# What the digits_binary preset reads: all 45 pairs, seeds 0..9, F = 16 (the builder's defaults).
DIGITS_PRESET_SEEDS = range(0, 10)
DIGITS_PRESET_DIM = 16


def user_cache_dir() -> Path:
    """azero's folder in the user cache: $XDG_CACHE_HOME/azero, else ~/.cache/azero."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "azero"

def ensure_digits_datasets(folder: str | os.PathLike | None = None,
                           announce: Callable[[str], None] | None = None) -> Path:
    """The folder of the digits task files the digits_binary preset reads, built there if any is missing.

    Default folder: ``user_cache_dir() / "digits"``. Building takes a few seconds (scikit-learn's bundled
    digits; no download); ``announce`` receives a one-line message first.
    """
    out = user_cache_dir() / "digits" if folder is None else Path(folder)
    classes = range(NUM_CLASSES)
    expected = [out / dataset_filename("digits", a, b, DIGITS_PRESET_DIM, seed)
                for a in classes for b in classes if a < b for seed in DIGITS_PRESET_SEEDS]
    if all(path.is_file() for path in expected):
        return out
    if announce is not None:
        announce(f"building the digits task files into {out} (first use; a few seconds, no download)")
    build_datasets("digits", out, seeds=DIGITS_PRESET_SEEDS, dim=DIGITS_PRESET_DIM)
    return out
