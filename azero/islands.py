"""MPI islands: one regularized-evolution island per MPI rank, migration between them, collective stop.

Launch with ``mpiexec -n N azero search …``; `detect()` returns an `MPIIsland` for the `Search` of each rank
(and None outside an MPI launcher, where `Search` uses its `LocalIsland`).

Seeds. Every island runs the same experiment loop on its own MT19937 stream: rank 0 uses the run's seed itself and
rank r > 0 uses ``hash_mix(seed, r)``, so a 1-rank run (with or without ``mpiexec -n 1``) is exactly the
single-process search, line for line. Decisions that must agree (task seeds, stopping, T_select/T_final
evaluation) are the root's, broadcast to all ranks by `Search` through this island.

Migration. After a generation (never after Init) in which an island's individual count crossed a multiple of
``islands.migrate_every`` (counts are equal on every island: each generation evaluates population_size
individuals), the islands exchange migrants. The migrants of an island are its ``k`` best individuals by
fitness (ties: lower slot first), with ``k = islands.num_migrants``, or half the population
(``population_size // 2``) when ``num_migrants = 0``. Protocols (``islands.protocol``):

- ``ring``: send to rank + 1, receive from rank - 1 (modulo N);
- ``random_pairs``: a fresh random pairing of the ranks each round; partners exchange, the odd one out skips;
- ``pool`` (the paper's scheme; use it with ``num_migrants = 0`` for its half-population exchange): every island
  offers its k migrants, which are scattered at random over the *other* islands: each round draws a shift
  s_j in 1..N-1 per migrant position j, and the j-th best of every island goes to the island s_j ranks after
  it. Every island sends and receives exactly k individuals, so a rank's traffic per round is O(k) whatever
  the number of ranks (nothing is gathered anywhere).

Immigrants replace the oldest individuals and become the youngest: the population arrays are rotated so that slot
order stays age order (rows m..P-1 move to 0..P-m-1, the m immigrants fill P-m..P-1, in the order received) and
keep the fitness their island measured (all islands share the T_search tasks). Randomness of the pairing and of
the pool's draws comes from streams seeded by (run seed, experiment, round), never from the islands' search
streams, so the same seed and the same N give bitwise the same run. Migrants travel as raw buffers of the
population's numpy arrays (no pickle): k * (32 * row length + 20) bytes sent and received per rank and round
(row length = the longest program's instruction count), for every protocol.
"""
from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, TextIO

import numpy as np

from azero._core import INSTRUCTION_DTYPE
from azero._core.rng import RandomGenerator, hash_mix
from azero.algorithm import Algorithm
from azero.config import IslandsSpec, SearchConfig
from azero.search import LocalIsland, progress_line

if TYPE_CHECKING:
    from azero.search import Search

__all__ = ["MPIIsland", "MPIUnavailableError", "MPI_HINT", "detect", "launched_by_mpi", "island_seed",
           "install_signal_handlers", "interactive_terminal", "install_abort_on_exception", "abort_job",
           "mpiexec_path", "rotate_in"]

MPI_HINT = "pip install 'azero[mpi]'"
# Environment variables that MPI launchers set in the processes they start (MPICH/Hydra, Intel MPI, Open MPI,
# PMIx-based launchers such as srun --mpi=pmix, MVAPICH).
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
                  "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE")
_LAUNCHER_PREFIXES = ("HYDRA_", "HYDI_")
# Folded into the run seed for the migration streams, so they never coincide with an island's search stream.
_MIGRATION_SALT = 0x6D696772


class MPIUnavailableError(RuntimeError):
    """MPI was asked for (an MPI launcher, or `mpiexec_path`) but is not usable; the message is one line."""


def island_seed(seed: int, rank: int) -> int:
    """Seed of island `rank`'s search stream: the run's seed on rank 0, ``hash_mix(seed, rank)`` (never 0) else."""
    if rank == 0:
        return seed
    return hash_mix(seed, rank) or 1


def _raw(array: np.ndarray) -> np.ndarray:
    """The bytes of a C-contiguous array as a uint8 view (MPI sends them as MPI.BYTE, writes land in `array`)."""
    return array.reshape(-1).view(np.uint8)


class MPIIsland:
    """The island of this MPI rank (the `Island` protocol of azero.search) over communicator `comm`.

    `cfg` gives the migration settings (a SearchConfig's ``islands`` or an IslandsSpec); None reads them from the
    search's config. Counters since construction: `migrations` (rounds), `migration_seconds` (wall time inside
    migration rounds, waiting for partners included), `migrants_sent` (sent, or offered to the pool),
    `migrants_received`, `bytes_sent` (migrant bytes sent by this rank). They are not part of a checkpoint:
    after a resume they count from 0.
    """

    def __init__(self, comm: Any, cfg: SearchConfig | IslandsSpec | None = None):
        from mpi4py import MPI

        self._mpi = MPI
        self.comm = comm
        self.rank: int = comm.Get_rank()
        self.size: int = comm.Get_size()
        self.is_root: bool = self.rank == 0
        self.spec: IslandsSpec | None = cfg.islands if isinstance(cfg, SearchConfig) else cfg
        self.migrations = 0
        self.migration_seconds = 0.0
        self.migrants_sent = 0
        self.migrants_received = 0
        self.bytes_sent = 0
        self._local = LocalIsland()

    # -- the Island protocol --

    def island_seed(self, seed: int) -> int:
        return island_seed(seed, self.rank)

    def broadcast(self, value: Any) -> Any:
        """The root's `value` on every rank."""
        return self.comm.bcast(value, root=0)

    def any(self, flag: bool) -> bool:
        """True on every rank when `flag` is true on at least one."""
        if self.size == 1:
            return bool(flag)
        mine = np.array([1 if flag else 0], dtype=np.int32)
        result = np.empty_like(mine)
        self.comm.Allreduce(mine, result, op=self._mpi.MAX)
        return bool(result[0])

    def after_generation(self, search: Search) -> None:
        """Migrate when this generation's individuals crossed a multiple of migrate_every."""
        if self.size == 1:
            return
        _, evolution = search.running()
        every = self._spec(search).migrate_every
        count, population = evolution.num_individuals, evolution.population_size
        if count > population and count // every > (count - population) // every:
            self.migrate(search)

    def progress_line(self, search: Search) -> str:
        """The reference's line over all islands (on the root; other ranks get their own island's line).

        indivs is the total over islands, mean and stdev are over all individuals of all islands, best fit is the
        global best; with N > 1 islands ``islands=N, indivs_per_sec=…, migrations=…`` follow.
        """
        local = self._local.progress_line(search)
        if self.size == 1:
            return local
        _, evolution = search.running()
        mean, stdev, best, _ = evolution.stats()
        mine = np.array([evolution.num_individuals, mean, stdev, best], dtype=np.float64)
        every = np.empty((self.size, 4), dtype=np.float64) if self.is_root else None
        self.comm.Gather(mine, every, root=0)   # only the root prints: no rank but it holds N rows
        if not self.is_root or every is None:
            return local
        total = int(every[:, 0].sum())
        global_mean = float(every[:, 1].mean())
        variance = float((every[:, 2] ** 2 + every[:, 1] ** 2).mean()) - global_mean * global_mean
        seconds = time.time() - search.experiment_started
        rate = total / seconds if seconds > 0 else 0.0
        return (progress_line(total, search.elapsed_secs(), global_mean, max(variance, 0.0) ** 0.5,
                              float(every[:, 3].max()))
                + f" islands={self.size}, indivs_per_sec={rate:.0f}, migrations={self.migrations}")

    def best_candidate(self, search: Search) -> tuple[float, Algorithm]:
        """The best individual of all final populations (ties: lowest rank, then lowest slot), on every rank."""
        if self.size == 1:
            return self._local.best_candidate(search)
        _, evolution = search.running()
        _, _, best, slot = evolution.stats()
        bests = np.empty(self.size, dtype=np.float64)
        self.comm.Allgather(np.array([best], dtype=np.float64), bests)
        winner = int(np.argmax(bests))
        if self.rank == winner:
            functions = evolution.individual(slot)
            sizes = np.array([len(f) for f in functions], dtype=np.int32)
            flat = np.ascontiguousarray(np.concatenate(functions))
        else:
            sizes = np.empty(3, dtype=np.int32)
        self.comm.Bcast(sizes, root=winner)
        if self.rank != winner:
            flat = np.empty(int(sizes.sum()), dtype=INSTRUCTION_DTYPE)
        self.comm.Bcast(_raw(flat), root=winner)
        ends = np.cumsum(sizes)
        return float(bests[winner]), Algorithm.from_arrays(flat[:ends[0]], flat[ends[0]:ends[1]], flat[ends[1]:])

    # -- migration --

    def _spec(self, search: Search) -> IslandsSpec:
        return self.spec if self.spec is not None else search.cfg.islands

    def num_migrants(self, search: Search) -> int:
        """k: islands.num_migrants, or half the population when that is 0."""
        return self._spec(search).num_migrants or search.running()[1].population_size // 2

    def _round_seed(self, search: Search) -> int:
        """The seed of this migration round's draws, the same on every rank: (run seed, experiment, round).

        Derived, not stored, so a resumed run draws what the uninterrupted one would have.
        """
        round_index = search.running()[1].num_individuals // self._spec(search).migrate_every
        key = (len(search.experiments) << 32) | (round_index & 0xFFFFFFFF)
        return hash_mix(hash_mix(search.base_seed, _MIGRATION_SALT), key)

    def migrate(self, search: Search) -> int:
        """One migration round with the configured protocol (collective); returns the immigrants received."""
        started = time.perf_counter()
        _, evolution = search.running()
        k = self.num_migrants(search)
        if k == 0:
            return 0
        order = np.argsort(-evolution.fitness, kind="stable")[:k]
        offer = (evolution.programs[order], evolution.sizes[order], evolution.fitness[order])
        protocol = self._spec(search).protocol
        received = None
        if protocol == "ring":
            received = self._exchange(offer, (self.rank + 1) % self.size, (self.rank - 1) % self.size)
        elif protocol == "random_pairs":
            partner = self._partner(RandomGenerator(self._round_seed(search)))
            if partner is not None:
                received = self._exchange(offer, partner, partner)
        else:
            received = self._pool(offer, RandomGenerator(self._round_seed(search)))
        if received is not None:
            self.migrants_sent += k
            programs, sizes, fitness, sources = received
            if search.store is not None:
                search.store.before_migration(search)   # full history sees the slots before they are replaced
            rotate_in(evolution, programs, sizes, fitness)
            self.migrants_received += len(fitness)
            if search.store is not None:
                for source in np.unique(sources):
                    search.store.migration(search, int(source), self.rank, fitness[sources == source].copy())
        self.migrations += 1
        self.migration_seconds += time.perf_counter() - started
        return 0 if received is None else len(received[2])

    def _exchange(self, offer, dest: int, source: int):
        """Send our migrants to `dest` while receiving as many from `source` (raw buffers)."""
        received = tuple(np.empty_like(part) for part in offer)
        for part, into in zip(offer, received):
            self.comm.Sendrecv(_raw(part), dest=dest, sendtag=0, recvbuf=_raw(into), source=source, recvtag=0)
            self.bytes_sent += part.nbytes
        return (*received, np.full(len(offer[2]), source, dtype=np.int64))

    def _partner(self, stream: RandomGenerator) -> int | None:
        """This rank's partner in a random pairing of the ranks (Fisher-Yates shuffle, then consecutive pairs)."""
        ranks = list(range(self.size))
        for i in range(self.size - 1, 0, -1):
            j = stream.uniform_u32(0, i + 1)
            ranks[i], ranks[j] = ranks[j], ranks[i]
        position = ranks.index(self.rank)
        if position == self.size - 1 and self.size % 2 == 1:
            return None
        return ranks[position ^ 1]

    def _pool(self, offer, stream: RandomGenerator):
        """Scatter our k migrants over the other islands and receive k from them, O(k) traffic per rank.

        The round draws one shift s_j in 1..N-1 per migrant position j from `stream` (the same on every rank):
        every island sends its j-th best to the island s_j ranks after it, so it receives the j-th best of the
        island s_j ranks before it. Each island sends and receives exactly k individuals, in one exchange per
        distinct shift (at most min(k, N - 1)), whatever N is.
        """
        k = len(offer[2])
        shifts = np.array([1 + stream.uniform_u32(0, self.size - 1) for _ in range(k)], dtype=np.int64)
        received = tuple(np.empty_like(part) for part in offer)
        for shift in np.unique(shifts):
            slots = np.flatnonzero(shifts == shift)
            dest, source = (self.rank + shift) % self.size, (self.rank - shift) % self.size
            outgoing = _pack(part[slots] for part in offer)
            incoming = np.empty_like(outgoing)
            self.comm.Sendrecv(outgoing, dest=int(dest), sendtag=1, recvbuf=incoming, source=int(source),
                               recvtag=1)
            self.bytes_sent += outgoing.nbytes
            for into, part in zip(received, _unpack(incoming, offer, len(slots))):
                into[slots] = part
        return (*received, (self.rank - shifts) % self.size)


def _pack(parts: Iterable[np.ndarray]) -> np.ndarray:
    """Arrays with one row per migrant, as one contiguous uint8 buffer (each array's bytes in turn)."""
    return np.concatenate([_raw(np.ascontiguousarray(part)) for part in parts])


def _unpack(buffer: np.ndarray, like: tuple[np.ndarray, ...], rows: int) -> list[np.ndarray]:
    """The inverse of `_pack` for `rows` rows of arrays shaped and typed like those of `like`."""
    parts, start = [], 0
    for template in like:
        shape = (rows, *template.shape[1:])
        size = int(np.prod(shape)) * template.dtype.itemsize
        parts.append(buffer[start:start + size].view(template.dtype).reshape(shape))
        start += size
    return parts


def rotate_in(evolution: Any, programs: np.ndarray, sizes: np.ndarray, fitness: np.ndarray) -> None:
    """Immigrants replace the m oldest individuals and become the youngest (slot order stays age order)."""
    m = len(fitness)
    if m == 0:
        return
    population = evolution.population_size
    for array, incoming in ((evolution.programs, programs), (evolution.sizes, sizes), (evolution.fitness, fitness)):
        array[:population - m] = array[m:].copy()
        array[population - m:] = incoming


# -- launching, signals, failures --


def launched_by_mpi(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process was started by an MPI launcher (mpiexec, mpirun, srun with PMI/PMIx)."""
    environ = os.environ if environ is None else environ
    return any(name in environ for name in _LAUNCHER_VARS) or any(
        name.startswith(_LAUNCHER_PREFIXES) for name in environ)


def interactive_terminal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether `stream` is a person's terminal (worth a progress bar) rather than a job's log.

    Open MPI gives every local rank a pseudo-terminal, so isatty() answers yes inside batch jobs too: under an
    MPI launcher or in a SLURM job the answer is no, whatever isatty() says.
    """
    environ = os.environ if environ is None else environ
    return stream.isatty() and not launched_by_mpi(environ) and "SLURM_JOB_ID" not in environ


def detect(cfg: SearchConfig | IslandsSpec | None = None) -> MPIIsland | None:
    """This rank's MPIIsland when launched by an MPI launcher (even with 1 rank), else None.

    mpi4py is imported only then; if it cannot load (missing, or no MPI library), MPIUnavailableError says how
    to install it.
    """
    if not launched_by_mpi():
        return None
    try:
        from mpi4py import MPI
    except Exception as error:  # ImportError, or a RuntimeError/OSError naming the missing libmpi
        reason = " ".join(str(error).split()) or type(error).__name__
        raise MPIUnavailableError(f"started by an MPI launcher but mpi4py cannot load ({reason}); "
                                  f"install it with: {MPI_HINT}") from None
    return MPIIsland(MPI.COMM_WORLD, cfg)


def mpiexec_path() -> str:
    """The mpiexec beside sys.executable (the one that matches this environment's MPI library)."""
    path = Path(sys.executable).parent / "mpiexec"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise MPIUnavailableError(f"no mpiexec beside {sys.executable}; install one with: {MPI_HINT}")
    return str(path)


def install_signal_handlers(search: Search,
                            signals: Iterable[int] = (signal.SIGTERM, signal.SIGUSR1)) -> dict[int, Any]:
    """Turn `signals` into `search.request_stop()` (a clean, collective stop at the next generation boundary).

    Works in one process too. mpiexec (Hydra) forwards SIGTERM, SIGUSR1 and SIGINT to every rank; adding
    signal.SIGINT makes Ctrl-C stop cleanly instead of raising KeyboardInterrupt on the ranks at different
    points. Returns the previous handlers, by signal.
    """
    def handler(signum: int, frame: Any) -> None:
        search.request_stop()

    return {signum: signal.signal(signum, handler) for signum in signals}


def _mpi_running() -> Any:
    """The MPI module when mpi4py is loaded and MPI is initialised and not finalised, else None."""
    module = sys.modules.get("mpi4py.MPI")
    if module is None or not module.Is_initialized() or module.Is_finalized():
        return None
    return module


def abort_job(code: int = 1) -> None:
    """End the whole MPI job with `code` (MPI_Abort on COMM_WORLD); without MPI, exit this process."""
    sys.stdout.flush()
    sys.stderr.flush()
    mpi = _mpi_running()
    if mpi is not None:
        mpi.COMM_WORLD.Abort(code)
    raise SystemExit(code)


def install_abort_on_exception() -> None:
    """Make an unhandled exception print its traceback (each line tagged with the rank) and abort the MPI job.

    Without this, the other ranks would wait forever in their next collective. Outside MPI the usual hook runs.
    """
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, tb: Any) -> None:
        mpi = _mpi_running()
        if mpi is None:
            previous(kind, error, tb)
            return
        rank, size = mpi.COMM_WORLD.Get_rank(), mpi.COMM_WORLD.Get_size()
        text = "".join(traceback.format_exception(kind, error, tb))
        lines = [f"azero: unhandled exception on rank {rank} of {size}; aborting the MPI job"] + text.splitlines()
        sys.stderr.write("".join(f"[rank {rank}] {line}\n" for line in lines))
        abort_job(1)

    sys.excepthook = hook
