"""`azero report`: one self-contained HTML page per run, checked in its text and rendered by headless Chromium."""
import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import azero
from azero import algorithms, analysis, cli, presets, report
from azero.evaluation import evaluate
from azero.storage import load_run
from azero.tasks import TaskSpec, make_tasks

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
    azero.search(small_config(), seed=11, run_dir=folder, out=io.StringIO())
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
    simple = analysis.simplify(best, run.config.num_scalars, run.config.num_vectors, run.config.num_matrices)
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


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    html_path = report.write_report(run_dir, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    proc = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--window-size=1280,2400", f"--screenshot={shot}", html_path.resolve().as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    pixels = imread(shot)[:, :, :3]
    assert pixels.shape == (2400, 1280, 3)
    # Not blank: the page background, dark text and the plots' colours are all there.
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 200
    assert pixels.std() > 0.05
    heading = pixels[20:60, 20:400]
    assert heading.min() < 0.2 and heading.max() > 0.9      # the title's dark letters on a light background
    blue = (pixels[:, :, 2] > 0.6) & (pixels[:, :, 0] < 0.3)   # matplotlib's C0 lines
    assert blue.sum() > 500
