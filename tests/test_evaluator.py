"""Evaluator (docs/semantics.md §4 and §5): combination, train budget, FEC pre-run + cache, train-step accounting.

Programs here are constant predictors (Setup writes s1, Predict/Learn do nothing that changes it), so every
fitness can be computed independently in the test from the labels (docs/semantics.md §3.5) and compared exactly.
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from azero._core import ops
from azero._core import INSTRUCTION_DTYPE
from azero._core.evaluator import Evaluator
from azero._core.fec import FECache, fec_hash
from azero._core.rng import RandomGenerator

FLIP_AND_SQUASH_C = -0.63661977236758138243
FEC_SEED = 235732282
F = 4


def make_task(n_train, n_valid, seed, offset=0.0):
    """A 1-epoch RMS task with labels near `offset` (simple object with the Task attributes)."""
    r = np.random.default_rng(seed)
    return SimpleNamespace(
        train_features=r.normal(size=(n_train, F)), train_labels=offset + r.normal(size=n_train),
        valid_features=r.normal(size=(n_valid, F)), valid_labels=offset + r.normal(size=n_valid),
        eval_type="rms_error", eval_type_code=1, num_epochs=1,
        epoch_orders=np.arange(n_train, dtype=np.int64)[None, :], features_size=F)


def program(*instructions):
    arr = np.zeros(len(instructions), dtype=INSTRUCTION_DTYPE)
    for i, fields in enumerate(instructions):
        for name, value in fields.items():
            arr[i][name] = value
    return arr


def const_s1(value):
    return dict(op=ops.SCALAR_CONST_SET_OP, out=1, activation=value)


def gaussian_s1(mean=0.0, stdev=1.0):
    return dict(op=ops.SCALAR_GAUSSIAN_SET_OP, out=1, f0=mean, f1=stdev)


NOOP = dict(op=ops.NO_OP)


def rms_fitness(valid_labels, prediction):
    """docs/semantics.md §3.5 for a constant prediction: sequential sum of squared errors / n_valid, sqrt, FlipAndSquash."""
    loss = 0.0
    for y in valid_labels:
        e = y - prediction
        loss += e * e
    loss /= len(valid_labels)
    return 1.0 + FLIP_AND_SQUASH_C * math.atan(math.sqrt(loss))


def gaussian_draws_into(rng, n):
    return [rng.gaussian(0.0, 1.0) for _ in range(n)]


def gaussian_draws(seed, n):
    return gaussian_draws_into(RandomGenerator(seed), n)


def same_state(a, b):
    return np.array_equal(a.get_state(), b.get_state())


TASKS = [make_task(50, 20, 1, 0.3), make_task(30, 10, 2, -1.0), make_task(40, 15, 3, 2.0), make_task(20, 5, 4, 0.0)]


@pytest.mark.parametrize("combine", ["mean", "median"])
def test_combination_of_constant_predictor(combine):
    ev = Evaluator(TASKS, combine=combine)
    setup, empty = program(const_s1(0.25)), program()
    expected = [rms_fitness(t.valid_labels, 0.25) for t in TASKS]
    per_task = ev.evaluate_per_task(setup, empty, empty, RandomGenerator(1))
    assert per_task.tolist() == expected
    total = 0.0
    for f in expected:
        total += f
    want = total / len(expected) if combine == "mean" else sorted(expected)[len(expected) // 2]
    assert ev.evaluate(setup, empty, empty, RandomGenerator(1)) == want
    assert ev.num_train_steps == 2 * sum(len(t.train_labels) for t in TASKS)
    assert (ev.num_tasks, ev.features_size, ev.fec) == (4, F, None)


def test_median_of_odd_count_is_the_middle_value():
    tasks = TASKS[:3]
    ev = Evaluator(tasks, combine="median")
    setup, empty = program(const_s1(0.0)), program()
    expected = sorted(rms_fitness(t.valid_labels, 0.0) for t in tasks)
    assert ev.evaluate(setup, empty, empty, RandomGenerator(1)) == expected[1]


def test_main_executions_share_one_stream_in_task_order():
    ev = Evaluator(TASKS[:2])
    setup, empty = program(gaussian_s1()), program()
    rng = RandomGenerator(77)
    g0, g1 = gaussian_draws(77, 2)
    assert ev.evaluate_per_task(setup, empty, empty, rng).tolist() == [
        rms_fitness(TASKS[0].valid_labels, g0), rms_fitness(TASKS[1].valid_labels, g1)]
    after = RandomGenerator(77)
    gaussian_draws_into(after, 2)
    assert same_state(rng, after)


def test_train_error_above_max_stops_with_fitness_zero_and_one_step():
    ev = Evaluator(TASKS[:2], max_abs_error=100.0)
    empty = program()
    assert ev.evaluate(program(const_s1(1000.0)), empty, empty, RandomGenerator(1)) == 0.0
    assert ev.num_train_steps == 2


# Budget: setup = SCALAR_GAUSSIAN_SET (one draw), one NO_OP per step. A large task accepts the program, a small
# one rejects it, because the program's setup is costlier than the baseline's but its steps are cheaper.
BUDGET_SETUP = program(gaussian_s1())
BUDGET_PREDICT = program(NOOP)
SETUP_COST = ops.OP_COST[ops.SCALAR_GAUSSIAN_SET_OP]
STEP_COST = ops.OP_COST[ops.NO_OP]


def budget_for(accept_at_least):
    """Baseline whose budget accepts the program exactly for MaxTrainExamples >= accept_at_least."""
    # Program: SETUP_COST + B * STEP_COST; baseline (factor 1): 0 + B * (STEP_COST + d), accepted iff
    # SETUP_COST <= B * d. With d = SETUP_COST / accept_at_least the threshold is B = accept_at_least.
    return (0.0, STEP_COST + SETUP_COST / accept_at_least, 1.0)


def test_budget_accepts_and_rejects_per_task():
    small, large = make_task(10, 8, 11, 0.5), make_task(200, 8, 12, 0.5)
    ev = Evaluator([small, large], budget=budget_for(100), op_costs=ops.OP_COST)
    rng = RandomGenerator(5)
    _, g1 = gaussian_draws(5, 2)
    per_task = ev.evaluate_per_task(BUDGET_SETUP, BUDGET_PREDICT, program(), rng)
    # Rejected task: fitness 0, no train steps, but its Setup ran on the main stream (first draw).
    assert per_task.tolist() == [0.0, rms_fitness(large.valid_labels, g1)]
    assert ev.num_train_steps == 200
    expected_rng = RandomGenerator(5)
    gaussian_draws_into(expected_rng, 2)
    assert same_state(rng, expected_rng)


def test_budget_threshold_is_inclusive_and_uses_factor():
    task = make_task(100, 8, 13, 0.5)
    setup, predict, empty = BUDGET_SETUP, BUDGET_PREDICT, program()
    # Exactly at the threshold: accepted (<=).
    ev = Evaluator([task], budget=(SETUP_COST, STEP_COST, 1.0), op_costs=ops.OP_COST)
    ev.evaluate(setup, predict, empty, RandomGenerator(1))
    assert ev.num_train_steps == 100
    # Baseline half as costly but factor 2: the same limit.
    ev = Evaluator([task], budget=(SETUP_COST / 2, STEP_COST / 2, 2.0), op_costs=ops.OP_COST)
    ev.evaluate(setup, predict, empty, RandomGenerator(1))
    assert ev.num_train_steps == 100
    # A little cheaper baseline: rejected.
    ev = Evaluator([task], budget=(SETUP_COST - 1.0, STEP_COST, 1.0), op_costs=ops.OP_COST)
    assert ev.evaluate(setup, predict, empty, RandomGenerator(1)) == 0.0
    assert ev.num_train_steps == 0


def test_fec_hit_returns_cached_fitness_without_touching_main_rng():
    tasks = TASKS[:2]
    ev = Evaluator(tasks, fec=(10, 5, 100, 100))
    setup, empty = program(gaussian_s1()), program()
    rng = RandomGenerator(31)
    g_main = gaussian_draws(31, 2)
    (g_fec,) = gaussian_draws(FEC_SEED, 1)  # the pre-run's Setup draw, identical for every task

    first = ev.evaluate_per_task(setup, empty, empty, rng)
    assert first.tolist() == [rms_fitness(t.valid_labels, g) for t, g in zip(tasks, g_main)]
    assert ev.num_train_steps == 2 * 10 + sum(len(t.train_labels) for t in tasks)
    assert (ev.fec.hits, ev.fec.misses, len(ev.fec)) == (0, 2, 2)

    # The cache holds the reference's key of the pre-run's errors (10 train, 5 valid) for each task.
    keys, fitness, counts = ev.fec.get_state()
    want_keys = [fec_hash([abs(y - g_fec) for y in t.train_labels[:10]],
                          [abs(y - g_fec) for y in t.valid_labels[:5]], i, len(t.train_labels))
                 for i, t in enumerate(tasks)]
    assert keys.tolist() == want_keys[::-1]
    assert fitness.tolist() == first.tolist()[::-1]
    assert counts.tolist() == [1, 1]

    # Second evaluation: a main run would draw new Gaussians and give other fitnesses; the cache answers.
    state = rng.get_state()
    second = ev.evaluate_per_task(setup, empty, empty, rng)
    assert second.tolist() == first.tolist()
    assert np.array_equal(rng.get_state(), state)
    assert ev.num_train_steps == 2 * 2 * 10 + sum(len(t.train_labels) for t in tasks)
    assert (ev.fec.hits, ev.fec.misses) == (2, 2)
    assert ev.fec.get_state()[2].tolist() == [2, 2]


def test_fec_key_uses_budgeted_train_count():
    small, large = make_task(10, 8, 11, 0.5), make_task(200, 8, 12, 0.5)
    ev = Evaluator([small, large], fec=(10, 8, 100, 100), budget=budget_for(100), op_costs=ops.OP_COST)
    ev.evaluate(BUDGET_SETUP, BUDGET_PREDICT, program(), RandomGenerator(5))
    (g_fec,) = gaussian_draws(FEC_SEED, 1)
    keys = ev.fec.get_state()[0].tolist()
    want = [fec_hash([abs(y - g_fec) for y in t.train_labels[:10]], [abs(y - g_fec) for y in t.valid_labels],
                     i, n) for i, (t, n) in enumerate([(small, 0), (large, 200)])]
    assert keys == want[::-1]
    # Pre-runs 2 x 10 steps, main runs 0 (rejected) + 200.
    assert ev.num_train_steps == 220


def test_fec_steps_include_failed_pre_runs():
    ev = Evaluator(TASKS[:3], fec=(10, 5, 100, 100))
    bad, empty = program(const_s1(1000.0)), program()
    assert ev.evaluate(bad, empty, empty, RandomGenerator(1)) == 0.0
    assert ev.num_train_steps == 3 * (1 + 1)  # pre-run and main run each stop at their first step
    assert ev.evaluate(bad, empty, empty, RandomGenerator(1)) == 0.0
    assert ev.num_train_steps == 3 * (1 + 1) + 3
    assert ev.fec.hits == 3


def test_fec_forgets_after_99_hits():
    ev = Evaluator(TASKS[:1], fec=(10, 5, 100, 100))
    setup, empty = program(const_s1(0.5)), program()
    for _ in range(100):
        ev.evaluate(setup, empty, empty, RandomGenerator(1))
    assert (ev.fec.hits, ev.fec.misses, len(ev.fec)) == (99, 1, 0)
    ev.evaluate(setup, empty, empty, RandomGenerator(1))
    assert (ev.fec.hits, ev.fec.misses, len(ev.fec)) == (99, 2, 1)
    assert isinstance(ev.fec, FECache)


def test_num_train_steps_is_settable_for_checkpoints():
    ev = Evaluator(TASKS[:1])
    ev.num_train_steps = 123
    ev.evaluate(program(const_s1(0.0)), program(), program(), RandomGenerator(1))
    assert ev.num_train_steps == 123 + 50


def test_constructor_checks():
    with pytest.raises(ValueError, match="^the evaluator needs at least one task$"):
        Evaluator([])
    with pytest.raises(ValueError, match=r"^combine must be one of \['mean', 'median'\], got 'max'$"):
        Evaluator(TASKS, combine="max")
    with pytest.raises(ValueError, match="^task 0: needs >= 10 train examples and >= 1 valid example$"):
        Evaluator([make_task(9, 5, 1)])  # MaxTrainExamples < 10
    other_f = make_task(20, 5, 1)
    other_f.features_size = 8
    other_f.train_features = np.zeros((20, 8))
    other_f.valid_features = np.zeros((5, 8))
    with pytest.raises(ValueError, match="^task 1 has features_size 8, task 0 has 4$"):
        Evaluator([TASKS[0], other_f])
    with pytest.raises(ValueError, match="^task 3 has fewer examples than the FEC pre-run uses$"):
        Evaluator(TASKS, fec=(30, 5, 100, 100))  # task 3 has only 20 train examples
    with pytest.raises(ValueError, match="^task 3 has fewer examples than the FEC pre-run uses$"):
        Evaluator(TASKS, fec=(10, 6, 100, 100))  # task 3 has only 5 valid examples
    with pytest.raises(ValueError, match="^a train budget needs op_costs$"):
        Evaluator(TASKS, budget=(1.0, 1.0, 2.0))  # no op_costs
    ev = Evaluator(TASKS)
    with pytest.raises(TypeError, match=r"^Setup: expected a 1-d array of INSTRUCTION_DTYPE records, got float64 "
                                        r"array of shape \(2,\)$"):
        ev.evaluate(np.zeros(2), program(), program(), RandomGenerator(1))
