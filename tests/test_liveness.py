"""Dead Predict/Learn instructions (azero._core.liveness): which ones the lane kernel may skip, and that skipping
them changes nothing (every task's fitness, train steps and the random stream equal the one-task executor's)."""
import numpy as np
import pytest

from azero import ops
from azero._core import INSTRUCTION_DTYPE
from azero._core.evaluator import Evaluator, set_simd_level
from azero._core.executor import run_executor
from azero._core.liveness import live_instructions
from azero._core.rng import RandomGenerator
from programs import random_program
from test_lanes import LANE_LEVELS, make_task, without_random_ops


def code(*rows):
    """Instructions from (op, in1, in2, out[, f0]) rows."""
    array = np.zeros(len(rows), INSTRUCTION_DTYPE)
    for k, row in enumerate(rows):
        for name, value in zip(("op", "in1", "in2", "out", "f0"), row):
            array[k][name] = value
    return array


def test_writes_nobody_reads_are_dead():
    predict = code((ops.SCALAR_SUM_OP, 2, 3, 4),          # s4 is never read: dead
                   (ops.VECTOR_INNER_PRODUCT_OP, 0, 1, 1),  # the prediction
                   (ops.SCALAR_PRODUCT_OP, 1, 1, 3))        # s3 read by Predict's first op, but only to make s4
    learn = code((ops.SCALAR_DIFF_OP, 0, 1, 2),           # s2 = label - prediction
                 (ops.SCALAR_VECTOR_PRODUCT_OP, 2, 0, 2),   # v2 = s2 * features
                 (ops.VECTOR_SUM_OP, 1, 2, 1),              # v1 += v2: read by the next Predict
                 (ops.VECTOR_ABS_OP, 1, 0, 0))              # v0 is rewritten before every Predict: dead
    keep_predict, keep_learn, predict_features, learn_features = live_instructions(predict, learn, 5, 3, 0)
    assert keep_predict.tolist() == [False, True, False]
    assert keep_learn.tolist() == [True, True, True, False]
    assert predict_features and learn_features


def test_loop_carried_values_stay_live():
    # s2 counts steps in Learn and feeds the prediction: live through the loop; s3 only feeds itself: dead.
    predict = code((ops.SCALAR_SUM_OP, 2, 2, 1),)
    learn = code((ops.SCALAR_SUM_OP, 2, 0, 2), (ops.SCALAR_SUM_OP, 3, 0, 3), (ops.NO_OP, 0, 0, 0))
    keep_predict, keep_learn, predict_features, learn_features = live_instructions(predict, learn, 4, 1, 0)
    assert keep_predict.tolist() == [True]
    assert keep_learn.tolist() == [True, False, False]
    assert not predict_features and not learn_features


def test_single_entry_writes_keep_the_rest_live_and_random_ops_always_run():
    predict = code((ops.VECTOR_CONST_SET_OP, 0, 0, 1, 0.5),   # one entry of v1: the rest of v1 stays live
                   (ops.VECTOR_MEAN_OP, 1, 0, 1),
                   (ops.SCALAR_GAUSSIAN_SET_OP, 0, 0, 3))     # dead output, but it draws from the stream
    learn = code((ops.VECTOR_SUM_OP, 0, 1, 1),)
    keep_predict, keep_learn, _, learn_features = live_instructions(predict, learn, 4, 2, 0)
    assert keep_predict.tolist() == [True, True, True]
    assert keep_learn.tolist() == [True]
    assert learn_features


def test_features_written_by_predict_before_reading():
    predict = code((ops.SCALAR_BROADCAST_OP, 2, 0, 0), (ops.VECTOR_MEAN_OP, 0, 0, 1))
    learn = code((ops.VECTOR_NORM_OP, 0, 0, 2),)
    keep_predict, keep_learn, predict_features, learn_features = live_instructions(predict, learn, 3, 1, 0)
    assert keep_predict.all() and keep_learn.all()
    assert not predict_features and learn_features


def test_rejects_addresses_outside_memory():
    with pytest.raises(ValueError, match="learn"):
        live_instructions(code(), code((ops.SCALAR_SUM_OP, 0, 0, 7),), 4, 1, 0)


@pytest.mark.parametrize("F", [2, 8, 16])
def test_lanes_skipping_dead_instructions_equal_the_executor(F):
    # Random programs are full of dead instructions; each task's fitness and the step count must still be the
    # one-task executor's (run_executor never skips anything).
    memory = (6, 4, 3)
    tasks = [make_task(F, 40, 12, seed) for seed in range(5)]
    rng = np.random.default_rng(11)
    programs = []
    for _ in range(60):
        alg = random_program(rng, *memory, max_sizes=(6, 10, 14))
        programs.append((alg.setup, without_random_ops(alg.predict), without_random_ops(alg.learn)))
    pruned = sum(int((~np.concatenate(live_instructions(p, l, *memory)[:2])).sum()) for _, p, l in programs)
    assert pruned > 100   # the case exercises the pruning
    for level in LANE_LEVELS:
        previous = set_simd_level(level, min_features_size=2)
        try:
            ev = Evaluator(tasks, num_scalars=memory[0], num_vectors=memory[1], num_matrices=memory[2])
            stream = RandomGenerator(3)
            expected_stream = RandomGenerator(3)
            expected_steps = 0
            for program in programs:
                fitness = ev.evaluate_per_task(*program, stream)
                for t, task in enumerate(tasks):
                    result = run_executor(*program, task, 40, 12, expected_stream, 100.0, *memory)
                    assert fitness[t].tobytes() == np.float64(result.fitness).tobytes()
                    expected_steps += result.train_steps
            assert ev.num_train_steps == expected_steps
            assert stream.get_state().tolist() == expected_stream.get_state().tolist()
        finally:
            set_simd_level(previous)


def test_the_compiled_buffers_refuse_impossible_sizes():
    from azero._core.liveness import LiveCode
    from azero._core.memo import ProgramMemo
    with pytest.raises(ValueError, match="num_scalars must be an integer in 2 .. 65536, got -5"):
        LiveCode(-5, 3, 2)
    with pytest.raises(ValueError, match="num_tasks must be >= 1, got 0"):
        ProgramMemo(0)
