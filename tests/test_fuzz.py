"""Fuzz: random instruction arrays into every entry into compiled code, random damage to every file of a run
directory into every command that reads one. The rule: it works, or it gives a one-line error (naming the
file, for run files), and no file changes.

CI runs a small budget (290 examples; 28 s on the shared 2-core machine under load 15). For a nightly-size
run set AZERO_FUZZ_EXAMPLES (examples per test; 3400 gives 10,200 over the three tests, each example feeding
several entry points), random rather than derandomized: `AZERO_FUZZ_EXAMPLES=3400 pytest -q tests/test_fuzz.py`.
"""
import faulthandler
import hashlib
import io
import os
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

import azero
from azero import cli, presets
from azero._core import ops
from azero._core import INSTRUCTION_DTYPE
from azero._core.evaluator import Evaluator
from azero._core.evolution import RegularizedEvolution
from azero._core.rng import RandomGenerator
from azero.population import capacities, initial_model
from azero.runs.reader import load_run
from azero.runs.schema import RunStoreError
from azero.runs.writer import RunStore
from azero.search import Search, build_evaluator, build_mutator
from launch import StopAt

EXAMPLES = int(os.environ.get("AZERO_FUZZ_EXAMPLES", "0"))


def budget(ci: int) -> settings:
    """`ci` examples in CI, AZERO_FUZZ_EXAMPLES when set; no deadline (the machine may be loaded)."""
    return settings(max_examples=EXAMPLES or ci, deadline=None, derandomize=not EXAMPLES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


# ---------------------------------------------------------------------------------------------------------
# Instruction arrays

FIELD_TYPES = {"op": ("u1", "i8", "f8"), "in1": ("u2", "i4", "u8"), "in2": ("u2", "i4"), "out": ("u2", "i8"),
               "activation": ("f8", "f4", "i8"), "f0": ("f4", "f8"), "f1": ("f4",), "f2": ("f4", "i2")}
BIG = st.one_of(st.integers(0, 70), st.integers(-2**40, 2**40), st.sampled_from([255, 256, 65535, 65536, -1]))
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def instruction_arrays(draw) -> np.ndarray:
    """Mostly INSTRUCTION_DTYPE records with out-of-range ops and addresses; sometimes other dtypes, shapes,
    strides or plain numbers."""
    n = draw(st.integers(0, 12))
    kind = draw(st.sampled_from(["exact", "exact", "exact", "foreign", "plain", "2d", "strided"]))
    if kind == "plain":
        return np.array(draw(st.lists(BIG, max_size=n)), dtype=np.int64).astype(
            draw(st.sampled_from(["i8", "f8", "u1"])))
    if kind == "foreign":
        dtype = np.dtype([(name, draw(st.sampled_from(types))) for name, types in FIELD_TYPES.items()
                          if draw(st.integers(0, 20))])          # sometimes a field is missing
    else:
        dtype = INSTRUCTION_DTYPE
    array = np.zeros(n * (2 if kind == "strided" else 1), dtype=dtype)
    for name in dtype.names:
        values = draw(st.lists(FLOATS if dtype[name].kind == "f" else BIG, min_size=len(array), max_size=len(array)))
        with np.errstate(all="ignore"):     # values wrap or overflow into the field's type, as careless data does
            array[name] = np.array(values, dtype=np.float64 if dtype[name].kind == "f" else np.int64).astype(
                dtype[name], casting="unsafe")
    if kind == "exact" and n and draw(st.booleans()):
        array["op"] = np.array(draw(st.lists(st.integers(0, ops.NUM_OPS - 1), min_size=n, max_size=n)), dtype="u1")
        for name in ("in1", "in2", "out"):
            array[name] = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype="u2")
    if kind == "2d":
        return array.reshape(1, -1)
    if kind == "strided":
        return array[::2]
    return array


def refused_or_works(call) -> bool:
    """The call returns (True), or raises a ValueError (ProgramError, ConfigError, ...) or TypeError with one
    line (False)."""
    try:
        call()
        event("entry point: works")
        return True
    except (ValueError, TypeError) as error:
        assert "\n" not in str(error) and str(error)
        event("entry point: refused with one line")
        return False


@pytest.fixture(scope="module")
def machinery():
    cfg = presets.load("linear_integration").replace(population_size=10, tournament_size=2)
    tasks = azero.make_tasks(azero.TaskSpec(kind="scalar_linear_regression", features_size=4, num_train_examples=12,
                                            num_valid_examples=10, num_tasks=2, eval_type="rms_error"))
    initial, randomize = initial_model(cfg)
    mutator = build_mutator(cfg)
    evaluator = build_evaluator(cfg, tasks)
    evolution = RegularizedEvolution(evaluator, mutator, RandomGenerator(1), cfg.population_size,
                                     cfg.tournament_size, initial.functions, capacities(cfg, initial),
                                     randomize_initial=randomize)
    evolution.init_population()
    return dict(cfg=cfg, tasks=tasks, mutator=mutator, evaluator=evaluator, evolution=evolution,
                plain=Evaluator(tasks, num_scalars=4, num_vectors=3, num_matrices=1))


@budget(ci=150)
@given(setup=instruction_arrays(), predict=instruction_arrays(), learn=instruction_arrays(),
       memory=st.tuples(st.integers(-1, 8), st.integers(-1, 6), st.integers(-1, 4)), seed=BIG)
def test_random_programs_into_algorithm_evaluate_evaluator_and_mutator(machinery, setup, predict, learn, memory,
                                                                       seed):
    refused_or_works(lambda: azero.Algorithm.from_arrays(setup, predict, learn))
    try:
        alg = azero.Algorithm.from_arrays(setup, predict, learn)
    except azero.ProgramError:
        alg = None
    if alg is not None:
        refused_or_works(lambda: alg.validate(*memory))
        refused_or_works(lambda: alg.to_text())
        refused_or_works(lambda: azero.evaluate(alg, machinery["tasks"], seed=seed, num_scalars=memory[0],
                                                num_vectors=memory[1], num_matrices=memory[2]))
    rng = RandomGenerator(1)
    for evaluator in (machinery["plain"], machinery["evaluator"]):
        refused_or_works(lambda: evaluator.evaluate(setup, predict, learn, rng))
        refused_or_works(lambda: evaluator.evaluate_per_task(setup, predict, learn, rng))
    mutator = machinery["mutator"]
    refused_or_works(lambda: mutator.mutate_arrays(setup, predict, learn, rng, 3))
    refused_or_works(lambda: mutator.randomize_arrays(setup, predict, learn, rng))


@budget(ci=100)
@given(data=st.data())
def test_random_population_rows_into_restore(machinery, data):
    evolution = machinery["evolution"]
    programs, sizes, fitness = evolution.programs.copy(), evolution.sizes.copy(), evolution.fitness.copy()
    slot = data.draw(st.integers(0, len(fitness) - 1))
    row = data.draw(instruction_arrays())
    try:
        if row.dtype == INSTRUCTION_DTYPE and row.ndim == 1:
            n = min(len(row), evolution.programs.shape[1])
            evolution.programs[slot, :n] = row[:n]
        evolution.sizes[slot] = data.draw(st.tuples(*(st.integers(-2, c + 1) for c in evolution.capacities)))
        individuals = data.draw(st.integers(-2, 10**6))
        if refused_or_works(lambda: evolution.restore(individuals, 0.5)):
            evolution.run_generation()       # whatever restore accepted must run
    finally:
        evolution.programs[...] = programs
        evolution.sizes[...] = sizes
        evolution.fitness[...] = fitness
        evolution.restore(100, 0.5)


# ---------------------------------------------------------------------------------------------------------
# Damaged run directories


def _tiny_cfg():
    return presets.load("linear_integration").replace(population_size=20, progress_every=40, max_train_steps=60_000)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished run and a stopped one (checkpoints every 3 generations), read-only templates."""
    root = tmp_path_factory.mktemp("fuzz-runs")
    with redirect_stdout(io.StringIO()):
        azero.run_search(_tiny_cfg(), seed=3, run_dir=root / "finished")
        store = RunStore(root / "stopped", checkpoint_every_generations=3)
        try:
            Search(_tiny_cfg(), 3, island=StopAt(120), store=store).run()
        finally:
            store.close()
    return root


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@st.composite
def damages(draw, size: int):
    """(kind, offset, length or bytes) of one damage to a file of `size` bytes."""
    kind = draw(st.sampled_from(["flip", "truncate", "zeros", "random"]))
    offset = draw(st.integers(0, max(0, size - 1)))
    if kind == "flip":
        return kind, offset, draw(st.integers(0, 7))
    if kind == "truncate":
        return kind, offset, 0
    if kind == "zeros":
        return kind, offset, draw(st.integers(1, 4096))
    return kind, offset, draw(st.binary(min_size=1, max_size=4096))    # the garbage comes from hypothesis too


def _damage(path: Path, damage) -> None:
    kind, offset, arg = damage
    data = bytearray(path.read_bytes())
    if kind == "flip":
        data[offset] ^= 1 << arg
    elif kind == "truncate":
        del data[offset:]
    elif kind == "zeros":
        end = min(len(data), offset + arg)
        data[offset:end] = bytes(end - offset)
    else:
        end = min(len(data), offset + len(arg))
        data[offset:end] = arg[:end - offset]
    path.write_bytes(bytes(data))


COMMANDS = ("show", "status", "load_run", "plot", "export", "resume")
HANG_SECONDS = 300      # one command on a tiny run takes well under a second


@budget(ci=40)
@given(data=st.data())
def test_damaged_run_files_into_every_reader(runs, tmp_path_factory, data):
    template = runs / data.draw(st.sampled_from(["finished", "stopped"]))
    work = tmp_path_factory.mktemp("damaged")
    run = work / "run"
    shutil.copytree(template, run)
    victim = run / data.draw(st.sampled_from(sorted(p.name for p in run.iterdir() if p.suffix == ".h5")))
    _damage(victim, data.draw(damages(victim.stat().st_size)))
    before = _digest(run)
    command = data.draw(st.sampled_from(COMMANDS))
    out, err = io.StringIO(), io.StringIO()
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)    # a hang in a library fails loudly
    with redirect_stdout(out), redirect_stderr(err):
        if command == "load_run":
            try:
                load_run(run)
                code = 0
            except RunStoreError as error:
                print(f"azero load_run: error: {error}", file=err)
                code = 2
        else:
            extra = {"plot": ["-o", str(work / "plot.png")], "export": ["-o", str(work / "best.py")]}
            code = cli.main([command, str(run), *extra.get(command, [])])
    faulthandler.cancel_dump_traceback_later()
    message = err.getvalue()
    if code != 0:
        assert code == 2 and message.count("\n") == 1, message
        assert victim.name in message or str(run) in message, message
    if code != 0 or command != "resume":
        assert _digest(run) == before, (command, message)    # readers and refusals change nothing
        event("files unchanged")
    event(f"{command}: {'works' if code == 0 else 'one-line error naming the file'}")
    shutil.rmtree(work)
