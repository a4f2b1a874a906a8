"""End-to-end search: the reference's integration-test lines (docs/semantics.md §12.6, 7.4) and the demo (docs/semantics.md §9.9, 5.7)."""
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from azero import presets
from azero.search import Search

REPO = Path(__file__).resolve().parents[1]
ELAPSED = re.compile(r"elapsed_secs=\d+")


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`azero ARGS` in a fresh working directory (its default run directory lands there)."""
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run([sys.executable, "-m", "azero", *args], capture_output=True, text=True,
                              timeout=timeout, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)})


def lines_without_elapsed(text: str) -> list[str]:
    return [ELAPSED.sub("elapsed_secs=…", line) for line in text.splitlines()]


def test_linear_integration_prints_reference_lines():
    proc = run_cli("search", "linear_integration", "--seed", "100021")
    assert proc.returncode == 0, proc.stderr
    lines = lines_without_elapsed(proc.stdout)
    assert lines[0] == "Random seed = 100021"
    assert "indivs=11000, elapsed_secs=…, mean=0.240699, stdev=0.090653, best fit=0.305231," in lines
    assert "indivs=21000, elapsed_secs=…, mean=0.481513, stdev=0.401085, best fit=0.999813," in lines
    assert "Final evaluation fitness (on unseen data) = 1.000000" in lines
    # docs/semantics.md §12.6 (spec model): the run ends at 497,000 individuals, search fitness 0.999813, select 1.000000.
    assert [line for line in lines if line.startswith("indivs=")][-1].startswith("indivs=491000,")
    assert "Search fitness for candidate algorithm = 0.999813" in lines
    assert "Select fitness for candidate algorithm = 1.000000" in lines


def test_nonlinear_integration_prints_reference_lines():
    proc = run_cli("search", "nonlinear_integration", "--seed", "100001")
    assert proc.returncode == 0, proc.stderr
    lines = lines_without_elapsed(proc.stdout)
    assert "indivs=11000, elapsed_secs=…, mean=0.855631, stdev=0.277759, best fit=0.999835," in lines
    assert "indivs=91000, elapsed_secs=…, mean=0.724830, stdev=0.423565, best fit=1.000000," in lines
    # The reference built from source (docs/semantics.md §12.6): search 0.999999, select 0.998458, final 0.992778.
    assert "Search fitness for candidate algorithm = 0.999999" in lines
    assert "Select fitness for candidate algorithm = 0.998458" in lines
    assert "Final evaluation fitness (on unseen data) = 0.992778" in lines


def test_linear_integration_counts_reference_train_steps():
    result = Search(presets.load("linear_integration"), out=io.StringIO()).run()
    experiment, = result.experiments
    # docs/semantics.md §12.6: 497,000 individuals and 100,127,392 train steps, FEC pre-runs included.
    assert experiment.num_individuals == 497000
    assert experiment.num_train_steps == 100127392


def test_demo_seed_2_solves_in_one_experiment():
    out = io.StringIO()
    result = Search(presets.load("demo"), 2, out=out).run()
    assert len(result.experiments) == 1
    assert result.best_select_fitness > 0.9999
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("indivs=") for line in lines) == 99
    assert "Final evaluation fitness (on unseen data) = 1.000000" in lines
    assert "def Predict():" in lines


def test_demo_seed_7_first_experiment_matches_reference():
    cfg = presets.load("demo").replace(max_experiments=1)
    out = io.StringIO()
    Search(cfg, 7, out=out).run()
    lines = out.getvalue().splitlines()
    # docs/semantics.md §12.6: seed 7's first experiment: search 0.778854, select 0.047520.
    assert "Search fitness for candidate algorithm = 0.778854" in lines
    assert "Select fitness for candidate algorithm = 0.047520" in lines


def test_demo_command_prints_the_program():
    proc = run_cli("demo", "--seed", "2")
    assert proc.returncode == 0, proc.stderr
    assert "Final evaluation fitness (on unseen data) = 1.000000" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("  ")
    assert "Algorithm found: " in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["search", "no_such_preset"], "no_such_preset"),
    (["search", "{tmp}/bad.toml"], "population_size"),
    (["eval", "{tmp}/missing.txt", "--tasks", "demo"], "missing.txt"),
])
def test_bad_input_is_one_line_error(tmp_path, args, message):
    (tmp_path / "bad.toml").write_text(presets.path("demo").read_text().replace("population_size = 1000",
                                                                                 "population_size = -3"))
    proc = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert message in proc.stderr


def test_terminal_gets_a_progress_bar_instead_of_lines(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    config = tmp_path / "small.toml"
    config.write_text(presets.path("linear_integration").read_text().replace(
        "max_train_steps = 100_000_000", "max_train_steps = 3_000_000"))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))   # a 120-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "azero", "search", str(config)], stdout=follower,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:   # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    screen = b"".join(chunks).decode()
    assert "indivs=" in screen and "step" in screen          # the bar's postfix and unit
    assert not any(line.startswith("indivs=") for line in screen.replace("\r", "\n").splitlines())
    assert "Final evaluation fitness (on unseen data) = " in screen
