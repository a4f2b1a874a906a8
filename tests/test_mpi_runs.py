"""Recorded runs through the CLI under MPI: `azero search … --run-dir D` stopped by a signal exits 75 on every
rank; `azero resume D` with the same rank count ends exactly like the uninterrupted run, and with another rank
count (2→3, 3→2, 4→1) redistributes the islands as docs/run_format.md says, reproducibly."""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from azero import presets
from azero.cli import EXIT_STOPPED
from azero.runs.reader import load_run
from azero.runs.status import status
from mpi.launcher import mpiexec, stop_signal

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def azero(ranks: int | None, *args: str, cwd: Path) -> subprocess.Popen:
    """`azero ARGS` under `ranks` MPI ranks (None: one plain process), in its own process group."""
    prefix = mpiexec(ranks) if ranks else []
    return subprocess.Popen([*prefix, sys.executable, "-m", "azero", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True)


def finish(proc: subprocess.Popen, code: int = 0) -> str:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == code, err
    return out


def results(out: str) -> list[str]:
    return [line for line in out.splitlines() if "fitness" in line]


def small_config(folder: Path) -> Path:
    config = folder / "small.toml"
    config.write_text(presets.path("demo").read_text()
                      .replace("max_train_steps = 200_000_000", "max_train_steps = 30_000_000")
                      .replace("max_experiments = 0", "max_experiments = 1"))
    return config


def stop_midway(proc: subprocess.Popen, signum: int, lines: int = 3) -> str:
    """Send `signum` to the launcher (or the process) after `lines` progress lines; its output once it ended.
    Every rank, and so the launcher, exits with EXIT_STOPPED."""
    seen = 0
    while seen < lines:
        line = proc.stdout.readline()
        assert line, "the run ended before it could be stopped"
        seen += line.startswith("indivs=")
    proc.send_signal(signum)   # a launcher forwards it to every rank
    out = finish(proc, EXIT_STOPPED)
    assert "Stopped on request; the run can be resumed from its last checkpoint." in out
    return out


def test_mpi_run_stopped_and_resumed_equals_uninterrupted(tmp_path):
    config = small_config(tmp_path)
    reference = results(finish(azero(2, "search", str(config), "--seed", "5", "--no-store", cwd=tmp_path)))
    assert len(reference) == 4 and reference[-1].startswith("Final evaluation fitness (on unseen data) = ")

    stop_midway(azero(2, "search", str(config), "--seed", "5", "--run-dir", "run", cwd=tmp_path),
                stop_signal(signal.SIGTERM))
    assert sorted(p.name for p in (tmp_path / "run").glob("*.h5")) == ["island-0000.h5", "island-0001.h5", "run.h5"]
    assert ": stopped (resume with: azero resume " in status(tmp_path / "run")

    resumed = finish(azero(2, "resume", "run", cwd=tmp_path))
    assert resumed.splitlines()[0].startswith("Resuming run run from checkpoint")
    assert results(resumed) == reference
    assert load_run(tmp_path / "run").final is not None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_one_process_stopped_on_request_exits_75(tmp_path, signum):
    config = small_config(tmp_path)
    stop_midway(azero(None, "search", str(config), "--seed", "5", "--run-dir", "run", cwd=tmp_path), signum, 1)
    assert f": stopped (resume with: azero resume {tmp_path / 'run'}), seed 5, 1 rank(s)" in status(tmp_path / "run")
    assert results(finish(azero(None, "resume", "run", cwd=tmp_path)))[-1].startswith("Final evaluation fitness")


@pytest.fixture(scope="module")
def stopped_runs(tmp_path_factory):
    """A run of the small config, seed 7, stopped by SIGUSR1 (SLURM's warning signal), per rank count."""
    done = {}

    def get(ranks: int) -> Path:
        if ranks not in done:
            folder = tmp_path_factory.mktemp(f"stopped{ranks}")
            config = small_config(folder)
            stop_midway(azero(ranks, "search", str(config), "--seed", "7", "--run-dir", "run", cwd=folder),
                        signal.SIGUSR1)
            done[ranks] = folder / "run"
        return done[ranks]

    return get


def resumed_copy(source: Path, into: Path, ranks: int) -> tuple[Path, str]:
    """Resume a copy of the stopped run `source` with `ranks` ranks (1: a plain process); its dir and output."""
    shutil.copytree(source, into / "run")
    return into / "run", finish(azero(ranks if ranks > 1 else None, "resume", "run", cwd=into))


def test_resume_on_more_ranks_copies_the_best_islands_reproducibly(stopped_runs, tmp_path):
    source = stopped_runs(2)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    run_dir, out = resumed_copy(source, tmp_path / "a", 3)
    again_dir, again = resumed_copy(source, tmp_path / "b", 3)
    best = load_run(source).islands
    keep = 0 if best[0].population_fitness[-1].max() >= best[1].population_fitness[-1].max() else 1
    assert f"2 islands on 3 ranks: rank 2 starts island 2 as a copy of island {keep}" in out
    assert results(out) == results(again) and len(results(out)) == 4
    run = load_run(run_dir)
    assert run.island_ids == [0, 1, 2] and run.segment_islands == [[0, 1], [0, 1, 2]]
    assert run.final is not None and run.status == "finished"
    again_run = load_run(again_dir)
    assert [island.population_fitness[-1].tobytes() for island in again_run.islands] == \
        [island.population_fitness[-1].tobytes() for island in run.islands]


@pytest.mark.parametrize(("before", "after"), [(3, 2), (4, 1)])
def test_resume_on_fewer_ranks_keeps_the_best_islands(stopped_runs, tmp_path, before, after):
    source = stopped_runs(before)
    fitness = [float(island.population_fitness[-1].max()) for island in load_run(source).islands]
    order = sorted(range(before), key=lambda i: (-fitness[i], i))
    run_dir, out = resumed_copy(source, tmp_path, after)
    kept, retired = order[:after], order[after:]
    assert (f"{before} islands on {after} ranks: keeping the best islands "
            + ", ".join(f"{island} (rank {rank})" for rank, island in enumerate(kept))
            + "; retiring " + ", ".join(map(str, retired)) + ".") in out
    run = load_run(run_dir)
    assert run.island_ids == kept and run.segment_islands == [list(range(before)), kept]
    assert run.final is not None and run.status == "finished" and len(results(out)) == 4
