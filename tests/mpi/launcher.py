"""The MPI launcher the tests start: $AZERO_TEST_MPIEXEC (e.g. /usr/bin/mpirun.openmpi for a site MPI), else the
mpiexec beside sys.executable (the `mpi` extra's MPICH).

Flags a container needs are added here, never in a user's command: Open MPI refuses to run as root without
--allow-run-as-root and to start more ranks than cores without --oversubscribe. MPICH needs neither.
"""
from __future__ import annotations

import functools
import os
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
    """Whether `path` is Open MPI's mpirun/mpiexec (its --version says so)."""
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return "Open MPI" in version.stdout + version.stderr


def mpiexec(ranks: int) -> list[str]:
    """The command prefix that starts `ranks` ranks."""
    return [*launcher(), "-n", str(ranks)]
