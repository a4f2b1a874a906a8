"""`azero …` commands: parse arguments, call the library, print. Errors are one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import signal

from azero import presets
from azero.config import SearchConfig, check_seed


# Signals that stop a search cleanly at the next generation, with a checkpoint when a run directory is kept
# (SLURM sends SIGUSR1 ahead of the walltime when asked to; mpiexec forwards all three to every rank).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)
# Exit code of a search stopped on request (EX_TEMPFAIL from sysexits.h): resumable, not finished. Every rank of an
# MPI job exits with it, so a batch script can tell "resubmit me" from "done" (0) and "failed" (anything else).
EXIT_STOPPED = 75


def load_config(name_or_path: str, dataset_dir: str | None = None) -> SearchConfig:
    """A preset name or a TOML file; `dataset_dir` fills the path of projected-binary tasks.

    The digits_binary preset without a `dataset_dir` reads the user cache's digits files, built on first use.
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return SearchConfig.from_toml(path, dataset_dir=dataset_dir)
    if name_or_path == "digits_binary" and dataset_dir is None:
        from azero.datasets import ensure_digits_datasets

        dataset_dir = str(ensure_digits_datasets(announce=lambda message: print(message, file=sys.stderr)))
    return presets.load(name_or_path, dataset_dir=dataset_dir)


def cmd_search(args: argparse.Namespace) -> int:
    from azero import islands
    from azero.search import Search
    from azero.runs.directory import new_run_dir
    from azero.runs.writer import RunStore

    if args.seed is not None:
        check_seed(args.seed, "--seed")
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
        assert run_dir is not None  # the root's directory, on every rank
        store = RunStore(run_dir, full_history=args.full_history)
        if root:
            print(f"Run directory: {run_dir}", file=sys.stderr)
    search = Search(cfg, args.seed, island=island, store=store,
                    progress_bar=islands.interactive_terminal(sys.stdout))
    islands.install_signal_handlers(search, STOP_SIGNALS)
    try:
        result = search.run()
    finally:
        if store is not None:
            store.close()
    return exit_code(result.interrupted, island)


def cmd_resume(args: argparse.Namespace) -> int:
    from azero import islands
    from azero.runs.resume import resume

    island = islands.detect()
    if island is not None:
        islands.install_abort_on_exception()
    result = resume(args.run_dir, island=island, progress_bar=islands.interactive_terminal(sys.stdout),
                    prepare=lambda search: islands.install_signal_handlers(search, STOP_SIGNALS),
                    from_checkpoint=args.from_checkpoint, restart=args.restart)
    return exit_code(result.interrupted, island)


def exit_code(stopped: bool, island) -> int:
    """EXIT_STOPPED or 0; under MPI only once every rank has closed its files (Open MPI's mpirun ends the whole
    job when the first rank exits with a non-zero code)."""
    if island is not None:
        island.any(False)
    return EXIT_STOPPED if stopped else 0


def cmd_status(args: argparse.Namespace) -> int:
    from azero.runs.status import status

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

    if args.run is not None:
        if args.program is not None or args.tasks is not None:
            raise ValueError("--run re-scores the run's own final program on its own T_final: give no "
                             "PROGRAM.txt and no --tasks with it")
        return eval_run(args.run, args.dataset_dir)
    if args.program is None or args.tasks is None:
        raise ValueError("give PROGRAM.txt and --tasks CONFIG|PRESET (or --run RUN_DIR)")
    seed = check_seed(args.seed, "--seed", clock=False)
    cfg = load_config(args.tasks, args.dataset_dir)
    alg = Algorithm.from_file(args.program, num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors,
                              num_matrices=cfg.num_matrices)
    specs = {"search": cfg.search_tasks, "select": cfg.select_tasks, "final": cfg.final_tasks}[args.on]
    tasks = make_tasks(list(specs))
    programs = {Path(args.program).name: alg}
    if args.compare:
        programs |= {"linear (hand-designed)": algorithms.linear(), "neural net (hand-designed)": algorithms.neural_net()}
    print(f"T_{args.on} of {args.tasks}:")
    print(compare_table(programs, tasks, seed=seed, max_abs_error=cfg.max_abs_error,
                        num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices),
          end="")
    return 0


def eval_run(run_dir: str, dataset_dir: str | None) -> int:
    """Re-score a finished run's final program on its T_final with the stored random-op seed: exit 0 when the
    fitness equals the stored one bit for bit, 1 when it does not."""
    import struct

    from azero.search import evaluate_on
    from azero.runs.reader import load_run
    from azero.runs.schema import RUN_FILE

    run = load_run(run_dir)
    if run.final is None:
        raise ValueError(f"{run_dir}: the run has not finished ({run.status}); it has no final fitness yet")
    seed = run.final["final_seed"]
    if not seed:
        raise ValueError(f"{Path(run_dir) / RUN_FILE}: schema {run.schema_version} did not store the final "
                         "evaluation's random-op seed; it cannot be re-scored exactly")
    cfg = run.config if dataset_dir is None else run.config.replace(dataset_dir=dataset_dir)
    fitness = evaluate_on(cfg, list(cfg.final_tasks), run.final["best_algorithm"], seed)
    stored = run.final["final_fitness"]
    same = struct.pack("<d", fitness) == struct.pack("<d", stored)
    print(f"Final evaluation fitness (on unseen data) = {fitness:.6f}")
    print(f"re-scored {fitness!r} with random-op seed {seed}; the run stored {stored!r}: "
          + ("identical, bit for bit" if same else "DIFFERENT"))
    return 0 if same else 1


def cmd_datasets_build(args: argparse.Namespace) -> int:
    from azero.datasets import build_datasets, parse_user_source

    if parse_user_source(args.source) is not None:
        return build_user_folder(args)
    for option, value in (("--label-column", args.label_column), ("--task", args.task), ("--name", args.name)):
        if value is not None:
            raise ValueError(f"{option} is for npz:FILE and csv:FILE sources, not {args.source!r}")
    pairs = None
    if args.pairs:
        pairs = [tuple(int(c) for c in pair.split(",")) for pair in args.pairs.split(";")]
    paths = build_datasets(args.source, args.out, source_dir=args.source_dir, pairs=pairs,
                           seeds=seed_range(args.seeds), dim=args.dim, num_train=args.train,
                           num_valid=args.valid, num_test=args.test, overwrite=args.overwrite)
    print(f"{len(paths)} task files in {args.out}")
    return 0


def seed_range(text: str) -> range:
    """--seeds A:B as a range."""
    lo, colon, hi = text.partition(":")
    if not (colon and lo.isdigit() and hi.isdigit()):
        raise ValueError(f"--seeds must be A:B (e.g. 0:10), got {text!r}")
    return range(int(lo), int(hi))


def build_user_folder(args: argparse.Namespace) -> int:
    """`datasets build --source npz:FILE|csv:FILE`: build, then print what a config's task spec needs."""
    from azero.datasets import build_user_datasets

    for option, value in (("--source-dir", args.source_dir), ("--pairs", args.pairs)):
        if value is not None:
            raise ValueError(f"{option} is not for npz:FILE or csv:FILE sources (every class pair is built)")
    manifest = build_user_datasets(args.source, args.out, task=args.task or "classification",
                                   label_column=args.label_column, name=args.name, seeds=seed_range(args.seeds),
                                   dim=args.dim, num_train=args.train, num_valid=args.valid, num_test=args.test,
                                   overwrite=args.overwrite)
    kind = "projected_binary_classification" if manifest["kind"] == "classification" else "projected_regression"
    if manifest["kind"] == "classification":
        classes = manifest["classes"]
        print(f"{len(classes)} classes {classes} (label column {manifest['label']!r}), numbered "
              f"0..{len(classes) - 1}; {len(classes) * (len(classes) - 1) // 2} pairs x {len(manifest['seeds'])} "
              f"seeds in {args.out}")
    else:
        print(f"regression on {manifest['label']!r}: {len(manifest['seeds'])} seeds in {args.out}")
    print(f"task spec: kind = \"{kind}\", dataset_name = \"{manifest['name']}\", features_size = {manifest['dim']}, "
          f"num_train_examples <= {manifest['num_train_examples']}, "
          f"num_valid_examples <= {manifest['num_valid_examples']}, "
          f"max_supported_data_seed = {max(manifest['seeds']) + 1}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from azero.analysis import summary
    from azero.runs.reader import load_run
    from azero.sweep import is_sweep_dir

    if is_sweep_dir(args.run_dir):
        from azero import sweep_report
        print(sweep_report.summary(args.run_dir), end="")
        return 0
    print(summary(load_run(args.run_dir)), end="")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from azero import analysis
    from azero.runs.reader import load_run
    from azero.sweep import is_sweep_dir

    if is_sweep_dir(args.run_dir):
        from azero import sweep_report
        print(f"wrote {sweep_report.plot_figure4(args.run_dir, args.output)}")
        return 0
    plot = {"progress": analysis.plot_progress, "lineage": analysis.plot_lineage}[args.kind]
    print(f"wrote {plot(load_run(args.run_dir), args.output)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from azero.report import write_report

    print(f"wrote {write_report(args.run_dir, args.output)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from azero import export
    from azero.analysis import best_algorithm
    from azero.runs.reader import load_run

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


PRESET_DESCRIPTION_PREFIX = "# description:"


def preset_description(name: str) -> str:
    """The one-line `# description: ...` comment of a shipped preset ('' if it has none)."""
    for line in presets.path(name).read_text(encoding="utf-8").splitlines():
        if line.startswith(PRESET_DESCRIPTION_PREFIX):
            return line[len(PRESET_DESCRIPTION_PREFIX):].strip()
    return ""


def cmd_sweep(args: argparse.Namespace) -> int:
    from azero import islands
    from azero.sweep import run_sweep

    island = islands.detect()
    if island is not None:
        islands.install_abort_on_exception()
    run_sweep(args.sweep, args.run_dir, comm=None if island is None else island.comm,
              progress_bar=islands.interactive_terminal(sys.stdout))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    names = presets.names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {preset_description(name)}".rstrip())
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="azero", description="Evolve machine-learning algorithms from scratch.")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the linear-regression demo (reference run_demo.sh)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed 1 .. 2^32 - 1 (default or 0: from the clock)")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-time limit of the whole search (s)")
    add_store_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("search", help="run a search from a TOML config or a preset name")
    p.add_argument("config", help="CONFIG.toml or a preset name (see `azero presets`)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed 1 .. 2^32 - 1, overriding the config's random_seed (0: from the clock)")
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
    give_up = p.add_mutually_exclusive_group()
    give_up.add_argument("--from-checkpoint", type=int, default=None, metavar="N",
                         help="continue from checkpoint N, giving up the records after it (e.g. damaged ones)")
    give_up.add_argument("--restart", action="store_true",
                         help="start the run again from its seed, giving up all its records")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("status", help="progress of a live or finished run, per island")
    p.add_argument("run_dir", help="run directory")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("eval", help="evaluate a program (readable text form) on a config's tasks")
    p.add_argument("program", nargs="?", default=None, help="PROGRAM.txt in the readable form (def Setup(): ...)")
    p.add_argument("--tasks", default=None, help="CONFIG.toml or preset whose tasks to use")
    p.add_argument("--run", default=None, metavar="RUN_DIR",
                   help="re-score a finished run's final program exactly (its T_final, its stored seed)")
    p.add_argument("--on", choices=("final", "select", "search"), default="final", help="which task set")
    p.add_argument("--seed", type=int, default=10000, help="seed of the random ops' stream (1 .. 2^32 - 1)")
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

    p = sub.add_parser("report", help="one self-contained HTML page about a run or a sweep (plots inline, no server)")
    p.add_argument("run_dir", help="run directory or sweep directory")
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="the best program of a run as a standalone Python module or as text")
    p.add_argument("run_dir", help="run directory")
    p.add_argument("--format", choices=("python", "text"), default="python")
    p.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    p.add_argument("--no-simplify", action="store_true", help="python: keep instructions that cannot matter")
    p.add_argument("--simplify", action="store_true", help="text: drop instructions that cannot matter")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("presets", help="list the shipped presets, one line each")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("datasets", help="projected binary classification datasets")
    dsub = p.add_subparsers(dest="datasets_command", required=True)
    b = dsub.add_parser("build", help="build projected binary task files (docs/semantics.md §7.5)")
    b.add_argument("--source", required=True, help="digits (offline, scikit-learn), cifar10, mnist, fashion_mnist, "
                   "or your data: npz:FILE (arrays X, y) or csv:FILE (header row)")
    b.add_argument("--source-dir", default=None, help="folder with the source's files (not needed for digits)")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--pairs", default=None, help="class pairs, e.g. '0,1;3,5' (default: all)")
    b.add_argument("--seeds", default="0:10", help="seed range A:B (default 0:10)")
    b.add_argument("--dim", type=int, default=16, help="projected dimension (default 16)")
    b.add_argument("--train", type=int, default=None, help="train examples per task")
    b.add_argument("--valid", type=int, default=None, help="validation examples per task")
    b.add_argument("--test", type=int, default=None, help="test examples per task")
    b.add_argument("--overwrite", action="store_true", help="rebuild existing files")
    b.add_argument("--label-column", default=None, help="csv:FILE: the label column (default: the last)")
    b.add_argument("--task", choices=("classification", "regression"), default=None,
                   help="npz/csv: binary pair tasks per class pair (default) or regression on a numeric target")
    b.add_argument("--name", default=None, help="npz/csv: dataset_name of the files (default: the file's stem)")
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
