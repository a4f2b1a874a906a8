"""Executor throughput: ns per executed instruction per task, for fixed programs and tasks, F = 4, 8, 16, 32.

Programs: the linear model and the neural net of docs/semantics.md §8.5 (written as instruction records) and one fixed random
program (ops 1-58 in Predict/Learn, random set ops in Setup, s1 never written so nothing stops early).
Tasks: random-normal features, labels from a random linear map, 1000 train / 100 valid examples.

Two columns: "one task" runs the executor on one task (azero._core.executor.time_executor); "10 tasks" runs an
Evaluator over 10 such tasks (the lane kernel, where this checkout has one). Run it with PYTHONPATH pointing
at another checkout to get that checkout's figures (e.g. be4a981, before the lanes).

    .venv/bin/python scripts/bench_executor.py [--seconds 1.0]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from azero._core import INSTRUCTION_DTYPE
from azero._core.evaluator import Evaluator
from azero._core.executor import run_executor, time_executor
from azero._core.rng import RandomGenerator

try:
    from azero._core.evaluator import simd_level
except ImportError:   # a checkout without the lane kernel
    def simd_level() -> str:
        return "none"

try:   # a checkout that runs only live instructions: time every instruction here, as the counts assume
    from azero._core.evaluator import set_dead_code_elimination
except ImportError:
    def set_dead_code_elimination(enabled: bool) -> bool:
        return False


class BenchTask:
    """The Task attributes the executor reads."""

    def __init__(self, F: int, n_train: int = 1000, n_valid: int = 100, seed: int = 0):
        rs = np.random.RandomState(seed)
        weights = rs.standard_normal(F)
        self.features_size = F
        self.train_features = rs.standard_normal((n_train, F))
        self.valid_features = rs.standard_normal((n_valid, F))
        self.train_labels = self.train_features @ weights
        self.valid_labels = self.valid_features @ weights
        self.eval_type, self.eval_type_code = "rms_error", 1
        self.num_epochs = 1
        self.epoch_orders = np.arange(n_train)[None, :]


def program(setup, predict, learn):
    def fn(rows):
        arr = np.zeros(len(rows), INSTRUCTION_DTYPE)
        for k, row in enumerate(rows):
            for name, value in zip(("op", "in1", "in2", "out", "activation", "f0", "f1"), row):
                arr[k][name] = value
        return arr
    return fn(setup), fn(predict), fn(learn)


# (op, in1, in2, out[, activation, f0, f1]) rows, docs/semantics.md §8.5.
LINEAR = program(
    [(56, 0, 0, 2, 0.01)],
    [(27, 1, 0, 1)],
    [(2, 0, 1, 3), (3, 2, 3, 3), (18, 3, 0, 2), (23, 1, 2, 1)],
)
NEURAL_NET = program(
    [(63, 0, 0, 2, 0.0, 0.0, 0.1), (64, 0, 0, 0, 0.0, 0.0, 0.1), (56, 0, 0, 3, 0.01)],
    [(31, 0, 0, 3), (23, 3, 1, 3), (48, 3, 5, 4), (27, 4, 2, 1), (1, 1, 2, 1)],
    [(2, 0, 1, 4), (3, 3, 4, 4), (1, 2, 4, 2), (18, 4, 4, 6), (23, 2, 6, 2), (18, 4, 2, 7), (16, 3, 0, 8),
     (25, 8, 7, 7), (23, 1, 7, 1), (28, 7, 0, 1), (39, 0, 1, 0)],
)
MEMORY = {"linear": (4, 3, 1), "neural_net": (5, 9, 2), "random": (10, 10, 4)}

# Banks (in1, in2, out) per op 1-58: s/v/m, "-" unused.
BANKS = ("sss sss sss sss s-s s-s s-s s-s s-s s-s s-s s-s s-s s-s s-s v-v m-m svv s-v v-v v-s v-v vvv vvv vvv "
         "vvv vvs vvm smm m-m mvv v-m v-m m-s m-v m-v m-m m-m mmm mmm mmm mmm mmm sss vvv mmm sss vvv mmm v-s "
         "m-s m-v m-v v-s m-s --s --v --m").split()


def random_program(seed: int = 1, size: int = 10):
    """Fixed random program: Predict/Learn ops 1-58 with random in-range addresses, s0/s1/v0 never written."""
    rs = np.random.RandomState(seed)
    num = dict(zip("svm", MEMORY["random"]))

    def rows(ops):
        out = []
        for op in ops:
            banks = BANKS[op - 1]
            addr = [int(rs.randint(num[b])) if b != "-" else 0 for b in banks[:2]]
            o = banks[2]
            out.append((op, addr[0], addr[1], int(rs.randint(2 if o == "s" else 1, num[o])) if o != "m"
                        else int(rs.randint(num[o])), float(rs.uniform(-1, 1)), float(rs.uniform(0, 1)),
                        float(rs.uniform(-1, 1))))
        return out

    setup = [(63, 0, 0, 2, 0.0, 0.0, 0.5), (64, 0, 0, 1, 0.0, 0.0, 0.5), (62, 0, 0, 3, 0.0, 0.0, 1.0)]
    return program(setup, rows(rs.randint(1, 59, size)), rows(rs.randint(1, 59, size)))


def calibrated(run, seconds):
    """Seconds per call of run() (repeated for at least `seconds`)."""
    repeats = 1
    while True:
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        elapsed = time.perf_counter() - start
        if elapsed > seconds:
            return elapsed / repeats
        repeats *= 2 if elapsed > seconds / 8 else 8


def instructions_per_task(code, train_steps, n_valid=100, n_train=1000):
    """Executed instructions of one evaluation on one task."""
    n_setup, n_predict, n_learn = (len(c) for c in code)
    total = n_setup + train_steps * (n_predict + n_learn)
    if train_steps == n_train:  # validation ran
        total += n_valid * n_predict
    return total


def bench(name, code, F, seconds):
    task = BenchTask(F)
    memory = MEMORY[name]
    check = run_executor(*code, task, 1000, 100, RandomGenerator(1), 100.0, *memory)
    per_eval = instructions_per_task(code, check.train_steps)

    repeats = 4   # time_executor repeats in C: no Python overhead per evaluation
    while True:
        elapsed, _, steps = time_executor(*code, task, 1000, 100, RandomGenerator(1), repeats, 100.0, *memory)
        if elapsed > seconds:
            break
        repeats *= 2 if elapsed > seconds / 8 else 8
    assert steps == repeats * check.train_steps
    one = elapsed / (repeats * per_eval)

    tasks = [BenchTask(F, seed=i) for i in range(10)]
    evaluator = Evaluator(tasks, num_scalars=memory[0], num_vectors=memory[1], num_matrices=memory[2])
    rng = RandomGenerator(1)
    evaluator.evaluate(*code, rng)
    steps = evaluator.num_train_steps
    assert steps == 10 * check.train_steps
    many = calibrated(lambda: evaluator.evaluate(*code, rng), seconds) / (10 * per_eval)
    print(f"{name:11s} F={F:2d}  fitness={check.fitness:.6f}  one task {one * 1e9:6.2f} ns/instr   "
          f"10 tasks {many * 1e9:6.2f} ns/instr per task", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    print(f"lane kernel SIMD level: {simd_level()}")
    set_dead_code_elimination(False)
    for name, code in (("linear", LINEAR), ("neural_net", NEURAL_NET), ("random", random_program())):
        for F in (4, 8, 16, 32):
            bench(name, code, F, args.seconds)


if __name__ == "__main__":
    main()
