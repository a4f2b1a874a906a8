"""The package type-checks: mypy (the settings of pyproject.toml) against the stubs of the compiled modules."""
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
COMPILED = ("rng", "executor", "evaluator", "fec", "mutator", "evolution", "estimator", "liveness", "memo",
            "lanes_sse2", "lanes_avx2", "lanes_avx512")


def test_every_compiled_module_has_a_stub_and_the_package_is_marked_typed():
    core = ROOT / "azero" / "_core"
    assert sorted(p.stem for p in core.glob("*.pyx")) == sorted(COMPILED)
    assert sorted(p.stem for p in core.glob("*.pyi")) == sorted(COMPILED)
    assert (ROOT / "azero" / "py.typed").is_file()


def test_mypy_passes_on_the_package():
    result = subprocess.run([sys.executable, "-m", "mypy", "azero"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"
    assert result.stdout.startswith("Success: no issues found")


def test_empty_arrays_cross_the_typed_memoryview_boundaries():
    """Zero-length programs, banks, examples, epochs and rows reach the compiled code (as NULL pointers that
    the kernels never read) with the results the ctypes-pointer boundaries gave."""
    from types import SimpleNamespace

    from azero._core import INSTRUCTION_DTYPE
    from azero._core.estimator import fit_program, predict_program
    import azero.presets
    from azero._core.evaluator import Evaluator
    from azero._core.evolution import RegularizedEvolution
    from azero._core.executor import execute_ops, run_executor
    from azero._core.rng import RandomGenerator
    from azero._core.ops import SCALAR_SUM_OP
    from azero.search import build_mutator
    from azero.tasks import Task

    F = 4
    empty = np.zeros(0, INSTRUCTION_DTYPE)
    add = np.zeros(1, INSTRUCTION_DTYPE)
    add["op"], add["out"] = SCALAR_SUM_OP, 1
    task = Task(np.ones((12, F)), np.ones(12), np.ones((3, F)), np.ones(3), eval_type="rms_error")
    result = run_executor(empty, empty, empty, task, 12, 3, RandomGenerator(1))
    assert (result.fitness, result.train_steps) == (0.5, 12)
    result = run_executor(empty, add, empty, task, 0, 0, RandomGenerator(1), num_matrices=0)
    assert (result.fitness, result.train_steps, result.matrices.shape) == (0.0, 0, (0, F, F))
    no_examples = SimpleNamespace(features_size=F, eval_type_code=1, num_epochs=1,
                                  train_features=np.ones((0, F)), train_labels=np.ones(0),
                                  valid_features=np.ones((0, F)), valid_labels=np.ones(0),
                                  epoch_orders=np.zeros((1, 0), np.int64))
    result = run_executor(empty, add, empty, no_examples, 5, 5, RandomGenerator(1))
    assert (result.fitness, result.train_steps) == (0.0, 0)
    execute_ops(empty, F, np.zeros(0), np.zeros((0, F)), np.zeros((0, F, F)), RandomGenerator(1))
    evaluator = Evaluator([task])
    assert evaluator.evaluate(empty, empty, empty, RandomGenerator(1)) == 0.5
    memory = np.zeros(20), np.zeros((20, F)), np.zeros((20, F, F))
    steps, state = fit_program(empty, add, empty, np.ones((5, F)), np.ones(5), np.zeros((0, 5), np.int64), False,
                               7, *memory)
    assert (steps, state[-1]) == (0, 624)
    assert predict_program(add, np.ones((0, F)), *memory, state).shape == (0,)
    assert predict_program(empty, np.ones((2, F)), *memory, state).tolist() == [0.0, 0.0]
    rows_of_nothing = RegularizedEvolution(evaluator, build_mutator(azero.presets.load("linear_integration")),
                                           RandomGenerator(1), 3, 2, (empty, empty, empty), (0, 0, 0))
    rows_of_nothing.init_population()
    assert rows_of_nothing.row_length == 0 and rows_of_nothing.stats() == (0.5, 0.0, 0.5, 0)
