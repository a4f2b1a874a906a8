"""The pieces the paper's §4.1 needs: the affine regression task, the hand-designed affine regressor, learn-only
searches, the individual budget and the success criterion."""
import io
import math

import numpy as np
import pytest

from azero import algorithms, presets
from azero._core.rng import RandomGenerator
from azero.algorithm import Algorithm, ProgramError
from azero.config import ConfigError
from azero.evaluation import evaluate
from azero.search import Search
from azero.tasks import DEFAULT_DATA_SEEDS, DEFAULT_PARAM_SEEDS, TaskSpec, make_tasks


def affine_spec(**fields) -> TaskSpec:
    return TaskSpec(**{"kind": "scalar_affine_regression", "features_size": 8, "num_train_examples": 20,
                       "num_valid_examples": 10, "num_tasks": 2, "eval_type": "rms_error", **fields})


def test_affine_labels_are_u_dot_x_plus_a_with_the_linear_tasks_streams():
    spec = affine_spec(param_seeds=[17, 400], data_seeds=[5, 6])
    linear = make_tasks(TaskSpec(**{**spec.__dict__, "kind": "scalar_linear_regression"}))
    for task, twin, param_seed in zip(make_tasks(spec), linear, (17, 400)):
        params = RandomGenerator(param_seed + 997958712).gaussian_array(9, 0.0, 1.0)
        weights, bias = params[:8], params[8]
        for x, y in ((task.train_features, task.train_labels), (task.valid_features, task.valid_labels)):
            # the packet-tree dot product of docs/semantics.md §2.4 for F = 8: lanes (0,2,4,6) and (1,3,5,7), halved pairwise
            terms = x * weights
            dot = ((terms[:, 0] + terms[:, 2]) + (terms[:, 4] + terms[:, 6])) + \
                  ((terms[:, 1] + terms[:, 3]) + (terms[:, 5] + terms[:, 7]))
            np.testing.assert_array_equal(y, dot + bias)
        # the same features and weights as the linear task of the same seeds: only the bias differs
        np.testing.assert_array_equal(task.train_features, twin.train_features)
        np.testing.assert_allclose(task.train_labels - twin.train_labels, bias, rtol=0, atol=1e-12)


def test_affine_tasks_use_the_default_seeds_and_differ_by_seed():
    tasks = make_tasks(affine_spec(num_tasks=3))
    assert [t.param_seed for t in tasks] == list(DEFAULT_PARAM_SEEDS[:3])
    assert [t.data_seed for t in tasks] == list(DEFAULT_DATA_SEEDS[:3])
    again = make_tasks(affine_spec(num_tasks=3))
    for a, b in zip(tasks, again):
        np.testing.assert_array_equal(a.train_labels, b.train_labels)
    offsets = [float(np.mean(t.valid_labels - make_tasks(TaskSpec(
        "scalar_linear_regression", 8, 20, 10, param_seeds=[t.param_seed], data_seeds=[t.data_seed]))[0]
        .valid_labels)) for t in tasks]
    assert len(set(round(o, 9) for o in offsets)) == 3


@pytest.mark.parametrize("preset", ["fig4_affine", "fig4_affine_backprop"])
def test_hand_designed_affine_regressor_fits_the_affine_tasks(preset):
    cfg = presets.load(preset)
    memory = dict(num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)
    for specs in (cfg.search_tasks, cfg.select_tasks):
        assert evaluate(algorithms.affine(), make_tasks(list(specs)), **memory) > 0.99
    # the linear regressor cannot fit the bias: the affine tasks need the affine model
    assert evaluate(algorithms.linear(), make_tasks(list(cfg.search_tasks)), **memory) < 0.9


def small(preset: str, **changes):
    cfg = presets.load(preset)
    spec = TaskSpec("scalar_linear_regression" if "linear" in preset else "scalar_affine_regression", 8, 50, 20,
                    num_tasks=2)
    return cfg.replace(population_size=50, search_tasks=[spec], select_tasks=[spec], final_tasks=[spec],
                       **changes)


@pytest.mark.parametrize("preset", ["fig4_linear_backprop", "fig4_affine_backprop"])
@pytest.mark.parametrize("mode", ["evolution", "random_search"])
def test_learn_only_search_never_changes_setup_or_predict(preset, mode):
    cfg = small(preset, mode=mode, max_individuals=400, success=None)
    model = algorithms.by_name(cfg.learn_only)
    fixed = algorithms.pad(model, cfg.setup_size_init, cfg.predict_size_init, 0)
    search = Search(cfg, 3, out=io.StringIO())
    search._start_experiment()
    learns = set()
    for _ in range(7):
        evolution = search.evolution
        for slot in range(cfg.population_size):
            setup, predict, learn = evolution.individual(slot)
            assert setup.tolist() == fixed.setup.tolist()
            assert predict.tolist() == fixed.predict.tolist()
            assert len(learn) == cfg.learn_size_init
            assert set(learn["op"]) <= set(cfg.learn_ops)
            learns.add(tuple(learn.tolist()))
        search.steps += evolution.run_generation()
    assert len(learns) > 100   # Learn is random and varies


def test_learn_only_config_errors():
    cfg = presets.load("fig4_linear_backprop")
    with pytest.raises(ConfigError, match="learn_only: .*setup_ops and predict_ops must be empty"):
        cfg.replace(setup_ops=[56])
    with pytest.raises(ConfigError, match="learn_only: needs initial_population"):
        cfg.replace(initial_population="NO_OP_ALGORITHM")
    with pytest.raises(ConfigError, match="learn_only: affine does not fit the memory"):
        cfg.replace(learn_only="affine")   # needs 5 scalars, the linear preset has 4
    with pytest.raises(ConfigError, match="max_individuals: must be >= 1"):
        cfg.replace(max_individuals=0)
    with pytest.raises(ConfigError, match="success.tolerance: expected a number"):
        cfg.replace(success={"reference": "linear", "tolerance": "x"})


def test_learn_only_from_a_program_file(tmp_path):
    program = tmp_path / "forward.txt"
    program.write_text("def Setup():\n  s2 = 0.05\ndef Predict():\n  s1 = dot(v1, v0)\ndef Learn():\n")
    cfg = small("fig4_linear_backprop", learn_only=str(program), max_individuals=100, success=None)
    search = Search(cfg, 3, out=io.StringIO())
    search._start_experiment()
    assert search.evolution.individual(0)[0][0]["activation"] == 0.05
    (tmp_path / "bad.txt").write_text("def Setup():\n  s9 = 0.05\n")
    with pytest.raises(ProgramError, match="bad.txt"):
        Search(cfg.replace(learn_only=str(tmp_path / "bad.txt")), 3, out=io.StringIO())


def test_max_individuals_ends_the_experiment():
    cfg = small("fig4_linear", max_individuals=300, success=None)
    result = Search(cfg, 4, out=io.StringIO()).run()
    assert [e.num_individuals for e in result.experiments] == [300]
    assert result.success is None


def test_success_is_the_first_individual_beating_the_reference_and_stops_the_search(tmp_path):
    # a Learn that does nothing: random programs beat it now and then
    weak = Algorithm.from_text("def Setup():\n  s2 = 0.01\ndef Predict():\n  s1 = dot(v1, v0)\ndef Learn():\n")
    cfg = small("fig4_linear_backprop", max_individuals=2000)
    memory = dict(num_scalars=4, num_vectors=3, num_matrices=1)
    never = Search(cfg.replace(success=None), 8, out=io.StringIO())
    never._start_experiment()
    reference = evaluate(weak, make_tasks(never.search_specs), **memory)   # this search's re-drawn tasks
    fitness = [never.evolution.fitness.copy()]
    while never.evolution.num_individuals < 2000:
        never.evolution.run_generation()
        fitness.append(never.evolution.fitness.copy())
    # the success individual is the first whose fitness reaches the reference less the tolerance (here a
    # margin of 0.1 above it), counted from 1
    tolerance = -0.1
    first = int(np.argmax(np.concatenate(fitness) >= reference - tolerance)) + 1
    assert np.concatenate(fitness).max() >= reference - tolerance and first > 50
    program = tmp_path / "weak_linear.txt"
    program.write_text(weak.to_text())
    for stop in (False, True):
        out = io.StringIO()
        success = {"reference": str(program), "tolerance": tolerance, "stop": stop}
        result = Search(cfg.replace(success=success), 8, out=out).run()
        assert result.success.individual == first
        assert result.success.reference_fitness == reference
        assert result.success.fitness >= reference - tolerance
        individuals = result.experiments[0].num_individuals
        assert individuals == (math.ceil(first / 50) * 50 if stop else 2000)
        assert f"Success: individual {first} has search fitness" in out.getvalue()
    # rediscovering the reference counts (>=): the hand-designed Learn reaches its own fitness
    exact = cfg.replace(success={"reference": "linear"}, mode="random_search", max_individuals=50)
    search = Search(exact, 8, out=io.StringIO())
    search._start_experiment()
    assert search.success_watch.reference_fitness == evaluate(algorithms.linear(), make_tasks(search.search_specs),
                                                              **memory)
    # a margin out of reach: no success
    result = Search(cfg.replace(success={"reference": "linear", "tolerance": -0.5}), 8, out=io.StringIO()).run()
    assert result.success is None and result.experiments[0].num_individuals == 2000
