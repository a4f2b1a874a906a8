"""The executor's training/validation protocol (docs/semantics.md §3), pinned by the facts of docs/semantics.md §12.3 and the rules of 3.2-3.4.

Tasks are small objects with the Task attributes; programs are INSTRUCTION_DTYPE records written by op code.
Expected fitness values are computed here from their definitions (FlipAndSquash with math.atan) and compared
exactly.
"""
import math

import numpy as np
import pytest

from azero._core import INSTRUCTION_DTYPE
from azero._core.executor import run_executor
from azero._core.rng import RandomGenerator

# Op codes used below (docs/semantics.md §2.1).
SCALAR_SUM, SCALAR_DIFF, SCALAR_PRODUCT, SCALAR_DIVISION, SCALAR_ABS = 1, 2, 3, 4, 5
VECTOR_SUM, VECTOR_MEAN, SCALAR_CONST_SET, VECTOR_GAUSSIAN_SET, SCALAR_GAUSSIAN_SET = 23, 50, 56, 63, 62

C = -0.63661977236758138243


def flip_and_squash(x):
    return 0.0 if math.isnan(x) or math.isinf(x) else 1.0 + C * math.atan(x)


def rms_fitness(errors, n_valid):
    loss = 0.0
    for e in errors:
        loss += e * e
    return flip_and_squash(math.sqrt(loss / n_valid))


class SimpleTask:
    """The attributes the executor reads from a task."""

    def __init__(self, train_features, train_labels, valid_features, valid_labels, eval_type="rms_error",
                 epoch_orders=None):
        self.train_features = np.ascontiguousarray(train_features, dtype=np.float64)
        self.train_labels = np.ascontiguousarray(train_labels, dtype=np.float64)
        self.valid_features = np.ascontiguousarray(valid_features, dtype=np.float64)
        self.valid_labels = np.ascontiguousarray(valid_labels, dtype=np.float64)
        self.features_size = self.train_features.shape[1]
        self.eval_type = eval_type
        self.eval_type_code = {"rms_error": 1, "accuracy": 4}[eval_type]
        n = len(self.train_labels)
        self.epoch_orders = np.array(epoch_orders if epoch_orders is not None else [range(n)], dtype=np.int64)
        self.num_epochs = len(self.epoch_orders)


def ones_task(n_train=1000, n_valid=100, F=4, eval_type="rms_error"):
    return SimpleTask(np.ones((n_train, F)), np.ones(n_train), np.ones((n_valid, F)), np.ones(n_valid), eval_type)


def increment_task(n_train=1000, n_valid=100, F=4, increment=1.0):
    train = np.arange(n_train) * increment
    valid = np.arange(n_valid) * increment
    return SimpleTask(np.repeat(train[:, None], F, 1), train, np.repeat(valid[:, None], F, 1), valid)


def ins(op, in1=0, in2=0, out=0, activation=0.0, f0=0.0, f1=0.0, f2=0.0):
    rec = np.zeros((), INSTRUCTION_DTYPE)
    rec["op"], rec["in1"], rec["in2"], rec["out"] = op, in1, in2, out
    rec["activation"], rec["f0"], rec["f1"], rec["f2"] = activation, f0, f1, f2
    return rec


def fn(*instructions):
    return np.array(list(instructions), dtype=INSTRUCTION_DTYPE).reshape(-1)


def const(out, value):
    return ins(SCALAR_CONST_SET, out=out, activation=value)


def run(task, setup=(), predict=(), learn=(), num_train=None, num_valid=None, seed=5489, **kwargs):
    n_train = len(task.train_labels) * task.num_epochs if num_train is None else num_train
    n_valid = len(task.valid_labels) if num_valid is None else num_valid
    return run_executor(fn(*setup), fn(*predict), fn(*learn), task, n_train, n_valid, RandomGenerator(seed),
                        **kwargs)


# ------------------------------------------------------------------------------------------------------------
# docs/semantics.md §12.3: memory persistence and what Predict/Learn see.

def test_ones_task_predict_runs_for_train_and_valid_examples():
    r = run(ones_task(), setup=[const(2, 1.0)], predict=[ins(SCALAR_SUM, 1, 2, 1)], max_abs_error=math.inf)
    assert r.scalars[1] == 1100.0 and r.train_steps == 1000


def test_ones_task_learn_runs_for_train_examples_only():
    r = run(ones_task(), setup=[const(2, 1.0)], learn=[ins(SCALAR_SUM, 1, 2, 1)], max_abs_error=math.inf)
    assert r.scalars[1] == 1000.0


def test_increment_task_predict_sees_features():
    r = run(increment_task(), predict=[ins(VECTOR_MEAN, 0, 0, 3), ins(SCALAR_SUM, 1, 3, 1)], max_abs_error=math.inf)
    assert r.scalars[1] == 504450.0


def test_increment_task_learn_sees_label():
    r = run(increment_task(), learn=[ins(SCALAR_SUM, 1, 0, 1)], max_abs_error=math.inf)
    assert r.scalars[1] == 499500.0


def test_increment_task_label_hidden_in_predict():
    r = run(increment_task(), predict=[ins(SCALAR_SUM, 1, 0, 1)], max_abs_error=math.inf)
    assert r.scalars[1] == 0.0


def test_noop_recorded_errors():
    r = run(increment_task(11, 9), record=True)
    assert r.train_errors == [float(k) for k in range(11)]
    assert r.valid_errors == [float(k) for k in range(9)]


def test_increment_point_one_fitness():
    task = increment_task(100, 100, increment=0.1)
    r = run(task)
    expected = rms_fitness(task.valid_labels.tolist(), 100)
    assert r.fitness == expected
    assert abs(expected - flip_and_squash(5.7301812)) < 1e-7


def test_constant_prediction_fitness():
    r = run(ones_task(), predict=[const(1, 0.9)])
    assert r.fitness == rms_fitness([1.0 - 0.9] * 100, 100)
    assert abs(r.fitness - flip_and_squash(0.1)) < 1e-12


@pytest.mark.parametrize("logit, fitness", [(-3.0, 0.0), (3.0, 1.0), (math.inf, 1.0), (-math.inf, 0.0)])
def test_accuracy_logits(logit, fitness):
    r = run(ones_task(eval_type="accuracy"), predict=[const(1, logit)])
    assert r.fitness == fitness


def test_accuracy_sigmoid_is_written_to_memory_in_training():
    """Learn sees s1 = sigmoid(logit); validation does not modify s1."""
    r = run(ones_task(10, 5, eval_type="accuracy"), predict=[const(1, 3.0)], learn=[ins(SCALAR_ABS, 1, 0, 5)])
    assert r.scalars[5] == 1.0 / (1.0 + math.exp(-3.0))
    assert r.scalars[1] == 3.0


def test_accuracy_nan_logit_in_validation_predicts_class_zero():
    task = SimpleTask(np.ones((4, 2)), np.ones(4), [[math.nan, 0.0], [math.nan, 0.0]], [0.0, 1.0], "accuracy")
    r = run(task, predict=[ins(VECTOR_MEAN, 0, 0, 1)])
    assert r.fitness == 0.5


# ------------------------------------------------------------------------------------------------------------
# Early stopping (docs/semantics.md §3.4, 3.4, 3.6).

DIVIDE_BY_ZERO = [const(2, 1.0), ins(SCALAR_DIVISION, 2, 3, 1)]   # s1 = 1 / 0
ZERO_BY_ZERO = [ins(SCALAR_DIVISION, 3, 3, 1)]                    # s1 = 0 / 0


@pytest.mark.parametrize("value", ["110", "1/0", "0/0"])
@pytest.mark.parametrize("where", ["setup", "predict", "learn"])
def test_bad_prediction_stops_with_fitness_zero(where, value):
    code = {"110": [const(1, 110.0)], "1/0": DIVIDE_BY_ZERO, "0/0": ZERO_BY_ZERO}[value]
    r = run(ones_task(50, 20), **{where: code}, record=True)
    assert r.fitness == 0.0
    # The step that stops is counted; a bad value written by Learn is seen by the next step's Predict.
    assert r.train_steps == (2 if where == "learn" else 1)
    assert r.train_errors == ([1.0] if where == "learn" else [])
    assert r.valid_errors == []


def test_train_label_too_large_stops():
    labels = np.zeros(50)
    labels[5] = 1000.0
    task = SimpleTask(np.zeros((50, 4)), labels, np.zeros((20, 4)), np.zeros(20))
    r = run(task, record=True)
    assert r.fitness == 0.0 and r.train_steps == 6 and r.train_errors == [0.0] * 5


def test_valid_label_too_large_gives_zero():
    valid = np.zeros(20)
    valid[3] = 1000.0
    task = SimpleTask(np.zeros((50, 4)), np.zeros(50), np.zeros((20, 4)), valid)
    r = run(task, record=True)
    assert r.fitness == 0.0 and r.train_steps == 50 and r.valid_errors == [0.0] * 3


def test_max_abs_error_is_inclusive():
    task = SimpleTask(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(2))
    r = run(task, predict=[const(1, 100.0)])
    assert r.fitness == flip_and_squash(100.0) and r.train_steps == 3
    r = run(task, predict=[const(1, 100.0)], max_abs_error=99.0)
    assert r.fitness == 0.0 and r.train_steps == 1


def test_nan_in_validation_gives_zero():
    task = SimpleTask(np.zeros((3, 2)), np.zeros(3), [[0.0, 0.0], [math.nan, 1.0]], np.zeros(2))
    r = run(task, predict=[ins(VECTOR_MEAN, 0, 0, 1)], record=True)
    assert r.fitness == 0.0 and r.valid_errors == [0.0]


# ------------------------------------------------------------------------------------------------------------
# Budget, validation size, Setup and random ops.

def test_validation_divides_by_the_full_validation_size():
    task = SimpleTask(np.zeros((3, 2)), np.zeros(3), np.zeros((10, 2)), np.full(10, 2.0))
    r = run(task, num_valid=5, record=True)
    assert r.fitness == flip_and_squash(math.sqrt(5 * 4.0 / 10)) and r.valid_errors == [2.0] * 5


def test_zero_budget_runs_setup_only():
    """N = 0: fitness 0 and no train step, but Setup's random ops still draw from the RNG."""
    rng = RandomGenerator(100000)
    task = ones_task(10, 5)
    r = run_executor(fn(ins(VECTOR_GAUSSIAN_SET, out=1, f0=0.5, f1=0.25)), fn(const(1, 1.0)), fn(), task, 0, 5, rng)
    expected = RandomGenerator(100000)
    draws = expected.gaussian_array(4, 0.5, 0.25)
    assert r.fitness == 0.0 and r.train_steps == 0
    assert r.vectors[1].tolist() == draws.tolist()
    assert np.array_equal(rng.get_state(), expected.get_state())


def test_random_ops_draw_from_the_given_stream_in_execution_order():
    """Setup, then per train example Predict before Learn, then validation Predicts."""
    rng = RandomGenerator(42)
    task = ones_task(3, 2)
    predict = [ins(SCALAR_GAUSSIAN_SET, out=5, f0=0.0, f1=1.0), ins(SCALAR_SUM, 6, 5, 6)]
    learn = [ins(SCALAR_GAUSSIAN_SET, out=7, f0=0.0, f1=1.0), ins(SCALAR_PRODUCT, 7, 7, 7), ins(SCALAR_SUM, 8, 7, 8)]
    r = run_executor(fn(ins(SCALAR_GAUSSIAN_SET, out=4, f0=0.0, f1=1.0)), fn(*predict), fn(*learn), task, 3, 2, rng)
    z = RandomGenerator(42).gaussian_array(1 + 3 * 2 + 2)
    assert r.scalars[4] == z[0]
    assert r.scalars[6] == ((((z[1] + 0.0) + z[3]) + z[5]) + z[7]) + z[8]
    assert r.scalars[8] == ((0.0 + z[2] * z[2]) + z[4] * z[4]) + z[6] * z[6]


def test_features_restored_before_learn_and_label_cleared_before_predict():
    task = increment_task(5, 2)
    predict = [ins(VECTOR_SUM, 0, 0, 0), ins(SCALAR_SUM, 1, 0, 1), ins(SCALAR_SUM, 9, 0, 9)]   # v0 *= 2; s9 += s0
    learn = [ins(VECTOR_MEAN, 0, 0, 5), ins(SCALAR_SUM, 6, 5, 6), ins(SCALAR_DIFF, 1, 1, 1)]   # s6 += mean(v0)
    r = run(task, predict=predict, learn=learn)
    assert r.scalars[6] == 0.0 + 1.0 + 2.0 + 3.0 + 4.0 and r.scalars[9] == 0.0


def test_memory_sizes_and_result_shapes():
    r = run(ones_task(2, 1, F=8), num_scalars=3, num_vectors=2, num_matrices=1)
    assert r.scalars.shape == (3,) and r.vectors.shape == (2, 8) and r.matrices.shape == (1, 8, 8)
    r = run(ones_task(2, 1, F=2), predict=[const(1, 1.0)], num_scalars=2, num_vectors=1, num_matrices=0)
    assert r.fitness == 1.0 and r.matrices.shape == (0, 2, 2)
    with pytest.raises(ValueError, match=r"^predict instruction 0: address 's3' out of range \(memory has 3 scalars\)$"):
        run(ones_task(2, 1), predict=[ins(SCALAR_SUM, 1, 3, 1)], num_scalars=3)


# ------------------------------------------------------------------------------------------------------------
# Epochs (docs/semantics.md §3.3).

def test_epochs_follow_epoch_orders():
    """Learn folds the labels (and features) into base-10 digits, so the result spells the visiting order."""
    orders = [[0, 1, 2, 3, 4], [2, 0, 4, 1, 3], [4, 3, 2, 1, 0]]
    labels = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    task = SimpleTask(np.repeat(labels[:, None] + 5.0, 2, 1), labels, np.zeros((2, 2)), np.zeros(2),
                      epoch_orders=orders)
    learn = [ins(SCALAR_PRODUCT, 4, 3, 4), ins(SCALAR_SUM, 4, 0, 4),
             ins(VECTOR_MEAN, 0, 0, 5), ins(SCALAR_PRODUCT, 6, 3, 6), ins(SCALAR_SUM, 6, 5, 6)]
    r = run(task, setup=[const(3, 10.0)], learn=learn, record=True)
    visited = [k for order in orders for k in order]
    assert r.train_steps == 15
    assert r.scalars[4] == float("".join(str(k + 1) for k in visited))
    digits = 0.0
    for k in visited:
        digits = digits * 10.0 + (k + 6.0)
    assert r.scalars[6] == digits
    assert r.train_errors == [1.0, 2.0, 3.0, 4.0, 5.0] and r.valid_errors == [0.0] * 2   # first epoch only


def counting_program(step):
    """Predict s1 = s4 and counts Predict calls in s7; Learn adds `step` to s4."""
    setup = [const(2, step), const(9, 1.0)]
    predict = [ins(SCALAR_SUM, 4, 3, 1), ins(SCALAR_SUM, 7, 9, 7)]   # s3 is 0
    learn = [ins(SCALAR_SUM, 4, 2, 4)]
    return dict(setup=setup, predict=predict, learn=learn)


def epochs_task(n_train, n_valid, num_epochs, valid_label):
    orders = [np.roll(np.arange(n_train), e) for e in range(num_epochs)]
    return SimpleTask(np.zeros((n_train, 2)), np.zeros(n_train), np.zeros((n_valid, 2)),
                      np.full(n_valid, valid_label), epoch_orders=orders)


def test_best_of_epochs():
    """Validation errors after epochs 1, 2, 3 are 5, 1, 3: the fitness is the best, and every epoch validated."""
    r = run(epochs_task(4, 6, 3, 9.0), **counting_program(1.0))
    assert r.fitness == flip_and_squash(1.0)
    assert r.train_steps == 12 and r.scalars[7] == 12 + 3 * 6


def test_budget_ends_inside_an_epoch():
    r = run(epochs_task(10, 4, 3, 0.0), **counting_program(0.5), num_train=25)
    assert r.train_steps == 25 and r.scalars[7] == 25 + 3 * 4 and r.scalars[4] == 12.5
    assert r.fitness == flip_and_squash(5.0)   # best is the first validation (error 5, then 10, then 12.5)


def test_failure_after_first_epoch_keeps_best():
    """Predictions grow by 6 per step: epoch 1 validates with error 60, epoch 2 stops at prediction 102."""
    r = run(epochs_task(10, 5, 3, 0.0), **counting_program(6.0))
    assert r.fitness == flip_and_squash(60.0)
    assert r.train_steps == 18


def test_failure_in_first_epoch_gives_zero():
    r = run(epochs_task(20, 5, 3, 0.0), **counting_program(6.0))
    assert r.fitness == 0.0 and r.train_steps == 18
