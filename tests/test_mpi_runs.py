"""A recorded MPI run: `mpiexec -n 2 azero search … --run-dir D`, stopped by SIGTERM, then
`mpiexec -n 2 azero resume D` ends exactly like the uninterrupted run."""
import os
import signal
import subprocess
import sys
from pathlib import Path

from azero import islands, presets, storage

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def azero_under_mpi(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([islands.mpiexec_path(), "-n", "2", sys.executable, "-m", "azero", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True)


def finish(proc: subprocess.Popen) -> str:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 0, err
    return out


def results(out: str) -> list[str]:
    return [line for line in out.splitlines() if "fitness" in line]


def test_mpi_run_stopped_and_resumed_equals_uninterrupted(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(presets.path("demo").read_text()
                      .replace("max_train_steps = 200_000_000", "max_train_steps = 30_000_000")
                      .replace("max_experiments = 0", "max_experiments = 1"))
    reference = results(finish(azero_under_mpi("search", str(config), "--seed", "5", "--no-store", cwd=tmp_path)))
    assert len(reference) == 4 and reference[-1].startswith("Final evaluation fitness (on unseen data) = ")

    run = azero_under_mpi("search", str(config), "--seed", "5", "--run-dir", "run", cwd=tmp_path)
    progress_lines = 0
    while progress_lines < 3:   # stop in the middle of the evolution
        line = run.stdout.readline()
        assert line, "the run ended before it could be stopped"
        progress_lines += line.startswith("indivs=")
    run.send_signal(signal.SIGTERM)   # mpiexec forwards it to both ranks
    assert "Stopped on request; the run can be resumed from its last checkpoint." in finish(run)
    assert sorted(p.name for p in (tmp_path / "run").glob("*.h5")) == ["island-0000.h5", "island-0001.h5", "run.h5"]
    assert ": stopped (resume with: azero resume " in storage.status(tmp_path / "run")

    resumed = finish(azero_under_mpi("resume", "run", cwd=tmp_path))
    assert resumed.splitlines()[0].startswith("Resuming run run from checkpoint")
    assert results(resumed) == reference
    assert storage.load_run(tmp_path / "run").final is not None
