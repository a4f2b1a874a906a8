"""The MPI launcher the tests start: $AZERO_TEST_MPIEXEC (e.g. /usr/bin/mpirun.openmpi for a site MPI), else the
mpiexec beside sys.executable (the `mpi` extra's MPICH).

Flags a container needs are added here, never in a user's command: Open MPI refuses to run as root without
--allow-run-as-root and to start more ranks than cores without --oversubscribe. MPICH needs neither.

Signals: MPICH's mpiexec forwards SIGTERM, SIGUSR1 and SIGINT to every rank and exits with the ranks' code.
Open MPI's mpirun forwards SIGUSR1, but a SIGTERM makes it end the job itself (the ranks are killed one second
later), so a test that stops a run through the launcher sends Open MPI's mpirun SIGUSR1 instead (`stop_signal`).
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
    return (path, "--oversubscribe", *(("--allow-run-as-root",) if os.geteuid() == 0 else ()))


@functools.cache
def is_open_mpi(path: str) -> bool:
    """Whether `path` is Open MPI's mpirun/mpiexec (its --version names Open MPI, or OpenRTE before 5.0)."""
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return any(name in version.stdout + version.stderr for name in ("Open MPI", "OpenRTE"))


def stop_signal(signum: int) -> int:
    """The signal to send the launcher for `signum`'s clean stop: SIGUSR1 for Open MPI's SIGTERM, else `signum`."""
    if signum == signal.SIGTERM and is_open_mpi(launcher()[0]):
        return signal.SIGUSR1
    return signum


def mpiexec(ranks: int) -> list[str]:
    """The command prefix that starts `ranks` ranks."""
    return [*launcher(), "-n", str(ranks)]
