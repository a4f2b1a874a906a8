"""MPI islands: migration protocols, reproducibility, collective stop, abort on failure, 1 rank == 1 process.

MPI runs start the launcher of tests/mpi/launcher.py (the venv's mpiexec, or $AZERO_TEST_MPIEXEC) on
tests/mpi/run_islands.py with a timeout; each rank dumps what it saw to a temporary folder, and the assertions
here compare the ranks' dumps.
"""
import collections
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.recfunctions import repack_fields

from azero import islands, presets
from azero._core import INSTRUCTION_DTYPE
from azero.search import Search
from mpi.launcher import MAX_RANKS, mpiexec, stop_signal

RUNNER = Path(__file__).parent / "mpi" / "run_islands.py"
TIMEOUT = 60
POPULATION = 60
MIGRATE_EVERY = 120
INDIVIDUALS = 600
ELAPSED = re.compile(r"elapsed_secs=\d+")


def command(ranks: int | None, *args: str) -> list[str]:
    prefix = mpiexec(ranks) if ranks else []
    return [*prefix, sys.executable, str(RUNNER), *args]


def start(ranks: int | None, *args: str) -> subprocess.Popen:
    """The run in its own process group, so that a hung job can be killed with all its ranks."""
    return subprocess.Popen(command(ranks, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise


def run(ranks: int | None, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = start(ranks, *args)
    out, err = finish(proc)
    assert proc.returncode == 0 or not check, err
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def packed(array: np.ndarray) -> np.ndarray:
    """Instruction arrays without the struct's padding bytes (which hold whatever the C code left there)."""
    return repack_fields(array) if array.dtype == INSTRUCTION_DTYPE else array


def load(out: Path, ranks: int) -> list[tuple[dict, dict]]:
    return [({name: packed(value) for name, value in np.load(out / f"rank{r}.npz").items()},
             json.loads((out / f"rank{r}.json").read_text()))
            for r in range(ranks)]


def rows(programs: np.ndarray, sizes: np.ndarray, fitness: np.ndarray) -> list[bytes]:
    """One byte string per individual (program row, sizes, fitness bits) for exact comparisons."""
    return [programs[i].tobytes() + sizes[i].tobytes() + fitness[i:i + 1].tobytes() for i in range(len(fitness))]


def best_rows(dump: dict, round_: int, k: int) -> list[bytes]:
    """The k best individuals of a rank before a round, best first, ties by lower slot (computed here)."""
    fitness = dump[f"r{round_}_pre_fitness"]
    order = sorted(range(len(fitness)), key=lambda slot: (-fitness[slot], slot))[:k]
    return rows(dump[f"r{round_}_pre_programs"][order], dump[f"r{round_}_pre_sizes"][order], fitness[order])


def post_rows(dump: dict, round_: int) -> list[bytes]:
    return rows(dump[f"r{round_}_post_programs"], dump[f"r{round_}_post_sizes"], dump[f"r{round_}_post_fitness"])


def pre_rows(dump: dict, round_: int) -> list[bytes]:
    return rows(dump[f"r{round_}_pre_programs"], dump[f"r{round_}_pre_sizes"], dump[f"r{round_}_pre_fitness"])


MIGRATIONS = {  # protocol -> num_migrants (0 = half the population)
    "ring": 7,
    "random_pairs": 5,
    "pool": 0,
}


@pytest.fixture(scope="module")
def migrate_run(tmp_path_factory):
    """Runs of the migrate mode, once per (protocol, ranks, tag)."""
    done = {}

    def get(protocol: str, ranks: int, tag: str = "a", migrate_every: int = MIGRATE_EVERY) -> list[tuple[dict, dict]]:
        key = (protocol, ranks, tag, migrate_every)
        if key not in done:
            out = tmp_path_factory.mktemp(f"{protocol}{ranks}{tag}")
            run(ranks, "migrate", "--out", str(out), "--protocol", protocol, "--seed", "31",
                "--num-migrants", str(MIGRATIONS[protocol]), "--population", str(POPULATION),
                "--migrate-every", str(migrate_every), "--individuals", str(INDIVIDUALS))
            done[key] = load(out, ranks)
        return done[key]

    return get


RANKS = [r for r in (2, 3, 4, 8, 16) if r <= MAX_RANKS]   # past 2 cores: oversubscribed


@pytest.mark.parametrize("ranks", RANKS)
@pytest.mark.parametrize("protocol", list(MIGRATIONS))
def test_migration_moves_the_best_rows(migrate_run, protocol, ranks):
    dumps = migrate_run(protocol, ranks)
    k = MIGRATIONS[protocol] or POPULATION // 2
    best = {(p, i): best_rows(dump, i, k) for p, (dump, _) in enumerate(dumps) for i in range(5)}
    # Generations end at 120, 180, ..., 600 individuals; Init (60) never migrates.
    expected_rounds = sum(n // MIGRATE_EVERY > (n - POPULATION) // MIGRATE_EVERY
                          for n in range(2 * POPULATION, INDIVIDUALS + 1, POPULATION))
    skipped = collections.Counter()
    for rank, (dump, info) in enumerate(dumps):
        assert info["k"] == k and info["rounds"] == info["migrations"] == expected_rounds == 5
        assert info["individuals"] == INDIVIDUALS and info["interrupted"]
        assert dump["programs"].shape == (POPULATION, dump["r0_pre_programs"].shape[1])
        assert dump["sizes"].shape == (POPULATION, 3) and dump["fitness"].shape == (POPULATION,)
        received_fitness = []
        for i in range(expected_rounds):
            m = int(dump[f"r{i}_received"])
            before, after = pre_rows(dump, i), post_rows(dump, i)
            assert len(after) == POPULATION
            assert after[:POPULATION - m] == before[m:]      # the m oldest leave, the rest keep their age order
            immigrants = after[POPULATION - m:]
            received_fitness += list(dump[f"r{i}_post_fitness"][POPULATION - m:])
            if protocol == "ring":
                assert m == k and immigrants == best[(rank - 1) % ranks, i]
            elif protocol == "random_pairs":
                if m == 0:
                    skipped[i] += 1
                    continue
                assert m == k
                partners = [p for p in range(ranks) if p != rank and immigrants == best[p, i]]
                assert partners, f"round {i}: rank {rank}'s immigrants are no other rank's best {k}"
                partner = partners[0]
                assert post_rows(dumps[partner][0], i)[POPULATION - k:] == best[rank, i]
            else:   # immigrant j is the j-th best of another island
                assert m == k
                for j, row in enumerate(immigrants):
                    assert any(row == best[p, i][j] for p in range(ranks) if p != rank)
        assert info["received"] == len(received_fitness)
        assert info["sent"] == (expected_rounds - sum(1 for i in range(expected_rounds)
                                                      if int(dump[f"r{i}_received"]) == 0)) * k
        # The store heard of every immigrant, by source rank.
        store_ranks = dump["store_ranks"]
        assert (store_ranks[:, 1] == rank).all() and (store_ranks[:, 0] != rank).all()
        if protocol == "ring":
            assert (store_ranks[:, 0] == (rank - 1) % ranks).all()
        recorded = np.concatenate([dump[f"store{j}_fitness"] for j in range(len(store_ranks))])
        assert sorted(recorded.tolist()) == sorted(received_fitness)
    if protocol == "pool":   # every island's j-th best went to exactly one island: k sent, k received per rank
        for i in range(expected_rounds):
            for j in range(k):
                sent = collections.Counter(best[p, i][j] for p in range(ranks))
                arrived = collections.Counter(post_rows(dump, i)[POPULATION - k + j] for dump, _ in dumps)
                assert arrived == sent
    if protocol == "random_pairs":
        # Even N: everybody pairs every round; odd N: exactly one island sits out, a fresh draw each round.
        assert all(skipped[i] == ranks % 2 for i in range(expected_rounds))
        if ranks == 3:
            odd_ones = {next(r for r, (d, _) in enumerate(dumps) if int(d[f"r{i}_received"]) == 0)
                        for i in range(expected_rounds)}
            assert len(odd_ones) > 1


@pytest.mark.parametrize("migrate_every", [MIGRATE_EVERY, 10**6])
def test_best_candidate_is_the_global_best_on_every_rank(migrate_run, migrate_every):
    dumps = [dump for dump, _ in migrate_run("ring", 3, migrate_every=migrate_every)]
    best = max(dump["fitness"].max() for dump in dumps)
    winner_rank = next(rank for rank, dump in enumerate(dumps) if dump["fitness"].max() == best)  # ties: lowest
    winner = dumps[winner_rank]
    if migrate_every == MIGRATE_EVERY:   # migration spread the best to every island: a tie, won by rank 0
        assert all(dump["fitness"].max() == best for dump in dumps) and winner_rank == 0
    else:                                # independent islands (seed 31): the best is elsewhere
        assert winner_rank > 0
    for dump in dumps:
        assert dump["best_fitness"] == best
        for name in ("setup", "predict", "learn"):
            assert dump[f"best_{name}"].tobytes() == winner[f"local_best_{name}"].tobytes()


@pytest.mark.parametrize("ranks", RANKS[1:])
@pytest.mark.parametrize("protocol", list(MIGRATIONS))
def test_same_seed_and_ranks_give_the_same_run(migrate_run, protocol, ranks):
    first, second = migrate_run(protocol, ranks), migrate_run(protocol, ranks, "b")
    for (a, _), (b, _) in zip(first, second):
        assert a.keys() == b.keys()
        for name in a:
            assert a[name].tobytes() == b[name].tobytes(), name
    # Islands run their own streams: their final populations differ.
    assert first[0][0]["programs"].tobytes() != first[1][0]["programs"].tobytes()


def test_one_rank_under_mpiexec_prints_the_single_process_search():
    args = ("search", "--seed", "11", "--max-experiments", "2", "--max-train-steps", "200000",
            "--progress-every", "240")
    mpi = run(1, *args)
    local = run(None, *args, "--local")
    lines = ELAPSED.sub("elapsed_secs=…", mpi.stdout).splitlines()
    assert lines == ELAPSED.sub("elapsed_secs=…", local.stdout).splitlines()
    progress = [line for line in lines if line.startswith("indivs=")]
    assert len(progress) > 4 and all(
        re.fullmatch(r"indivs=\d+, elapsed_secs=…, mean=\d\.\d{6}, stdev=\d\.\d{6}, best fit=\d\.\d{6},", line)
        for line in progress)
    assert lines.count("Running evolution experiment (on the T_search tasks)...") == 2


def test_sufficient_fitness_stops_every_island(tmp_path):
    threshold = 0.4
    # Seed 4 needs two experiments; the checks below hold for any number below the safety limit of 30.
    proc = run(3, "search", "--out", str(tmp_path), "--seed", "4", "--sufficient", str(threshold),
               "--max-experiments", "30", "--max-train-steps", "300000", "--progress-every", "600",
               "--protocol", "pool", "--num-migrants", "0")
    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(3)]
    assert all(info == {**infos[0], "rank": r} for r, info in enumerate(infos))
    experiments = infos[0]["experiments"]
    assert not infos[0]["interrupted"] and len(experiments) < 30
    assert experiments[-1][1] > threshold and all(select <= threshold for _, select, _ in experiments[:-1])
    lines = proc.stdout.splitlines()
    assert lines.count("Running evolution experiment (on the T_search tasks)...") == len(experiments)
    progress = [re.fullmatch(r"indivs=(\d+), elapsed_secs=\d+, mean=\d\.\d{6}, stdev=\d\.\d{6}, best fit=\d\.\d{6}, "
                             r"islands=3, indivs_per_sec=\d+, migrations=(\d+)", line)
                for line in lines if line.startswith("indivs=")]
    assert progress and all(progress)
    totals = [int(match[1]) for match in progress]
    assert min(totals) == 3 * POPULATION and all(total % (3 * POPULATION) == 0 for total in totals)
    assert int(progress[-1][2]) > 0


def test_exception_on_one_rank_aborts_the_job():
    started = time.monotonic()
    proc = run(2, "search", "--raise-on-rank", "1", "--abort-on-exception", check=False)
    assert time.monotonic() - started < 10
    assert proc.returncode != 0
    assert "[rank 1] azero: unhandled exception on rank 1 of 2; aborting the MPI job" in proc.stderr
    assert "[rank 1] RuntimeError: deliberate failure on rank 1" in proc.stderr


def test_sigterm_to_mpiexec_stops_every_rank_cleanly(tmp_path):
    proc = start(2, "search", "--out", str(tmp_path), "--signals", "--progress-every", "60")
    watchdog = threading.Timer(TIMEOUT, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        while not proc.stdout.readline().startswith("indivs="):
            assert proc.poll() is None, "the run ended before its first progress line"
        proc.send_signal(stop_signal(signal.SIGTERM))   # to mpiexec only; it forwards the signal to every rank
        out, err = finish(proc)
    finally:
        watchdog.cancel()
    assert proc.returncode == 0, err
    assert "Stopped on request." in out.splitlines()
    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [info["interrupted"] for info in infos] == [True, True]


# -- in-process pieces (no MPI) --


def test_signal_handlers_request_a_stop_in_one_process():
    search = Search(presets.load("demo").replace(population_size=20), 3)
    previous = islands.install_signal_handlers(search)
    try:
        assert set(previous) == {signal.SIGTERM, signal.SIGUSR1}
        os.kill(os.getpid(), signal.SIGUSR1)
        assert search.stop_requested
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_rotate_in_keeps_age_order():
    programs = np.zeros((5, 2), dtype=INSTRUCTION_DTYPE)
    programs["op"] = np.arange(10).reshape(5, 2)
    evolution = types.SimpleNamespace(population_size=5, programs=programs,
                                      sizes=np.arange(15, dtype=np.int32).reshape(5, 3),
                                      fitness=np.arange(5, dtype=np.float64))
    incoming = np.zeros((2, 2), dtype=INSTRUCTION_DTYPE)
    incoming["op"] = [[50, 51], [60, 61]]
    islands.rotate_in(evolution, incoming, np.full((2, 3), 9, dtype=np.int32), np.array([0.5, 0.6]))
    assert evolution.programs["op"].tolist() == [[4, 5], [6, 7], [8, 9], [50, 51], [60, 61]]
    assert evolution.sizes[:, 0].tolist() == [6, 9, 12, 9, 9]
    assert evolution.fitness.tolist() == [2.0, 3.0, 4.0, 0.5, 0.6]


def test_launcher_detection():
    assert not islands.launched_by_mpi({"HOME": "/root", "SLURM_PROCID": "0"})
    for env in ({"PMI_RANK": "0"}, {"PMIX_RANK": "1"}, {"OMPI_COMM_WORLD_SIZE": "4"}, {"HYDRA_CONTROL_FD": "5"}):
        assert islands.launched_by_mpi(env)
    assert islands.detect() is None  # pytest itself is not started by an MPI launcher


def test_progress_bar_only_on_a_terminal_outside_mpi_and_slurm():
    terminal = types.SimpleNamespace(isatty=lambda: True)
    assert islands.interactive_terminal(terminal, {"HOME": "/root"})
    assert not islands.interactive_terminal(types.SimpleNamespace(isatty=lambda: False), {})
    # Open MPI gives its ranks a pseudo-terminal; a batch job's log is no terminal either.
    for env in ({"OMPI_COMM_WORLD_RANK": "0"}, {"PMI_RANK": "0"}, {"SLURM_JOB_ID": "12"}):
        assert not islands.interactive_terminal(terminal, env)


def test_detect_without_mpi4py_gives_a_one_line_hint(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(islands.MPIUnavailableError) as error:
        islands.detect()
    message = str(error.value)
    assert "\n" not in message and message.endswith("install it with: pip install 'azero[mpi]'")


def test_mpiexec_path(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    beside = tmp_path / "mpiexec"
    beside.write_text("#!/bin/sh\n")
    beside.chmod(0o755)
    assert islands.mpiexec_path() == str(beside)
    beside.unlink()
    with pytest.raises(islands.MPIUnavailableError, match=r"^no mpiexec beside .*pip install 'azero\[mpi\]'$"):
        islands.mpiexec_path()


def test_island_seeds():
    seeds = [islands.island_seed(100021, rank) for rank in range(8)]
    assert seeds[0] == 100021 and len(set(seeds)) == 8 and all(0 < s < 2**32 for s in seeds)
