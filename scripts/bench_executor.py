"""Executor throughput: ns per executed instruction per task, for fixed programs and tasks, F = 4, 8, 16, 32.

Programs: the linear model and the neural net of docs/semantics.md §8.5 (written as instruction records) and one fixed random
program (ops 1-58 in Predict/Learn, random set ops in Setup, every result folded into s1 = heaviside(...) so that
nothing is dead and nothing stops early). "Instructions" are the program's; where the lane kernel skips dead ones
(azero._core.liveness) it runs fewer, and the script prints how many of them are live.
Tasks: random-normal features, labels from a random linear map, 1000 train / 100 valid examples.

Two columns: "one task" runs the executor on one task (azero._core.executor.time_executor, whole evaluations);
"10 tasks" runs an Evaluator over 10 such tasks (the lane kernel, where this checkout has one) and takes the cost
of 1000 more train steps per task (2000- against 1000-example tasks), so that the fixed cost of each Python
evaluate() call does not count.

    .venv/bin/python scripts/bench_executor.py [--seconds 1.0] [--checkout DIR] [--only linear:16,random:32]

Side by side (`--compare OTHER`): each (program, F) is measured in fresh processes, alternating this checkout
(A) and the checkout OTHER (B) `--runs` times (A B A B ...); prints the median "10 tasks" ns/instr of each side,
the ratio B/A, and whether both computed the same fitness.

    .venv/bin/python scripts/bench_executor.py --compare /path/to/other/checkout [--runs 3] [--seconds 0.5]
"""
import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ("linear", "neural_net", "random")
FEATURE_SIZES = (4, 8, 16, 32)


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
    """The three component functions as INSTRUCTION_DTYPE arrays (imported from the measured checkout)."""
    from azero._core import INSTRUCTION_DTYPE

    def fn(rows):
        arr = np.zeros(len(rows), INSTRUCTION_DTYPE)
        for k, row in enumerate(rows):
            for name, value in zip(("op", "in1", "in2", "out", "activation", "f0", "f1"), row):
                arr[k][name] = value
        return arr
    return fn(setup), fn(predict), fn(learn)


# (op, in1, in2, out[, activation, f0, f1]) rows, docs/semantics.md §8.5.
LINEAR = (
    [(56, 0, 0, 2, 0.01)],
    [(27, 1, 0, 1)],
    [(2, 0, 1, 3), (3, 2, 3, 3), (18, 3, 0, 2), (23, 1, 2, 1)],
)
NEURAL_NET = (
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
    """Fixed random program: Predict/Learn of `size` ops 1-58 each, random in-range addresses, each followed by
    folding every address it wrote into s8, v9 or m3; Predict ends with s1 = heaviside(s8). So (nearly) every instruction's
    result reaches the prediction (nothing is skipped as dead), and s1 in {0, 1} never stops training early."""
    rs = np.random.RandomState(seed)
    num = dict(zip("svm", MEMORY["random"]))
    written = set()

    def rows(ops):
        out = []
        for op in ops:
            banks = BANKS[op - 1]
            addr = [int(rs.randint(num[b])) if b != "-" else 0 for b in banks[:2]]
            o = banks[2]
            address = int(rs.randint(2, num[o] - 2) if o == "s" else rs.randint(1 if o == "v" else 0, num[o] - 1))
            written.add((o, address))
            out.append((op, addr[0], addr[1], address, float(rs.uniform(-1, 1)), float(rs.uniform(0, 1)),
                        float(rs.uniform(-1, 1))))
        return out

    fold = {"s": (1, 8), "v": (23, 9), "m": (39, 3)}   # (sum op, accumulator)

    def folded(ops):
        written.clear()
        code = rows(ops)
        for bank, address in sorted(written):
            op, acc = fold[bank]
            code.append((op, acc, address, acc))
        return code

    predict, learn = folded(rs.randint(1, 59, size)), folded(rs.randint(1, 59, size))
    predict += [(50, 9, 0, 9), (1, 8, 9, 8), (51, 3, 0, 9), (1, 8, 9, 8), (15, 8, 0, 1)]
    setup = [(63, 0, 0, 2, 0.0, 0.0, 0.5), (64, 0, 0, 1, 0.0, 0.0, 0.5), (62, 0, 0, 3, 0.0, 0.0, 1.0)]
    return program(setup, predict, learn)


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
    from azero._core.evaluator import Evaluator
    from azero._core.executor import run_executor, time_executor
    from azero._core.rng import RandomGenerator

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

    # 10 tasks: the marginal cost of 1000 more train steps per task (evaluators over 1000- and 2000-example
    # tasks), which leaves out the fixed cost of each evaluate() call (program checks, validation).
    seconds_per_evaluation = []
    for n_train in (1000, 2000):
        tasks = [BenchTask(F, n_train=n_train, seed=i) for i in range(10)]
        evaluator = Evaluator(tasks, num_scalars=memory[0], num_vectors=memory[1], num_matrices=memory[2])
        rng = RandomGenerator(1)
        fitness = evaluator.evaluate(*code, rng)
        if n_train == 1000:
            assert evaluator.num_train_steps == 10 * check.train_steps
            reported_fitness = fitness
        seconds_per_evaluation.append(calibrated(lambda: evaluator.evaluate(*code, rng), seconds))
    per_step = len(code[1]) + len(code[2])
    many = (seconds_per_evaluation[1] - seconds_per_evaluation[0]) / (10 * 1000 * per_step)
    print(f"{name:11s} F={F:2d}  fitness={check.fitness:.6f}  one task {one * 1e9:6.2f} ns/instr   "
          f"10 tasks {many * 1e9:6.2f} ns/instr per task  (10-task fitness {reported_fitness!r}; "
          f"{live_share(code, memory)})",
          flush=True)


def live_share(code, memory) -> str:
    """How many Predict/Learn instructions the lane kernel runs (the rest are dead: azero._core.liveness)."""
    try:
        from azero._core.liveness import live_instructions
    except ImportError:   # a checkout that runs every instruction
        return "no dead-code skipping"
    keep_predict, keep_learn = live_instructions(code[1], code[2], *memory)[:2]
    return f"live {int(keep_predict.sum() + keep_learn.sum())}/{len(keep_predict) + len(keep_learn)}"


LINE = re.compile(r"^(\w+)\s+F=\s*(\d+) .* one task\s+(-?[0-9.]+) ns/instr\s+10 tasks\s+(-?[0-9.]+) ns/instr per task"
                  r"\s+\(10-task fitness (\S+);")


def measure(checkout: str, configs: list[str], seconds: float) -> dict[tuple[str, int], tuple[float, float, str]]:
    """(program, F) -> (one-task ns, 10-task ns, 10-task fitness) from a fresh process importing `checkout`."""
    command = [sys.executable, str(Path(__file__).resolve()), "--checkout", checkout, "--seconds", str(seconds),
               "--only", ",".join(configs)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{checkout}: bench_executor failed:\n{result.stderr}")
    figures = {}
    for line in result.stdout.splitlines():
        match = LINE.match(line)
        if match:
            name, F, one, many, fitness = match.groups()
            figures[(name, int(F))] = (float(one), float(many), fitness)
    return figures


def compare(args: argparse.Namespace, configs: list[str]) -> None:
    sides = {"A": str(ROOT), "B": str(Path(args.compare).resolve())}
    print(f"A = {sides['A']}\nB = {sides['B']}\n{args.runs} runs per side, alternating A B A B; "
          f"10 tasks, ns per executed instruction per task, median (min - max); B/A > 1: A is faster")
    print(f"{'program':11s} {'F':>3s} {'A':>24s} {'B':>24s} {'B/A':>6s}  same fitness")
    for config in configs:
        runs = {"A": [], "B": []}
        for _ in range(args.runs):
            for side in ("A", "B"):
                runs[side].append(measure(sides[side], [config], args.seconds))
        name, F = config.split(":")
        key = (name, int(F))
        many = {side: [r[key][1] for r in runs[side]] for side in runs}
        fitness = {r[key][2] for side in runs for r in runs[side]}
        cell = {side: f"{statistics.median(v):7.2f} ({min(v):.2f} - {max(v):.2f})" for side, v in many.items()}
        ratio = statistics.median(many["B"]) / statistics.median(many["A"])
        print(f"{name:11s} {F:>3s} {cell['A']:>24s} {cell['B']:>24s} {ratio:5.2f}x  "
              f"{'yes' if len(fitness) == 1 else 'NO'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--checkout", default=str(ROOT), help="checkout whose azero is measured (default: this one)")
    parser.add_argument("--only", default="", help="comma-separated program:F pairs (default: all)")
    parser.add_argument("--compare", metavar="OTHER", help="checkout directory to measure side by side with")
    parser.add_argument("--runs", type=int, default=3, help="runs per side with --compare")
    args = parser.parse_args()
    configs = args.only.split(",") if args.only else [f"{n}:{F}" for n in PROGRAMS for F in FEATURE_SIZES]
    for config in configs:
        name, _, F = config.partition(":")
        if name not in PROGRAMS or not F.isdigit() or int(F) not in FEATURE_SIZES:
            sys.exit(f"--only: {config!r} is not program:F with program in {PROGRAMS} and F in {FEATURE_SIZES}")
    if args.compare:
        compare(args, configs)
        return
    sys.path.insert(0, str(Path(args.checkout).resolve()))  # run from a checkout without installing
    try:
        from azero._core.evaluator import simd_level
        level = simd_level()
    except ImportError:   # a checkout without the lane kernel
        level = "none"
    try:   # a checkout that runs only live instructions: time every instruction, as the counts assume
        from azero._core.evaluator import set_dead_code_elimination
        set_dead_code_elimination(False)
    except ImportError:
        pass
    print(f"checkout {args.checkout}; lane kernel SIMD level: {level}")
    codes = {"linear": program(*LINEAR), "neural_net": program(*NEURAL_NET), "random": random_program()}
    for config in configs:
        name, F = config.split(":")
        bench(name, codes[name], int(F), args.seconds)


if __name__ == "__main__":
    main()
