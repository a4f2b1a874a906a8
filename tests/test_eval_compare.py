"""`azero eval PROGRAM --tasks CONFIG --compare`: hand-designed models scored on any config's memory.

Memory sizes are capacities, so the neural net (it needs 5 scalars, 9 vectors, 2 matrices) is scored on the
issue-16 config (memory 4/8/2) with memory 5/9/2; a comparison that cannot be made exits 2 with one line.
"""
import os
import subprocess
import sys
from pathlib import Path

import azero
from azero import algorithms, presets
from azero.tasks import make_tasks

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "azero", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_compare_scores_the_neural_net_with_the_memory_it_needs(tmp_path):
    (tmp_path / "zero.txt").write_text("def Setup():\ndef Predict():\ndef Learn():\n")
    proc = run_cli("eval", "zero.txt", "--tasks", "fig5_hurdles", "--compare", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tasks = make_tasks(list(presets.load("fig5_hurdles").final_tasks))
    rows = [("zero.txt", azero.Algorithm.empty(), (4, 8, 2), ""),
            ("linear (hand-designed)", algorithms.linear(), (4, 8, 2), ""),
            ("neural net (hand-designed)", algorithms.neural_net(), (5, 9, 2), "; memory 5/9/2")]
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["T_final of fig5_hurdles:",
                         "program                       fitness  instructions  effective  "
                         "(10 tasks, seed 10000, memory 4/8/2)"]
    assert len(lines) == 2 + len(rows)
    for line, (name, alg, (s, v, m), note) in zip(lines[2:], rows):
        fitness = azero.evaluate(alg, tasks, seed=10000, num_scalars=s, num_vectors=v, num_matrices=m)
        assert line.startswith(f"{name:<26}  {fitness:9.6f}  ")
        assert line.endswith(note + ")")
    # The scale: constant 0 at 0.162, linear regression 0.209, the neural net 0.60.
    assert [round(float(line[28:37]), 3) for line in lines[2:]] == [0.162, 0.209, 0.600]


def test_a_comparison_that_cannot_be_made_exits_2(tmp_path):
    # A program addressing s4 on a 4-scalar config cannot be evaluated there.
    (tmp_path / "big.txt").write_text("def Setup():\n  s4 = 0.5\ndef Predict():\n  s1 = s4\ndef Learn():\n")
    proc = run_cli("eval", "big.txt", "--tasks", "fig5_hurdles", "--compare", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "out of range" in proc.stderr
