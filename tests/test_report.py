"""`azero report`: one self-contained HTML page per run or sweep, checked in its text and rendered by headless
Chromium."""
import base64
import io
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import azero
from azero import algorithms, analysis, cli, presets, program_analysis, report
from azero.evaluation import evaluate
from azero.runs.reader import load_run
from azero.sweep import read_sweep, run_sweep
from azero.sweep_report import arm_summaries, group_ratios, ratio_interval, wilson
from azero.tasks import TaskSpec, make_tasks
from test_sweep import sweep_file

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chromium flags for a headless run as root in a container (no sandbox, GPU, network or first-run work).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


def small_config():
    """The demo's op space on 2-layer NN regression tasks, 2 experiments with a tiny budget."""
    tasks = [TaskSpec(kind="scalar_2layer_nn_regression", features_size=4, num_train_examples=60,
                      num_valid_examples=20, num_tasks=2)]
    return presets.load("nonlinear_integration").replace(
        population_size=30, tournament_size=5, progress_every=60, max_train_steps=60_000, max_experiments=2,
        search_tasks=tasks, select_tasks=tasks, final_tasks=tasks)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report") / "run"
    azero.run_search(small_config(), seed=11, run_dir=folder, out=io.StringIO())
    return folder


@pytest.fixture(scope="module")
def page(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "report.html"
    assert report.write_report(run_dir, out) == out
    return out.read_text(encoding="utf-8")


def test_report_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    for outside in ("http://", "https://", 'src="//', "<script", "<link", "@import", "url("):
        assert outside not in page
    images = re.findall(r'<img alt="(\w+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert [name for name, _ in images] == ["plot_progress", "plot_lineage"]
    for _, data in images:
        assert base64.b64decode(data)[:8] == PNG_SIGNATURE


def test_report_holds_config_experiments_programs_and_comparison(page, run_dir):
    run = load_run(run_dir)
    titles = re.findall(r"<section><h2>([^<]+)</h2>", page)
    assert titles == ["Run and configuration", "Progress and lineage", "Experiments", "Best program",
                      "Comparison on T_final"]
    for line in analysis.config_summary(run.config):
        assert f"<li>{report._esc(line)}</li>" in page
    rows = re.findall(r"<tr(?: class=\"kept\")?><td>(\d+)</td>", page)
    assert rows == [str(i) for i in range(len(run.experiments))] == ["0", "1"]
    assert page.count('<tr class="kept">') == 1
    best = run.final["best_algorithm"]
    simple = program_analysis.simplify(best, run.config.num_scalars, run.config.num_vectors, run.config.num_matrices)
    assert f"<pre>{report._esc(best.to_text())}</pre>" in page
    assert f"<pre>{report._esc(simple.to_text())}</pre>" in page
    tasks = make_tasks(list(run.config.final_tasks))
    memory = dict(num_scalars=run.config.num_scalars, num_vectors=run.config.num_vectors,
                  num_matrices=run.config.num_matrices)
    for name, alg in (("best program of this run", best), ("linear (hand-designed)", algorithms.linear()),
                      ("neural net (hand-designed)", algorithms.neural_net())):
        fitness = evaluate(alg, tasks, seed=report.COMPARE_SEED, **memory)
        assert f"<tr><td>{report._esc(name)}</td><td class=num>{fitness:.6f}</td>" in page
    assert f"the run&#x27;s own T_final evaluation gave {run.final['final_fitness']:.6f}" in page


def test_report_command(run_dir, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert cli.main(["report", str(run_dir), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert cli.main(["report", str(tmp_path / "none"), "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("azero report: error: ") and str(tmp_path / "none") in err and err.count("\n") == 1
    assert not (tmp_path / "x.html").exists()


def screenshot(source: Path, tmp_path: Path, height: int) -> np.ndarray:
    """The RGB pixels of the report of `source` as headless Chromium draws it 1280 wide and `height` high, checked
    not blank: the page background, dark text and the plots' colours are all there, the title dark on light."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    html_path = report.write_report(source, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    proc = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           f"--window-size=1280,{height}", f"--screenshot={shot}", html_path.resolve().as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    pixels = imread(shot)[:, :, :3]
    assert pixels.shape == (height, 1280, 3)
    assert len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 200
    heading = pixels[20:60, 20:400]
    assert heading.min() < 0.2 and heading.max() > 0.9
    return pixels


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    pixels = screenshot(run_dir, tmp_path, 2400)
    assert pixels.std() > 0.05
    blue = (pixels[:, :, 2] > 0.6) & (pixels[:, :, 0] < 0.3)   # matplotlib's C0 lines
    assert blue.sum() > 500


def easy_and_hard_sweep(folder: Path) -> Path:
    """test_sweep's small sweep (evolution against random search, 6 searches per arm, under a second) plus a
    group with an easier criterion, so that one group has a finite ratio and the other none yet."""
    path = sweep_file(folder, replicates=6)
    easy = f'success = {{ reference = "{folder / "weak.txt"}", tolerance = -0.04, stop = true }}'
    path.write_text(path.read_text() + "".join(
        f'\n[[arms]]\nname = "easy/{mode}"\nbase = "fig4_linear_backprop"\ngroup = "easy"\n'
        f'overrides = {{ mode = "{mode}", {easy} }}\n' for mode in ("evolution", "random_search")))
    return path


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    return run_sweep(str(easy_and_hard_sweep(folder)), folder / "sweep", out=io.StringIO())


@pytest.fixture(scope="module")
def sweep_page(sweep_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep_page") / "report.html"
    assert cli.main(["report", str(sweep_dir), "-o", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def test_sweep_report_holds_the_tables_of_azero_show_and_the_figure_4_chart(sweep_page, sweep_dir, capsys):
    page = sweep_page
    capsys.readouterr()
    assert cli.main(["show", str(sweep_dir)]) == 0
    shown = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>")
    for outside in ("http://", "https://", 'src="//', "<script", "<link", "@import", "url("):
        assert outside not in page
    assert re.findall(r"<section><h2>([^<]+)</h2>", page) == [
        "Sweep", "Arms", "Evolution / random search", "Against hand-designed models", "Sweep file"]
    data = read_sweep(sweep_dir)
    arms = arm_summaries(data)
    assert [a.name for a in arms] == ["backprop/evolution", "backprop/random_search", "easy/evolution",
                                      "easy/random_search"]
    for a in arms:
        rows = data.rows[data.rows["arm"] == data.arm_names.index(a.name)]
        runs, successes = len(rows), int(rows["succeeded"].sum())
        low, high = wilson(successes, runs)
        interval = f"[{low:.3f}, {high:.3f}]"
        # the same cells as `azero show` prints on the arm's line
        line = next(line for line in shown.splitlines() if line.startswith(a.name + " "))
        assert f" {runs}/{runs} " in line and f" {successes / runs:.3f}  {interval} " in line
        assert (f"<tr><td>{a.name}</td><td>{a.mode}</td><td class=num>{runs}/{runs}</td>"
                f"<td class=num>{successes}</td><td class=num>{successes / runs:.3f}</td>"
                f"<td class=num>{interval}</td>") in page
    finite = 0
    for g in group_ratios(arms):
        ratio, low, high = ratio_interval(g.evolution.successes, g.evolution.runs, g.random_search.successes,
                                          g.random_search.runs)
        if math.isfinite(high):
            finite += 1
            ratio_text, interval = f"{ratio:.2f}", f"[{low:.2f}, {high:.2f}]"
        else:
            ratio_text, interval = "inf", "[-, inf]"      # no random-search success yet
        line = next(line for line in shown.splitlines() if line.startswith(g.group + " "))
        assert f" {ratio_text}  " in line and f" {interval} " in line
        assert f"<td class=num>{ratio_text}</td><td class=num>{interval}</td>" in page
    assert finite == 1
    for model_line in [line for line in shown.splitlines() if " linear " in line]:
        arm, model, *cells = model_line.split()
        assert f"<tr><td>{arm}</td><td>{model}</td>" + "".join(f"<td class=num>{c}</td>" for c in cells) in page
    images = re.findall(r'<img alt="(\w+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert [name for name, _ in images] == ["plot_figure4"]
    png = base64.b64decode(images[0][1])
    assert png[:8] == PNG_SIGNATURE
    assert imread(io.BytesIO(png)).shape[:2] == (396, 990)    # plot_figure4's 11 x 4.4 inches at 90 dpi
    assert f"<pre>{report._esc(data.text.strip())}</pre>" in page


def test_sweep_report_renders_in_headless_chromium(sweep_dir, tmp_path):
    pixels = screenshot(sweep_dir, tmp_path, 1400)
    blue = (pixels[:, :, 2] > 0.6) & (pixels[:, :, 0] < 0.3)                             # evolution (C0)
    orange = (pixels[:, :, 0] > 0.9) & (pixels[:, :, 1] > 0.4) & (pixels[:, :, 1] < 0.6) & (pixels[:, :, 2] < 0.2)
    assert blue.sum() > 100 and orange.sum() > 100                                      # random search (C1)
