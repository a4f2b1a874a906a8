"""The MPI launcher the tests start: $AZERO_TEST_MPIEXEC (e.g. /usr/bin/mpirun.openmpi for a site MPI), else the
mpiexec beside sys.executable (the `mpi` extra's MPICH).

Flags a container needs are added here, never in a user's command: Open MPI refuses to run as root without
--allow-run-as-root and to start more ranks than cores without --oversubscribe. MPICH needs neither.

Signals: MPICH's mpiexec forwards SIGTERM, SIGUSR1 and SIGINT to every rank and exits with the ranks' code.
Open MPI's mpirun forwards SIGUSR1, but on SIGTERM it ends the job itself: it sends SIGTERM to the ranks, kills
them after odls_base_sigkill_timeout seconds (1 by default; the tests give 60, as the README tells users to),
and exits with 1 whatever the ranks' code.
"""
from __future__ import annotations

import functools
import os
import signal
import subprocess

from azero import islands

# The largest rank count the tests start (default 16; a CI pass under a second MPI may lower it to save time).
MAX_RANKS = int(os.environ.get("AZERO_TEST_MAX_RANKS", "16"))


@functools.cache
def launcher() -> tuple[str, ...]:
    """The launcher and its fixed flags."""
    path = os.environ.get("AZERO_TEST_MPIEXEC") or islands.mpiexec_path()
    if not is_open_mpi(path):
        return (path,)
    return (path, "--oversubscribe", "--mca", "odls_base_sigkill_timeout", "60",
            *(("--allow-run-as-root",) if os.geteuid() == 0 else ()))


@functools.cache
def is_open_mpi(path: str) -> bool:
    """Whether `path` is Open MPI's mpirun/mpiexec (its --version names Open MPI, or OpenRTE before 5.0)."""
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return any(name in version.stdout + version.stderr for name in ("Open MPI", "OpenRTE"))


def launcher_code(signum: int, code: int) -> int:
    """The launcher's exit code when it got `signum` and every rank exited with `code`."""
    if signum == signal.SIGTERM and is_open_mpi(launcher()[0]):
        return 1
    return code


def mpiexec(ranks: int) -> list[str]:
    """The command prefix that starts `ranks` ranks."""
    return [*launcher(), "-n", str(ranks)]
