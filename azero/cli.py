"""`azero …` commands: parse arguments, call the library, print. Errors are one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import signal

from azero import presets
from azero.config import SearchConfig


# Signals that stop a search cleanly at the next generation, with a checkpoint when a run directory is kept
# (SLURM sends SIGUSR1 ahead of the walltime when asked to; mpiexec forwards all three to every rank).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)


def load_config(name_or_path: str, dataset_dir: str | None = None) -> SearchConfig:
    """A preset name or a TOML file; `dataset_dir` fills the path of projected-binary tasks."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return SearchConfig.from_toml(path, dataset_dir=dataset_dir)
    return presets.load(name_or_path, dataset_dir=dataset_dir)


def cmd_search(args: argparse.Namespace) -> int:
    from azero import islands
    from azero.search import Search
    from azero.storage import RunStore, new_run_dir

    cfg = load_config(args.config, args.dataset_dir)
    if args.max_seconds is not None:
        cfg = cfg.replace(max_seconds=args.max_seconds)
    island = islands.detect(cfg)
    if island is not None:
        islands.install_abort_on_exception()
    store = None
    if not args.no_store:
        root = island is None or island.is_root
        run_dir = args.run_dir or (str(new_run_dir(seed=args.seed)) if root else None)
        if island is not None:
            run_dir = island.broadcast(run_dir)
        store = RunStore(run_dir, full_history=args.full_history)
        if root:
            print(f"Run directory: {run_dir}", file=sys.stderr)
    search = Search(cfg, args.seed, island=island, store=store, progress_bar=sys.stdout.isatty())
    islands.install_signal_handlers(search, STOP_SIGNALS)
    try:
        search.run()
    finally:
        if store is not None:
            store.close()
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from azero import islands
    from azero.storage import resume

    island = islands.detect()
    if island is not None:
        islands.install_abort_on_exception()
    resume(args.run_dir, island=island, progress_bar=sys.stdout.isatty(),
           prepare=lambda search: islands.install_signal_handlers(search, STOP_SIGNALS))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from azero.storage import status

    print(status(args.run_dir).rstrip("\n"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    args.config = "demo"
    args.dataset_dir = None
    return cmd_search(args)


def add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", default=None, help="run directory to record into (default: runs/<timestamp>)")
    p.add_argument("--no-store", action="store_true", help="record nothing")
    p.add_argument("--full-history", action="store_true",
                   help="also record every evaluated individual (fitness and program; large files)")


def cmd_eval(args: argparse.Namespace) -> int:
    from azero import algorithms
    from azero.algorithm import Algorithm
    from azero.analysis import compare_table
    from azero.tasks import make_tasks

    cfg = load_config(args.tasks, args.dataset_dir)
    text = Path(args.program).read_text(encoding="utf-8")
    alg = Algorithm.from_text(text, num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors,
                              num_matrices=cfg.num_matrices)
    specs = {"search": cfg.search_tasks, "select": cfg.select_tasks, "final": cfg.final_tasks}[args.on]
    tasks = make_tasks(list(specs))
    programs = {Path(args.program).name: alg}
    if args.compare:
        programs |= {"linear (hand-designed)": algorithms.linear(), "neural net (hand-designed)": algorithms.neural_net()}
    print(f"T_{args.on} of {args.tasks}:")
    print(compare_table(programs, tasks, seed=args.seed, max_abs_error=cfg.max_abs_error,
                        num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices),
          end="")
    return 0


def cmd_datasets_build(args: argparse.Namespace) -> int:
    from azero.datasets import build_datasets

    pairs = None
    if args.pairs:
        pairs = [tuple(int(c) for c in pair.split(",")) for pair in args.pairs.split(";")]
    lo, colon, hi = args.seeds.partition(":")
    if not (colon and lo.isdigit() and hi.isdigit()):
        raise ValueError(f"--seeds must be A:B (e.g. 0:10), got {args.seeds!r}")
    paths = build_datasets(args.source, args.out, source_dir=args.source_dir, pairs=pairs,
                           seeds=range(int(lo), int(hi)), dim=args.dim, num_train=args.train,
                           num_valid=args.valid, num_test=args.test, overwrite=args.overwrite)
    print(f"{len(paths)} task files in {args.out}")
    return 0


def is_sweep_dir(path: str) -> bool:
    """A directory written by `azero sweep` (show and plot read it as a sweep, not a run)."""
    from azero.sweep import SWEEP_FILE

    return (Path(path) / SWEEP_FILE).exists()


def cmd_show(args: argparse.Namespace) -> int:
    from azero.analysis import summary
    from azero.storage import load_run

    if is_sweep_dir(args.run_dir):
        from azero import sweep_report
        print(sweep_report.summary(args.run_dir), end="")
        return 0
    print(summary(load_run(args.run_dir)), end="")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from azero import analysis
    from azero.storage import load_run

    if is_sweep_dir(args.run_dir):
        from azero import sweep_report
        print(f"wrote {sweep_report.plot_figure4(args.run_dir, args.output)}")
        return 0
    plot = {"progress": analysis.plot_progress, "lineage": analysis.plot_lineage}[args.kind]
    print(f"wrote {plot(load_run(args.run_dir), args.output)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from azero import export
    from azero.analysis import best_algorithm
    from azero.storage import load_run

    run = load_run(args.run_dir)
    cfg = run.config
    alg, _ = best_algorithm(run)
    if alg is None:
        raise ValueError(f"{args.run_dir}: no program recorded yet")
    memory = dict(num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)
    if args.format == "python":
        text = export.to_python(alg, cfg.search_tasks[0].features_size, name=Path(args.run_dir).name,
                                simplified=not args.no_simplify, **memory)
    else:
        text = export.to_text(alg, simplified=args.simplify, **memory)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from azero import islands
    from azero.sweep import run_sweep

    island = islands.detect()
    if island is not None:
        islands.install_abort_on_exception()
    run_sweep(args.sweep, args.run_dir, comm=None if island is None else island.comm,
              progress_bar=sys.stdout.isatty())
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    for name in presets.names():
        print(name)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="azero", description="Evolve machine-learning algorithms from scratch.")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the linear-regression demo (reference run_demo.sh)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-time limit of the whole search (s)")
    add_store_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("search", help="run a search from a TOML config or a preset name")
    p.add_argument("config", help="CONFIG.toml or a preset name (see `azero presets`)")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides the config's random_seed)")
    p.add_argument("--dataset-dir", default=None, help="folder of projected-binary task files")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-time limit of the whole search (s)")
    add_store_options(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("sweep", help="arms x replicates of seeded searches (one per MPI rank at a time)")
    p.add_argument("sweep", help="SWEEP.toml or a sweep preset name (fig4, fig4_smoke, digits_ablation)")
    p.add_argument("--run-dir", default=None,
                   help="directory of sweep.h5 (default: sweeps/<name>); an existing one is continued")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("resume", help="continue a stopped or killed run from its last checkpoint")
    p.add_argument("run_dir", help="run directory")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("status", help="progress of a live or finished run, per island")
    p.add_argument("run_dir", help="run directory")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("eval", help="evaluate a program (readable text form) on a config's tasks")
    p.add_argument("program", help="PROGRAM.txt in the readable form (def Setup(): ...)")
    p.add_argument("--tasks", required=True, help="CONFIG.toml or preset whose tasks to use")
    p.add_argument("--on", choices=("final", "select", "search"), default="final", help="which task set")
    p.add_argument("--seed", type=int, default=10000, help="seed of the random ops' stream")
    p.add_argument("--dataset-dir", default=None, help="folder of projected-binary task files")
    p.add_argument("--compare", action="store_true", help="also score the hand-designed linear and neural-net models")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("show", help="summary of a run (config, islands, experiments, best program) or a sweep")
    p.add_argument("run_dir", help="run directory or sweep directory")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("plot", help="PNG plot of a run's progress or best lineage, or a sweep's Figure 4 chart")
    p.add_argument("run_dir", help="run directory or sweep directory")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--kind", choices=("progress", "lineage"), default="progress",
                   help="progress: best/mean fitness vs individuals and time; lineage: the best-so-far steps")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("export", help="the best program of a run as a standalone Python module or as text")
    p.add_argument("run_dir", help="run directory")
    p.add_argument("--format", choices=("python", "text"), default="python")
    p.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    p.add_argument("--no-simplify", action="store_true", help="python: keep instructions that cannot matter")
    p.add_argument("--simplify", action="store_true", help="text: drop instructions that cannot matter")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("presets", help="list the shipped presets")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("datasets", help="projected binary classification datasets")
    dsub = p.add_subparsers(dest="datasets_command", required=True)
    b = dsub.add_parser("build", help="build projected binary task files (SPEC 6.4)")
    b.add_argument("--source", required=True, help="digits (offline, scikit-learn), cifar10, mnist or fashion_mnist")
    b.add_argument("--source-dir", default=None, help="folder with the source's files (not needed for digits)")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--pairs", default=None, help="class pairs, e.g. '0,1;3,5' (default: all)")
    b.add_argument("--seeds", default="0:10", help="seed range A:B (default 0:10)")
    b.add_argument("--dim", type=int, default=16, help="projected dimension (default 16)")
    b.add_argument("--train", type=int, default=None, help="train examples per task")
    b.add_argument("--valid", type=int, default=None, help="validation examples per task")
    b.add_argument("--test", type=int, default=None, help="test examples per task")
    b.add_argument("--overwrite", action="store_true", help="rebuild existing files")
    b.set_defaults(func=cmd_datasets_build)
    return top


def main(argv: list[str] | None = None) -> int:
    from azero import islands

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, ImportError, islands.MPIUnavailableError) as error:
        # ConfigError, ProgramError, DatasetError and RunStoreError are ValueErrors with one-line messages;
        # ImportError: an optional extra (matplotlib, pandas, scikit-learn) is missing.
        print(f"azero {args.command}: error: {error}", file=sys.stderr)
        if islands.launched_by_mpi(os.environ):
            islands.abort_job(2)   # the other ranks would otherwise wait forever
        return 2
    except KeyboardInterrupt:
        print(f"azero {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
