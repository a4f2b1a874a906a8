"""Export: text form, and standalone Python modules that reproduce azero's fitness and memory bit for bit."""
import ast
import importlib.util
import itertools
import textwrap

import numpy as np
import pytest

import azero
from azero import algorithms, export, presets, program_analysis
from azero._core.evaluator import Evaluator
from azero._core.evolution import RegularizedEvolution
from azero._core.executor import run_executor
from azero._core.rng import RandomGenerator
from azero.algorithm import Algorithm
from azero.population import capacities, initial_model
from azero.search import build_evaluator, build_mutator
from azero.tasks import Task, TaskSpec, make_tasks
from programs import random_program

_counter = itertools.count()


def load_module(source: str, folder):
    """Write the source to a file and import it under a fresh name."""
    path = folder / f"exported_{next(_counter)}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module




def same_bits(a, b) -> bool:
    """Equal values and signs of zero; any NaN equals any NaN (NaN signs are not observable by programs)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    nan = np.isnan(a)
    return (a.shape == b.shape and np.array_equal(nan, np.isnan(b))
            and np.array_equal(np.where(nan, 0.0, a).view(np.uint64), np.where(nan, 0.0, b).view(np.uint64)))


def module_memory(module, S: int, V: int, M: int, F: int):
    """The module's memory as the executor's arrays (slots the program never touches are zero there)."""
    scalars = [getattr(module, f"s{i}", 0.0) for i in range(S)]
    vectors = [getattr(module, f"v{i}", [0.0] * F) for i in range(V)]
    matrices = [getattr(module, f"m{i}", [[0.0] * F] * F) for i in range(M)]
    return (np.array(scalars), np.array(vectors, dtype=np.float64).reshape(V, F),
            np.array(matrices, dtype=np.float64).reshape(M, F, F))


def module_fitness(module, task: Task, seed, **kwargs) -> float:
    return module.evaluate(task.train_features, task.train_labels, task.valid_features, task.valid_labels,
                           task.eval_type, seed, epoch_orders=task.epoch_orders, **kwargs)


def test_to_text():
    alg = algorithms.pad(algorithms.neural_net(), 5, 8, 14)
    assert export.to_text(alg) == alg.to_text()
    assert export.to_text(alg, simplified=True) == algorithms.neural_net().to_text()
    with pytest.raises(azero.ProgramError, match=r"^Predict instruction 1 \(v3 = v3 \+ v1\): address 'v3' out of range \(memory has 3 vectors\)$"):
        export.to_text(alg, simplified=True, num_scalars=4, num_vectors=3, num_matrices=1)


def test_random_stream_matches_azero():
    namespace = {}
    exec("import math\n" + export._rng_source(), namespace)
    ours, theirs = namespace["Random"](4242), RandomGenerator(4242)
    assert [ours.next32() for _ in range(700)] == [theirs.next_u32() for _ in range(700)]
    values = np.array([ours.gaussian(0.25, 1.5) for _ in range(100_000)])
    assert same_bits(values, theirs.gaussian_array(100_000, 0.25, 1.5))
    assert np.abs(values - 0.25).max() / 1.5 > 3.442619855899   # the ziggurat's tail was drawn
    for lo, hi in ((-1.0, 1.0), (0.3, 0.3), (0.5, -0.5), (-2.5, -2.0), (0.0, 5e-324)):
        assert [ours.uniform(lo, hi) for _ in range(300)] == [theirs.uniform_open(lo, hi) for _ in range(300)]
    namespace["seed"](7)
    assert namespace["_RNG"].next32() == RandomGenerator(7).next_u32()


def test_linear_module_is_readable_and_exact(tmp_path):
    alg = algorithms.pad(algorithms.linear(0.05), 3, 2, 6)
    source = export.to_python(alg, 4, name="linear regression")
    assert source.startswith('"""linear regression: an azero (AutoML-Zero) program as standalone '
                             'Python for F = 4 features.\n\nThe program (simplified: 5 of 11 instructions removed')
    assert "\n    def Setup():\n      s2 = 0.05\n    def Predict():\n      s1 = dot(v1, v0)\n" in source
    for line in ("s1 = 0.0  # prediction (read after Predict; a logit for accuracy tasks), written in Predict, "
                 "read in Learn",
                 "s2 = 0.0  # written in Setup, read in Learn",
                 "v0 = [0.0] * F  # features of the current example, read in Predict and Learn",
                 "    s1 = _dot(v1, v0)  # s1 = dot(v1, v0)",
                 "    v2 = [e * s3 for e in v0]  # v2 = s3 * v0"):
        assert line in source.splitlines()
    tree = ast.parse(source)
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
               for alias in node.names}
    assert imports == {"math", "numpy"}
    assert "class Random" not in source and "_RNG" not in source
    module = load_module(source, tmp_path)
    tasks = make_tasks(TaskSpec(kind="scalar_linear_regression", features_size=4, num_train_examples=300,
                                num_valid_examples=50, num_tasks=3))
    for task in tasks:
        assert module_fitness(module, task, None) == azero.evaluate(alg, [task])
        result = run_executor(alg.setup, alg.predict, alg.learn, task, 300, 50, RandomGenerator(1))
        assert same_bits(np.array(module.v1), result.vectors[1])   # the learned weights
    # the plain API: setup once, then predict/learn per example
    module.setup()
    x, y = tasks[0].train_features, tasks[0].train_labels
    predictions = []
    for k in range(5):
        predictions.append(module.predict(x[k]))
        module.learn(x[k], y[k])
    w = [float(v) * (0.05 * float(y[0])) for v in x[0]]
    assert predictions[0] == 0.0
    assert predictions[1] == (w[0] * x[1][0] + w[2] * x[1][2]) + (w[1] * x[1][1] + w[3] * x[1][3])
    with pytest.raises(ValueError, match="expected 4 features, got 3"):
        module.predict([1.0, 2.0, 3.0])


@pytest.mark.parametrize("F", [4, 8, 16])
def test_neural_net_module_reproduces_fitness_per_task(F, tmp_path):
    alg = algorithms.neural_net(0.005, 0.1, 0.1)
    source = export.to_python(alg, F)
    assert "class Random:" in source
    module = load_module(source, tmp_path)
    tasks = make_tasks(TaskSpec(kind="scalar_2layer_nn_regression", features_size=F, num_train_examples=200,
                                num_valid_examples=30, num_tasks=3))
    per_task = Evaluator(tasks, num_scalars=5, num_vectors=9, num_matrices=2).evaluate_per_task(
        alg.setup, alg.predict, alg.learn, RandomGenerator(1234))
    # one stream for all tasks: seed the first, continue with the next ones
    ours = [module_fitness(module, task, 1234 if k == 0 else None) for k, task in enumerate(tasks)]
    assert same_bits(ours, per_task)
    assert len(set(ours)) == 3 and min(ours) > 0.0


def test_random_programs_reproduce_memory_and_fitness(tmp_path):
    """Unsimplified random programs over all ops, every F, both eval types, several epochs: the module's final
    memory and fitness equal the compiled executor's, bit for bit."""
    rng = np.random.default_rng(11)
    nonzero = 0
    for trial in range(250):
        F = (2, 4, 8, 16, 32)[trial % 5]
        S, V, M = int(rng.integers(2, 6)), int(rng.integers(1, 6)), int(rng.integers(0, 4))
        alg = random_program(rng, S, V, M, max_sizes=(5, 6, 6), focus=0.0)
        module = load_module(export.to_python(alg, F, simplified=False, num_scalars=S, num_vectors=V,
                                              num_matrices=M), tmp_path)
        x = rng.normal(size=(9, F)) * (10.0 if trial % 3 == 0 else 1.0)
        y = (rng.random(9) < 0.5).astype(np.float64)
        task = Task(x[:6], y[:6], x[6:], y[6:], eval_type=("accuracy", "rms_error")[trial % 2],
                    num_train_epochs=1 + trial % 3, data_seed=trial)
        seed = int(rng.integers(1, 2**31))
        max_abs_error = 1e300 if trial % 4 else 100.0
        result = run_executor(alg.setup, alg.predict, alg.learn, task, 100, 100, RandomGenerator(seed),
                              max_abs_error=max_abs_error, num_scalars=S, num_vectors=V, num_matrices=M)
        fitness = module_fitness(module, task, seed, max_abs_error=max_abs_error)
        assert same_bits(fitness, result.fitness), alg.to_text()
        for ours, theirs in zip(module_memory(module, S, V, M, F), (result.scalars, result.vectors, result.matrices)):
            assert same_bits(ours, theirs), alg.to_text()
        nonzero += fitness != 0.0
    assert nonzero > 150


def test_simplified_random_programs_keep_the_fitness(tmp_path):
    rng = np.random.default_rng(12)
    for trial in range(150):
        F = (2, 4, 8, 16, 32)[trial % 5]
        S, V, M = int(rng.integers(2, 8)), int(rng.integers(1, 8)), int(rng.integers(0, 5))
        memory = dict(num_scalars=S, num_vectors=V, num_matrices=M)
        alg = random_program(rng, S, V, M, max_sizes=(8, 10, 12))
        module = load_module(export.to_python(alg, F, **memory), tmp_path)
        x = rng.normal(size=(40, F))
        task = Task(x[:30], x[:30, 0] * 0.5, x[30:], x[30:, 0] * 0.5, eval_type="rms_error")
        seed = int(rng.integers(1, 2**31))
        assert module_fitness(module, task, seed) == azero.evaluate(alg, [task], seed=seed, **memory)


def evolved_programs(preset: str, seed: int, generations: int, **overrides) -> tuple[list[Algorithm], object]:
    """Every program of a small regularized evolution after a few generations."""
    cfg = presets.load(preset).replace(population_size=40, tournament_size=5, **overrides)
    initial, randomize = initial_model(cfg)
    evaluator = build_evaluator(cfg, make_tasks(list(cfg.search_tasks)))
    evolution = RegularizedEvolution(evaluator, build_mutator(cfg), RandomGenerator(seed), cfg.population_size,
                                     cfg.tournament_size, initial.functions, capacities(cfg, initial),
                                     randomize_initial=randomize)
    evolution.init_population()
    for _ in range(generations):
        evolution.run_generation()
    return [Algorithm.from_arrays(*evolution.individual(slot)) for slot in range(cfg.population_size)], cfg


def test_evolved_programs_reproduce_fitness(tmp_path):
    rng = np.random.default_rng(13)
    tiny = [TaskSpec(kind="scalar_2layer_nn_regression", features_size=4, num_train_examples=50,
                     num_valid_examples=10, num_tasks=2)]
    demo, demo_cfg = evolved_programs("demo", 5, 30)
    baseline, baseline_cfg = evolved_programs("baseline", 6, 10, search_tasks=tiny, select_tasks=tiny,
                                              final_tasks=tiny, dataset_dir=None)
    x = rng.normal(size=(60, 4))
    tasks = [*make_tasks(TaskSpec(kind="scalar_linear_regression", features_size=4, num_train_examples=80,
                                  num_valid_examples=20)),
             Task(x[:40], (x[:40, 1] > 0).astype(float), x[40:], (x[40:, 1] > 0).astype(float), eval_type="accuracy")]
    checked = random_ops = 0
    for programs, cfg in ((demo, demo_cfg), (baseline, baseline_cfg)):
        memory = dict(num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)
        for alg in {a.to_text(): a for a in programs}.values():
            source = export.to_python(alg, 4, **memory)
            module = load_module(source, tmp_path)
            for task in tasks:
                seed = int(rng.integers(1, 2**31))
                assert module_fitness(module, task, seed) == azero.evaluate(alg, [task], seed=seed, **memory)
            checked += 1
            random_ops += "class Random:" in source
    assert checked > 40 and random_ops > 5


def test_out_of_range_entry_set_is_a_commented_no_op(tmp_path):
    alg = Algorithm.from_text(textwrap.dedent("""
        def Setup():
          v1[1.25] = 3.0
          v1[0.5] = 2.0
          m0[0.3, -0.1] = 1.0
          m0[0.6, -0.6] = 4.0
        def Predict():
          v2 = dot(m0, v0)
          s1 = dot(v1, v2)
        def Learn():
          m0 = outer(v0, v1)
        """))
    source = export.to_python(alg, 2)
    assert "    pass  # v1[1.25] = 3.0: index outside 0..F-1, writes nothing" in source
    assert "    v1[1] = 2.0  # v1[0.5] = 2.0" in source
    assert "    m0[0][0] = 1.0  # m0[0.3, -0.1] = 1.0" in source   # trunc(-0.2) = 0
    assert "    pass  # m0[0.6, -0.6] = 4.0: index outside 0..F-1, writes nothing" in source
    module = load_module(source, tmp_path)
    task = make_tasks(TaskSpec(kind="scalar_linear_regression", features_size=2, num_train_examples=20,
                               num_valid_examples=10))[0]
    assert module_fitness(module, task, 1) == azero.evaluate(alg, [task])


def test_to_python_checks_its_arguments():
    with pytest.raises(ValueError, match=r"features_size must be one of \(2, 4, 8, 16, 32\), got 5"):
        export.to_python(algorithms.linear(), 5)
    with pytest.raises(azero.ProgramError, match="out of range"):
        export.to_python(algorithms.neural_net(), 4, num_scalars=4, num_vectors=3, num_matrices=1)
    source = export.to_python(algorithms.pad(algorithms.linear(), 2, 2, 5), 4, simplified=False)
    assert "The program (NO_OPs removed):" in source
    assert "evaluate(train_x, train_y, valid_x, valid_y" in source
    analysis_text = program_analysis.simplify(algorithms.linear()).to_text()
    assert all(line in source for line in analysis_text.splitlines())
