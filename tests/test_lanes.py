"""Lane kernel (issue 10): tasks trained side by side, one per SIMD lane, give exactly what one task at a time gives.

Each case evaluates a sequence of random programs twice — with the lane kernel at every SIMD level this CPU runs,
and with lanes off (the one-task executor) — and compares, bit for bit, every task's fitness, the train-step
count, the caller's random stream afterwards and the FEC's entries, counts and LRU order.
"""
from types import SimpleNamespace

import numpy as np
import pytest

from azero._core import ops
from azero._core.evaluator import Evaluator, available_simd_levels, set_simd_level, simd_level
from azero._core.rng import RandomGenerator
from programs import random_program

LANE_LEVELS = [level for level in available_simd_levels() if level != "off"]
RANDOM_OPS = range(ops.SCALAR_UNIFORM_SET_OP, ops.MATRIX_GAUSSIAN_SET_OP + 1)


def make_task(F, n_train, n_valid, seed, *, accuracy=False, label_scale=1.0, num_epochs=1):
    """A task with random features; RMS labels of scale `label_scale` (large scales stop some lanes early)."""
    r = np.random.default_rng(seed)
    train_x, valid_x = r.normal(size=(n_train, F)), r.normal(size=(n_valid, F))
    if accuracy:
        train_y, valid_y = (r.random(n_train) < 0.5) * 1.0, (r.random(n_valid) < 0.5) * 1.0
    else:
        train_y, valid_y = label_scale * r.normal(size=n_train), label_scale * r.normal(size=n_valid)
    orders = np.stack([np.arange(n_train)] + [r.permutation(n_train) for _ in range(num_epochs - 1)])
    return SimpleNamespace(
        train_features=train_x, train_labels=train_y, valid_features=valid_x, valid_labels=valid_y,
        eval_type="accuracy" if accuracy else "rms_error", eval_type_code=4 if accuracy else 1,
        num_epochs=num_epochs, epoch_orders=orders.astype(np.int64), features_size=F)


def without_random_ops(function):
    """The component function with its random ops replaced by NO_OP (so the lane kernel can run it)."""
    function = function.copy()
    function["op"][np.isin(function["op"], RANDOM_OPS)] = ops.NO_OP
    return function


def programs(seed, count, memory, lanes_only_share=0.7):
    """Random programs over all ops; most without random ops in Predict and Learn (lane kernel), the rest with
    them where the generator put some (one task at a time)."""
    rng = np.random.default_rng(seed)
    result = []
    for _ in range(count):
        alg = random_program(rng, *memory, max_sizes=(6, 8, 10))
        predict, learn = alg.predict, alg.learn
        if rng.random() < lanes_only_share:
            predict, learn = without_random_ops(predict), without_random_ops(learn)
        result.append((alg.setup, predict, learn))
    return result


def evaluation_bits(tasks, code, memory, seed, **evaluator_args):
    """Per-task fitness bits of every program, then the train steps, the stream and the FEC state."""
    ev = Evaluator(tasks, num_scalars=memory[0], num_vectors=memory[1], num_matrices=memory[2], **evaluator_args)
    rng = RandomGenerator(seed)
    fitness = [ev.evaluate_per_task(*program, rng).view(np.uint64).tolist() for program in code]
    fec = None
    if ev.fec is not None:
        fec = [a.tolist() for a in ev.fec.get_state()] + [ev.fec.hits, ev.fec.misses]
    return fitness, ev.num_train_steps, rng.get_state().tolist(), fec


def run(level, tasks, code, memory, **evaluator_args):
    """evaluation_bits at a SIMD level, with lanes at every feature size."""
    previous = set_simd_level(level, min_features_size=2)
    try:
        return evaluation_bits(tasks, code, memory, 7, **evaluator_args)
    finally:
        set_simd_level(previous)


def assert_same_as_one_task_at_a_time(tasks, code, memory, **evaluator_args):
    expected = run("off", tasks, code, memory, **evaluator_args)
    assert any(f != 0 for per_task in expected[0] for f in per_task)   # some programs learn something
    for level in LANE_LEVELS:
        assert run(level, tasks, code, memory, **evaluator_args) == expected, level


def test_this_cpu_has_a_lane_level_and_it_is_the_default():
    assert LANE_LEVELS and LANE_LEVELS[0] == "sse2"
    assert simd_level() == LANE_LEVELS[-1]


@pytest.mark.parametrize("F", [2, 4, 8, 16, 32])
@pytest.mark.parametrize("num_tasks", [2, 3, 10])
def test_lanes_equal_one_task_at_a_time(F, num_tasks):
    memory = (5, 4, 3)
    # Label scales up to 300 against max_abs_error 100: some lanes stop early, at different steps.
    tasks = [make_task(F, 60, 25, 100 * F + i, label_scale=(1.0, 30.0, 300.0)[i % 3]) for i in range(num_tasks)]
    assert_same_as_one_task_at_a_time(tasks, programs(F + num_tasks, 40, memory), memory)


@pytest.mark.parametrize("F", [4, 16])
def test_lanes_with_fec_small_cache_evicting_inside_an_evaluation(F):
    """Cache of 6 entries (10 tasks): placeholders evicted within one evaluation; forget after 3 hits. Repeated
    programs make hits."""
    memory = (4, 3, 1)
    tasks = [make_task(F, 30, 12, 7 * i + F, label_scale=(1.0, 50.0)[i % 2]) for i in range(10)]
    code = programs(F, 25, memory)
    code = code + code[:10] + code[5:15]
    for cache_size, forget_every in ((6, 3), (1000, 100), (25, 0)):
        assert_same_as_one_task_at_a_time(tasks, code, memory, fec=(10, 10, cache_size, forget_every))


def test_lanes_with_accuracy_tasks_median_and_budget():
    memory = (5, 9, 2)
    tasks = [make_task(8, 40, 20, i, accuracy=True) for i in range(7)]
    costs = np.arange(ops.NUM_OPS, dtype=np.float64) + 1.0
    assert_same_as_one_task_at_a_time(tasks, programs(3, 40, memory), memory, combine="median",
                                      budget=(5.0, 30.0, 2.0), op_costs=costs)


def test_mixed_task_sizes_and_epochs_split_batches():
    """Tasks of other sizes, or needing a second epoch, run in their own batches or alone, in task order."""
    memory = (4, 4, 2)
    tasks = [make_task(4, 30, 10, 1), make_task(4, 30, 10, 2), make_task(4, 20, 10, 3),
             make_task(4, 10, 10, 4, num_epochs=3), make_task(4, 30, 12, 5), make_task(4, 30, 12, 6),
             make_task(4, 30, 12, 7, accuracy=True), make_task(4, 30, 12, 8)]
    code = programs(11, 40, memory)
    assert_same_as_one_task_at_a_time(tasks, code, memory)
    assert_same_as_one_task_at_a_time(tasks, code, memory, fec=(10, 10, 50, 5))


def test_random_ops_in_predict_or_learn_fall_back_with_the_same_stream():
    memory = (4, 3, 2)
    tasks = [make_task(4, 30, 10, i) for i in range(5)]
    code = programs(5, 40, memory, lanes_only_share=0.0)
    assert sum(np.isin(p["op"], RANDOM_OPS).any() or np.isin(l["op"], RANDOM_OPS).any() for _, p, l in code) >= 10
    assert_same_as_one_task_at_a_time(tasks, code, memory, fec=(10, 10, 100, 0))


def test_lanes_start_at_f8_by_default():
    """By default F <= 4 evaluates one task at a time (as fast there); results are the same either way."""
    memory = (4, 3, 1)
    tasks4 = [make_task(4, 30, 10, i) for i in range(4)]
    code = programs(21, 10, memory)
    expected = run("off", tasks4, code, memory)
    ev = Evaluator(tasks4, num_scalars=4, num_vectors=3, num_matrices=1)
    rng = RandomGenerator(7)
    assert [ev.evaluate_per_task(*p, rng).view(np.uint64).tolist() for p in code] == expected[0]


def test_set_simd_level_rejects_unknown_levels():
    with pytest.raises(ValueError, match="not available"):
        set_simd_level("avx1024")
