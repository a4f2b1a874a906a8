"""`azero report DIR -o report.html`: one self-contained HTML page about a run or a sweep.

A run's page holds the config summary, the progress and lineage plots (PNG inlined as base64), the experiments
table, the best program raw and simplified side by side, and its comparison with the hand-designed models on
T_final. A sweep's page holds the tables `azero show` prints for it (per arm: runs, successes, success rate and
its 95% Wilson interval; per group: the evolution/random-search ratio and its interval; the hand-designed
models) and the Figure 4 chart. Everything is inline (CSS, images): no server, no CDN, no script; it opens
from a file.

A page is a list of :class:`Section` objects; :func:`run_sections` and :func:`sweep_sections` build them and
:func:`render_page` turns any list into the page.
"""
from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from azero import algorithms, analysis, program_analysis, sweep_report
from azero.sweep import SweepData, is_sweep_dir, read_sweep

__all__ = ["Section", "run_sections", "sweep_sections", "render_page", "write_report"]

# Seed of the random ops' stream for the comparison table (as `azero eval`).
COMPARE_SEED = 10000

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2327;
       background: #f6f7f9; margin: 0; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 12px; border-bottom: 2px solid #d7dce2; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 6px; }
.subtitle { color: #50575e; margin: 0 0 20px; }
section { background: #fff; border: 1px solid #dfe3e8; border-radius: 8px; padding: 18px 22px; margin: 0 0 20px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 12px; text-align: left; border-bottom: 1px solid #e6e9ed; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
td:last-child:not(.num) { color: #50575e; font-size: 14px; }
td:first-child { white-space: nowrap; }
tr.kept td { background: #e8f5e9; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0 0 12px; }
dt { color: #50575e; }
dd { margin: 0; }
ul.config { margin: 6px 0 0; padding-left: 20px; }
ul.config li { margin: 3px 0; }
img { display: block; max-width: 100%; height: auto; margin: 8px 0 16px; border: 1px solid #e6e9ed; }
.programs { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; }
pre { font: 13px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f3f5f7; border: 1px solid #e0e4e8;
      border-radius: 6px; padding: 10px 12px; margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.note { color: #50575e; font-size: 14px; margin: 8px 0 0; }
.missing { color: #8a4b08; }
"""


@dataclass
class Section:
    """One block of the page: a title and its HTML body (already escaped)."""

    title: str
    body: str


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _img(name: str, png: bytes) -> str:
    """An <img> with the PNG inlined as base64."""
    return f'<img alt="{_esc(name)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _png(plot, run) -> str:
    """An <img> with the plot function's PNG of the run."""
    buffer = io.BytesIO()
    plot(run, buffer)
    return _img(plot.__name__, buffer.getvalue())


def _table(header: list[str], rows: list[list[str]], numeric: set[int], row_classes: list[str] | None = None) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag}{" class=num" if i in numeric else ""}>{text}</{tag}>'

    head = "".join(cell("th", i, _esc(h)) for i, h in enumerate(header))
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        body.append(f"<tr{cls}>" + "".join(cell("td", i, text) for i, text in enumerate(row)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _overview(run) -> Section:
    cfg = run.config
    individuals = sum(sum(analysis._experiment_lengths(run, island).values()) for island in run.islands)
    facts = [("run", run.path), ("status", run.status), ("seed", run.seed), ("ranks (islands)", run.num_ranks),
             ("individuals", f"{individuals:,}"), ("wall time", f"{analysis._wall_time(run):.1f} s"),
             ("azero", f"{run.azero_version} (schema {run.schema_version})")]
    if run.final is not None:
        facts.append(("final fitness (T_final)", f"{run.final['final_fitness']:.6f} (best T_select "
                                                 f"{run.final['best_select_fitness']:.6f})"))
    listing = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts)
    config = "".join(f"<li>{_esc(line)}</li>" for line in analysis.config_summary(cfg, run.num_ranks))
    return Section("Run and configuration", f"<dl>{listing}</dl><h3>Configuration</h3><ul class=config>{config}</ul>")


def _plots(run) -> Section:
    return Section("Progress and lineage",
                   _png(analysis.plot_progress, run) + _png(analysis.plot_lineage, run))


def _experiments(run) -> Section:
    if not len(run.experiments):
        return Section("Experiments", "<p class=missing>No experiment has finished yet.</p>")
    kept = analysis._kept_experiment(run)
    rows, classes = [], []
    for i, e in enumerate(run.experiments):
        rows.append([str(i), f"{e['search_fitness']:.6f}", f"{e['select_fitness']:.6f}",
                     f"{int(e['num_individuals']):,}", f"{int(e['num_train_steps']):,}",
                     "kept" if i == kept else ""])
        classes.append("kept" if i == kept else "")
    table = _table(["#", "T_search fitness", "T_select fitness", "individuals", "train steps", ""], rows,
                   {1, 2, 3, 4}, classes)
    return Section("Experiments", table + "<p class=note>Each experiment's candidate is the best of its final "
                   "population on T_search, scored on T_select; the kept one goes to T_final.</p>")


def _programs(run) -> Section:
    alg, where = analysis.best_algorithm(run)
    if alg is None:
        return Section("Best program", "<p class=missing>No program recorded yet.</p>")
    cfg = run.config
    simple = program_analysis.simplify(alg, cfg.num_scalars, cfg.num_vectors, cfg.num_matrices)
    body = (f"<p>{_esc(where[0].upper() + where[1:])}: {sum(alg.sizes)} instructions, of which "
            f"{sum(simple.sizes)} can affect a prediction.</p><div class=programs>"
            f"<div><h3>As found</h3><pre>{_esc(alg.to_text())}</pre></div>"
            f"<div><h3>Simplified</h3><pre>{_esc(simple.to_text())}</pre></div></div>")
    return Section("Best program", body)


def _comparison(run) -> Section:
    """The best program and the hand-designed linear and neural-net models on T_final (azero.evaluate)."""
    from azero.evaluation import evaluate
    from azero.tasks import make_tasks

    alg, _ = analysis.best_algorithm(run)
    if alg is None:
        return Section("Comparison on T_final", "<p class=missing>No program recorded yet.</p>")
    cfg = run.config
    try:
        tasks = make_tasks(list(cfg.final_tasks))
    except (ValueError, OSError) as error:
        return Section("Comparison on T_final",
                       f"<p class=missing>The T_final tasks cannot be built here: {_esc(error)}</p>")
    memory = dict(num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)
    programs = {"best program of this run": alg, "linear (hand-designed)": algorithms.linear(),
                "neural net (hand-designed)": algorithms.neural_net()}
    rows = []
    for name, program in programs.items():
        try:
            program.validate(**memory)
        except ValueError as error:
            rows.append([_esc(name), "&mdash;", str(sum(program.sizes)), "&mdash;",
                         _esc(f"not run: needs more memory than this run's {cfg.num_scalars}/{cfg.num_vectors}/"
                              f"{cfg.num_matrices} ({error})")])
            continue
        fitness = evaluate(program, tasks, seed=COMPARE_SEED, max_abs_error=cfg.max_abs_error, **memory)
        simple = program_analysis.simplify(program, **memory)
        note = ""
        if program is alg and run.final is not None:
            note = (f"the run's own T_final evaluation gave {run.final['final_fitness']:.6f} (its random ops "
                    "drew from another seed)")
        rows.append([_esc(name), f"{fitness:.6f}", str(sum(program.sizes)), str(sum(simple.sizes)), _esc(note)])
    header = ["program", "fitness on T_final", "instructions", "that can affect a prediction", "note"]
    if not any(row[-1] for row in rows):
        header, rows = header[:-1], [row[:-1] for row in rows]
    table = _table(header, rows, {1, 2, 3})
    note = (f"<p class=note>{len(tasks)} T_final tasks ({_esc(analysis._task_line(cfg.final_tasks))}); "
            f"random ops seeded with {COMPARE_SEED}, as <code>azero eval --compare</code>.</p>")
    return Section("Comparison on T_final", table + note)


def run_sections(run) -> list[Section]:
    """The sections of one run's report, in page order."""
    return [_overview(run), _plots(run), _experiments(run), _programs(run), _comparison(run)]


def _sweep_overview(data: SweepData, arms: list[sweep_report.ArmSummary]) -> Section:
    facts = [("searches per arm", ", ".join(str(n) for n in data.arm_replicates)),
             ("ranks per search", data.ranks_per_search),
             ("compared with", ", ".join(data.compare_with) or "no hand-designed model")]
    listing = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts)
    return Section("Sweep", f"<p>{_esc(sweep_report.headline(data, arms))}.</p><dl>{listing}</dl>")


def _sweep_arms(arms: list[sweep_report.ArmSummary]) -> Section:
    rows = [[_esc(cell) for cell in row] for row in sweep_report.arm_rows(arms)]
    note = ("<p class=note>Success rate per search with its 95% Wilson interval (- when the arm has no success "
            "criterion); evaluations count a successful search's individuals up to its first success.</p>")
    return Section("Arms", _table(sweep_report.ARM_HEADER, rows, set(range(2, 9))) + note)


def _sweep_ratios(sweep_dir: str | os.PathLike, arms: list[sweep_report.ArmSummary]) -> Section:
    ratios = sweep_report.group_ratios(arms)
    if not ratios:
        return Section("Evolution / random search",
                       "<p class=missing>No group holds one evolution arm and one random-search arm.</p>")
    rows = [[_esc(cell) for cell in row] for row in sweep_report.ratio_rows(ratios)]
    table = _table(sweep_report.RATIO_HEADER, rows, set(range(1, 6)))
    note = ("<p class=note>Success rates at equal budgets; the ratio's 95% interval by the log method. "
            "Difficulty: 1 / random search's success rate per evaluated program.</p>")
    with tempfile.TemporaryDirectory() as folder:
        chart = Path(folder) / "figure4.png"
        sweep_report.plot_figure4(sweep_dir, chart)
        image = _img("plot_figure4", chart.read_bytes())
    return Section("Evolution / random search", table + note + image)


def _sweep_references(data: SweepData) -> Section:
    from azero.success import REFERENCE_SEED

    try:
        rows = [[_esc(cell) for cell in row] for row in sweep_report.reference_rows(data)]
    except (ValueError, OSError) as error:
        return Section("Against hand-designed models",
                       f"<p class=missing>The models cannot be evaluated here: {_esc(error)}</p>")
    note = (f"<p class=note>How many searches' best candidates beat each model (its random ops seeded with "
            f"{REFERENCE_SEED}); no T_select where an arm re-draws its task seeds per search.</p>")
    return Section("Against hand-designed models", _table(sweep_report.REFERENCE_HEADER, rows, {2, 3, 4, 5}) + note)


def sweep_sections(data: SweepData, sweep_dir: str | os.PathLike) -> list[Section]:
    """The sections of a sweep's report, in page order (`data`: the sweep read from `sweep_dir`)."""
    arms = sweep_report.arm_summaries(data)
    sections = [_sweep_overview(data, arms), _sweep_arms(arms), _sweep_ratios(sweep_dir, arms)]
    if data.compare_with:
        sections.append(_sweep_references(data))
    return sections + [Section("Sweep file", f"<pre>{_esc(data.text.strip())}</pre>")]


def render_page(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole HTML document: inline CSS, one <section> per Section."""
    blocks = "".join(f"<section><h2>{_esc(s.title)}</h2>{s.body}</section>" for s in sections)
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content=\"width=device-width, initial-scale=1\">"
            f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body><main>"
            f"<h1>{_esc(title)}</h1><p class=subtitle>{_esc(subtitle)}</p>{blocks}</main></body></html>\n")


def write_report(run_dir: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Write the report of the run or sweep in `run_dir` to `output` (HTML); returns the output path."""
    from azero.runs.reader import load_run

    if is_sweep_dir(run_dir):
        data = read_sweep(run_dir)
        page = render_page(f"azero sweep {data.name}", f"seed {data.seed}, {len(data.arm_names)} arms — {run_dir}",
                           sweep_sections(data, run_dir))
    else:
        run = load_run(run_dir)
        page = render_page(f"azero run {run.path.name}",
                           f"{run.status}, seed {run.seed}, {run.num_ranks} island(s) — {run.path}",
                           run_sections(run))
    output = Path(output)
    output.write_text(page, encoding="utf-8")
    return output
