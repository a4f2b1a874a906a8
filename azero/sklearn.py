"""A found program as a scikit-learn estimator: ``EvolvedClassifier`` and ``EvolvedRegressor``.

``fit(X, y)`` projects the features to F dimensions (a Gaussian random matrix ``RandomState(data_seed).randn(D, F)``,
then standardisation with the fitted data's mean and population std, as ``azero datasets build`` does), zeroes
the memory, runs Setup, then Predict and Learn over the examples for ``epochs`` epochs, in the compiled core
(``azero._core.estimator``). Random ops draw from MT19937(``random_seed``). ``predict`` runs Predict over the
new examples from the memory and random stream fit left, as the executor's validation does: on a projected
binary task with ``projection="none"`` the classifier's accuracy equals azero's fitness bit for bit.

Classification follows docs/semantics.md §3.3–3.5: s1 goes through the sigmoid; ``predict_proba`` is that sigmoid and the
prediction is the positive class when it exceeds 0.5. Two classes: ``classes_[1]`` is the positive class
(label 1). More classes: one-vs-rest, one training run per class with labels 1 for that class, the class of the
largest sigmoid predicted, and ``predict_proba`` the per-class sigmoids divided by their sum (as scikit-learn's
``OneVsRestClassifier``). The regressor standardises the target with the fitted data's mean and std (as
regression datasets are built) and maps s1 back.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from azero import algorithms
from azero._core import ops
from azero.algorithm import Algorithm
from azero.tasks import FEATURE_SIZES, epoch_orders

__all__ = ["EvolvedClassifier", "EvolvedRegressor"]

PROJECTIONS = ("gaussian", "none")
# Memory is at least this large in each bank (the reference's default maxima); larger if the program needs it.
_MIN_MEMORY = 20


def _core():
    """The compiled fit/predict module (imported on first use, so that importing azero.sklearn is cheap)."""
    from azero._core import estimator

    return estimator


class _EvolvedBase(BaseEstimator):
    """Shared parameters, projection, memory and the compiled training of one program."""

    def __init__(self, program: Algorithm | str | None = None, *, features_size: int = 16,
                 projection: str = "gaussian", data_seed: int = 0, epochs: int = 1, random_seed: int = 10000,
                 max_abs_error: float = 100.0):
        self.program = program
        self.features_size = features_size
        self.projection = projection
        self.data_seed = data_seed
        self.epochs = epochs
        self.random_seed = random_seed
        self.max_abs_error = max_abs_error

    # -------------------------------------------------------------------------------- parameters

    def _algorithm(self) -> Algorithm:
        """The program to fit: the given Algorithm, parsed text, or the hand-designed linear model (None)."""
        if self.program is None:
            return algorithms.linear()
        if isinstance(self.program, Algorithm):
            return self.program
        if isinstance(self.program, str):
            return Algorithm.from_text(self.program, num_scalars=2**16 - 1, num_vectors=2**16 - 1,
                                       num_matrices=2**16 - 1)
        raise TypeError(f"program must be an azero.Algorithm, its text form or None, got {type(self.program).__name__}")

    def _check_params(self) -> None:
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {self.projection!r}")
        if self.features_size not in FEATURE_SIZES:
            raise ValueError(f"features_size must be one of {FEATURE_SIZES}, got {self.features_size!r}")
        for name, value, lo, hi in (("epochs", self.epochs, 1, None), ("data_seed", self.data_seed, 0, 2**32 - 1),
                                    ("random_seed", self.random_seed, 0, 2**32 - 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (
                    hi is not None and value > hi):
                raise ValueError(f"{name} must be an integer in [{lo}, {hi or 'inf'}], got {value!r}")
        if not self.max_abs_error > 0:
            raise ValueError(f"max_abs_error must be positive, got {self.max_abs_error!r}")

    # -------------------------------------------------------------------------------- projection

    def _fit_projection(self, X: np.ndarray) -> np.ndarray:
        """Fit the projection and scaler on X and return the projected, standardised X."""
        if self.projection == "none":
            if X.shape[1] != self.features_size:
                raise ValueError(f"projection='none' needs X with features_size={self.features_size} columns, "
                                 f"got {X.shape[1]}")
            self.projection_ = None
            return X
        self.projection_ = np.random.RandomState(self.data_seed).randn(X.shape[1], self.features_size)
        projected = X @ self.projection_
        self.mean_ = projected.mean(axis=0)
        scale = projected.std(axis=0)
        scale[scale == 0.0] = 1.0
        self.scale_ = scale
        return (projected - self.mean_) / self.scale_

    def _project(self, X: np.ndarray) -> np.ndarray:
        if self.projection_ is None:
            return X
        return (X @ self.projection_ - self.mean_) / self.scale_

    # -------------------------------------------------------------------------------- training

    def _memory_sizes(self, alg: Algorithm) -> tuple[int, int, int]:
        """(scalars, vectors, matrices): at least 20 each, more if an address of the program needs it."""
        limits = [0, _MIN_MEMORY, _MIN_MEMORY, _MIN_MEMORY]
        for function in alg.functions:
            codes = function["op"]
            for field, banks in (("in1", ops.IN1_BANK), ("in2", ops.IN2_BANK), ("out", ops.OUT_BANK)):
                bank = banks[np.minimum(codes, ops.NUM_OPS - 1)]
                for b in (ops.SCALAR, ops.VECTOR, ops.MATRIX):
                    used = function[field][bank == b]
                    if used.size:
                        limits[b] = max(limits[b], int(used.max()) + 1)
        return limits[1], limits[2], limits[3]

    def _train(self, Z: np.ndarray, labels: np.ndarray, classify: bool) -> dict[str, Any]:
        """Fit one run of the program on projected features Z; its memory, rng state and steps."""
        alg = self._algorithm()
        num_s, num_v, num_m = self._memory_sizes(alg)
        F = self.features_size
        memory = {"scalars": np.zeros(num_s), "vectors": np.zeros((num_v, F)), "matrices": np.zeros((num_m, F, F))}
        orders = epoch_orders(Z.shape[0], self.epochs, self.data_seed)
        steps, rng_state = _core().fit_program(alg.setup, alg.predict, alg.learn, Z, labels, orders, classify,
                                               self.random_seed, memory["scalars"], memory["vectors"],
                                               memory["matrices"], self.max_abs_error)
        if steps < orders.size:
            warnings.warn(f"training stopped at step {steps} of {orders.size}: the error exceeded "
                          f"max_abs_error={self.max_abs_error} or was NaN (the executor stops there too)",
                          ConvergenceWarning, stacklevel=3)
        return {**memory, "rng_state": rng_state, "steps": steps, "predict": alg.predict}

    def _raw_predictions(self, state: dict[str, Any], Z: np.ndarray) -> np.ndarray:
        """s1 of Predict on each row of Z, from a copy of a fitted run's memory and random stream."""
        return _core().predict_program(state["predict"], Z, state["scalars"].copy(), state["vectors"].copy(),
                                       state["matrices"].copy(), state["rng_state"])

    def _fit_start(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        self._algorithm()  # a bad program fails before any work
        return self._fit_projection(X), y

    def _transform_new(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._project(X)


class EvolvedClassifier(ClassifierMixin, _EvolvedBase):
    """A program (azero.Algorithm, its text, or None for the hand-designed linear model) as a classifier.

    Parameters: features_size F (2, 4, 8, 16 or 32), projection "gaussian" (random projection to F, then
    standardisation) or "none" (X already has F standardised columns), data_seed (projection matrix and the
    example order of epochs after the first), epochs, random_seed (the random ops' stream) and max_abs_error
    (training stops, with a ConvergenceWarning, at an error above it, as in the executor).
    Fitted: classes_, runs_ (one per binary problem), n_features_in_, projection_, mean_, scale_.
    """

    def fit(self, X, y) -> "EvolvedClassifier":
        Z, y = self._fit_start(X, y)
        check_classification_targets(y)
        self.classes_, class_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"the classifier needs at least 2 classes; y holds only one class: {self.classes_[0]!r}")
        positives = [1] if len(self.classes_) == 2 else range(len(self.classes_))
        self.runs_ = [self._train(Z, (class_index == c).astype(np.float64), classify=True) for c in positives]
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Sigmoid of s1: (n, 2) [1 - p, p] for two classes, normalised one-vs-rest sigmoids for more."""
        Z = self._transform_new(X)
        probabilities = np.column_stack([_sigmoid(self._raw_predictions(run, Z)) for run in self.runs_])
        if len(self.classes_) == 2:
            return np.column_stack([1.0 - probabilities[:, 0], probabilities[:, 0]])
        totals = probabilities.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            normalised = probabilities / totals
        return np.where(totals > 0.0, normalised, 1.0 / len(self.classes_))

    def predict(self, X) -> np.ndarray:
        """Binary: classes_[1] where the sigmoid of s1 exceeds 0.5 (the executor's rule). More classes: the class
        whose run gives the largest sigmoid."""
        Z = self._transform_new(X)
        probabilities = np.column_stack([_sigmoid(self._raw_predictions(run, Z)) for run in self.runs_])
        if len(self.classes_) == 2:
            return self.classes_[(probabilities[:, 0] > 0.5).astype(np.intp)]
        return self.classes_[np.argmax(np.nan_to_num(probabilities, nan=-1.0), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


class EvolvedRegressor(RegressorMixin, _EvolvedBase):
    """A program (azero.Algorithm, its text, or None for the hand-designed linear model) as a regressor.

    The target is standardised with the fitted data's mean and population std before training, and
    predictions s1 are mapped back. Parameters as EvolvedClassifier. Fitted: run_, target_mean_,
    target_scale_, n_features_in_, projection_, mean_, scale_.
    """

    def fit(self, X, y) -> "EvolvedRegressor":
        Z, y = self._fit_start(X, y)
        y = np.asarray(y, dtype=np.float64)
        self.target_mean_ = float(y.mean())
        self.target_scale_ = float(y.std()) or 1.0
        self.run_ = self._train(Z, (y - self.target_mean_) / self.target_scale_, classify=False)
        return self

    def predict(self, X) -> np.ndarray:
        Z = self._transform_new(X)
        return self._raw_predictions(self.run_, Z) * self.target_scale_ + self.target_mean_


def _sigmoid(s1: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-s1)), as the executor computes it (exp overflow gives 0 without a warning)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-s1))
