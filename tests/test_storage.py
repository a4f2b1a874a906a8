"""HDF5 run store: round trip of every stored item, resume == uninterrupted (bitwise), kill -9 at random
moments, live readers, rank-count changes, and every bad-file case."""
import hashlib
import io
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import azero
from azero import presets
from azero._core.rng import hash_mix
from azero.config import FECSpec, HurdlesSpec
from azero.islands import rotate_in
from azero.runs.checkpoints import Assignment, _plan, _prepare_island
from azero.runs.directory import new_run_dir
from azero.runs.reader import load_run
from azero.runs.resume import resume
from azero.runs.schema import NUM_SLOTS, SCHEMA_VERSION, RunStoreError, _seal_run_file, island_file
from azero.runs.status import status
from azero.runs.writer import RunStore
from azero.search import LocalIsland, Search, run_search

ROOT = Path(__file__).resolve().parent.parent
ELAPSED = re.compile(r"elapsed_secs=\d+")
TIME_FIELDS = {"elapsed", "wall_time", "experiment_elapsed"}
RESUME_LINES = ("Stopped on request", "Resuming run", "Run ")


def small_cfg(**changes):
    """linear_integration shrunk: population 50, a progress row every 100 individuals, ~0.2 s per run."""
    base = dict(population_size=50, progress_every=100, max_train_steps=1_000_000)
    base.update(changes)
    return presets.load("linear_integration").replace(**base)


def multi_cfg():
    """Three experiments with re-drawn task seeds and hurdles: exercises spec seeds, hurdle state, FEC."""
    return small_cfg(max_experiments=3, randomize_task_seeds=True, max_train_steps=400_000,
                     hurdles=HurdlesSpec(percentile=50.0, window=120, tasks=3),
                     fec=FECSpec(num_train_examples=10, num_valid_examples=10, cache_size=500, forget_every=5))


def bits_equal(a, b) -> bool:
    """Exact equality of two arrays, structured or not, floats compared bit for bit."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.names:
        return all(bits_equal(a[name], b[name]) for name in a.dtype.names)
    if a.dtype.subdtype is not None or a.dtype != b.dtype:
        return False
    return np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


def without(table: np.ndarray, *names: str) -> np.ndarray:
    """The table without some fields (times differ between runs)."""
    keep = [n for n in table.dtype.names if n not in TIME_FIELDS | set(names)]
    return np.array(table[keep].tolist(), dtype=[(n, table.dtype[n]) for n in keep]) if len(table) else None


def lines(text: str) -> list[str]:
    return [ELAPSED.sub("elapsed_secs=…", line) for line in text.splitlines()
            if not line.startswith(RESUME_LINES)]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


class StopIsland(LocalIsland):
    """The local island, asking the search to stop once it has evaluated `stop_at` individuals."""

    def __init__(self, stop_at: int | None):
        self.stop_at = stop_at

    def after_generation(self, search):
        if self.stop_at is not None and search.evolution.num_individuals == self.stop_at:
            search.request_stop()


class FakeRank(StopIsland):
    """Rank `rank` of `size` for running islands one after another in this process (no migration)."""

    def __init__(self, rank: int, size: int, stop_at: int | None = None):
        super().__init__(stop_at)
        self.rank, self.size, self.is_root = rank, size, rank == 0

    def island_seed(self, seed: int) -> int:
        return seed if self.rank == 0 else hash_mix(seed, self.rank)


def run_stored(cfg, run_dir, seed=100021, island=None, every=4, full_history=False):
    out = io.StringIO()
    store = RunStore(run_dir, checkpoint_every_generations=every, full_history=full_history)
    try:
        result = Search(cfg, seed, out=out, island=island, store=store).run()
    finally:
        store.close()
    return result, out.getvalue()


# ---------------------------------------------------------------------------------------------------------
# Round trip


class SpyStore(RunStore):
    """Records what the search exposes at each hook, to compare with what load_run reads back."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen_progress, self.seen_lineage, self.seen_history, self.seen_snapshots = [], [], [], []

    def progress(self, search):
        evolution, fec = search.evolution, search.evaluator.fec
        mean, stdev, best, _ = evolution.stats()
        self.seen_progress.append((len(search.experiments), evolution.num_individuals,
                                   search.evaluator.num_train_steps, mean, stdev, best, fec.hits, fec.misses,
                                   evolution.hurdle_rejections))
        super().progress(search)

    def after_generation(self, search):
        evolution = search.evolution
        for i in range(evolution.num_improved):
            self.seen_lineage.append((len(search.experiments), evolution.improved_individuals[i],
                                      evolution.improved_fitness[i], evolution.improved_sizes[i].copy(),
                                      evolution.improved_programs[i].copy()))
        self.seen_history.append((len(search.experiments), evolution.num_individuals, evolution.fitness.copy(),
                                  evolution.sizes.copy(), evolution.programs.copy()))
        if (self.counters.generation + 1) % self.every_generations == 0:
            self._see(search, True)
        super().after_generation(search)

    def experiment_done(self, search, experiment):
        self._see(search, False)
        super().experiment_done(search, experiment)

    def _see(self, search, resumable):
        evolution = search.evolution
        self.seen_snapshots.append(dict(
            resumable=resumable, individuals=evolution.num_individuals, programs=evolution.programs.copy(),
            sizes=evolution.sizes.copy(), fitness=evolution.fitness.copy(), rng=search.rng.get_state(),
            train_steps=search.evaluator.num_train_steps, experiments=len(search.experiments)))


class MigrationIsland(LocalIsland):
    """Reports a migration of the three best individuals every 250 individuals."""

    def __init__(self):
        self.moves = []

    def after_generation(self, search):
        if search.store is not None and search.evolution.num_individuals % 250 == 0:
            fitness = np.sort(search.evolution.fitness)[-3:]
            self.moves.append((len(search.experiments), search.evolution.num_individuals, fitness))
            search.store.migration(search, 0, 0, fitness)


def test_round_trip_of_every_stored_item(tmp_path):
    cfg = small_cfg(max_experiments=2, randomize_task_seeds=True, max_train_steps=300_000)
    out = io.StringIO()
    island = MigrationIsland()
    store = SpyStore(tmp_path / "run", checkpoint_every_generations=4, full_history=True)
    result = Search(cfg, 7, out=out, island=island, store=store).run()
    run = load_run(tmp_path / "run")

    assert run.config == cfg and run.config_toml == cfg.to_toml()
    assert (run.azero_version, run.schema_version, run.seed, run.num_ranks, run.status) == \
        (azero.__version__, SCHEMA_VERSION, 7, 1, "finished")
    assert run.island_ids == [0] and run.segment_islands == [[0]]
    assert run.segments["num_ranks"].tolist() == [1] and run.segments["resumed_from"].tolist() == [-1]
    isl, = run.islands
    assert (isl.island, isl.attrs["island_seed"], isl.attrs["base_seed"]) == (0, 7, 7)
    with h5py.File(tmp_path / "run" / "run.h5") as f:
        attrs = f["config"].attrs
        assert attrs["population_size"] == 50 and attrs["fec.cache_size"] == 100000
        # text is stored as fixed-length UTF-8 strings (read back as bytes), inside the checksummed headers
        assert attrs["search_tasks[0].kind"].decode() == "scalar_linear_regression"
        assert [op.decode() for op in attrs["learn_ops"]] == ["SCALAR_DIFF_OP", "SCALAR_PRODUCT_OP",
                                                             "SCALAR_VECTOR_PRODUCT_OP", "VECTOR_SUM_OP"]

    # Progress: one row per printed line, the same numbers.
    p = isl.progress
    assert [tuple(r) for r in p[["experiment", "individuals", "train_steps", "mean", "stdev", "best", "fec_hits",
                                 "fec_misses", "hurdle_rejections"]].tolist()] == store.seen_progress
    printed = [line for line in out.getvalue().splitlines() if line.startswith("indivs=")]
    assert len(printed) == len(p)
    for line, row in zip(printed, p):
        assert line.startswith(f"indivs={row['individuals']}, ")
        assert line.endswith(f"mean={row['mean']:.6f}, stdev={row['stdev']:.6f}, best fit={row['best']:.6f},")
    assert np.all(np.diff(p["wall_time"]) >= 0) and np.all(p["elapsed"] > 0)

    # Lineage: every new best, with its program.
    assert len(isl.lineage) == len(store.seen_lineage) > 2
    for row, (experiment, individual, fitness, sizes, program) in zip(isl.lineage, store.seen_lineage):
        assert (row["experiment"], row["individual"], row["fitness"]) == (experiment, individual, fitness)
        assert bits_equal(row["sizes"], sizes) and bits_equal(row["program"], program)
    assert isl.algorithm(isl.lineage[-1]).sizes == tuple(isl.lineage[-1]["sizes"])

    # Full history: every individual of both experiments, numbered from 1 in each.
    history = isl.history
    assert len(history) == sum(e.num_individuals for e in result.experiments)
    expected = np.concatenate([np.arange(1, e.num_individuals + 1) for e in result.experiments])
    assert np.array_equal(history["individual"], expected)
    at = 0
    for experiment, individuals, fitness, sizes, programs in store.seen_history:
        rows = history[at:at + cfg.population_size]
        assert np.all(rows["experiment"] == experiment) and rows["individual"][-1] == individuals
        assert bits_equal(rows["fitness"], fitness) and bits_equal(rows["sizes"], sizes)
        assert bits_equal(rows["program"], programs)
        at += cfg.population_size

    # Checkpoints and snapshots: the population, generator and counters at each one.
    c = isl.checkpoints
    assert len(c) == len(store.seen_snapshots) > 5
    assert c["seq"].tolist() == list(range(1, len(c) + 1))
    for k, seen in enumerate(store.seen_snapshots):
        assert (c["resumable"][k], c["individuals"][k], c["train_steps"][k], c["experiment"][k]) == \
            (seen["resumable"], seen["individuals"], seen["train_steps"], seen["experiments"])
        assert bits_equal(isl.population_programs[k], seen["programs"])
        assert bits_equal(isl.population_sizes[k], seen["sizes"])
        assert bits_equal(isl.population_fitness[k], seen["fitness"])
        assert bits_equal(c["rng"][k], seen["rng"])
    assert c["resumable"].tolist().count(0) == 2          # the final population of each experiment
    assert isl.population_ages.shape == isl.population_fitness.shape
    assert isl.population_ages[0].tolist() == list(range(49, -1, -1))
    slot = int(np.argmax(isl.population_fitness[-1]))
    assert isl.population_algorithm(len(c) - 1, slot) == result.experiments[-1].algorithm

    # Migrations.
    m = isl.migrations
    assert len(m) == len(island.moves) > 3
    for row, (experiment, individuals, fitness) in zip(m, island.moves):
        assert (row["experiment"], row["individuals"], row["from_rank"], row["to_rank"], row["count"]) == \
            (experiment, individuals, 0, 0, 3)
        assert bits_equal(row["fitness"][:3], fitness) and np.all(np.isnan(row["fitness"][3:]))

    # Experiments and the final result.
    assert len(run.experiments) == 2
    for row, alg, e in zip(run.experiments, run.experiment_algorithms, result.experiments):
        assert (row["search_fitness"], row["select_fitness"], row["num_individuals"], row["num_train_steps"]) == \
            (e.search_fitness, e.select_fitness, e.num_individuals, e.num_train_steps)
        assert alg == e.algorithm
    assert run.final["final_fitness"] == result.final_fitness
    assert run.final["best_select_fitness"] == result.best_select_fitness
    assert run.final["best_algorithm"] == result.best_algorithm
    assert run.final["elapsed_seconds"] == result.elapsed_seconds


class RotatingIsland(LocalIsland):
    """Every 250 individuals: three copies of the best replace the oldest slots (as MPI immigrants do), after
    asking the store to record the generation first."""

    def __init__(self):
        self.before = {}

    def after_generation(self, search):
        evolution = search.evolution
        if evolution.num_individuals % 250 == 0 and evolution.num_individuals > evolution.population_size:
            search.store.before_migration(search)
            self.before[evolution.num_individuals] = evolution.fitness.copy(), evolution.programs.copy()
            best = int(np.argmax(evolution.fitness))
            rotate_in(evolution, evolution.programs[[best] * 3], evolution.sizes[[best] * 3],
                      evolution.fitness[[best] * 3])


def test_full_history_is_recorded_before_immigrants_arrive(tmp_path):
    island = RotatingIsland()
    result, _ = run_stored(small_cfg(max_train_steps=200_000), tmp_path / "run", island=island, full_history=True)
    history = load_run(tmp_path / "run").islands[0].history
    assert len(history) == result.experiments[0].num_individuals
    assert len(island.before) >= 2
    for individuals, (fitness, programs) in island.before.items():
        rows = history[individuals - 50:individuals]
        assert rows["individual"][-1] == individuals
        assert bits_equal(rows["fitness"], fitness) and bits_equal(rows["program"], programs)


def test_search_function_stores_into_run_dir(tmp_path):
    cfg = small_cfg()
    result = run_search(cfg, 100021, run_dir=tmp_path / "run", out=io.StringIO())
    run = load_run(tmp_path / "run")
    assert run.final["final_fitness"] == result.final_fitness and run.status == "finished"
    assert len(run.islands[0].progress) > 10
    before = digest(tmp_path / "run")
    with pytest.raises(RunStoreError, match="already holds a run"):
        run_search(cfg, 100021, run_dir=tmp_path / "run", out=io.StringIO())
    assert digest(tmp_path / "run") == before
    assert "finished" in status(tmp_path / "run")


def test_new_run_dir_makes_fresh_folders(tmp_path):
    first = new_run_dir(tmp_path / "runs", seed=5)
    second = new_run_dir(tmp_path / "runs", seed=5)
    assert first != second and first.is_dir() and second.is_dir()
    assert first.parent == tmp_path / "runs" and "-seed5" in first.name


# ---------------------------------------------------------------------------------------------------------
# Resume equals uninterrupted


def compare_runs(reference: Path, resumed: Path, ref_result, result, ref_out: str, out: str) -> None:
    assert result.final_fitness == ref_result.final_fitness
    assert result.best_select_fitness == ref_result.best_select_fitness
    assert result.best_algorithm == ref_result.best_algorithm
    assert [(e.search_fitness, e.select_fitness, e.num_individuals, e.num_train_steps) for e in result.experiments] \
        == [(e.search_fitness, e.select_fitness, e.num_individuals, e.num_train_steps) for e in ref_result.experiments]
    assert all(a.algorithm == b.algorithm for a, b in zip(result.experiments, ref_result.experiments))
    assert lines(out) == lines(ref_out)
    a, b = load_run(reference), load_run(resumed)
    assert bits_equal(without(a.islands[0].progress), without(b.islands[0].progress))
    assert bits_equal(a.islands[0].lineage, b.islands[0].lineage)
    assert bits_equal(without(a.experiments), without(b.experiments))
    # Checkpoints: the resumed run has the extra ones taken at the stop requests; the rest are identical.
    ca, cb = a.islands[0], b.islands[0]
    forced = [k for k in range(len(cb.checkpoints)) if cb.checkpoints["generation"][k] % 4 and
              cb.checkpoints["resumable"][k]]
    keep = [k for k in range(len(cb.checkpoints)) if k not in forced]
    assert bits_equal(without(ca.checkpoints, "seq", "slot"), without(cb.checkpoints[keep], "seq", "slot"))
    assert bits_equal(ca.population_programs, cb.population_programs[keep])
    assert bits_equal(ca.population_fitness, cb.population_fitness[keep])


@pytest.mark.parametrize("make_cfg, stops", [
    (small_cfg, [1900]),          # between two checkpoints (generation 37; checkpoints every 4)
    (small_cfg, [1050, 3450]),    # on a checkpoint (generation 20), then again after the first resume
    (multi_cfg, [1200, 600, 450]),  # experiments 1, 2, 3 (seeds re-drawn, hurdles, small FEC)
])
def test_resume_gives_bitwise_the_uninterrupted_run(tmp_path, make_cfg, stops):
    cfg = make_cfg()
    ref_result, ref_out = run_stored(cfg, tmp_path / "ref")
    result, out = run_stored(cfg, tmp_path / "run", island=StopIsland(stops[0]))
    assert result.interrupted and "stopped" in status(tmp_path / "run")
    prepared = []
    for stop in stops[1:] + [None]:
        text = io.StringIO()
        result = resume(tmp_path / "run", out=text, island=StopIsland(stop), checkpoint_every_generations=4,
                        prepare=lambda search: prepared.append(search.evolution is not None))
        assert prepared[-1] is True        # called with the restored Search, before it runs
        out += text.getvalue()
        assert text.getvalue().startswith("Resuming run")
        assert result.interrupted == (stop is not None)
    compare_runs(tmp_path / "ref", tmp_path / "run", ref_result, result, ref_out, out)
    run = load_run(tmp_path / "run")
    assert len(run.segments) == len(stops) + 1 and run.status == "finished"
    assert run.segments["resumed_from"][0] == -1 and np.all(run.segments["resumed_from"][1:] > 0)


def test_resume_of_a_finished_run_returns_its_result(tmp_path):
    cfg = small_cfg()
    ref, _ = run_stored(cfg, tmp_path / "run")
    before = digest(tmp_path / "run")
    out = io.StringIO()
    again = resume(tmp_path / "run", out=out)
    assert "has finished" in out.getvalue()
    assert (again.final_fitness, again.best_select_fitness) == (ref.final_fitness, ref.best_select_fitness)
    assert again.best_algorithm == ref.best_algorithm
    assert digest(tmp_path / "run") == before


class CrashIsland(LocalIsland):
    """Raises once `crash_at` individuals are evaluated (a run that dies before any checkpoint)."""

    def __init__(self, crash_at: int):
        self.crash_at = crash_at

    def after_generation(self, search):
        if search.evolution.num_individuals == self.crash_at:
            raise KeyboardInterrupt(f"crash at {self.crash_at} individuals")


def test_resume_without_checkpoint_starts_again_from_the_seed(tmp_path):
    cfg = small_cfg()
    ref_result, ref_out = run_stored(cfg, tmp_path / "ref")
    store = RunStore(tmp_path / "run", checkpoint_every_seconds=0)   # never: no checkpoint before the crash
    with pytest.raises(KeyboardInterrupt, match="^crash at 1000 individuals$"):
        Search(cfg, 100021, out=io.StringIO(), island=CrashIsland(1000), store=store).run()
    store.close()
    assert "no checkpoint yet" in status(tmp_path / "run")
    out = io.StringIO()
    result = resume(tmp_path / "run", out=out, checkpoint_every_generations=4)
    assert "no checkpoint yet: starting it again" in out.getvalue()
    compare_runs(tmp_path / "ref", tmp_path / "run", ref_result, result, ref_out, out.getvalue())


# ---------------------------------------------------------------------------------------------------------
# Kill -9 and live readers (subprocesses)

SCRIPT = """
import sys
from azero import presets
from azero.config import FECSpec
from azero.runs.resume import resume
from azero.runs.writer import RunStore
from azero.search import Search
cfg = presets.load("linear_integration").replace(
    population_size=50, progress_every=100, max_train_steps={steps},
    fec=FECSpec(num_train_examples=10, num_valid_examples=10, cache_size=2000))
if sys.argv[1] == "start":
    store = RunStore(sys.argv[2], checkpoint_every_generations=2)
    Search(cfg, 100021, store=store).run()
    store.close()
else:
    resume(sys.argv[2], checkpoint_every_generations=2)
"""


def script_cfg(steps: int):
    return small_cfg(max_train_steps=steps, fec=FECSpec(num_train_examples=10, num_valid_examples=10,
                                                         cache_size=2000))


def start_script(tmp_path: Path, mode: str, run_dir: Path, steps: int, log: Path) -> subprocess.Popen:
    script = tmp_path / "run_search.py"
    script.write_text(textwrap.dedent(SCRIPT.format(steps=steps)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(log, "w") as handle:
        return subprocess.Popen([sys.executable, str(script), mode, str(run_dir)], env=env, stdout=handle,
                                stderr=subprocess.PIPE, text=True)


def test_kill_9_at_random_moments_then_resume(tmp_path):
    steps = 60_000_000       # long enough (about a second of search) that the run outlives several kills
    cfg = script_cfg(steps)
    ref_result, ref_out = run_stored(cfg, tmp_path / "ref", every=2)
    run_dir, log = tmp_path / "run", tmp_path / "log.txt"
    rnd = random.Random(20240)
    mode, kills, started = "start", 0, time.monotonic()
    while kills < 14:
        proc = start_script(tmp_path, mode, run_dir, steps, log)
        while proc.poll() is None and not log.read_text():      # its first line: it is about to write
            time.sleep(0.005)
        time.sleep(rnd.uniform(0.0, 0.3))
        proc.kill()
        proc.wait()
        errors = proc.stderr.read()
        assert "Traceback" not in errors, errors
        kills += 1
        if not (run_dir / "run.h5").exists():        # killed before it wrote anything: not a run yet
            continue
        mode = "resume"
        # Every file opens after every kill, live view and full read alike.
        assert status(run_dir).startswith(f"run {run_dir}: ")
        run = load_run(run_dir)
        if run.status == "finished":
            break
    assert time.monotonic() - started < 45
    out = io.StringIO()
    result = resume(run_dir, out=out, checkpoint_every_generations=2)
    assert result.final_fitness == ref_result.final_fitness
    assert result.best_algorithm == ref_result.best_algorithm
    a, b = load_run(tmp_path / "ref"), load_run(run_dir)
    assert bits_equal(without(a.islands[0].progress), without(b.islands[0].progress))
    assert bits_equal(a.islands[0].lineage, b.islands[0].lineage)
    assert [e.num_individuals for e in result.experiments] == [e.num_individuals for e in ref_result.experiments]
    assert len(b.segments) >= 5                                  # most kills left a checkpoint to resume from
    assert not list(run_dir.glob(".*.tmp"))


def test_reader_sees_a_run_while_it_is_written(tmp_path):
    run_dir, log = tmp_path / "run", tmp_path / "log.txt"
    proc = start_script(tmp_path, "start", run_dir, 4_000_000, log)
    counts, reads = [], 0
    try:
        while proc.poll() is None:
            if (run_dir / "run.h5").exists():
                text = status(run_dir)
                run = load_run(run_dir)
                reads += 1
                if run.islands and len(run.islands[0].progress):
                    progress = run.islands[0].progress
                    counts.append(len(progress))
                    assert np.all(np.diff(progress["individuals"]) == 100)
                    shown = re.search(r"indivs=(\d+)", text)        # read a moment before load_run
                    assert shown is None or int(shown.group(1)) <= progress["individuals"][-1]
            time.sleep(0.02)
    finally:
        proc.wait()
    assert proc.returncode == 0, proc.stderr.read()
    assert reads >= 5 and len(counts) >= 3 and counts == sorted(counts) and counts[0] < counts[-1]
    final = load_run(run_dir)
    assert final.status == "finished" and len(final.islands[0].progress) >= counts[-1]
    assert "final fitness" in status(run_dir)


# ---------------------------------------------------------------------------------------------------------
# Rank-count changes (islands run one after another in this process)


def two_island_run(tmp_path: Path, cfg, stop_at: int) -> Path:
    run_dir = tmp_path / "run"
    for rank in (0, 1):
        result, _ = run_stored(cfg, run_dir, island=FakeRank(rank, 2, stop_at))
        assert result.interrupted
    return run_dir


def test_fewer_ranks_keep_the_best_island(tmp_path):
    cfg = small_cfg()
    run_dir = two_island_run(tmp_path, cfg, 1900)
    stored = load_run(run_dir)
    assert stored.island_ids == [0, 1] and len(stored.islands) == 2
    best = [float(isl.population_fitness[-1].max()) for isl in stored.islands]
    keep = int(np.argmax(best))        # the two islands differ (different seeds)
    assert best[0] != best[1]
    plan = _plan(run_dir, 1, None)
    assert plan.assignments == [Assignment(island=keep, source=keep)]
    out = io.StringIO()
    result = resume(run_dir, out=out, checkpoint_every_generations=4)
    assert f"keeping the best islands {keep} (rank 0); retiring {1 - keep}" in out.getvalue()
    run = load_run(run_dir)
    assert run.island_ids == [keep] and run.segment_islands == [[0, 1], [keep]]
    kept = run.islands[keep]
    assert kept.checkpoints["individuals"][-1] > 1900 and run.status == "finished"
    assert result.experiments[0].num_individuals == kept.checkpoints["individuals"][-1]


def test_more_ranks_copy_the_best_islands_with_fresh_streams(tmp_path):
    cfg = small_cfg()
    run_dir = tmp_path / "run"
    run_stored(cfg, run_dir, island=StopIsland(1900))
    plan = _plan(run_dir, 3, None)
    assert plan.assignments == [Assignment(island=0, source=0), Assignment(island=1, source=0),
                                Assignment(island=2, source=0)]
    assert "rank 1 starts island 1 as a copy of island 0" in " ".join(plan.messages)
    before = digest(run_dir)
    tmp, target, state, counters = _prepare_island(run_dir, plan, 2, hash_mix(100021, 2))
    assert digest(run_dir) == {**before, tmp.name: digest(run_dir)[tmp.name]}   # nothing replaced yet
    assert target == run_dir / island_file(2)
    with h5py.File(tmp) as f:
        assert (f.attrs["island"], f.attrs["parent_island"]) == (2, 0)
        row = f["checkpoints"][0]
        seq = int(row["seq"])
        assert f.attrs["parent_checkpoint"] == seq and len(f["checkpoints"]) == 1 and len(f["progress"]) == 0
        fresh = hash_mix(hash_mix(100021, 2), seq)
        assert f.attrs["island_seed"] == fresh == state.seed
        assert bits_equal(row["rng"], state.rng)
    source = load_run(run_dir).islands[0]
    k = int(np.flatnonzero(source.checkpoints["seq"] == seq)[0])
    assert bits_equal(state.evolution.programs, source.population_programs[k])
    assert not bits_equal(state.rng, source.checkpoints["rng"][k])
    assert counters.next_seq == seq + 1 and counters.resumable == 1
    tmp.unlink()


# ---------------------------------------------------------------------------------------------------------
# Bad files: one-line RunStoreError, nothing written


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("stopped") / "run"
    run_stored(small_cfg(), run_dir, island=StopIsland(1900))
    return run_dir


def corrupt_signature(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.write(b"\0" * 8)


def truncate_half(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def newer_schema(path: Path) -> None:
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    if path.name == "run.h5":
        _seal_run_file(path)    # as a newer azero would have written it: a valid checksum


def foreign_island(path: Path) -> None:
    other = path.parent.parent / "other"
    run_stored(small_cfg(population_size=40), other, island=StopIsland(1200))
    shutil.copy(other / island_file(0), path)
    shutil.rmtree(other)


BAD_FILES = {
    "missing run file": ("run.h5", lambda p: p.unlink(), "run.h5: missing"),
    "missing island file": ("island-0000.h5", lambda p: p.unlink(), "island-0000.h5: missing"),
    "truncated island file": ("island-0000.h5", truncate_half, "truncated file"),
    "truncated run file": ("run.h5", truncate_half, "truncated file"),
    "corrupt island file": ("island-0000.h5", corrupt_signature, "not a readable HDF5 file"),
    "garbage run file": ("run.h5", lambda p: p.write_bytes(b"not hdf5 at all" * 100), "not a readable HDF5 file"),
    "newer schema (run)": ("run.h5", newer_schema, f"schema version {SCHEMA_VERSION + 1} is newer"),
    "newer schema (island)": ("island-0000.h5", newer_schema, f"schema version {SCHEMA_VERSION + 1} is newer"),
    "island of another run": ("island-0000.h5", foreign_island, "belongs to another run"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_give_one_line_errors_and_change_nothing(tmp_path, stopped_run, case):
    name, damage, message = BAD_FILES[case]
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_run, run_dir)
    damage(run_dir / name)
    before = digest(run_dir)
    readers = [lambda: resume(run_dir, out=io.StringIO()), lambda: load_run(run_dir)]
    if name == "run.h5":
        readers.append(lambda: status(run_dir))
    for read in readers:
        with pytest.raises(RunStoreError) as error:
            read()
        assert message in str(error.value) and "\n" not in str(error.value)
    assert digest(run_dir) == before


def lookup3(data: bytes) -> int:
    """Bob Jenkins' lookup3 hashlittle with initval 0: the checksum of HDF5's version-2/3 superblock."""
    mask = 0xFFFFFFFF

    def rot(x, k):
        return ((x << k) | (x >> (32 - k))) & mask

    v = [(0xDEADBEEF + len(data)) & mask] * 3
    i = 0
    while len(data) - i > 12:
        v = [(x + y) & mask for x, y in zip(v, struct.unpack_from("<III", data, i))]
        for p, q, r, k in ((0, 2, 1, 4), (1, 0, 2, 6), (2, 1, 0, 8), (0, 2, 1, 16), (1, 0, 2, 19), (2, 1, 0, 4)):
            v[p] = ((v[p] - v[q]) & mask) ^ rot(v[q], k)       # mix
            v[q] = (v[q] + v[r]) & mask
        i += 12
    if len(data) == i:
        return v[2]
    v = [(x + y) & mask for x, y in zip(v, struct.unpack("<III", data[i:] + bytes(12 - (len(data) - i))))]
    for p, q, k in ((2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16), (0, 2, 4), (1, 0, 14), (2, 1, 24)):
        v[p] = ((v[p] ^ v[q]) - rot(v[q], k)) & mask             # final
    return v[2]


def claim_longer(path: Path, extra: int) -> None:
    """Make the superblock name an end of file `extra` bytes past the real one (as a writer killed while
    closing can leave it), with a valid checksum."""
    with open(path, "r+b") as handle:
        block = bytearray(handle.read(48))
        assert block[8] == 3 and struct.unpack_from("<I", block, 44)[0] == lookup3(bytes(block[:44]))
        struct.pack_into("<Q", block, 28, struct.unpack_from("<Q", block, 28)[0] + extra)
        struct.pack_into("<I", block, 44, lookup3(bytes(block[:44])))
        handle.seek(0)
        handle.write(block)


def test_a_file_killed_while_closing_still_reads_and_resumes(tmp_path, stopped_run):
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_run, run_dir)
    claim_longer(run_dir / "island-0000.h5", 12_000)         # an unwritten tail: readable
    with pytest.raises(OSError, match="truncated file"):
        h5py.File(run_dir / "island-0000.h5", "r")
    assert len(load_run(run_dir).islands[0].checkpoints) > 5
    assert not resume(run_dir, out=io.StringIO()).interrupted
    shutil.rmtree(run_dir)
    shutil.copytree(stopped_run, run_dir)
    claim_longer(run_dir / "island-0000.h5", 10_000_000)     # a lost part of the file: refused
    with pytest.raises(RunStoreError, match="truncated file"):
        load_run(run_dir)


def test_a_writer_killed_while_recycling_a_slot_resumes_bitwise(tmp_path):
    # The next resumable checkpoint writes its FEC entries and hurdle ring into the slot of the oldest one it
    # replaces. A kill in the middle leaves that slot half written (its checksum fails) and no kept checkpoint
    # refers to it: resume must not need it, and must give the uninterrupted run bit for bit.
    cfg = multi_cfg()
    ref_result, ref_out = run_stored(cfg, tmp_path / "ref")
    run_dir = tmp_path / "run"
    result, out = run_stored(cfg, run_dir, island=StopIsland(1200))
    assert result.interrupted
    checkpoints = load_run(run_dir).islands[0].checkpoints
    resumable = int(np.count_nonzero(checkpoints["resumable"]))
    assert resumable >= NUM_SLOTS                  # every slot holds a checkpoint: the next one recycles
    slot = resumable % NUM_SLOTS
    path = run_dir / island_file(0)
    with h5py.File(path, "r") as f:
        chunk = f["resume"]["fec_keys"].id.get_chunk_info_by_coord((slot, 0))
    with open(path, "r+b") as handle:
        handle.seek(chunk.byte_offset + chunk.size // 2)
        handle.write(b"\xff" * 16)
    with h5py.File(path, "r") as f, pytest.raises(OSError, match="filter returned failure"):
        f["resume"]["fec_keys"][slot]
    text = io.StringIO()
    result = resume(run_dir, out=text, checkpoint_every_generations=4)
    assert text.getvalue().startswith("Resuming run") and not result.interrupted
    compare_runs(tmp_path / "ref", run_dir, ref_result, result, ref_out, out + text.getvalue())


def test_missing_run_directory(tmp_path):
    for read in (load_run, status, resume):
        with pytest.raises(RunStoreError, match="no such run directory"):
            read(tmp_path / "nowhere")


def test_resume_with_a_different_config_is_refused(tmp_path, stopped_run):
    run_dir = tmp_path / "run"
    shutil.copytree(stopped_run, run_dir)
    before = digest(run_dir)
    with pytest.raises(RunStoreError, match=r"does not match the stored run \(differs in tournament_size\)"):
        resume(run_dir, out=io.StringIO(), cfg=small_cfg(tournament_size=5))
    assert digest(run_dir) == before
    result = resume(run_dir, out=io.StringIO(), cfg=small_cfg())      # the same config is accepted
    assert not result.interrupted


def test_resume_of_a_run_still_being_written_is_refused(tmp_path):
    cfg = small_cfg()

    class ResumeInside(LocalIsland):
        error = None

        def after_generation(self, search):
            if search.evolution.num_individuals == 1000:
                try:
                    resume(tmp_path / "run", out=io.StringIO())
                except RunStoreError as e:
                    ResumeInside.error = str(e)

    run_stored(cfg, tmp_path / "run", island=ResumeInside())
    assert ResumeInside.error == f"{tmp_path / 'run'}: island 0 is being written by a live process"
