"""azero.export_runtime, imported directly: its random stream, arithmetic and training loop equal the compiled
generator and executor bit for bit (the exporter copies this module's source into every exported program)."""
import ast
import textwrap
from importlib.resources import files

import numpy as np
import pytest

from azero import export_runtime as runtime
from azero._core.executor import run_executor
from azero._core.rng import RandomGenerator
from azero.algorithm import Algorithm
from azero.tasks import FEATURE_SIZES, Task


def test_imports_nothing_from_azero():
    """The runtime is copied into standalone modules: only the standard library's math and NumPy."""
    tree = ast.parse(files("azero").joinpath("export_runtime.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert imported == {"math", "numpy"}


def test_ziggurat_tables_are_those_of_the_compiled_generator():
    text = files("azero._core").joinpath("gaussian_ziggurat_tables.txt").read_text(encoding="ascii")
    rows = {fields[0]: tuple(float(v) for v in fields[1:]) for fields in map(str.split, text.splitlines())
            if fields and fields[0] in ("x", "f")}
    assert (runtime._ZG_X, runtime._ZG_F) == (rows["x"], rows["f"])
    assert runtime._KR == runtime._ZG_X[1]


@pytest.mark.parametrize("seed", [1, 99, 2**32 - 1])
def test_random_stream_equals_the_compiled_generator(seed):
    ours, theirs = runtime.Random(seed), RandomGenerator(seed)
    assert [ours.next64() for _ in range(400)] == [theirs.next_u32() << 32 | theirs.next_u32() for _ in range(400)]
    normals = np.array([ours.gaussian(-1.0, 0.5) for _ in range(60_000)])
    assert normals.tobytes() == theirs.gaussian_array(60_000, -1.0, 0.5).tobytes()
    assert np.abs(normals + 1.0).max() / 0.5 > runtime._KR      # the tail was drawn
    for lo, hi in ((0.0, 1.0), (-3.0, 7.5), (2.0, 2.0), (1.0, -1.0)):
        assert [ours.uniform(lo, hi) for _ in range(200)] == [theirs.uniform_open(lo, hi) for _ in range(200)]


# Every reduction helper (each has its own order per F) on values that change with every example, all of them
# feeding the prediction; random ops in Setup, learning in Learn.
PROGRAM = """
def Setup():
  s2 = 0.01
  v1 = gaussian(0.5, 1.5, n_features)
  m1 = gaussian(-0.25, 1.0, (n_features, n_features))
  s9 = uniform(-1.0, 1.0)
def Predict():
  s3 = dot(v0, v1)
  v2 = dot(m1, v0)
  m2 = outer(v2, v1)
  s4 = norm(m2)
  s5 = mean(m2)
  s6 = std(m2)
  v3 = norm(m2, axis=0)
  s7 = std(v0)
  s8 = mean(v3)
  s10 = s4 + s5
  s10 = s10 + s6
  s10 = s10 + s7
  s10 = s10 + s8
  s10 = s10 * s2
  s1 = s3 + s10
  s1 = s1 + s9
def Learn():
  s11 = s0 - s1
  s11 = s2 * s11
  v4 = s11 * v0
  v1 = v1 + v4
  m0 = matmul(m2, m1)
  s12 = norm(m0)
  s13 = s12 / s4
"""
NUM_SCALARS, NUM_VECTORS, NUM_MATRICES = 14, 5, 3


def python_program(F: int) -> dict:
    """PROGRAM written by hand with the runtime's helpers, as a namespace for the runtime's loop."""
    p: dict = {}
    rng = runtime._RNG

    def setup():
        p.update({f"s{i}": 0.0 for i in range(NUM_SCALARS)})
        p.update({f"v{i}": [0.0] * F for i in range(NUM_VECTORS)})
        p.update({f"m{i}": [[0.0] * F for _ in range(F)] for i in range(NUM_MATRICES)})
        p["s2"] = 0.01
        p["v1"] = [rng.gaussian(0.5, 1.5) for _ in range(F)]
        p["m1"] = [[rng.gaussian(-0.25, 1.0) for _ in range(F)] for _ in range(F)]
        p["s9"] = rng.uniform(-1.0, 1.0)

    def predict(x):
        p["v0"], p["s0"] = runtime._features(x), 0.0
        p["s3"] = runtime._dot(p["v0"], p["v1"])
        p["v2"] = runtime._matvec(p["m1"], p["v0"])
        p["m2"] = [[a * b for b in p["v1"]] for a in p["v2"]]
        p["s4"] = runtime._mat_norm(p["m2"])
        p["s5"] = runtime._mat_sum(p["m2"]) / (F * F)
        p["s6"] = runtime._mat_std(p["m2"])
        p["v3"] = runtime._column_norms(p["m2"])
        p["s7"] = runtime._std(p["v0"])
        p["s8"] = runtime._vec_sum(p["v3"]) / F
        p["s10"] = (((p["s4"] + p["s5"]) + p["s6"]) + p["s7"] + p["s8"]) * p["s2"]
        p["s1"] = (p["s3"] + p["s10"]) + p["s9"]
        return p["s1"]

    def learn(x, y):
        p["v0"], p["s0"] = runtime._features(x), float(y)
        p["s11"] = p["s2"] * (p["s0"] - p["s1"])
        p["v4"] = [e * p["s11"] for e in p["v0"]]
        p["v1"] = [a + b for a, b in zip(p["v1"], p["v4"])]
        p["m0"] = runtime._matmul(p["m2"], p["m1"])
        p["s12"] = runtime._mat_norm(p["m0"])
        p["s13"] = runtime._div(p["s12"], p["s4"])

    p.update(setup=setup, predict=predict, learn=learn, seed=runtime.seed)
    return p


@pytest.mark.parametrize("eval_type", ["rms_error", "accuracy"])
@pytest.mark.parametrize("F", FEATURE_SIZES)
def test_loop_and_helpers_equal_the_executor(F, eval_type, monkeypatch):
    monkeypatch.setattr(runtime, "F", F)
    alg = Algorithm.from_text(textwrap.dedent(PROGRAM))
    rng = np.random.default_rng(F)
    x = rng.normal(size=(60, F))
    y = x @ rng.normal(size=F) if eval_type == "rms_error" else (x[:, 0] > 0).astype(np.float64)
    task = Task(x[:40], y[:40], x[40:], y[40:], eval_type=eval_type, num_train_epochs=2, data_seed=F)
    seed = 1000 + F
    runtime.seed(seed + 1)     # the loop seeds the stream through the program's seed()
    program = python_program(F)
    fitness = runtime._fitness(program, task.train_features, task.train_labels, task.valid_features,
                               task.valid_labels, eval_type, seed, 100.0, None, None, task.epoch_orders)
    result = run_executor(alg.setup, alg.predict, alg.learn, task, 80, 20, RandomGenerator(seed),
                          num_scalars=NUM_SCALARS, num_vectors=NUM_VECTORS, num_matrices=NUM_MATRICES)
    assert fitness > 0.0
    assert np.float64(fitness).tobytes() == np.float64(result.fitness).tobytes()
    for bank, size, stored in (("s", NUM_SCALARS, result.scalars), ("v", NUM_VECTORS, result.vectors),
                               ("m", NUM_MATRICES, result.matrices)):
        assert np.array([program[f"{bank}{i}"] for i in range(size)]).tobytes() == stored.tobytes()
