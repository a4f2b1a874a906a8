"""Run analysis: summaries, progress and lineage plots, comparison tables, DataFrames.

The run-based functions read a run directory through `azero.runs.reader.load_run` and need no running search; plots
use matplotlib's headless Agg backend; `to_dataframes` needs pandas. Which instructions can affect a prediction
comes from `azero.program_analysis`.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from azero._core import ops
from azero.algorithm import Algorithm
from azero.program_analysis import memory_needed, simplify

__all__ = ["summary", "plot_progress", "plot_lineage", "compare_table", "to_dataframes", "best_algorithm",
           "config_summary"]



def _op_list(codes) -> str:
    names = [ops.op_name(c).removesuffix("_OP") for c in codes]
    return ", ".join(names) if names else "-"


def _task_line(specs) -> str:
    parts = []
    for s in specs:
        parts.append(f"{s.num_tasks} x {s.kind} F={s.features_size} ({s.num_train_examples} train / "
                     f"{s.num_valid_examples} valid, {s.eval_type})")
    return "; ".join(parts) if parts else "-"


def config_summary(cfg, num_ranks: int = 1) -> list[str]:
    """The key fields of a SearchConfig, a few lines (what a preset chooses); migration settings when the run
    has several ranks."""
    mutations = ", ".join(ops.MUTATION_TYPE_NAMES[m] for m in cfg.allowed_mutation_types)
    extras = []
    if cfg.fec is not None:
        extras.append(f"FEC {cfg.fec.num_train_examples}/{cfg.fec.num_valid_examples}")
    if cfg.train_budget is not None:
        extras.append(f"train budget x{cfg.train_budget.threshold_factor:g} of "
                      f"{ops.ALGORITHM_ID_NAMES[cfg.train_budget.baseline]}")
    if cfg.hurdles is not None:
        extras.append(f"hurdles p{cfg.hurdles.percentile:g} on {cfg.hurdles.tasks} task(s)")
    if cfg.mode != "evolution":
        extras.append(cfg.mode.replace("_", " "))
    stop = [f"max_train_steps {cfg.max_train_steps:,}"]
    if cfg.max_experiments != 1:
        stop.append("experiments unlimited" if cfg.max_experiments == 0 else f"{cfg.max_experiments} experiments")
    if cfg.sufficient_fitness is not None:
        stop.append(f"until select fitness > {cfg.sufficient_fitness:g}")
    if cfg.max_seconds is not None:
        stop.append(f"at most {cfg.max_seconds:g} s")
    return [
        f"memory {cfg.num_scalars} scalars / {cfg.num_vectors} vectors / {cfg.num_matrices} matrices; population "
        f"{cfg.population_size}, tournament {cfg.tournament_size}, mutate_prob {cfg.mutate_prob:g}; "
        f"initial {ops.ALGORITHM_ID_NAMES[cfg.initial_population]}",
        f"sizes (init) setup {cfg.setup_size_init}, predict {cfg.predict_size_init}, learn {cfg.learn_size_init}; "
        f"mutations {mutations}" + (f"; {', '.join(extras)}" if extras else ""),
        f"ops: setup {_op_list(cfg.setup_ops)} | predict {_op_list(cfg.predict_ops)} | learn "
        f"{_op_list(cfg.learn_ops)}",
        "stop: " + ", ".join(stop) + (f"; islands: migrate every {cfg.islands.migrate_every} individuals, "
                                      f"{cfg.islands.num_migrants} migrants ({cfg.islands.protocol})"
                                      if num_ranks > 1 else ""),
        f"T_search: {_task_line(cfg.search_tasks)}",
        f"T_select: {_task_line(cfg.select_tasks)}",
        f"T_final:  {_task_line(cfg.final_tasks)}",
    ]


def _kept_experiment(run) -> int | None:
    """Index of the experiment whose candidate the loop keeps (best select fitness, later ties win)."""
    kept, best = None, -np.inf
    for i, fitness in enumerate(run.experiments["select_fitness"]):
        if fitness >= best:
            kept, best = i, fitness
    return kept


def _checkpoint_experiments(island) -> np.ndarray:
    """The experiment each checkpoint row belongs to. Rows store the number of experiments done when they were
    written: the current experiment's index for resumable (mid-experiment) checkpoints, and one more than the
    finished experiment's index for the snapshot taken when an experiment ends (not resumable)."""
    c = island.checkpoints
    return c["experiment"].astype(np.int64) - (c["resumable"] == 0)


def _per_experiment_max(island, column_of: dict[str, str]) -> dict[int, int]:
    """Largest value of a counter per experiment over the named tables (table name -> column)."""
    found: dict[int, int] = {}
    for name, column in column_of.items():
        table = getattr(island, name)
        experiments = _checkpoint_experiments(island) if name == "checkpoints" else table["experiment"]
        for experiment, count in zip(experiments, table[column]):
            found[int(experiment)] = max(found.get(int(experiment), 0), int(count))
    return found


def _experiment_lengths(run, island) -> dict[int, int]:
    """Individuals evaluated by an island in each experiment it has records of."""
    lengths = _per_experiment_max(island, {"progress": "individuals", "lineage": "individual",
                                           "checkpoints": "individuals", "migrations": "individuals"})
    for experiment, count in enumerate(run.experiments["num_individuals"]):   # completed ones
        if experiment in lengths:
            lengths[experiment] = max(lengths.get(experiment, 0), int(count))
    return dict(sorted(lengths.items()))


def _offsets(lengths: dict[int, int]) -> dict[int, int]:
    """Individuals evaluated before each experiment (experiments run one after the other)."""
    offsets, total = {}, 0
    for experiment in range(max(lengths, default=-1) + 1):
        offsets[experiment] = total
        total += lengths.get(experiment, 0)
    return offsets


def _train_steps(island) -> int:
    """Train steps of an island: per experiment the last recorded count (they restart with each experiment)."""
    return sum(_per_experiment_max(island, {"progress": "train_steps", "checkpoints": "train_steps"}).values())


def best_algorithm(run) -> tuple[Algorithm | None, str]:
    """The run's best program so far and where it comes from: the final result, else the best T_select
    candidate of the finished experiments, else the best individual any island recorded."""
    if run.final is not None:
        return run.final["best_algorithm"], "final result"
    kept = _kept_experiment(run)
    if kept is not None:
        return run.experiment_algorithms[kept], f"best T_select candidate (experiment {kept})"
    best, where = None, ""
    best_fitness = -np.inf
    for island in run.islands:
        if len(island.lineage):
            i = int(np.argmax(island.lineage["fitness"]))
            if island.lineage["fitness"][i] > best_fitness:
                best_fitness = float(island.lineage["fitness"][i])
                best, where = island.algorithm(island.lineage[i]), (
                    f"best individual so far (island {island.island}, search fitness {best_fitness:.6f})")
    return best, where


def _wall_time(run) -> float:
    if run.final is not None:
        return float(run.final["elapsed_seconds"])
    times = [float(island.progress["elapsed"].max()) for island in run.islands if len(island.progress)]
    times += [float(island.checkpoints["elapsed"].max()) for island in run.islands if len(island.checkpoints)]
    return max(times, default=0.0)


def summary(run) -> str:
    """Text for `azero show`: config, ranks, individuals, train steps, wall time, best fitness per island and
    overall, the experiments' search/select results, the final result and the best program."""
    cfg = run.config
    resumed = len(run.segments) - 1
    lines = [f"Run {run.path}: {run.status}, seed {run.seed}, {run.num_ranks} rank(s)"
             + (f", resumed {resumed} time(s)" if resumed > 0 else "")
             + f", azero {run.azero_version} (schema {run.schema_version})"]
    lines += ["Config:"] + ["  " + line for line in config_summary(cfg, run.num_ranks)]
    total_individuals = total_steps = 0
    island_lines = []
    overall = (-np.inf, None)
    for island in run.islands:
        individuals = sum(_experiment_lengths(run, island).values())
        steps = _train_steps(island)
        total_individuals += individuals
        total_steps += steps
        if len(island.lineage):
            i = int(np.argmax(island.lineage["fitness"]))
            row = island.lineage[i]
            best = float(row["fitness"])
            where = f"best search fitness {best:.6f} (experiment {int(row['experiment'])}, individual " \
                    f"{int(row['individual'])})"
            if best > overall[0]:
                overall = (best, island.island)
        else:
            where = "no individual recorded yet"
        latest = ""
        if len(island.progress):
            p = island.progress[-1]
            latest = f"; latest: experiment {int(p['experiment'])}, indivs={int(p['individuals'])}, " \
                     f"mean={p['mean']:.6f}, best fit={p['best']:.6f}"
        island_lines.append(f"  island {island.island}: {individuals:,} individuals, {steps:,} train steps, "
                            f"{where}{latest}")
    lines.append(f"Individuals: {total_individuals:,}; train steps: {total_steps:,}; wall time: "
                 f"{_wall_time(run):.1f} s")
    lines.append("Islands:")
    lines += island_lines or ["  (no island file yet)"]
    if overall[1] is not None:
        lines.append(f"  overall: best search fitness {overall[0]:.6f} (island {overall[1]})")
    kept = _kept_experiment(run)
    if len(run.experiments):
        lines.append("Experiments (candidate = best of the final population on T_search, scored on T_select):")
        lines.append(f"  {'#':>3}  {'search':>9}  {'select':>9}  {'individuals':>12}  {'train steps':>14}")
        for i, e in enumerate(run.experiments):
            mark = "  <- kept" if i == kept else ""
            lines.append(f"  {i:>3}  {e['search_fitness']:9.6f}  {e['select_fitness']:9.6f}  "
                         f"{int(e['num_individuals']):>12,}  {int(e['num_train_steps']):>14,}{mark}")
    else:
        lines.append("Experiments: none finished yet")
    if run.final is not None:
        lines.append(f"Final fitness (T_final): {run.final['final_fitness']:.6f} (best T_select "
                     f"{run.final['best_select_fitness']:.6f})")
    alg, where = best_algorithm(run)
    if alg is not None:
        lines.append(f"Best program ({where}):")
        lines.append(alg.to_text().rstrip("\n"))
        simple = simplify(alg, cfg.num_scalars, cfg.num_vectors, cfg.num_matrices)
        lines.append(f"Simplified ({sum(simple.sizes)} of {sum(alg.sizes)} instructions can affect a prediction):")
        lines.append(simple.to_text().rstrip("\n"))
    return "\n".join(lines) + "\n"


def _progress_curves(run, island) -> dict[str, np.ndarray]:
    """An island's progress rows with x = individuals counted over all its experiments."""
    offsets = _offsets(_experiment_lengths(run, island))
    p = island.progress
    shift = np.array([offsets[int(e)] for e in p["experiment"]], dtype=np.int64)
    return dict(individuals=(p["individuals"] + shift).astype(np.float64), elapsed=p["elapsed"], best=p["best"],
                mean=p["mean"], experiment=p["experiment"])


def _broken(x: np.ndarray, y: np.ndarray, experiment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y with a NaN point between experiments, so a plotted line does not join them."""
    cut = np.flatnonzero(np.diff(experiment) != 0) + 1
    return np.insert(x, cut, np.nan), np.insert(y, cut, np.nan)


def _best_over_islands(curves: list[dict[str, np.ndarray]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Per experiment, the best population fitness over islands at every x where one reported (each island's
    last report holds until its next), NaN-separated between experiments."""
    xs_all: list[ArrayLike] = []
    best_all: list[ArrayLike] = []
    for experiment in np.unique(np.concatenate([c["experiment"] for c in curves])):
        parts = [(c[key][c["experiment"] == experiment], c["best"][c["experiment"] == experiment]) for c in curves]
        xs = np.unique(np.concatenate([x for x, _ in parts]))
        best = np.full(len(xs), -np.inf)
        for x, y in parts:
            i = np.searchsorted(x, xs, side="right") - 1
            best = np.maximum(best, np.where(i >= 0, y[np.maximum(i, 0)] if len(y) else -np.inf, -np.inf))
        xs_all += [xs, [np.nan]]
        best_all += [best, [np.nan]]
    return np.concatenate(xs_all[:-1]), np.concatenate(best_all[:-1])


def _log_helps(values: np.ndarray, experiments: int) -> bool:
    """Log x for a single experiment whose positive x values span at least three decades (early progress is
    then visible); several experiments side by side read better on a linear axis."""
    positive = values[values > 0]
    return experiments == 1 and len(positive) > 1 and positive.max() / positive.min() >= 1000.0


def _new_figure(width: float, height: float, dpi: int, ncols: int = 1, nrows: int = 1, **grid):
    """A headless figure (no pyplot state, Agg rendering) with `nrows` x `ncols` axes, returned flat."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib (pip install 'azero[analysis]')") from None

    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False, **grid).ravel()


# At most this many migration ticks per axis; more merge into a solid band, so every k-th is drawn.
MAX_MIGRATION_TICKS = 40


def _thinned(marks: list[float]) -> tuple[list[float], int]:
    """Every k-th of sorted x positions, k the smallest step leaving at most MAX_MIGRATION_TICKS; (marks, k)."""
    step = max(1, -(-len(marks) // MAX_MIGRATION_TICKS))
    return marks[::step], step


def plot_progress(run, path, *, width: float = 12.0, height: float = 5.0, dpi: int = 100):
    """PNG of best and mean population fitness per island against individuals evaluated (left) and elapsed
    seconds (right). With up to 4 islands the earlier islands' lines are wider, so coinciding lines stay
    visible; the best over islands is a wide grey band beneath them. Migrations are ticks on the x axis (every
    k-th when there are more than MAX_MIGRATION_TICKS), new experiments dotted lines; one legend below both
    panels. Size width x height inches at `dpi` (1200 x 500 pixels by default); `path` is a file name or a
    binary file object. Returns `path`."""
    fig, (ax_n, ax_t) = _new_figure(width, height, dpi, ncols=2)
    curves = [(island, _progress_curves(run, island)) for island in run.islands if len(island.progress)]
    many = len(curves) > 1
    num_experiments = len(np.unique(np.concatenate([c["experiment"] for _, c in curves]))) if curves else 0
    for ax, key, label in ((ax_n, "individuals", "individuals evaluated (per island, experiments in turn)"),
                           (ax_t, "elapsed", "elapsed time (s)")):
        if many:
            ax.plot(*_best_over_islands([c for _, c in curves], key), color="0.55", lw=6.0, alpha=0.35,
                    solid_capstyle="butt", zorder=1, label="best over islands")
        for k, (island, c) in enumerate(curves):
            name, color = (f"island {island.island} " if many else ""), f"C{k % 10}"
            # Islands' best lines often coincide after migrations: earlier islands are drawn wider, so each
            # stays visible as an outline around the ones drawn over it.
            width = 1.4 + (0.9 * (len(curves) - 1 - k) if len(curves) <= 4 else 0.0)
            ax.plot(*_broken(c[key], c["best"], c["experiment"]), color=color, lw=width, zorder=3,
                    label=f"{name}best")
            ax.plot(*_broken(c[key], c["mean"], c["experiment"]), color=color, lw=1.0, ls="--", alpha=0.7,
                    zorder=2, label=f"{name}mean")
        marks = _event_marks(run, curves, key)
        if marks["migrations"]:
            shown, step = _thinned(marks["migrations"])
            what = "migration" if step == 1 else f"every {step}th of {len(marks['migrations']):,} migrations"
            ax.plot(shown, np.zeros(len(shown)), "|", color="tab:purple", ms=9, mew=1.0,
                    transform=ax.get_xaxis_transform(), clip_on=False, label=what)
        for i, x in enumerate(marks["experiments"]):
            ax.axvline(x, color="grey", lw=1.0, ls=":", zorder=0, label="new experiment" if i == 0 else None)
        if curves and _log_helps(np.concatenate([c[key] for _, c in curves]), num_experiments):
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("fitness on T_search")
        ax.grid(True, alpha=0.3)
        if not curves:
            ax.text(0.5, 0.5, "no progress recorded yet", ha="center", va="center", transform=ax.transAxes)
    if curves:
        handles, labels = ax_n.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 7), fontsize="small",
                   frameon=False)
    fig.suptitle(f"{run.path.name}: population fitness ({run.status}, seed {run.seed}, "
                 f"{len(curves)} island(s))")
    fig.savefig(path, dpi=dpi, format="png")
    return path


def _event_marks(run, curves, key: str) -> dict[str, list[float]]:
    """x positions of migrations and of experiment starts (after the first) on the axis `key`."""
    migrations: set[float] = set()
    starts: set[float] = set()
    for island, c in curves:
        m = island.migrations
        if key == "individuals":
            offsets = _offsets(_experiment_lengths(run, island))
            migrations.update(float(n + offsets[int(e)]) for e, n in zip(m["experiment"], m["individuals"]))
            starts.update(float(v) for e, v in offsets.items() if e > 0)
        else:
            migrations.update(float(t) for t in m["elapsed"])
            first = np.flatnonzero(np.diff(c["experiment"]) > 0) + 1
            starts.update(float(c["elapsed"][i]) for i in first)
    return {"migrations": sorted(migrations), "experiments": sorted(starts)}


def _lineage_choice(run):
    """(island, experiment) of the best lineage: the kept experiment (or the latest one) and its best island."""
    kept = _kept_experiment(run)
    if kept is None:
        experiments = [int(i.lineage["experiment"].max()) for i in run.islands if len(i.lineage)]
        kept = max(experiments, default=None)
    best = None
    for island in run.islands:
        rows = island.lineage[island.lineage["experiment"] == kept] if kept is not None else island.lineage[:0]
        if len(rows) and (best is None or rows["fitness"].max() > best[0]):
            best = (float(rows["fitness"].max()), island)
    return (None, None) if best is None else (best[1], kept)


def plot_lineage(run, path, *, width: float = 9.0, height: float = 5.5, dpi: int = 100):
    """PNG of the best lineage: each new best fitness found (steps, top panel) against individuals, and below
    it the program size of each new best (instructions, and those that can affect a prediction). The lineage
    is that of the kept experiment's best island. 900 x 550 pixels by default; `path` is a file name or a
    binary file object. Returns `path`."""
    fig, (ax, size_ax) = _new_figure(width, height, dpi, nrows=2, sharex=True, height_ratios=[3, 2])
    island, experiment = _lineage_choice(run)
    cfg = run.config
    if island is None:
        ax.text(0.5, 0.5, "no lineage recorded yet", ha="center", va="center", transform=ax.transAxes)
    else:
        rows = island.lineage[island.lineage["experiment"] == experiment]
        x = rows["individual"]
        end = max(int(x.max()), _experiment_lengths(run, island).get(experiment, 0))
        x_step = np.append(x, end)
        fitness = np.append(rows["fitness"], rows["fitness"][-1])
        sizes, effective = [], []
        for row in rows:
            alg = island.algorithm(row)
            sizes.append(sum(alg.sizes))
            effective.append(sum(simplify(alg, cfg.num_scalars, cfg.num_vectors, cfg.num_matrices).sizes))
        ax.step(x_step, fitness, where="post", color="C0", lw=1.8)
        ax.plot(x, rows["fitness"], "o", color="C0", ms=3.5)
        size_ax.step(x_step, np.append(sizes, sizes[-1]), where="post", color="C1", lw=1.4, ls="--",
                     label="instructions")
        size_ax.step(x_step, np.append(effective, effective[-1]), where="post", color="C2", lw=1.4,
                     label="instructions that can affect a prediction")
        size_ax.set_ylim(0, max(sizes) * 1.15 + 1)
        if _log_helps(x_step.astype(float), 1):
            ax.set_xscale("log")
        size_ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.32), ncols=2, fontsize="small", frameon=False)
        ax.set_title(f"best lineage: island {island.island}, experiment {experiment} "
                     f"({len(rows)} improvements)", fontsize="medium")
    ax.set_ylabel("best fitness on T_search")
    size_ax.set_ylabel("program size")
    size_ax.set_xlabel("individuals evaluated in the experiment")
    for axis in (ax, size_ax):
        axis.grid(True, alpha=0.3)
    fig.suptitle(f"{run.path.name}: lineage of the best program")
    fig.savefig(path, dpi=dpi, format="png")
    return path


def compare_table(programs: dict[str, Algorithm], tasks, seed: int = 10000, *, max_abs_error: float = 100.0,
                  num_scalars: int = 20, num_vectors: int = 20, num_matrices: int = 20) -> str:
    """Table for `azero eval --compare`: each program's fitness on `tasks` (azero.evaluate with `seed`), its size
    and how many of its instructions can affect a prediction.

    Memory sizes are capacities (every slot starts at 0 and an unused slot is never read), so they do not change
    a fitness: a program that addresses more than the given memory (a hand-designed model on a small search
    space) runs with the larger size per bank, and its row names the memory it used."""
    from azero.evaluation import evaluate

    tasks = list(tasks)
    given = (num_scalars, num_vectors, num_matrices)
    width = max([len("program")] + [len(name) for name in programs])
    lines = [f"{'program':<{width}}  {'fitness':>9}  {'instructions':>12}  {'effective':>9}  "
             f"({len(tasks)} tasks, seed {seed}, memory {num_scalars}/{num_vectors}/{num_matrices})"]
    for name, alg in programs.items():
        sizes = tuple(max(a, b) for a, b in zip(given, memory_needed(alg)))
        memory = dict(zip(("num_scalars", "num_vectors", "num_matrices"), sizes))
        simple = simplify(alg, **memory)
        fitness = evaluate(alg, tasks, seed=seed, max_abs_error=max_abs_error, num_scalars=sizes[0],
                           num_vectors=sizes[1], num_matrices=sizes[2])
        note = f"setup/predict/learn {'/'.join(str(n) for n in simple.sizes)}"
        if sizes != given:
            note += f"; memory {'/'.join(str(n) for n in sizes)}"
        lines.append(f"{name:<{width}}  {fitness:9.6f}  {sum(alg.sizes):>12}  {sum(simple.sizes):>9}  ({note})")
    return "\n".join(lines) + "\n"


def to_dataframes(run) -> dict:
    """The run's tables as pandas DataFrames: 'progress', 'lineage', 'migrations' (one row per record, with an
    'island' column; x counted over experiments in 'total_individuals'), and 'experiments'. Needs pandas."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_dataframes needs pandas (pip install 'azero[analysis]')") from None
    cfg = run.config
    frames: dict[str, list] = {"progress": [], "lineage": [], "migrations": []}
    for island in run.islands:
        offsets = _offsets(_experiment_lengths(run, island))
        p = island.progress
        shift = np.array([offsets[int(e)] for e in p["experiment"]], dtype=np.int64)
        frames["progress"].append({"island": np.full(len(p), island.island),
                                   **{name: p[name] for name in p.dtype.names},
                                   "total_individuals": p["individuals"] + shift})
        rows = island.lineage
        algs = [island.algorithm(r) for r in rows]
        frames["lineage"].append({
            "island": np.full(len(rows), island.island), "experiment": rows["experiment"],
            "individual": rows["individual"], "fitness": rows["fitness"],
            "instructions": np.array([sum(a.sizes) for a in algs], dtype=np.int64),
            "effective_instructions": np.array(
                [sum(simplify(a, cfg.num_scalars, cfg.num_vectors, cfg.num_matrices).sizes) for a in algs],
                dtype=np.int64),
            "program": [a.to_text() for a in algs]})
        m = island.migrations
        frames["migrations"].append({
            "island": np.full(len(m), island.island),
            **{name: m[name] for name in ("experiment", "individuals", "elapsed", "wall_time", "from_rank",
                                          "to_rank", "count")}})
    out = {}
    for name, parts in frames.items():
        out[name] = pd.concat([pd.DataFrame(part) for part in parts], ignore_index=True) if parts else pd.DataFrame()
    e = run.experiments
    out["experiments"] = pd.DataFrame({
        "search_fitness": e["search_fitness"], "select_fitness": e["select_fitness"],
        "num_individuals": e["num_individuals"], "num_train_steps": e["num_train_steps"],
        "program": [a.to_text() for a in run.experiment_algorithms]})
    return out
