"""Run analysis: run summary, plots, tables, DataFrames, and simplify on the programs of a real evolution.

The run-based tests read small real run directories written by azero.search.search (one process, every
individual recorded) and by a 2-rank MPI run with migrations.
"""
import dataclasses
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import azero
from azero import algorithms, analysis, islands, presets, program_analysis
from azero.runs.reader import load_run
from azero.runs.schema import SCHEMA_VERSION
from azero.tasks import TaskSpec, make_tasks
from test_program_analysis import assert_same_behaviour, classification_task

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_simplify_keeps_the_fitness_of_evolved_programs(finished_run):
    """Every individual of a small evolution (baseline ops, random ops in Setup) simplifies to the same fitness
    on its search tasks and on accuracy tasks."""
    run, _ = finished_run
    cfg = run.config
    memory = dict(num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)
    history = run.islands[0].history
    assert len(history) > 500
    rng = np.random.default_rng(5)
    search_tasks = make_tasks(list(cfg.search_tasks))
    accuracy_tasks = [classification_task(rng, 4, 30, 20, epochs=2)]
    programs = {run.islands[0].algorithm(row).to_text(): run.islands[0].algorithm(row) for row in history}
    shrunk = with_randoms = 0
    for alg in programs.values():
        simple = program_analysis.simplify(alg, **memory)
        for tasks in (search_tasks, accuracy_tasks):
            assert_same_behaviour(alg, simple, tasks, int(rng.integers(1, 2**31)), memory)
        shrunk += sum(simple.sizes) < sum(alg.sizes)
        with_randoms += bool(np.isin(np.concatenate(simple.functions)["op"], list(program_analysis.RANDOM_OPS)).any())
    assert shrunk > len(programs) // 2 and with_randoms > 10


# ----------------------------------------------------------------------------------------------------------
# Runs


def small_config():
    """Baseline-like ops (random ops in Setup) on 2-layer NN regression tasks, 2 experiments, tiny budget."""
    cfg = presets.load("baseline")
    tasks = [TaskSpec(kind="scalar_2layer_nn_regression", features_size=4, num_train_examples=60,
                      num_valid_examples=20, num_tasks=2)]
    return cfg.replace(population_size=30, tournament_size=5, progress_every=60, max_train_steps=60_000,
                       max_experiments=2, search_tasks=tasks, select_tasks=tasks, final_tasks=tasks,
                       random_seed=0, dataset_dir=None)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("analysis") / "run"
    result = azero.run_search(small_config(), seed=2024, run_dir=run_dir, out=io.StringIO(), full_history=True)
    return load_run(run_dir), result


MPI_SCRIPT = """
import io, sys
from mpi4py import MPI
from azero import islands, presets
from azero.config import IslandsSpec
from azero.search import Search
from azero.runs.writer import RunStore
from azero.tasks import TaskSpec

tasks = [TaskSpec(kind="scalar_linear_regression", features_size=4, num_train_examples=50, num_valid_examples=20,
                  num_tasks=2)]
cfg = presets.load("demo").replace(
    population_size=40, tournament_size=5, progress_every=80, max_train_steps=200_000, max_experiments=1,
    sufficient_fitness=None, randomize_task_seeds=False, select_tasks=tasks, final_tasks=tasks,
    islands=IslandsSpec(migrate_every=200, num_migrants=3, protocol="ring"))
island = islands.MPIIsland(MPI.COMM_WORLD, cfg)
store = RunStore(sys.argv[1])
try:
    Search(cfg, 99, out=io.StringIO(), island=island, store=store).run()
finally:
    store.close()
"""


@pytest.fixture(scope="module")
def island_run(tmp_path_factory):
    """A 2-rank run with migrations."""
    folder = tmp_path_factory.mktemp("islands")
    script = folder / "run.py"
    script.write_text(MPI_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([islands.mpiexec_path(), "-n", "2", sys.executable, "-m", "mpi4py", str(script),
                             str(folder / "run")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, err
    return load_run(folder / "run")


def test_summary_of_a_finished_run(finished_run):
    run, result = finished_run
    text = analysis.summary(run)
    lines = text.splitlines()
    assert lines[0] == (f"Run {run.path}: finished, seed 2024, 1 rank(s), azero {azero.__version__} "
                        f"(schema {SCHEMA_VERSION})")
    assert "  memory 5 scalars / 9 vectors / 2 matrices; population 30, tournament 5, mutate_prob 0.9; initial " \
           "NO_OP_ALGORITHM" in lines
    assert "  T_search: 2 x scalar_2layer_nn_regression F=4 (60 train / 20 valid, rms_error)" in lines
    individuals = sum(e.num_individuals for e in result.experiments)
    steps = sum(e.num_train_steps for e in result.experiments)
    assert lines[lines.index("Islands:") - 1].startswith(f"Individuals: {individuals:,}; train steps: {steps:,}; ")
    lineage = run.islands[0].lineage
    best = lineage[np.argmax(lineage["fitness"])]
    assert lines[lines.index("Islands:") + 1].startswith(
        f"  island 0: {individuals:,} individuals, {steps:,} train steps, best search fitness {best['fitness']:.6f} "
        f"(experiment {best['experiment']}, individual {best['individual']}); latest: experiment 1, ")
    kept = max(i for i, e in enumerate(result.experiments) if e.select_fitness == result.best_select_fitness)
    for i, e in enumerate(result.experiments):
        row = (f"  {i:>3}  {e.search_fitness:9.6f}  {e.select_fitness:9.6f}  {e.num_individuals:>12,}  "
               f"{e.num_train_steps:>14,}" + ("  <- kept" if i == kept else ""))
        assert row in lines
    assert f"Final fitness (T_final): {result.final_fitness:.6f} (best T_select {result.best_select_fitness:.6f})" \
        in lines
    assert "Best program (final result):\n" + result.best_algorithm.to_text() in text
    simple = program_analysis.simplify(result.best_algorithm, 5, 9, 2)
    assert text.endswith(f"Simplified ({sum(simple.sizes)} of {sum(result.best_algorithm.sizes)} instructions can "
                         f"affect a prediction):\n{simple.to_text()}")


def test_summary_of_an_island_run(island_run):
    text = analysis.summary(island_run)
    lines = text.splitlines()
    assert ", 2 rank(s), " in lines[0]
    for island in island_run.islands:
        individuals = int(island_run.experiments["num_individuals"][0])
        assert any(line.startswith(f"  island {island.island}: {individuals:,} individuals, ") for line in lines)
        assert len(island.migrations) > 0
    best = max(float(i.lineage["fitness"].max()) for i in island_run.islands)
    assert any(line.startswith(f"  overall: best search fitness {best:.6f} (island ") for line in lines)
    assert island_run.final["best_algorithm"].to_text() in text


def test_summary_before_any_experiment_finished(finished_run):
    run, _ = finished_run
    running = dataclasses.replace(run, status="running", final=None, experiments=run.experiments[:0],
                                  experiment_algorithms=[])
    text = analysis.summary(running)
    assert "Experiments: none finished yet" in text
    lineage = run.islands[0].lineage
    best = lineage[np.argmax(lineage["fitness"])]
    assert (f"Best program (best individual so far (island 0, search fitness {best['fitness']:.6f})):\n"
            + run.islands[0].algorithm(best).to_text()) in text


def png_shape(path: Path) -> tuple:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return imread(path).shape


def test_plot_progress_and_lineage_write_pngs(finished_run, island_run, tmp_path):
    run, _ = finished_run
    for name, r in (("one", run), ("two", island_run)):
        assert analysis.plot_progress(r, tmp_path / f"{name}-progress.png") == tmp_path / f"{name}-progress.png"
        assert png_shape(tmp_path / f"{name}-progress.png") == (500, 1200, 4)
        analysis.plot_lineage(r, tmp_path / f"{name}-lineage.png")
        assert png_shape(tmp_path / f"{name}-lineage.png") == (550, 900, 4)
    analysis.plot_progress(run, tmp_path / "small.png", width=6, height=3, dpi=50)
    assert png_shape(tmp_path / "small.png") == (150, 300, 4)
    empty = dataclasses.replace(run, islands=[], experiments=run.experiments[:0], final=None)
    analysis.plot_progress(empty, tmp_path / "empty-progress.png")
    analysis.plot_lineage(empty, tmp_path / "empty-lineage.png")
    assert png_shape(tmp_path / "empty-progress.png") == (500, 1200, 4)
    assert png_shape(tmp_path / "empty-lineage.png") == (550, 900, 4)


def test_migration_ticks_are_thinned_to_at_most_40():
    assert analysis._thinned([1.0, 2.0, 3.0]) == ([1.0, 2.0, 3.0], 1)
    assert analysis._thinned([float(i) for i in range(40)]) == ([float(i) for i in range(40)], 1)
    assert analysis._thinned([float(i) for i in range(41)]) == ([float(i) for i in range(0, 41, 2)], 2)
    shown, step = analysis._thinned([float(i) for i in range(1038)])
    assert (step, len(shown), shown[:2]) == (26, 40, [0.0, 26.0])


def test_plots_need_matplotlib(finished_run, monkeypatch, tmp_path):
    run, _ = finished_run
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    for plot in (analysis.plot_progress, analysis.plot_lineage):
        with pytest.raises(ImportError, match=r"^plots need matplotlib \(pip install 'azero\[analysis\]'\)$"):
            plot(run, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_progress_curves_count_individuals_over_experiments(finished_run, island_run):
    run, result = finished_run
    island = run.islands[0]
    curves = analysis._progress_curves(run, island)
    first = result.experiments[0].num_individuals
    p = island.progress
    assert np.array_equal(curves["individuals"], p["individuals"] + np.where(p["experiment"] == 1, first, 0))
    marks = analysis._event_marks(run, [(island, curves)], "individuals")
    assert marks == {"migrations": [], "experiments": [float(first)]}
    curves2 = [(i, analysis._progress_curves(island_run, i)) for i in island_run.islands]
    marks2 = analysis._event_marks(island_run, curves2, "individuals")
    assert marks2["migrations"] == sorted({float(n) for i in island_run.islands for n in i.migrations["individuals"]})
    xs, best = analysis._best_over_islands([c for _, c in curves2], "individuals")
    for x, b in zip(xs, best):
        held = [c["best"][c["individuals"] <= x][-1] for _, c in curves2 if (c["individuals"] <= x).any()]
        assert b == max(held)


def test_compare_table(finished_run):
    run, result = finished_run
    tasks = make_tasks(list(run.config.search_tasks))
    programs = {"evolved": result.best_algorithm, "linear": algorithms.linear(), "neural net": algorithms.neural_net()}
    table = analysis.compare_table(programs, tasks, seed=3, num_scalars=5, num_vectors=9, num_matrices=2)
    lines = table.splitlines()
    assert lines[0] == "program       fitness  instructions  effective  (2 tasks, seed 3, memory 5/9/2)"
    for line, (name, alg) in zip(lines[1:], programs.items()):
        fitness = azero.evaluate(alg, tasks, seed=3, num_scalars=5, num_vectors=9, num_matrices=2)
        simple = program_analysis.simplify(alg, 5, 9, 2)
        assert line == (f"{name:<10}  {fitness:9.6f}  {sum(alg.sizes):>12}  {sum(simple.sizes):>9}  "
                        f"(setup/predict/learn {'/'.join(map(str, simple.sizes))})")
    # Memory sizes are capacities: the neural net (needs 5/9/2) runs with the larger memory, same fitness.
    small = analysis.compare_table({"neural net": algorithms.neural_net()}, tasks, seed=3, num_scalars=4,
                                   num_vectors=3, num_matrices=1).splitlines()
    fitness = azero.evaluate(algorithms.neural_net(), tasks, seed=3, num_scalars=5, num_vectors=9, num_matrices=2)
    assert small[0].endswith("(2 tasks, seed 3, memory 4/3/1)")
    assert small[1] == f"neural net  {fitness:9.6f}            19         19  (setup/predict/learn 3/5/11; memory 5/9/2)"


def test_to_dataframes_needs_pandas(finished_run, monkeypatch):
    run, _ = finished_run
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"^to_dataframes needs pandas \(pip install 'azero\[analysis\]'\)$"):
        analysis.to_dataframes(run)


def test_to_dataframes_columns(finished_run):
    import pandas

    run, result = finished_run
    frames = analysis.to_dataframes(run)
    island = run.islands[0]
    assert sorted(frames) == ["experiments", "lineage", "migrations", "progress"]
    assert all(isinstance(frame, pandas.DataFrame) for frame in frames.values())
    assert np.array_equal(frames["progress"]["best"].to_numpy(), island.progress["best"])
    assert np.array_equal(frames["progress"]["total_individuals"].to_numpy(),
                          analysis._progress_curves(run, island)["individuals"].astype(np.int64))
    assert np.array_equal(frames["lineage"]["fitness"].to_numpy(), island.lineage["fitness"])
    assert list(frames["lineage"]["program"]) == [island.algorithm(r).to_text() for r in island.lineage]
    assert list(frames["experiments"]["select_fitness"]) == [e.select_fitness for e in result.experiments]
    assert len(frames["migrations"]) == 0
