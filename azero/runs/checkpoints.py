"""Reading checkpoints back to resume a run: which checkpoint, which island each rank continues (`_plan`, rank 0,
writes nothing), and each rank's island file rebuilt at that checkpoint under a temporary name
(`_prepare_island`). `azero.runs.resume` drives them around a search."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, NamedTuple

import h5py
import numpy as np

from azero._core.rng import RandomGenerator, hash_mix
from azero.config import SearchConfig
from azero.results import Experiment, SearchResult
from azero.runs.directory import RunInfo, _best_of, _check_island, _create_island, _read_run
from azero.runs.files import (_copy_rows, _damage, _lock, _open_read, _read_intact_prefix, _tmp_path, _valid_rows,
                              _verify)
from azero.runs.schema import (NO_PRINT, NUM_SLOTS, RUN_FILE, Layout, RunStoreError, _config_difference,
                               _specs_from_seeds, island_file)
from azero.runs.writer import Counters
from azero.search_state import EvaluatorState, EvolutionState, FECState, SearchState


@dataclasses.dataclass
class _IslandHead:
    """An island file's checkpoint table (enough to plan a resume)."""

    path: Path
    checkpoints: np.ndarray
    population_rows: int

    def retained(self) -> list[int]:
        """Indices of the resumable checkpoints whose slots are certainly intact: the newest NUM_SLOTS - 1 (the
        next checkpoint overwrites the slot of the one before them, maybe when the writer was killed)."""
        return [i for i in self.kept_rows(self.checkpoints["resumable"]) if i < self.population_rows]

    @staticmethod
    def kept_rows(resumable: np.ndarray) -> list[int]:
        """Rows of the newest NUM_SLOTS - 1 resumable checkpoints in a checkpoint table's `resumable` column."""
        return [int(i) for i in np.flatnonzero(resumable == 1)[-(NUM_SLOTS - 1):]]


def _read_head(path: Path, cfg: SearchConfig, base_seed: int, tolerant: bool = False) -> _IslandHead:
    """The checkpoint table of an island file; `tolerant`: only its rows before a damaged chunk."""
    with _open_read(path) as f:
        try:
            _check_island(f, path, cfg, base_seed)
            layout = Layout.of(cfg)
            table = _read_intact_prefix(f["checkpoints"]) if tolerant else f["checkpoints"][()]
            if table.dtype != layout.checkpoint_dtype:
                raise RunStoreError(f"{path}: checkpoint table does not match the config's layout")
            return _IslandHead(path, _valid_rows(table, "checkpoints"),
                               f["population"]["fitness"].shape[0])
        except (KeyError, ValueError, TypeError, OSError) as error:
            if isinstance(error, RunStoreError):
                raise
            raise RunStoreError(f"{path}: damaged island file ({' '.join(str(error).split())})") from None


def _read_state(f: h5py.File, path: Path, index: int, cfg: SearchConfig,
                experiments: list[Experiment]) -> SearchState:
    """The search state of checkpoint row `index` (resumable), as `Search.checkpoint_state()` took it."""
    row = f["checkpoints"][index]
    if int(row["experiment"]) > len(experiments):
        raise RunStoreError(f"{path}: checkpoint {int(row['seq'])} needs {int(row['experiment'])} experiments, "
                            f"run.h5 has {len(experiments)}")
    done = experiments[:int(row["experiment"])]
    best_select, best_alg = _best_of(done)
    if best_select != row["best_select_fitness"]:
        raise RunStoreError(f"{path}: checkpoint {int(row['seq'])} does not agree with run.h5's experiments")
    slot = int(row["slot"])
    fec_size = int(row["fec_size"])
    resume = f["resume"]
    fec = None
    if cfg.fec is not None:
        keys, fitness, counts = (resume[name][slot, :fec_size] for name in ("fec_keys", "fec_fitness", "fec_counts"))
        fec = FECState((keys, fitness, counts), int(row["fec_hits"]), int(row["fec_misses"]))
    hurdles = None
    if cfg.hurdles is not None:
        hurdles = (resume["hurdle_ring"][slot], int(row["hurdle_fill"]), int(row["hurdle_position"]),
                   float(row["hurdle"]))
    pop = f["population"]
    return SearchState(
        base_seed=int(f.attrs["base_seed"]), seed=int(f.attrs["island_seed"]), rng=row["rng"].copy(),
        experiments=list(done), best_select_fitness=best_select, best_algorithm=best_alg,
        search_specs=_specs_from_seeds(cfg.search_tasks, row["search_seeds_set"], row["search_param_seeds"],
                                       row["search_data_seeds"]),
        select_specs=_specs_from_seeds(cfg.select_tasks, row["select_seeds_set"], row["select_param_seeds"],
                                       row["select_data_seeds"]),
        init_steps=int(row["init_steps"]), steps=int(row["steps"]),
        last_printed=None if row["last_printed"] == NO_PRINT else int(row["last_printed"]),
        elapsed=float(row["elapsed"]), experiment_elapsed=float(row["experiment_elapsed"]),
        evolution=EvolutionState(
            programs=pop["programs"][index], sizes=pop["sizes"][index], fitness=pop["fitness"][index],
            num_individuals=int(row["individuals"]), best_ever_fitness=float(row["best_ever_fitness"]),
            hurdle_rejections=int(row["hurdle_rejections"]), hurdles=hurdles),
        evaluator=EvaluatorState(num_train_steps=int(row["train_steps"]), fec=fec))


# ---------------------------------------------------------------------------------------------------------
# The plan


class Assignment(NamedTuple):
    """What one rank continues: `island`, from the checkpoint of island `source` (itself, or the island it copies)."""

    island: int
    source: int


@dataclasses.dataclass
class ResumePlan:
    """Rank 0's reading of a run to resume, broadcast to every rank."""

    info: RunInfo
    messages: list[str] = dataclasses.field(default_factory=list)     # for the log, in order
    migration_rounds: int = 0       # migration rounds so far (the islands' progress line counts them)
    result: SearchResult | None = None      # a finished run's stored result: nothing to resume
    seq: int | None = None          # the checkpoint every island continues from; None: again from the seed
    assignments: list[Assignment] = dataclasses.field(default_factory=list)     # by rank
    indices: dict[int, int] = dataclasses.field(default_factory=dict)   # island -> row of checkpoint `seq`


class PreparedIsland(NamedTuple):
    """A rank's island file built at the planned checkpoint (`tmp`, to be renamed to `target`), the search state
    there and the store's counters to go on with."""

    tmp: Path
    target: Path
    state: SearchState
    counters: Counters


def _plan(run_dir: Path, num_ranks: int, cfg: SearchConfig | None, from_checkpoint: int | None = None,
          restart: bool = False) -> ResumePlan:
    """Rank 0's reading of the run: which checkpoint, which island each rank continues. Writes nothing.

    A damaged file (a checksum or HDF5 structure that does not read back) is refused unless `from_checkpoint`
    (continue from that checkpoint, giving up what follows it) or `restart` (start again from the seed, giving
    up everything) says what to give up."""
    info = _read_run(run_dir)
    if cfg is not None and cfg != info.cfg:
        raise RunStoreError(f"{run_dir / RUN_FILE}: the given config does not match the stored run "
                            f"(differs in {_config_difference(cfg, info.cfg)})")
    plan = ResumePlan(info)
    final = info.final
    if info.status == "finished" and final is not None and not restart:
        plan.result = SearchResult(info.base_seed, final["best_algorithm"], final["best_select_fitness"],
                                    final["final_fitness"], info.experiments, final["elapsed_seconds"],
                                    final_seed=final["final_seed"])
        return plan
    for i in info.island_ids:
        fd = _lock(run_dir, i)          # refuse to resume a run that is still being written
        if fd is not None:
            os.close(fd)
    if restart:
        plan.seq = None
        plan.messages.append(f"Restarting run {run_dir} from seed {info.base_seed} (--restart: its records "
                                "are replaced).")
        return plan
    if info.status == "starting":
        plan.seq = None
        plan.messages.append(f"Run {run_dir} was killed while starting: starting it again from seed "
                                f"{info.base_seed}.")
        return plan
    if from_checkpoint is None:
        try:
            for i in info.island_ids:
                _verify(run_dir / island_file(i))
        except RunStoreError as error:
            readable = _usable_checkpoints(run_dir, info, tolerant=True)
            raise RunStoreError(
                f"{error}; nothing was changed. To give up the damaged records: azero resume {run_dir} "
                f"--from-checkpoint N (checkpoints every island still lists: "
                f"{', '.join(map(str, readable)) or 'none'}) or --restart") from None
    heads, retained, usable = _usable_checkpoints(run_dir, info, tolerant=from_checkpoint is not None,
                                                  detail=True)
    if from_checkpoint is not None:
        if from_checkpoint not in usable:
            raise RunStoreError(f"{run_dir}: checkpoint {from_checkpoint} cannot be resumed (resumable on every "
                                f"island: {', '.join(map(str, usable)) or 'none'}); nothing was changed")
        usable = [from_checkpoint]
    if not usable:
        if any(retained.values()):
            raise RunStoreError(f"{run_dir}: the islands have no checkpoint in common")
        plan.seq = None
        plan.messages.append(f"Run {run_dir} has no checkpoint yet: starting it again from seed "
                                f"{info.base_seed}.")
        return plan
    seq = max(usable)
    plan.seq = seq
    old = info.island_ids
    fitness_at = {}
    rounds: set[tuple[int, int]] = set()     # migration rounds so far (the islands' progress line counts them)
    for i in old:
        with _open_read(heads[i].path) as f:
            try:
                index = retained[i][seq]
                fitness_at[i] = float(f["population"]["fitness"][index].max())
                n = int(heads[i].checkpoints["migration_rows"][index])
                rows = f["migrations"].fields(["experiment", "individuals"])[:n]
            except (KeyError, ValueError, TypeError, OSError) as error:
                raise _damage(heads[i].path, error) from None
        rounds.update(zip(rows["experiment"].tolist(), rows["individuals"].tolist()))
    plan.migration_rounds = len(rounds)
    order = sorted(old, key=lambda i: (-fitness_at[i], i))       # best island first
    row = heads[old[0]].checkpoints[retained[old[0]][seq]]
    plan.messages.append(f"Resuming run {run_dir} from checkpoint {seq} (experiment {int(row['experiment'])}, "
                            f"indivs={int(row['individuals'])}).")
    if num_ranks == len(old):
        assignments = [Assignment(i, i) for i in old]
    elif num_ranks < len(old):
        assignments = [Assignment(i, i) for i in order[:num_ranks]]
        plan.messages.append(
            f"{len(old)} islands on {num_ranks} ranks: keeping the best islands " + ", ".join(
                f"{a.island} (rank {r})" for r, a in enumerate(assignments)) +
            "; retiring " + ", ".join(str(i) for i in order[num_ranks:]) + ".")
    else:
        assignments = [Assignment(i, i) for i in old]
        for r in range(len(old), num_ranks):
            source = order[(r - len(old)) % len(old)]
            assignments.append(Assignment(info.num_islands + r - len(old), source))
        plan.messages.append(
            f"{len(old)} islands on {num_ranks} ranks: " + ", ".join(
                f"rank {r} starts island {a.island} as a copy of island {a.source}"
                for r, a in enumerate(assignments) if a.island != a.source) +
            " (fresh random streams from the seed and the rank).")
    plan.assignments = assignments
    plan.indices = {i: retained[i][seq] for i in old}
    return plan


def _usable_checkpoints(run_dir: Path, info: RunInfo, tolerant: bool, detail: bool = False):
    """The checkpoint seqs every island of the current segment holds resumable (state intact) and run.h5's
    experiments cover; `tolerant` reads each checkpoint table only up to a damaged chunk. With `detail`:
    (heads, retained {island: {seq: row}}, usable). Best effort when tolerant: unreadable islands count as none."""
    heads, retained = {}, {}
    for i in info.island_ids:
        try:
            heads[i] = _read_head(run_dir / island_file(i), info.cfg, info.base_seed, tolerant=tolerant)
        except RunStoreError:
            if not tolerant or detail:
                raise
            return []
        retained[i] = {int(heads[i].checkpoints["seq"][k]): k for k in heads[i].retained()}
    common = set.intersection(*(set(r) for r in retained.values()))
    usable = sorted(seq for seq in common
                    if all(int(heads[i].checkpoints["experiment"][retained[i][seq]]) <= len(info.experiments)
                           for i in heads))
    return (heads, retained, usable) if detail else usable


def _prepare_island(run_dir: Path, plan: ResumePlan, rank: int, island_seed: int) -> PreparedIsland:
    """This rank's island file at the planned checkpoint, under a temporary name; and its state and counters.

    A continued island keeps its tables up to the checkpoint; a new island (more ranks than islands) starts
    with that checkpoint alone, its generator re-seeded from (island seed of the rank, checkpoint seq).
    """
    info = plan.info
    a = plan.assignments[rank]
    source = run_dir / island_file(a.source)
    index = plan.indices[a.source]
    target = run_dir / island_file(a.island)
    new = a.island != a.source
    with _open_read(source) as f:
        try:
            state = _read_state(f, source, index, info.cfg, info.experiments)
            row = f["checkpoints"][index:index + 1].copy()
            counters = Counters(generation=int(row["generation"][0]), next_seq=int(row["seq"][0]) + 1,
                                 last_checkpoint_generation=int(row["generation"][0]))
            content: dict[str, Any] = {}
            attrs = {name: f.attrs[name] for name in ("island", "base_seed", "island_seed", "parent_island",
                                                      "parent_checkpoint")}
            resume_names = [name for name in ("fec_keys", "fec_fitness", "fec_counts", "hurdle_ring")
                            if name in f["resume"]]
            if new:
                fresh = hash_mix(island_seed, int(row["seq"][0]))
                state.seed = fresh
                state.rng = RandomGenerator(fresh).get_state()
                slot = int(row["slot"][0])
                row["rng"] = state.rng
                row["slot"] = 0
                for name in ("progress_rows", "lineage_rows", "migration_rows", "history_rows"):
                    row[name] = 0
                content["checkpoints"] = row
                for name in ("programs", "sizes", "fitness"):
                    content[f"population/{name}"] = f["population"][name][index:index + 1]
                for name in resume_names:
                    values = np.zeros(f["resume"][name].shape, dtype=f["resume"][name].dtype)
                    values[0] = f["resume"][name][slot]
                    content[f"resume/{name}"] = values
                attrs.update(island=a.island, island_seed=fresh, parent_island=a.source,
                             parent_checkpoint=int(row["seq"][0]))
                counters.resumable = 1
                tmp_target = _tmp_path(target)
                _create_island(tmp_target, info.cfg, attrs, info.full_history, content)
            else:
                for name in ("progress", "lineage", "migrations") + (("history",) if info.full_history else ()):
                    key = "migration_rows" if name == "migrations" else f"{name}_rows"
                    content[name] = _copy_rows(f[name], int(row[key][0]))
                content["checkpoints"] = _copy_rows(f["checkpoints"], index + 1)
                for name in ("programs", "sizes", "fitness"):
                    content[f"population/{name}"] = _copy_rows(f["population"][name], index + 1)
                # Only the slots of the kept checkpoints up to this one: the slot a killed writer was recycling
                # may be half written (its checksum fails), and the next checkpoint writes it anew.
                table = f["checkpoints"][:index + 1]
                kept = [int(table["slot"][k]) for k in _IslandHead.kept_rows(table["resumable"])]
                for name in resume_names:
                    values = np.zeros(f["resume"][name].shape, dtype=f["resume"][name].dtype)
                    for slot in kept:
                        values[slot] = f["resume"][name][slot]
                    content[f"resume/{name}"] = values
                counters.resumable = int(np.count_nonzero(table["resumable"]))
                tmp_target = _tmp_path(target)
                _create_island(tmp_target, info.cfg, attrs, info.full_history, content)
        except (KeyError, ValueError, TypeError, OSError) as error:
            if isinstance(error, RunStoreError):
                raise
            raise RunStoreError(f"{source}: damaged island file ({' '.join(str(error).split())})") from None
    return PreparedIsland(tmp_target, target, state, counters)
