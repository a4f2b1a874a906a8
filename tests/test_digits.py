"""Projected binary tasks built from the offline digits source (docs/semantics.md §7.5): presets and commands end to end.

One digits dataset (all 45 pairs, seeds 0..9 as the CLI builds by default) is built once with
`azero datasets build`; the tests run the hand-designed models, the projected_binary_integration preset
(docs/semantics.md §9.9) resized to the digits files, the digits_binary preset and `azero eval --compare` on it.
"""
import dataclasses
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from azero import algorithms, evaluate, make_tasks, presets
from azero._core import ops
from azero.datasets import select_pair_and_seed
from azero.search import Search
from azero.tasks import task_seeds

REPO = Path(__file__).resolve().parents[1]
# The 9 pairs task.proto recommends holding out for meta-validation/test (docs/semantics.md §7.5).
RECOMMENDED_HELD_OUT = {(4, 6), (3, 5), (8, 9), (3, 8), (0, 9), (2, 9), (1, 8), (3, 6), (0, 5)}
# Fewest train / valid examples in a digits file (class 8 has 174 images: 348 = 210 + 69 + 69).
DIGITS_TRAIN, DIGITS_VALID = 210, 69
FINAL_LINE = re.compile(r"^Final evaluation fitness \(on unseen data\) = (\d\.\d{6})$", re.MULTILINE)
MEMORY_FIELDS = ("num_scalars", "num_vectors", "num_matrices")


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as cwd:   # a search's default run directory lands there
        return subprocess.run([sys.executable, "-m", "azero", *args], capture_output=True, text=True,
                              timeout=timeout, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)})


def memory(cfg) -> dict:
    return {name: getattr(cfg, name) for name in MEMORY_FIELDS}


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("digits") / "data"
    proc = run_cli("datasets", "build", "--source", "digits", "--out", str(out), "--seeds", "0:10")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"450 task files in {out}\n"
    return out


@pytest.fixture(scope="module")
def digits_cfg(digits_dir):
    return presets.load("digits_binary").replace(dataset_dir=str(digits_dir))


def test_digits_binary_task_sets_follow_the_baseline_split(digits_cfg):
    """T_search/T_select draw from the 36 pairs not held out, T_final only from the 9 recommended ones."""
    pairs = {}
    for name in ("search", "select", "final"):
        spec, = getattr(digits_cfg, f"{name}_tasks")
        assert (spec.features_size, spec.num_train_examples, spec.num_valid_examples) == (16, 210, 69)
        assert spec.max_supported_data_seed == 10
        picks = [select_pair_and_seed(spec, data_seed) for _, data_seed in task_seeds(spec)]
        assert all(0 <= seed < 10 for _, _, seed in picks)
        pairs[name] = {(pos, neg) for pos, neg, _ in picks}
    assert not (pairs["search"] | pairs["select"]) & RECOMMENDED_HELD_OUT
    assert pairs["final"] <= RECOMMENDED_HELD_OUT
    assert len(pairs["final"]) == 9  # 100 final tasks cover every held-out pair
    search_seeds = task_seeds(digits_cfg.search_tasks[0])
    select_seeds = task_seeds(digits_cfg.select_tasks[0])
    assert not {d for _, d in search_seeds} & {d for _, d in select_seeds}


def test_hand_designed_models_beat_chance(digits_cfg):
    """docs/semantics.md §8.5's neural net (lr 0.01, scales 0.1) and linear model on the 100 held-out-pair tasks.

    Measured: chance (majority class) 0.5101, linear 0.9604, neural net 0.9306 (random-op seed 10000).
    """
    tasks = make_tasks(list(digits_cfg.final_tasks))
    assert len(tasks) == 100
    majority = sum(max(t.valid_labels.mean(), 1 - t.valid_labels.mean()) for t in tasks) / len(tasks)
    assert majority < 0.55
    nn = evaluate(algorithms.neural_net(), tasks, seed=10000, **memory(digits_cfg))
    linear = evaluate(algorithms.linear(), tasks, seed=10000, **memory(digits_cfg))
    assert nn > 0.85
    assert linear > 0.9
    # The search and select task sets are as easy for the neural net (measured 0.9188 and 0.9319).
    for name in ("search", "select"):
        fitness = evaluate(algorithms.neural_net(), make_tasks(list(getattr(digits_cfg, f"{name}_tasks"))),
                           seed=10000, **memory(digits_cfg))
        assert fitness > 0.85


def test_projected_binary_integration_on_digits(digits_dir, tmp_path):
    """docs/semantics.md §9.9's readiness check with the digits files: sizes cut to what the files hold and the train-step
    limit kept at 10 initial evaluations, so no generation runs and the padded hand-designed net is the result."""
    cfg = presets.load("projected_binary_integration").replace(dataset_dir=str(digits_dir))
    resized = {name: [dataclasses.replace(spec, dataset_name="digits", num_train_examples=DIGITS_TRAIN,
                                          num_valid_examples=DIGITS_VALID) for spec in getattr(cfg, name)]
               for name in ("search_tasks", "select_tasks", "final_tasks")}
    cfg = cfg.replace(max_train_steps=cfg.population_size * DIGITS_TRAIN, **resized)
    config_file = tmp_path / "projected_binary_digits.toml"
    config_file.write_text(cfg.to_toml())
    proc = run_cli("search", str(config_file))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Random seed = 1000060"
    assert [line.split(",")[0] for line in lines if line.startswith("indivs=")] == ["indivs=10"]
    fitness, = FINAL_LINE.findall(proc.stdout)
    assert float(fitness) > 0.9  # digits 0 vs 1 is nearly separable
    padded = algorithms.by_id(ops.NEURAL_NET_ALGORITHM, (cfg.setup_size_init, cfg.predict_size_init,
                                                         cfg.learn_size_init))
    found = proc.stdout.split("Algorithm found: \n", 1)[1]
    assert found.rstrip("\n") == padded.to_text().rstrip("\n")


def test_digits_binary_search_end_to_end(digits_cfg):
    """The preset as shipped but for a shorter train-step limit (the full run takes about 1-2 minutes)."""
    out = io.StringIO()
    result = Search(digits_cfg.replace(max_train_steps=3_000_000), out=out).run()
    text = out.getvalue()
    assert text.startswith("Random seed = 1000060\n")
    experiment, = result.experiments
    assert experiment.num_individuals > digits_cfg.population_size
    assert experiment.num_train_steps >= 3_000_000
    fitness, = FINAL_LINE.findall(text)
    assert float(fitness) == pytest.approx(result.final_fitness, abs=5e-7)
    assert result.final_fitness > 0.8  # measured 0.9443; chance is 0.51


def test_digits_binary_command(digits_dir):
    """`azero search digits_binary --dataset-dir DIR` as the preset's header says, stopped after 1 s."""
    proc = run_cli("search", "digits_binary", "--dataset-dir", str(digits_dir), "--max-seconds", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Random seed = 1000060\n")
    fitness, = FINAL_LINE.findall(proc.stdout)
    assert 0.0 <= float(fitness) <= 1.0


def test_eval_compare_prints_hand_designed_rows(digits_cfg, digits_dir, tmp_path):
    program = algorithms.neural_net(0.05)
    path = tmp_path / "nn_lr005.txt"
    path.write_text(program.to_text())
    proc = run_cli("eval", str(path), "--tasks", "digits_binary", "--dataset-dir", str(digits_dir), "--compare")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "T_final of digits_binary:"
    assert lines[1].split()[:4] == ["program", "fitness", "instructions", "effective"]
    assert "(100 tasks, seed 10000, memory 5/9/2)" in lines[1]
    tasks = make_tasks(list(digits_cfg.final_tasks))
    expected = [(path.name, program), ("linear (hand-designed)", algorithms.linear()),
                ("neural net (hand-designed)", algorithms.neural_net())]
    assert len(lines) == 2 + len(expected)
    for line, (name, alg) in zip(lines[2:], expected):
        assert line.startswith(name)
        assert line[len(name):].split()[0] == f"{evaluate(alg, tasks, seed=10000, **memory(digits_cfg)):.6f}"


@pytest.mark.parametrize("args, message", [
    (["--source", "no_such_source"], "no_such_source"),
    (["--source", "cifar10"], "cifar10"),
    (["--source", "cifar10", "--source-dir", "{tmp}/missing"], "missing"),
])
def test_datasets_build_errors_are_one_line(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = run_cli("datasets", "build", *args, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr
    assert not (tmp_path / "out").exists()
