"""Program analysis: simplify keeps the exact fitness and removes only dead code; slot descriptions."""
import textwrap

import numpy as np
import pytest

import azero
from azero import algorithms, program_analysis
from azero._core import ops
from azero._core.evaluator import Evaluator
from azero._core.executor import run_executor
from azero._core.rng import RandomGenerator
from azero.algorithm import Algorithm, ProgramError
from azero.tasks import Task, TaskSpec, make_tasks
from programs import random_program


def classification_task(rng: np.random.Generator, F: int, n_train: int, n_valid: int, epochs: int = 1) -> Task:
    x = rng.normal(size=(n_train + n_valid, F))
    y = (x[:, 0] + 0.3 * rng.normal(size=len(x)) > 0).astype(np.float64)
    return Task(x[:n_train], y[:n_train], x[n_train:], y[n_train:], eval_type="accuracy",
                num_train_epochs=epochs, data_seed=int(rng.integers(1, 1000)))


def same_bits(a, b) -> bool:
    return np.asarray(a, dtype=np.float64).tobytes() == np.asarray(b, dtype=np.float64).tobytes()


def assert_same_behaviour(alg: Algorithm, simple: Algorithm, tasks, seed: int, memory: dict) -> None:
    """Same fitness per task and combined, and the same recorded train/valid errors on the first task."""
    evaluator = Evaluator(tasks, **memory)
    assert same_bits(evaluator.evaluate_per_task(alg.setup, alg.predict, alg.learn, RandomGenerator(seed)),
                     evaluator.evaluate_per_task(simple.setup, simple.predict, simple.learn, RandomGenerator(seed)))
    assert azero.evaluate(alg, tasks, seed=seed, **memory) == azero.evaluate(simple, tasks, seed=seed, **memory)
    runs = [run_executor(a.setup, a.predict, a.learn, tasks[0], 40, 30, RandomGenerator(seed), record=True, **memory)
            for a in (alg, simple)]
    assert same_bits(runs[0].train_errors, runs[1].train_errors)
    assert same_bits(runs[0].valid_errors, runs[1].valid_errors)


TASK_SETS = {
    "linear F=4": lambda rng: make_tasks(TaskSpec(kind="scalar_linear_regression", features_size=4,
                                                  num_train_examples=50, num_valid_examples=20, num_tasks=2)),
    "nn F=8": lambda rng: make_tasks(TaskSpec(kind="scalar_2layer_nn_regression", features_size=8,
                                              num_train_examples=40, num_valid_examples=20, num_tasks=2)),
    "increment F=2, 2 epochs": lambda rng: make_tasks(TaskSpec(kind="unit_test_increment", features_size=2,
                                                               num_train_examples=30, num_valid_examples=10,
                                                               increment=0.1, num_train_epochs=2)),
    "accuracy F=16, 3 epochs": lambda rng: [classification_task(rng, 16, 40, 20, epochs=3)],
    "accuracy F=32": lambda rng: [classification_task(rng, 32, 30, 10)],
}


@pytest.mark.parametrize("task_set", sorted(TASK_SETS))
def test_simplify_keeps_the_fitness_of_random_programs(task_set):
    rng = np.random.default_rng(sorted(TASK_SETS).index(task_set))
    tasks = TASK_SETS[task_set](rng)
    removed = total = nonzero = 0
    for _ in range(250):
        S, V, M = int(rng.integers(2, 8)), int(rng.integers(1, 8)), int(rng.integers(0, 5))
        memory = dict(num_scalars=S, num_vectors=V, num_matrices=M)
        alg = random_program(rng, S, V, M)
        simple = program_analysis.simplify(alg, **memory)
        assert_same_behaviour(alg, simple, tasks, int(rng.integers(1, 2**31)), memory)
        assert not (np.concatenate(simple.functions)["op"] == ops.NO_OP).any()
        removed += sum(alg.sizes) - sum(simple.sizes)
        total += sum(alg.sizes)
        nonzero += azero.evaluate(alg, tasks, seed=1, **memory) != 0.0
    assert 0.3 * total < removed < total   # random programs hold much dead code, but not only dead code
    assert nonzero > 100                   # and most of them do not fail outright


def program(text: str, memory=(20, 20, 20)) -> Algorithm:
    return Algorithm.from_text(textwrap.dedent(text), *memory)


def test_simplify_removes_dead_code_by_memory_persistence():
    alg = program("""
        def Setup():
          s2 = 0.5
          s2 = 0.25
          s0 = 3.0
          v3 = bcast(s2)
          NoOp()
        def Predict():
          s0 = s0 + s2
          s4 = sin(s0)
          s5 = cos(s2)
          v0 = s4 * v0
          s1 = dot(v0, v3)
          s6 = s0 - s4
        def Learn():
          s0 = s0 * s2
          s7 = s1 - s0
          v3 = s7 * v0
          s8 = exp(s7)
          NoOp()
        """)
    assert program_analysis.simplify(alg).to_text() == textwrap.dedent("""\
        def Setup():
          s2 = 0.25
          v3 = bcast(s2)
        def Predict():
          s0 = s0 + s2
          s4 = sin(s0)
          v0 = s4 * v0
          s1 = dot(v0, v3)
        def Learn():
          s0 = s0 * s2
          s7 = s1 - s0
          v3 = s7 * v0
        """)


def test_simplify_follows_values_across_calls():
    # Predict does not write s1: Learn's s1 is the next prediction. s3 written in Learn reaches Predict only
    # through the next call; s0 and v0 written in Learn never reach Predict (overwritten before it).
    alg = program("""
        def Setup():
          s3 = 2.0
        def Predict():
          s2 = s3 * s0
          v2 = s3 * v0
        def Learn():
          s1 = s3 * s1
          s3 = s3 + s2
          s0 = 5.0
          v0 = v2 + v0
          s4 = 1.0
        """)
    assert program_analysis.simplify(alg).to_text() == textwrap.dedent("""\
        def Setup():
          s3 = 2.0
        def Predict():
          s2 = s3 * s0
        def Learn():
          s1 = s3 * s1
          s3 = s3 + s2
        """)


def test_simplify_keeps_entry_sets_until_a_full_write():
    text = textwrap.dedent("""\
        def Setup():
          v2[0.1] = 1.5
          v3[0.1] = 2.0
          v3 = bcast(s2)
          m1[0.6, 0.1] = 0.5
          v2[0.9] = 3.0
        def Predict():
          v4 = dot(m1, v0)
          v4 = v4 + v3
          s1 = dot(v2, v4)
        def Learn():
          v2[0.5] = 1.0
          v5[0.5] = 1.0
          v3[0.3] = -1.0
        """)
    # Dropped: the entry set that bcast overwrites whole before any read, and the one into v5, never read.
    dropped = ("  v3[0.1] = 2.0\n", "  v5[0.5] = 1.0\n")
    kept = "".join(line for line in text.splitlines(keepends=True) if line not in dropped)
    assert program_analysis.simplify(program(text)).to_text() == kept


def test_simplify_random_ops_are_all_kept_when_one_is_live():
    live = program("""
        def Setup():
          s3 = gaussian(0.0, 1.0)
          v4 = uniform(-1.0, 1.0, n_features)
          s2 = uniform(0.0, 1.0)
        def Predict():
          s1 = s2 + s1
        def Learn():
          m1 = gaussian(0.0, 0.5, (n_features, n_features))
        """)
    simple = program_analysis.simplify(live)
    assert simple == live
    dead = program("""
        def Setup():
          s3 = gaussian(0.0, 1.0)
          v4 = uniform(-1.0, 1.0, n_features)
          s2 = 0.5
        def Predict():
          s1 = s2 + s1
        def Learn():
          m1 = gaussian(0.0, 0.5, (n_features, n_features))
        """)
    assert program_analysis.simplify(dead).to_text() == (
        "def Setup():\n  s2 = 0.5\ndef Predict():\n  s1 = s2 + s1\ndef Learn():\n")


def test_simplify_of_hand_designed_models_only_drops_padding():
    for model in (algorithms.linear(), algorithms.neural_net()):
        assert program_analysis.simplify(algorithms.pad(model, 10, 10, 20)) == model
    # the data-generating net of the nonlinear tasks: its Learn cannot affect a prediction
    teacher = algorithms.unit_test_neural_net_no_bias_no_gradient()
    assert program_analysis.simplify(teacher).sizes == (1, 3, 9)


def test_simplify_checks_addresses():
    with pytest.raises(ProgramError, match="out of range"):
        program_analysis.simplify(algorithms.neural_net(), 4, 3, 1)


def test_describe_slots_says_where_each_slot_is_written_and_read():
    assert {program_analysis.slot_name(slot): text for slot, text in program_analysis.describe_slots(algorithms.linear()).items()} == {
        "s0": "label (0.0 in Predict, the true label in Learn), read in Learn",
        "s1": "prediction (read after Predict; a logit for accuracy tasks), written in Predict, read in Learn",
        "s2": "written in Setup, read in Learn",
        "s3": "written in Learn, read in Learn",
        "v0": "features of the current example, read in Predict and Learn",
        "v1": "written in Learn, read in Predict and Learn",
        "v2": "written in Learn, read in Learn",
    }
    nn = program_analysis.describe_slots(algorithms.neural_net())
    assert nn[(ops.VECTOR, 5)] == "never written (stays 0.0), read in Predict"
    assert nn[(ops.MATRIX, 0)] == "written in Setup and Learn, read in Predict and Learn"
