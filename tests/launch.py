"""Helpers shared by the tests that start the CLI as a process or stop a search part way."""
import os
import signal
import subprocess
import sys
from pathlib import Path

from azero import islands
from azero.search import LocalIsland

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def spawn_cli(*args: str, cwd: Path, ranks: int = 0) -> subprocess.Popen:
    """`python -m azero ARGS` in `cwd` with this checkout on the path, under `mpiexec -n ranks` if ranks > 0."""
    launcher = [islands.mpiexec_path(), "-n", str(ranks)] if ranks else []
    return subprocess.Popen([*launcher, sys.executable, "-m", "azero", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)},
                            start_new_session=True)


def finish(proc: subprocess.Popen, codes: tuple[int, ...] = (0,)) -> str:
    """The process's stdout once it exits with one of `codes`; killed with its group after TIMEOUT seconds."""
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode in codes, err
    return out


class StopAt(LocalIsland):
    """The local island, asking the search to stop once it has evaluated `individuals`."""

    def __init__(self, individuals: int):
        self.individuals = individuals

    def after_generation(self, search):
        if search.evolution.num_individuals >= self.individuals:
            search.request_stop()
