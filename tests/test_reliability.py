"""Issue 11's reproductions: bad input at every entry into compiled code, damaged and killed runs, honest status,
seeds, error messages that name their file, nonsense refused, and a run's final fitness re-scored exactly."""
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import azero
from azero import cli, presets
from azero._core import INSTRUCTION_DTYPE
from azero._core.evaluator import Evaluator
from azero._core.evolution import RegularizedEvolution
from azero._core.rng import RandomGenerator
from azero.algorithm import ProgramError
from azero.config import ConfigError, SearchConfig
from azero.population import capacities, initial_model
from azero.runs.files import _lock
from azero.runs.reader import load_run
from azero.runs.resume import resume
from azero.runs.schema import RunStoreError
from azero.runs.status import status
from azero.runs.writer import RunStore
from azero.search import Search, build_evaluator, build_mutator
from launch import REPO, TIMEOUT, StopAt, finish, spawn_cli


def small_cfg(**changes) -> SearchConfig:
    """linear_integration shrunk to a fraction of a second: population 50, a progress row every 100."""
    base = dict(population_size=50, progress_every=100, max_train_steps=400_000)
    base.update(changes)
    return presets.load("linear_integration").replace(**base)


def nn_tasks():
    return azero.make_tasks(azero.TaskSpec(kind="scalar_2layer_nn_regression", features_size=4,
                                           num_train_examples=100, num_valid_examples=10, num_tasks=1,
                                           eval_type="rms_error"))


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def stopped_run(run_dir: Path, cfg: SearchConfig, stop_at: int, every: int = 2) -> None:
    """A run stopped on request after `stop_at` individuals, with a checkpoint every `every` generations."""
    store = RunStore(run_dir, checkpoint_every_generations=every)
    try:
        Search(cfg, 7, island=StopAt(stop_at), store=store, out=open(os.devnull, "w")).run()
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------------------
# 1. Every entry into compiled code checks its input


def test_evaluate_with_addresses_outside_memory_is_an_error_not_a_crash():
    alg = azero.algorithms.neural_net()
    message = r"^Setup instruction 0: address 'v2' out of range \(memory has 1 vectors\)$"
    with pytest.raises(ProgramError, match=message):
        azero.evaluate(alg, nn_tasks(), seed=1, num_scalars=2, num_vectors=1, num_matrices=0)


def test_evaluator_checks_output_addresses_dtypes_and_memory():
    evaluator = Evaluator(nn_tasks(), num_scalars=4, num_vectors=3, num_matrices=1)
    empty = np.zeros(0, dtype=INSTRUCTION_DTYPE)
    bad = np.zeros(1, dtype=INSTRUCTION_DTYPE)
    bad[0] = (1, 0, 1, 4000, 0.0, 0.0, 0.0, 0.0)      # s4000 = s0 + s1
    for method in (evaluator.evaluate, evaluator.evaluate_per_task):
        with pytest.raises(ProgramError, match=r"Predict instruction 0: address 's4000' out of range"):
            method(empty, bad, empty, RandomGenerator(1))
        with pytest.raises(ProgramError, match="expected a 1-d array of INSTRUCTION_DTYPE"):
            method(empty, bad.view(np.uint8), empty, RandomGenerator(1))
        with pytest.raises(ProgramError, match="expected a 1-d array"):
            method(empty, np.zeros((2, 2), dtype=INSTRUCTION_DTYPE), empty, RandomGenerator(1))
    strided = np.zeros(4, dtype=INSTRUCTION_DTYPE)[::2]       # not contiguous: copied, then run
    assert evaluator.evaluate(empty, strided, empty, RandomGenerator(1)) == \
        evaluator.evaluate(empty, np.ascontiguousarray(strided), empty, RandomGenerator(1))
    with pytest.raises(ValueError, match="num_scalars must be an integer in 2 .. 65536"):
        Evaluator(nn_tasks(), num_scalars=1)
    with pytest.raises(ValueError, match="num_vectors"):
        azero.evaluate(azero.algorithms.linear(), nn_tasks(), num_vectors=10**12)


def test_algorithm_refuses_values_that_do_not_fit_their_field():
    src = np.zeros(1, dtype=[("op", "<i8"), ("in1", "<i8"), ("in2", "<i8"), ("out", "<i8"), ("activation", "<f8"),
                             ("f0", "<f8"), ("f1", "<f8"), ("f2", "<f8")])
    src["op"] = 257                                             # would wrap to op 1
    with pytest.raises(ProgramError, match="field 'op' must hold integers in 0 .. 255"):
        azero.Algorithm.from_arrays(src, None, None)
    src["op"], src["out"] = 1, -1                               # would wrap to address 65535
    with pytest.raises(ProgramError, match="field 'out'"):
        azero.Algorithm.from_arrays(None, src, None)


def test_mutator_and_restore_check_addresses():
    cfg = small_cfg()
    mutator = build_mutator(cfg)
    program = np.zeros(1, dtype=INSTRUCTION_DTYPE)
    program[0] = (27, 0, 9, 1, 0.0, 0.0, 0.0, 0.0)             # s1 = dot(v0, v9): the config has 3 vectors
    with pytest.raises(ProgramError, match="address 'v9' out of range"):
        mutator.mutate_arrays(program[:0], program, program[:0], RandomGenerator(1))
    initial, randomize = initial_model(cfg)
    evolution = RegularizedEvolution(build_evaluator(cfg, azero.make_tasks(cfg.search_tasks)), mutator,
                                     RandomGenerator(1), cfg.population_size, cfg.tournament_size,
                                     initial.functions, capacities(cfg, initial), randomize_initial=randomize)
    evolution.init_population()
    offset = evolution.offsets[1]
    evolution.programs[5, offset] = program[0]                  # a checkpoint row with a damaged address
    evolution.sizes[5, 1] = max(1, evolution.sizes[5, 1])
    with pytest.raises(ProgramError, match="population Predict instruction .*address 'v9' out of range"):
        evolution.restore(100, 0.5)


# ---------------------------------------------------------------------------------------------------------
# 2. A damaged run is detected, and resume changes nothing unless told what to give up


def _chunk_offset(path: Path, dataset: str, chunk: int = -1) -> int:
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        n = ds.id.get_num_chunks()
        return ds.id.get_chunk_info(chunk % n).byte_offset


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


@pytest.mark.parametrize("filler", ["random", "zeros"])
def test_resume_refuses_a_damaged_run_and_changes_nothing(tmp_path, capsys, filler):
    run = tmp_path / "run"
    stopped_run(run, small_cfg(), stop_at=600)
    island = run / "island-0000.h5"
    with h5py.File(island, "r") as f:
        seqs = [int(s) for s in f["checkpoints"]["seq"][f["checkpoints"]["resumable"][()] == 1]]
    # damage the population snapshot of the newest checkpoint (2000 bytes, like the dd)
    data = os.urandom(2000) if filler == "random" else bytes(2000)
    _overwrite(island, _chunk_offset(island, "population/programs") + 16, data)
    before = digest(run)
    code, _, err = run_cli(capsys, "show", str(run))
    assert code == 2 and err.count("\n") == 1 and f"{island}: damaged island file (population/programs" in err
    code, out, err = run_cli(capsys, "resume", str(run))
    assert code == 2 and err.count("\n") == 1 and str(island) in err and "nothing was changed" in err
    assert f"--from-checkpoint N (checkpoints every island still lists: {seqs[-2]}, {seqs[-1]})" in err
    assert "Random seed" not in out and digest(run) == before
    # giving up the damaged checkpoint explicitly continues from the one before it
    code, out, err = run_cli(capsys, "resume", str(run), "--from-checkpoint", str(seqs[-2]))
    assert code == 0, err
    assert out.startswith(f"Resuming run {run} from checkpoint {seqs[-2]} ")
    assert load_run(run).final is not None


def test_resume_restart_gives_up_everything_explicitly(tmp_path, capsys):
    run = tmp_path / "run"
    stopped_run(run, small_cfg(), stop_at=600)
    island = run / "island-0000.h5"
    _overwrite(island, _chunk_offset(island, "checkpoints", 0), os.urandom(64))
    before = digest(run)
    code, _, err = run_cli(capsys, "resume", str(run), "--from-checkpoint", "1")
    assert code == 2 and "cannot be resumed" in err and digest(run) == before
    code, out, _ = run_cli(capsys, "resume", str(run), "--restart")
    assert code == 0 and out.startswith(f"Restarting run {run} from seed 7 ")
    reference = azero.run_search(small_cfg(), seed=7, out=open(os.devnull, "w"))
    assert load_run(run).final["final_fitness"] == reference.final_fitness


def test_a_half_written_last_row_is_dropped_silently(tmp_path):
    run = tmp_path / "run"
    stopped_run(run, small_cfg(), stop_at=600)
    island = run / "island-0000.h5"
    with h5py.File(island, "r+") as f:          # a row allocated but never written, as a kill leaves it
        progress = f["progress"]
        progress.resize((progress.shape[0] + 1,))
    n = len(load_run(run).islands[0].progress)
    assert resume(run, out=open(os.devnull, "w")).final_fitness > 0 and n > 0


# ---------------------------------------------------------------------------------------------------------
# 3. status tells running / stopped / finished / killed, and counts as show does


def _individuals(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"island \d+(?: \(rank \d+\))?: ([\d,]+) individuals", text)]


def test_status_states_and_counts(tmp_path, capsys):
    run = tmp_path / "run"
    stopped_run(run, small_cfg(max_experiments=2), stop_at=600)
    text = status(run)
    assert text.startswith(f"run {run}: stopped (resume with: azero resume {run}), seed 7")
    fd = _lock(run, 0)                 # a live writer holds the lock
    try:
        assert status(run).startswith(f"run {run}: running, seed 7")
    finally:
        os.close(fd)
    resume(run, out=open(os.devnull, "w"))
    text = status(run)
    assert text.startswith(f"run {run}: finished, seed 7") and "no checkpoint" not in text
    code, shown, _ = run_cli(capsys, "show", str(run))
    assert code == 0 and _individuals(text) == _individuals(shown)
    latest = re.search(r"latest: experiment (\d+)", shown).group(1)
    assert f"latest: experiment {latest}," in text and latest == "1"     # numbered from 0 in both


def test_status_of_a_killed_run(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(small_cfg(max_train_steps=10**12, checkpoint_every_seconds=0.2).to_toml())
    proc = subprocess.Popen([sys.executable, "-m", "azero", "search", str(config), "--seed", "3", "--run-dir", "run"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            assert time.monotonic() < deadline and proc.poll() is None
            try:
                text = status(tmp_path / "run")
            except RunStoreError:
                text = ""
            if "last checkpoint" in text:
                break
            time.sleep(0.1)
        assert ": running, seed 3" in text
    finally:
        proc.kill()
        proc.wait()
    assert f": killed (resume with: azero resume {tmp_path / 'run'}), seed 3" in status(tmp_path / "run")


# ---------------------------------------------------------------------------------------------------------
# 4. The MPI migrations= counter goes on after a resume


def _migration_counts(out: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in re.findall(r"^indivs=(\d+),.* migrations=(\d+)$", out, re.M)]


def test_mpi_migration_count_continues_after_resume(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(presets.path("demo").read_text()
                      .replace("max_train_steps = 200_000_000", "max_train_steps = 20_000_000")
                      .replace("max_experiments = 0", "max_experiments = 1"))
    reference = dict(_migration_counts(finish(spawn_cli("search", str(config), "--seed", "5", "--no-store",
                                                        cwd=tmp_path, ranks=2))))
    run = spawn_cli("search", str(config), "--seed", "5", "--run-dir", "run", cwd=tmp_path, ranks=2)
    head = []
    while sum(line.startswith("indivs=") for line in head) < 3:
        head.append(run.stdout.readline())
        assert head[-1], "the run ended before it could be stopped"
    run.send_signal(signal.SIGTERM)
    before = _migration_counts("".join(head) + finish(run, codes=(0, 75)))   # 75: stopped on request
    after = _migration_counts(finish(spawn_cli("resume", "run", cwd=tmp_path, ranks=2)))
    assert before and after and after[0][1] > 1
    assert all(reference[indivs] == count for indivs, count in before + after)


# ---------------------------------------------------------------------------------------------------------
# 5. Seeds: checked, 0 = from the clock everywhere, printed only when the run starts


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999", "4294967296"])
def test_out_of_range_seeds_are_refused(tmp_path, capsys, seed, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "search", "demo", "--seed", seed, "--no-store")
    assert code == 2 and out == ""
    assert err == f"azero search: error: --seed: must be {'>= 0' if seed == '-1' else '<= 4294967295'}, got {seed}\n"
    code, _, err = run_cli(capsys, "eval", "p.txt", "--tasks", "demo", "--seed", seed)
    assert code == 2 and "--seed: must be" in err
    with pytest.raises(ConfigError, match="random_seed: must be"):
        small_cfg(random_seed=int(seed))


def test_seed_zero_means_the_clock_everywhere():
    cfg = small_cfg(random_seed=123)
    assert Search(cfg).base_seed == 123
    assert Search(cfg, 0).base_seed not in (0, 123)            # 0 = from the clock, as random_seed = 0
    assert Search(cfg.replace(random_seed=0)).base_seed != 0
    with pytest.raises(ConfigError, match="seed: must be in 1 .. 4294967295"):
        azero.evaluate(azero.algorithms.linear(), nn_tasks(), seed=0)


def test_random_seed_is_printed_only_when_the_run_starts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    azero.run_search(small_cfg(max_train_steps=50_000), seed=2, run_dir=tmp_path / "run", out=open(os.devnull, "w"))
    code, out, err = run_cli(capsys, "search", "linear_integration", "--run-dir", "run")
    assert code == 2 and "already holds a run" in err and "Random seed" not in out
    code, out, err = run_cli(capsys, "search", "digits_binary", "--dataset-dir", "missing", "--no-store")
    assert code == 2 and "dataset folder missing does not exist" in err and out == ""


# ---------------------------------------------------------------------------------------------------------
# 6. Errors name their file


def test_eval_errors_name_the_program_file(tmp_path, capsys):
    program = tmp_path / "program.txt"
    program.write_text(azero.algorithms.linear().to_text().replace("s1 = dot", "s1 = dott"))
    code, _, err = run_cli(capsys, "eval", str(program), "--tasks", "demo")
    assert code == 2 and err.startswith(f"azero eval: error: {program}: line ") and err.count("\n") == 1
    program.write_bytes(b"def Setup():\n\xff\xfe\x00\x01")
    code, _, err = run_cli(capsys, "eval", str(program), "--tasks", "demo")
    assert err == f"azero eval: error: {program}: not a program text file (byte 13 is not UTF-8)\n" and code == 2


def test_garbage_run_files_give_one_line_naming_the_file(tmp_path, capsys):
    run = tmp_path / "run"
    azero.run_search(small_cfg(max_train_steps=50_000), seed=2, run_dir=run, out=open(os.devnull, "w"))
    size = (run / "run.h5").stat().st_size
    _overwrite(run / "run.h5", 512, os.urandom(size - 1024))
    for command in ("show", "status", "resume"):
        code, _, err = run_cli(capsys, command, str(run))
        assert code == 2 and err.count("\n") == 1 and f"{run / 'run.h5'}:" in err, (command, err)
    stopped_run(tmp_path / "run2", small_cfg(), stop_at=600)
    island = tmp_path / "run2" / "island-0000.h5"
    _overwrite(island, _chunk_offset(island, "progress", 0), bytes(64))
    code, _, err = run_cli(capsys, "status", str(tmp_path / "run2"))
    assert code == 2 and err.startswith(f"azero status: error: {island}: damaged island file (progress")


# ---------------------------------------------------------------------------------------------------------
# 7. Nonsense is refused


def test_nonsense_is_refused(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n")
    code, _, err = run_cli(capsys, "eval", str(empty), "--tasks", "demo")
    assert code == 2 and f"{empty}: no program" in err
    with pytest.raises(ConfigError, match=r"^tournament_size: must be <= population_size \(50\), got 51$"):
        small_cfg(tournament_size=51)
    code, _, err = run_cli(capsys, "datasets", "build", "--source", "digits", "--out", str(tmp_path / "d"),
                           "--seeds", "5:2")
    assert code == 2 and err == "azero datasets: error: seeds 5:2 is an empty range (give A:B with A < B)\n"
    assert not (tmp_path / "d").exists()


# ---------------------------------------------------------------------------------------------------------
# 9. A run's final fitness re-scored exactly


def test_eval_run_reproduces_the_final_fitness_of_a_program_with_random_ops(tmp_path, capsys):
    # the hand-designed neural net, never mutated: its Setup draws the weights with random ops
    cfg = small_cfg(initial_population="NEURAL_NET_ALGORITHM", allowed_mutation_types=["IDENTITY"], num_scalars=5,
                    num_vectors=9, num_matrices=2, max_train_steps=100_000)
    result = azero.run_search(cfg, seed=11, run_dir=tmp_path / "run", out=open(os.devnull, "w"))
    alg = result.best_algorithm
    assert {63, 64} <= set(alg.setup["op"].tolist())          # VECTOR/MATRIX_GAUSSIAN_SET
    assert result.final_seed and load_run(tmp_path / "run").final["final_seed"] == result.final_seed
    code, out, err = run_cli(capsys, "eval", "--run", str(tmp_path / "run"))
    assert code == 0, err
    assert out == (f"Final evaluation fitness (on unseen data) = {result.final_fitness:.6f}\n"
                   f"re-scored {result.final_fitness!r} with random-op seed {result.final_seed}; the run stored "
                   f"{result.final_fitness!r}: identical, bit for bit\n")
    # another random-op seed (eval's default) draws other weights: the stored seed is what makes it exact
    program = tmp_path / "final.txt"
    program.write_text(alg.to_text())
    code, out, _ = run_cli(capsys, "eval", str(program), "--tasks", str(_toml(tmp_path, cfg)))
    assert code == 0 and f"{result.final_fitness:.6f}" not in out


def _toml(tmp_path: Path, cfg: SearchConfig) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(cfg.to_toml())
    return path
