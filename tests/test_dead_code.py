"""Evaluations run only a program's live instructions and reuse recent results of the same live program; the
FEC keys of an evaluation are hashed side by side. None of it may change a bit: per-task fitness, train steps,
the caller's random stream afterwards, and the FEC's keys, values, counts and LRU order are compared with an
evaluator that runs every instruction.
"""
import numpy as np
import pytest

from azero._core import ops
from azero._core import INSTRUCTION_DTYPE
from azero._core.evaluator import Evaluator, set_dead_code_elimination, set_simd_level, simd_level
from azero._core.executor import run_executor
from azero._core.fec import fec_hash
from azero._core.rng import RandomGenerator
from programs import random_program
from test_lanes import evaluation_bits, make_task

FEC_SEED = 235732282


def with_no_ops(function, count):
    """The component function with `count` NO_OPs appended: the same live program, a different budget cost."""
    return np.concatenate([function, np.zeros(count, dtype=INSTRUCTION_DTYPE)])


def workload(seed, count, memory):
    """Random programs over all ops (writes to s0, s1 and v0 included), then repeats and NO_OP-padded copies."""
    rng = np.random.default_rng(seed)
    code = []
    for _ in range(count):
        alg = random_program(rng, *memory, max_sizes=(6, 8, 10))
        code.append((alg.setup, alg.predict, alg.learn))
    padded = [(s, with_no_ops(p, 1), with_no_ops(l, 2)) for s, p, l in code[:count // 2]]
    return code + code[::3] + padded + code[1::4]


def run(tasks, code, memory, eliminate, level, **evaluator_args):
    previous_elimination = set_dead_code_elimination(eliminate)
    previous_level = set_simd_level(level)
    try:
        return evaluation_bits(tasks, code, memory, 11, **evaluator_args)
    finally:
        set_dead_code_elimination(previous_elimination)
        set_simd_level(previous_level)


def assert_same_as_every_instruction(tasks, code, memory, **evaluator_args):
    for level in ("off", simd_level()):
        expected = run(tasks, code, memory, False, level, **evaluator_args)
        assert any(f != 0 for per_task in expected[0] for f in per_task)   # some programs learn something
        assert run(tasks, code, memory, True, level, **evaluator_args) == expected, level


@pytest.mark.parametrize("F", [2, 4, 8])
def test_live_code_gives_identical_results_with_fec(F):
    memory = (5, 4, 2)
    # Label scales up to 300 against max_abs_error 100: pre-runs and main runs stop early at different steps.
    tasks = [make_task(F, 40, 15, 10 * F + i, label_scale=(1.0, 30.0, 300.0)[i % 3]) for i in range(10)]
    code = workload(F, 40, memory)
    for cache_size, forget_every in ((8, 3), (1000, 100)):
        assert_same_as_every_instruction(tasks, code, memory, fec=(10, 10, cache_size, forget_every))


def test_live_code_with_epochs_accuracy_median_and_budget():
    memory = (4, 3, 2)
    tasks = [make_task(4, 12, 10, i, accuracy=(i % 2 == 1), num_epochs=1 + i % 3) for i in range(6)]
    costs = np.full(ops.NUM_OPS, 0.01)
    costs[ops.NO_OP] = 100.0   # the budget rejects the padded copies (and programs with NO_OPs), takes the rest
    code = workload(5, 40, memory)
    assert_same_as_every_instruction(tasks, code, memory, combine="median", budget=(20.0, 12.0, 2.0),
                                     op_costs=costs)
    for cache_size, forget_every in ((100, 0), (6, 2)):   # (6, 2): misses that reuse main runs
        assert_same_as_every_instruction(tasks, code, memory, fec=(10, 10, cache_size, forget_every),
                                         budget=(20.0, 12.0, 2.0), op_costs=costs)


def test_side_by_side_keys_equal_the_reference_hash():
    """Ten tasks (groups of four, the last one short) whose pre-runs record errors of different lengths."""
    memory = (4, 3, 1)
    tasks = [make_task(4, 30, 12, i, label_scale=(1.0, 40.0, 150.0, 400.0)[i % 4]) for i in range(10)]
    rng = np.random.default_rng(3)
    ev = Evaluator(tasks, num_scalars=4, num_vectors=3, num_matrices=1, fec=(10, 10, 1000, 0))
    lengths = set()
    for _ in range(30):
        alg = random_program(rng, *memory, max_sizes=(4, 4, 4))
        code = (alg.setup, alg.predict, alg.learn)
        before = set(ev.fec.get_state()[0].tolist())
        ev.evaluate(*code, RandomGenerator(1))
        for i, task in enumerate(tasks):
            pre = run_executor(*code, task, 10, 10, RandomGenerator(FEC_SEED), 100.0, *memory, record=True)
            lengths.add((len(pre.train_errors), len(pre.valid_errors)))
            key = fec_hash(pre.train_errors, pre.valid_errors, i, 30)
            assert key in before or key in set(ev.fec.get_state()[0].tolist())
    assert len(lengths) >= 3   # stops in training, in validation, and full records
