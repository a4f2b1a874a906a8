"""Sweeps: seeds, the sweep file, rows identical under 1 process and `mpiexec -n 2`, resume after kill -9,
and the report (Wilson intervals, ratios, the Figure 4 chart)."""
import math
import os
import signal
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from azero._core.rng import hash_mix
from azero.cli import main
from azero.sweep import SweepError, load_spec, read_sweep, replicate_seed, run_sweep
from azero.sweep_report import arm_summaries, group_ratios, ratio_interval, wilson
from launch import TIMEOUT, finish, spawn_cli

WEAK = "def Setup():\n  s2 = 0.01\ndef Predict():\n  s1 = dot(v1, v0)\ndef Learn():\n"   # learns nothing


def sweep_file(folder: Path, replicates: int = 4, write_every: float = 0.0) -> Path:
    """Linear backprop, evolution against random search, small: 50 individuals per generation, 500 per search,
    success = beating a Learn that does nothing by 0.1 (reached by some searches, not all)."""
    (folder / "weak.txt").write_text(WEAK)
    task = ('{ kind = "scalar_linear_regression", features_size = 8, num_train_examples = 50, '
            'num_valid_examples = 20, num_tasks = 2 }')
    path = folder / "small.toml"
    path.write_text(f"""seed = 42
replicates = {replicates}
write_every_seconds = {write_every}
compare_with = ["linear"]

[overrides]
population_size = 50
max_individuals = 500
search_tasks = [{task}]
select_tasks = [{task}]
final_tasks = [{task}]
success = {{ reference = "{folder / 'weak.txt'}", tolerance = -0.1, stop = true }}

[[arms]]
name = "backprop/evolution"
base = "fig4_linear_backprop"
group = "backprop"

[[arms]]
name = "backprop/random_search"
base = "fig4_linear_backprop"
group = "backprop"
overrides = {{ mode = "random_search" }}
""")
    return path


def same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal rows, wall times aside."""
    if a.dtype != b.dtype or len(a) != len(b):
        return False
    for name in a.dtype.names:
        if name == "wall_seconds":
            continue
        if a[name].dtype.kind == "f":
            if not np.array_equal(a[name], b[name], equal_nan=True):
                return False
        elif list(a[name]) != list(b[name]):
            return False
    return True


def test_replicate_seeds_follow_the_documented_formula():
    assert replicate_seed(7, "a/evolution", 3) == hash_mix(hash_mix(7, zlib.crc32(b"a/evolution")), 3)
    seeds = {replicate_seed(7, arm, r) for arm in ("a", "b") for r in range(50)}
    assert len(seeds) == 100 and 0 not in seeds


def test_one_process_and_mpiexec_n_2_give_the_same_rows(tmp_path):
    sweep = sweep_file(tmp_path)
    single = run_sweep(str(sweep), tmp_path / "one", out=open(os.devnull, "w"))
    finish(spawn_cli("sweep", str(sweep), "--run-dir", "two", cwd=tmp_path, ranks=2))
    one, two = read_sweep(single), read_sweep(tmp_path / "two")
    assert len(one.rows) == 8
    assert same_rows(one.rows, two.rows)
    assert list(zip(one.rows["arm"], one.rows["replicate"])) == [(a, r) for a in range(2) for r in range(4)]
    spec = load_spec(str(sweep))
    assert [int(s) for s in one.rows["seed"]] == [spec.seed_of(a, r) for a in range(2) for r in range(4)]
    # some searches succeed (and stop there), some do not
    succeeded = one.rows["succeeded"]
    assert 0 < succeeded.sum() < 8
    assert (one.rows["individuals"][succeeded] < 500).any() or (one.rows["success_individual"][succeeded] > 0).all()
    assert (one.rows["success_individual"][~succeeded] == -1).all()
    assert all(row["program"].startswith("def Setup():\n  s2 = 0.01") for row in one.rows)

    # the same sweep again: nothing to do, rows unchanged
    out = finish(spawn_cli("sweep", str(sweep), "--run-dir", "one", cwd=tmp_path))
    assert "8 already done" in out
    assert same_rows(read_sweep(single).rows, one.rows)

    # show and plot read the sweep directory
    finish_show = finish(spawn_cli("show", "one", cwd=tmp_path))
    assert "95% Wilson" in finish_show and "backprop/random_search" in finish_show
    assert "Evolution / random search" in finish_show and "beats on T_final" in finish_show
    assert main(["plot", str(single), "-o", str(tmp_path / "fig.png")]) == 0
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kill_9_then_resume_gives_the_same_rows(tmp_path):
    sweep = sweep_file(tmp_path, replicates=8)
    reference = read_sweep(run_sweep(str(sweep), tmp_path / "whole", out=open(os.devnull, "w"))).rows
    run = spawn_cli("sweep", str(sweep), "--run-dir", "killed", cwd=tmp_path)
    deadline = time.monotonic() + TIMEOUT
    done = 0
    while done < 3:
        assert time.monotonic() < deadline and run.poll() is None, "the sweep ended before it could be killed"
        try:
            done = len(read_sweep(tmp_path / "killed").rows)
        except SweepError:
            done = 0
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)
    run.communicate()
    partial = read_sweep(tmp_path / "killed").rows
    assert 3 <= len(partial) < 16
    out = finish(spawn_cli("sweep", str(sweep), "--run-dir", "killed", cwd=tmp_path))
    assert f"({len(partial)} already done)" in out or f"({len(partial) + 1} already done)" in out
    assert same_rows(read_sweep(tmp_path / "killed").rows, reference)


def test_sweep_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('seed = 1\n[[arms]]\nname = "a"\nbase = "fig4_linear"\nreplicate = 3\n')
    with pytest.raises(SweepError, match=r"bad.toml: arms\[0\].replicate: unknown field"):
        load_spec(str(bad))
    bad.write_text('seed = 1\n[[arms]]\nname = "a"\nbase = "no_such_preset"\n')
    with pytest.raises(SweepError, match=r"arms\[0\].base: unknown preset 'no_such_preset'"):
        load_spec(str(bad))
    bad.write_text('seed = 1\n[[arms]]\nname = "a"\nbase = "fig4_linear"\noverrides = { max_individuals = -1 }\n')
    with pytest.raises(SweepError, match=r"arms\[0\].*max_individuals: must be >= 1"):
        load_spec(str(bad))
    # a directory holding another sweep is refused and left alone
    sweep = sweep_file(tmp_path, replicates=1)
    run_sweep(str(sweep), tmp_path / "d", out=open(os.devnull, "w"))
    before = (tmp_path / "d" / "sweep.h5").read_bytes()
    sweep.write_text(sweep.read_text().replace("seed = 42", "seed = 43"))
    assert main(["sweep", str(sweep), "--run-dir", str(tmp_path / "d")]) == 2
    assert (tmp_path / "d" / "sweep.h5").read_bytes() == before


def test_intervals():
    low, high = wilson(0, 3)
    assert low == 0.0 and math.isclose(high, 1.959963984540054 ** 2 / (3 + 1.959963984540054 ** 2))
    low, high = wilson(5, 10)
    assert math.isclose(low, 0.236593, abs_tol=1e-6) and math.isclose(high, 0.763407, abs_tol=1e-6)
    ratio, low, high = ratio_interval(10, 20, 5, 20)
    half = 1.959963984540054 * math.sqrt(1 / 10 - 1 / 20 + 1 / 5 - 1 / 20)
    assert ratio == 2.0 and math.isclose(low, 2 * math.exp(-half)) and math.isclose(high, 2 * math.exp(half))
    assert ratio_interval(3, 10, 0, 10)[0] == math.inf


def test_difficulty_counts_evaluations_up_to_the_first_success(tmp_path):
    data = read_sweep(run_sweep(str(sweep_file(tmp_path)), tmp_path / "s", out=open(os.devnull, "w")))
    arms = arm_summaries(data)
    rows = data.rows[data.rows["arm"] == 1]
    expected = sum(int(r["success_individual"]) if r["succeeded"] else int(r["individuals"]) for r in rows)
    assert arms[1].evaluations == expected
    (group,) = group_ratios(arms)
    assert group.evolution is arms[0] and group.random_search is arms[1]
    if arms[1].successes:
        assert group.difficulty == expected / arms[1].successes


def test_two_rank_searches_are_the_island_search_of_the_same_seed(tmp_path):
    sweep = sweep_file(tmp_path, replicates=2)
    sweep.write_text(sweep.read_text().replace("compare_with", "ranks_per_search = 2\ncompare_with")
                     .replace("max_individuals = 500", "max_individuals = 300\nislands = { migrate_every = 100 }"))
    out = finish(spawn_cli("sweep", str(sweep), "--run-dir", "pairs", cwd=tmp_path, ranks=2))
    assert "2 ranks, 2 per search" in out
    data = read_sweep(tmp_path / "pairs")
    assert data.ranks_per_search == 2 and len(data.rows) == 4
    spec = load_spec(str(sweep))
    row = data.rows[2]   # arm 1 (random search), replicate 0
    (tmp_path / "arm.toml").write_text(spec.arms[1].config.to_toml())
    lines = finish(spawn_cli("search", "arm.toml", "--seed", str(spec.seed_of(1, 0)), "--no-store", cwd=tmp_path,
                         ranks=2)).splitlines()
    assert f"Select fitness for candidate algorithm = {row['select_fitness']:.6f}" in lines
    assert f"Final evaluation fitness (on unseen data) = {row['final_fitness']:.6f}" in lines
    # one process cannot run 2-rank searches: a one-line error, nothing written
    assert main(["sweep", str(sweep), "--run-dir", str(tmp_path / "single")]) == 2
    assert not (tmp_path / "single").exists()


@pytest.mark.parametrize("name", ["fig4", "fig4_smoke", "digits_ablation"])
def test_shipped_sweeps_load(name):
    spec = load_spec(name)
    assert len({arm.name for arm in spec.arms}) == len(spec.arms)
    if name.startswith("fig4"):
        groups = {arm.group for arm in spec.arms}
        modes = sorted(arm.config.mode for arm in spec.arms)
        assert len(groups) == 4 and modes == ["evolution"] * 4 + ["random_search"] * 4
        assert all(arm.config.success is not None and arm.config.success.stop for arm in spec.arms)
    else:
        assert spec.ranks_per_search == 2 and [arm.replicates for arm in spec.arms] == [20, 20]
