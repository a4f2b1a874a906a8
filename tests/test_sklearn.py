"""azero.sklearn: found programs as scikit-learn estimators, fitted in the compiled core and equal to the
executor/evaluator bit for bit; check_estimator; cross_val_score on breast cancer; clone, Pipeline, GridSearchCV."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from azero import algorithms
from azero._core.estimator import fit_program
from azero._core.executor import run_executor
from azero._core.rng import RandomGenerator
from azero.datasets import project_pair
from azero.evaluation import evaluate
from azero.sklearn import EvolvedClassifier, EvolvedRegressor
from azero.tasks import Task

# The one check that does not run: scikit-learn skips it itself unless SCIPY_ARRAY_API=1 is set, and the
# estimators do not claim array-API support (they compute in numpy float64 and the compiled core).
SKIPPED_BY_SKLEARN = {"check_array_api_input": "SCIPY_ARRAY_API is not set: not checking array_api input"}


@pytest.mark.parametrize("estimator", [EvolvedClassifier(), EvolvedRegressor()], ids=["classifier", "regressor"])
def test_check_estimator_passes(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, expected_failed_checks={}, on_skip=None, on_fail=None)
    not_passed = {r["check_name"]: (r["status"], str(r["exception"])) for r in results if r["status"] != "passed"}
    assert not_passed == {name: ("skipped", reason) for name, reason in SKIPPED_BY_SKLEARN.items()}
    assert len(results) == (55 if isinstance(estimator, EvolvedClassifier) else 52)


def digits_pair_task(seed: int = 3):
    """A projected digits pair (3 vs 8) task of 210 train / 69 valid examples, F = 16, as the datasets build."""
    digits = load_digits()
    rows = np.concatenate([np.flatnonzero(digits.target == 3)[:174], np.flatnonzero(digits.target == 8)[:174]])
    splits = project_pair(digits.data[rows], np.repeat([1, 0], 174), seed, 16, 210, 69, 69)
    (train_x, train_y), (valid_x, valid_y) = splits["train"], splits["valid"]
    return [a.astype(np.float64) for a in (train_x, train_y, valid_x, valid_y)]


@pytest.mark.parametrize("program", ["linear", "neural_net"])
def test_classifier_accuracy_equals_the_evaluators_fitness(program):
    """projection='none': fit on a task's train split, score on its valid split = azero.evaluate's fitness."""
    alg = getattr(algorithms, program)()
    train_x, train_y, valid_x, valid_y = digits_pair_task()
    task = Task(train_x, train_y, valid_x, valid_y, eval_type="accuracy")
    for seed in (10000, 77):
        fitness = evaluate(alg, [task], seed=seed)
        model = EvolvedClassifier(alg, projection="none", random_seed=seed).fit(train_x, train_y)
        assert model.score(valid_x, valid_y) == fitness
        assert model.runs_[0]["steps"] == 210
    assert 0.9 < fitness < 1.0


def test_fit_leaves_the_memory_the_executor_leaves():
    alg = algorithms.neural_net()
    train_x, train_y, valid_x, valid_y = digits_pair_task(seed=5)
    task = Task(train_x, train_y, valid_x[:1], valid_y[:1], eval_type="accuracy")
    want = run_executor(alg.setup, alg.predict, alg.learn, task, 210, 0, RandomGenerator(42))
    memory = [np.zeros(20), np.zeros((20, 16)), np.zeros((20, 16, 16))]
    steps, _ = fit_program(alg.setup, alg.predict, alg.learn, train_x, train_y, np.arange(210)[np.newaxis], True,
                           42, *memory)
    assert steps == want.train_steps == 210
    for got, expected in zip(memory, (want.scalars, want.vectors, want.matrices)):
        np.testing.assert_array_equal(got, expected)


def projected_folds(X, y, data_seed=0, F=16):
    """Each StratifiedKFold(5) fold as a Task, projected and standardised by hand as the estimator documents."""
    weights = np.random.RandomState(data_seed).randn(X.shape[1], F)
    for train, test in StratifiedKFold(5).split(X, y):
        projected = X[train] @ weights
        mean, scale = projected.mean(axis=0), projected.std(axis=0)
        yield Task((projected - mean) / scale, y[train], (X[test] @ weights - mean) / scale, y[test])


def test_cross_val_score_on_breast_cancer_equals_the_evaluator_per_fold():
    X, y = load_breast_cancer(return_X_y=True)
    for alg, name in ((None, "linear"), (algorithms.neural_net(), "neural_net")):
        scores = cross_val_score(EvolvedClassifier(alg), X, y, cv=5)
        tasks = list(projected_folds(X, y))
        fitness = [evaluate(alg or algorithms.linear(), [task], seed=10000) for task in tasks]
        # Same correct predictions per fold (scikit-learn divides the correct count by n, azero subtracts the
        # error rate from 1: the two can differ in the last bit).
        sizes = [task.num_valid_examples for task in tasks]
        assert [round(s * n) for s, n in zip(scores, sizes)] == [round(f * n) for f, n in zip(fitness, sizes)]
        assert np.abs(scores - fitness).max() < 1e-15
    assert round(float(cross_val_score(EvolvedClassifier(), X, y, cv=5).mean()), 3) == 0.912
    # The README's table: hand-designed linear model behind a StandardScaler, F = 32.
    scores = cross_val_score(make_pipeline(StandardScaler(), EvolvedClassifier(features_size=32)), X, y, cv=5)
    assert (round(float(scores.mean()), 3), round(float(scores.std()), 3)) == (0.968, 0.016)


def test_clone_pipeline_and_grid_search():
    X, y = load_breast_cancer(return_X_y=True)
    model = EvolvedClassifier(algorithms.linear(0.05), features_size=32, epochs=2, data_seed=4)
    copy = clone(model)
    assert copy.get_params()["program"] == model.program and copy.get_params()["epochs"] == 2
    pipe = make_pipeline(StandardScaler(), EvolvedClassifier(features_size=32))
    assert pipe.fit(X, y).score(X, y) == clone(pipe).fit(X, y).score(X, y)
    grid = GridSearchCV(EvolvedClassifier(features_size=32), {"epochs": [1, 3], "data_seed": [0, 1]}, cv=3)
    grid.fit(X, y)
    manual = {(e, s): cross_val_score(EvolvedClassifier(features_size=32, epochs=e, data_seed=s), X, y, cv=3).mean()
              for e in (1, 3) for s in (0, 1)}
    best = max(manual.values())
    assert grid.best_score_ == best
    assert manual[(grid.best_params_["epochs"], grid.best_params_["data_seed"])] == best


def test_multiclass_is_one_vs_rest():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = EvolvedClassifier(epochs=5).fit(X, names)
    proba = model.predict_proba(X)
    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"] and len(model.runs_) == 3
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    raw = np.column_stack([EvolvedClassifier(epochs=5).fit(X, names == c).predict_proba(X)[:, 1]
                           for c in model.classes_])
    np.testing.assert_array_equal(proba, raw / raw.sum(axis=1, keepdims=True))
    assert model.predict(X).tolist() == model.classes_[np.argmax(raw, axis=1)].tolist()
    assert model.score(X, names) > 0.8


def test_binary_proba_is_the_sigmoid_of_s1_and_predict_thresholds_it():
    train_x, train_y, valid_x, _ = digits_pair_task()
    labels = np.where(train_y == 1.0, "three", "eight")
    model = EvolvedClassifier(algorithms.neural_net(), projection="none").fit(train_x, labels)
    assert model.classes_.tolist() == ["eight", "three"]   # classes_[1] is the positive class (label 1)
    proba = model.predict_proba(valid_x)
    run = model.runs_[0]
    from azero._core.estimator import predict_program
    s1 = predict_program(run["predict"], valid_x, run["scalars"].copy(), run["vectors"].copy(),
                         run["matrices"].copy(), run["rng_state"])
    np.testing.assert_array_equal(proba[:, 1], 1.0 / (1.0 + np.exp(-s1)))
    np.testing.assert_array_equal(proba[:, 0], 1.0 - proba[:, 1])
    assert model.predict(valid_x).tolist() == np.where(proba[:, 1] > 0.5, "three", "eight").tolist()
    # predict starts from the fitted state each time: calls repeat exactly.
    np.testing.assert_array_equal(model.predict_proba(valid_x), proba)


def test_regressor_learns_a_linear_target():
    rng = np.random.RandomState(0)
    X = rng.randn(400, 4)
    y = X @ np.array([2.0, -1.0, 0.5, 3.0]) + 7.0
    model = EvolvedRegressor(epochs=20).fit(X[:300], y[:300])
    assert model.score(X[300:], y[300:]) > 0.99
    assert model.target_mean_ == y[:300].mean() and model.target_scale_ == y[:300].std()


def test_program_text_pickle_and_bad_settings():
    X, y = load_breast_cancer(return_X_y=True)
    alg = algorithms.neural_net()
    by_text = EvolvedClassifier(alg.to_text()).fit(X, y)
    by_alg = EvolvedClassifier(alg).fit(X, y)
    np.testing.assert_array_equal(by_text.predict_proba(X), by_alg.predict_proba(X))
    restored = pickle.loads(pickle.dumps(by_alg))
    np.testing.assert_array_equal(restored.predict_proba(X), by_alg.predict_proba(X))
    with pytest.raises(TypeError, match=r"^program must be an azero.Algorithm, its text form or None, got int$"):
        EvolvedClassifier(3).fit(X, y)
    with pytest.raises(ValueError, match=r"^features_size must be one of \(2, 4, 8, 16, 32\), got 5$"):
        EvolvedClassifier(features_size=5).fit(X, y)
    with pytest.raises(ValueError, match=r"^projection='none' needs X with features_size=16 columns, got 30$"):
        EvolvedClassifier(projection="none").fit(X, y)
    with pytest.raises(ValueError, match=r"^epochs must be an integer in \[1, inf\], got 0$"):
        EvolvedRegressor(epochs=0).fit(X, y)


def test_divergent_training_stops_with_a_warning_as_the_executor_does():
    rng = np.random.RandomState(1)
    X = rng.randn(100, 4)
    y = X @ np.array([50.0, -40.0, 30.0, 20.0])
    with pytest.warns(ConvergenceWarning, match=r"^training stopped at step \d+ of 100: the error exceeded"):
        model = EvolvedRegressor(algorithms.linear(5.0)).fit(X, y)
    assert model.run_["steps"] < 100
