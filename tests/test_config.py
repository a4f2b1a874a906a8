"""SearchConfig <-> TOML, the shipped presets (docs/semantics.md §9.9 and §12.6) and one-line ConfigErrors naming the field."""
from __future__ import annotations

import dataclasses
import tomllib

import pytest

from azero import presets
from azero._core import ops
from azero.config import ConfigError, FECSpec, IslandsSpec, SearchConfig, TrainBudgetSpec
from azero.config.toml_io import write_toml
from azero.tasks import TASK_KINDS

PRESETS = ["baseline", "basic_nonlinear", "demo", "digits_binary", "fig4_affine", "fig4_affine_backprop", "fig4_linear",
           "fig4_linear_backprop", "fig5_hurdles", "linear_integration", "nonlinear_integration",
           "projected_binary_integration"]
DEMO_OPS = [56, 27, 2, 3, 18, 23]  # docs/semantics.md §9.9, in the script's order
HELD_OUT = [(0, 5), (0, 9), (1, 8), (2, 9), (3, 5), (3, 6), (3, 8), (4, 6), (8, 9)]  # docs/semantics.md §7.5 / 7.2


def task_view(spec) -> dict:
    """The TaskSpec fields a preset sets, in plain types."""
    return {
        "kind": spec.kind, "features_size": spec.features_size, "num_train_examples": spec.num_train_examples,
        "num_valid_examples": spec.num_valid_examples, "num_tasks": spec.num_tasks, "eval_type": spec.eval_type,
        "param_seeds": list(spec.param_seeds), "data_seeds": list(spec.data_seeds),
        "num_train_epochs": spec.num_train_epochs,
    }


def linear(train: int, valid: int, tasks: int, param_seeds=(), data_seeds=()) -> dict:
    return {"kind": "scalar_linear_regression", "features_size": 4, "num_train_examples": train,
            "num_valid_examples": valid, "num_tasks": tasks, "eval_type": "rms_error",
            "param_seeds": list(param_seeds), "data_seeds": list(data_seeds), "num_train_epochs": 1}


def check_all_fields(cfg: SearchConfig, expected: dict) -> None:
    """Every field of `cfg` is listed in `expected` and has that value (task lists via task_view)."""
    assert sorted(expected) == sorted(f.name for f in dataclasses.fields(SearchConfig))
    for name, value in expected.items():
        actual = getattr(cfg, name)
        if name.endswith("_tasks"):
            actual = [task_view(spec) for spec in actual]
        assert actual == value, name


# ------------------------------------------------------------------------------------------ presets


def test_preset_names():
    assert presets.names() == PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_preset_round_trips_through_toml(name):
    cfg = presets.load(name)
    text = cfg.to_toml()
    again = SearchConfig.from_toml(text)
    assert again == cfg
    assert again.to_toml() == text
    assert presets.path(name).read_text(encoding="utf-8").startswith(f"# {name}: ")


@pytest.mark.parametrize("name", PRESETS)
def test_preset_round_trips_through_a_file(name, tmp_path):
    cfg = presets.load(name)
    file = tmp_path / f"{name}.toml"
    file.write_text(cfg.to_toml(), encoding="utf-8")
    assert SearchConfig.from_toml(file) == cfg
    assert SearchConfig.from_toml(str(file)) == cfg


def test_written_toml_reads_back_special_values():
    """Escaped strings, an infinite float and the shortest repr of doubles round-trip through written TOML."""
    cfg = presets.load("demo").replace(dataset_dir='dir "q"\\back\ttab\nline \u00e9', sufficient_fitness=float("inf"),
                                       max_seconds=0.1 + 0.2, mutate_prob=1e-300)
    text = cfg.to_toml()
    again = SearchConfig.from_toml(text)
    assert again == cfg and again.to_toml() == text
    assert (again.dataset_dir, again.sufficient_fitness, again.max_seconds) == (
        'dir "q"\\back\ttab\nline \u00e9', float("inf"), 0.30000000000000004)


# The fields the reference's scripts leave at azero's defaults, alike in every preset below.
SCRIPT_DEFAULTS = {
    "max_abs_error": 100.0, "fitness_combination_mode": "mean", "population_size": 1000, "tournament_size": 10,
    "progress_every": 10000, "max_seconds": None, "hurdles": None, "mode": "evolution", "islands": IslandsSpec(),
    "checkpoint_every_seconds": 600.0, "dataset_dir": None, "max_individuals": None, "success": None,
    "learn_only": None,
}
# What the two linear scripts (run_demo.sh and the linear integration test) share.
LINEAR_SCRIPTS = {
    **SCRIPT_DEFAULTS,
    "search_tasks": [linear(100, 100, 10)],
    "mutate_setup_size_min": 0, "mutate_setup_size_max": 0, "mutate_predict_size_min": 0,
    "mutate_predict_size_max": 0, "mutate_learn_size_min": 0, "mutate_learn_size_max": 0,
    "train_budget": None,
    "fec": FECSpec(num_train_examples=10, num_valid_examples=10, cache_size=100000, forget_every=100),
    "initial_population": ops.RANDOM_ALGORITHM,
    "allowed_mutation_types": [ops.ALTER_PARAM, ops.RANDOMIZE_INSTRUCTION, ops.RANDOMIZE_COMPONENT_FUNCTION],
    "mutate_prob": 0.9, "num_scalars": 4, "num_vectors": 3, "num_matrices": 1,
}


def test_demo_preset_is_run_demo_sh():
    check_all_fields(presets.load("demo"), {
        **LINEAR_SCRIPTS,
        "setup_ops": DEMO_OPS, "predict_ops": DEMO_OPS, "learn_ops": DEMO_OPS,
        "setup_size_init": 10, "predict_size_init": 2, "learn_size_init": 8, "max_train_steps": 200000000,
        "select_tasks": [linear(1000, 100, 100)],
        "final_tasks": [linear(1000, 100, 100, param_seeds=[2000000], data_seeds=[1000000])],
        "max_experiments": 0, "randomize_task_seeds": True, "sufficient_fitness": 0.9999, "random_seed": 0,
    })


def test_linear_integration_preset_is_the_reference_script():
    check_all_fields(presets.load("linear_integration"), {
        **LINEAR_SCRIPTS,
        "setup_ops": [56], "predict_ops": [27], "learn_ops": [2, 3, 18, 23],
        "setup_size_init": 5, "predict_size_init": 1, "learn_size_init": 4, "max_train_steps": 100000000,
        "select_tasks": [linear(10000, 100, 100)], "final_tasks": [linear(10000, 100, 100)],
        "max_experiments": 1, "randomize_task_seeds": False, "sufficient_fitness": None, "random_seed": 100021,
    })


def test_nonlinear_integration_preset_is_the_reference_script():
    nonlinear = {"kind": "scalar_2layer_nn_regression", "features_size": 4, "num_train_examples": 1000,
                 "num_valid_examples": 100, "num_tasks": 1, "eval_type": "rms_error", "param_seeds": [],
                 "data_seeds": [], "num_train_epochs": 1}
    held = dict(nonlinear, param_seeds=[9000], data_seeds=[19000])
    check_all_fields(presets.load("nonlinear_integration"), {
        **SCRIPT_DEFAULTS,
        "search_tasks": [nonlinear],
        "setup_ops": [63, 64], "predict_ops": [], "learn_ops": [],
        "setup_size_init": 2, "predict_size_init": 1, "learn_size_init": 4,
        "mutate_setup_size_min": 6, "mutate_setup_size_max": 7, "mutate_predict_size_min": 3,
        "mutate_predict_size_max": 4, "mutate_learn_size_min": 9, "mutate_learn_size_max": 10,
        "train_budget": TrainBudgetSpec(baseline=ops.NEURAL_NET_ALGORITHM, threshold_factor=2.0), "fec": None,
        "initial_population": ops.INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM, "max_train_steps": 100000000,
        "allowed_mutation_types": [ops.ALTER_PARAM, ops.INSERT_INSTRUCTION, ops.REMOVE_INSTRUCTION,
                                   ops.TRADE_INSTRUCTION],
        "mutate_prob": 1.0,
        "select_tasks": [held], "final_tasks": [held],
        "max_experiments": 1, "randomize_task_seeds": False, "sufficient_fitness": None, "random_seed": 100001,
        "num_scalars": 5, "num_vectors": 9, "num_matrices": 2,
    })


def test_baseline_preset_is_run_baseline_sh():
    cfg = presets.load("baseline")
    assert (cfg.num_scalars, cfg.num_vectors, cfg.num_matrices) == (5, 9, 2)
    assert cfg.setup_ops == [56, 62, 59, 63, 60, 64, 61]
    assert cfg.predict_ops == [1, 31, 48, 27, 23]
    assert cfg.learn_ops == [1, 2, 3, 18, 23, 16, 25, 28, 39]
    assert (cfg.setup_size_init, cfg.mutate_setup_size_min, cfg.mutate_setup_size_max) == (1, 1, 7)
    assert (cfg.predict_size_init, cfg.mutate_predict_size_min, cfg.mutate_predict_size_max) == (1, 1, 11)
    assert (cfg.learn_size_init, cfg.mutate_learn_size_min, cfg.mutate_learn_size_max) == (1, 1, 23)
    assert cfg.train_budget == TrainBudgetSpec(baseline=ops.NEURAL_NET_ALGORITHM, threshold_factor=2.0)
    assert (cfg.population_size, cfg.tournament_size, cfg.initial_population) == (100, 10, ops.NO_OP_ALGORITHM)
    assert (cfg.max_train_steps, cfg.mutate_prob, cfg.progress_every) == (100000000000, 0.9, 10000)
    assert cfg.allowed_mutation_types == [ops.ALTER_PARAM, ops.RANDOMIZE_COMPONENT_FUNCTION,
                                          ops.INSERT_INSTRUCTION, ops.REMOVE_INSTRUCTION]
    assert (cfg.fec, cfg.fitness_combination_mode, cfg.random_seed, cfg.max_experiments) == (None, "mean",
                                                                                             1000060, 1)
    all_pairs = {(i, j) for i in range(10) for j in range(i + 1, 10)}
    for specs, tasks, held_out in ((cfg.search_tasks, 10, set(HELD_OUT)), (cfg.select_tasks, 10, set(HELD_OUT)),
                                   (cfg.final_tasks, 100, all_pairs - set(HELD_OUT))):
        (spec,) = specs
        assert (spec.kind, spec.dataset_name, spec.path) == ("projected_binary_classification", "cifar10",
                                                             "binary_cifar10_data")
        assert (spec.features_size, spec.num_train_examples, spec.num_valid_examples) == (16, 8000, 1000)
        assert (spec.num_train_epochs, spec.num_tasks, spec.eval_type) == (1, tasks, "accuracy")
        assert (spec.max_supported_data_seed, list(spec.data_seeds)) == (100, [])
        assert {tuple(p) for p in spec.held_out_pairs} == held_out
        assert len(spec.held_out_pairs) == len(held_out)
    assert cfg.search_tasks == cfg.select_tasks


def test_projected_binary_integration_preset_is_the_reference_script():
    cfg = presets.load("projected_binary_integration")
    assert (cfg.num_scalars, cfg.num_vectors, cfg.num_matrices) == (20, 20, 20)
    assert (cfg.setup_ops, cfg.predict_ops, cfg.learn_ops) == ([63, 64], [], [])
    assert (cfg.setup_size_init, cfg.predict_size_init, cfg.learn_size_init) == (2, 1, 4)
    assert cfg.train_budget == TrainBudgetSpec(baseline=ops.NEURAL_NET_ALGORITHM, threshold_factor=2.0)
    assert (cfg.population_size, cfg.tournament_size, cfg.initial_population) == (10, 10, ops.NEURAL_NET_ALGORITHM)
    assert (cfg.max_train_steps, cfg.mutate_prob, cfg.progress_every) == (80000, 1.0, 100)
    assert cfg.allowed_mutation_types == [ops.ALTER_PARAM, ops.IDENTITY]
    assert (cfg.random_seed, cfg.dataset_dir) == (1000060, "unit_test_data")
    for specs, data_seeds, max_seed in ((cfg.search_tasks, [], 2), (cfg.select_tasks, [2], 10),
                                        (cfg.final_tasks, [3], 10)):
        (spec,) = specs
        assert (spec.kind, spec.dataset_name, spec.path) == ("projected_binary_classification", "cifar10",
                                                             "unit_test_data")
        assert (spec.positive_class, spec.negative_class, spec.max_supported_data_seed) == (0, 1, max_seed)
        assert (spec.features_size, spec.num_train_examples, spec.num_valid_examples) == (16, 8000, 1000)
        assert (spec.num_tasks, spec.eval_type, list(spec.data_seeds)) == (1, "accuracy", data_seeds)


def test_unknown_preset_lists_the_names():
    with pytest.raises(ConfigError) as info:
        presets.load("dem")
    assert str(info.value) == f"preset: unknown preset 'dem'; available: {', '.join(PRESETS)}"


# ------------------------------------------------------------------------------------------ accepted forms


def demo_data() -> dict:
    return presets.load("demo").to_dict()


def test_op_names_and_codes_are_accepted():
    data = demo_data()
    data["setup_ops"] = ["SCALAR_SUM_OP", "SCALAR_SUM", 1, "scalar_sum", "NO_OP", 64]
    cfg = SearchConfig.from_dict(data)
    assert cfg.setup_ops == [1, 1, 1, 1, 0, 64]
    assert tomllib.loads(cfg.to_toml())["setup_ops"] == ["SCALAR_SUM_OP"] * 4 + ["NO_OP", "MATRIX_GAUSSIAN_SET_OP"]


def test_enum_names_and_codes_are_accepted():
    data = demo_data()
    data["allowed_mutation_types"] = ["ALTER_PARAM", "ALTER_PARAM_MUTATION_TYPE", "identity", 7]
    data["initial_population"] = "LINEAR"
    data["fitness_combination_mode"] = "MEDIAN_FITNESS_COMBINATION"
    data["train_budget"] = {"train_budget_baseline": 2, "train_budget_threshold_factor": 3}
    cfg = SearchConfig.from_dict(data)
    assert cfg.allowed_mutation_types == [0, 0, 3, 7]
    assert (cfg.initial_population, cfg.fitness_combination_mode) == (ops.LINEAR_ALGORITHM, "median")
    assert cfg.train_budget == TrainBudgetSpec(baseline=2, threshold_factor=3.0)
    assert SearchConfig.from_toml(cfg.to_toml()) == cfg


def test_task_forms_of_the_reference_are_accepted():
    data = presets.load("baseline").to_dict()
    data["search_tasks"][0].update(kind="projected_binary_classification_task", eval_type="ACCURACY",
                                   data_seeds=7,
                                   held_out_pairs=[{"positive_class": 0, "negative_class": 5}, [1, 8]])
    spec = SearchConfig.from_dict(data).search_tasks[0]
    assert (spec.kind, spec.eval_type, list(spec.data_seeds)) == ("projected_binary_classification", "accuracy",
                                                                  [7])
    assert [tuple(p) for p in spec.held_out_pairs] == [(0, 5), (1, 8)]


def test_eval_type_defaults_by_kind_and_fixed_tasks_round_trip():
    data = presets.load("projected_binary_integration").to_dict()
    del data["search_tasks"][0]["eval_type"]
    fixed = {"kind": "unit_test_fixed", "features_size": 2, "num_train_examples": 10, "num_valid_examples": 2,
             "train_features": [[0.5 * i, -1.25] for i in range(10)], "train_labels": [float(i) for i in range(10)],
             "valid_features": [[1.0, 2.0], [3.0, 1e-300]], "valid_labels": [0.0, -0.0]}
    data["select_tasks"].append(fixed)
    cfg = SearchConfig.from_dict(data)
    assert cfg.search_tasks[0].eval_type == "accuracy"
    assert cfg.select_tasks[1].eval_type == "rms_error"
    assert cfg.select_tasks[1].train_features == fixed["train_features"]
    again = SearchConfig.from_toml(cfg.to_toml())
    assert again == cfg
    assert again.select_tasks[1].valid_labels == [0.0, -0.0]


def test_task_spec_errors_name_the_task():
    data = demo_data()
    data["final_tasks"].append({"kind": "unit_test_fixed", "features_size": 2, "num_train_examples": 10,
                                "num_valid_examples": 2})
    with pytest.raises(ConfigError) as info:
        SearchConfig.from_dict(data, source="x.toml")
    assert str(info.value) == ("x.toml: final_tasks[1]: unit_test_fixed needs train_features, train_labels, "
                               "valid_features and valid_labels")


def test_defaults_of_the_reference():
    data = {key: value for key, value in demo_data().items()
            if key in ("search_tasks", "select_tasks", "final_tasks", "setup_ops", "setup_size_init",
                       "predict_size_init", "learn_size_init", "population_size", "tournament_size",
                       "allowed_mutation_types")}
    cfg = SearchConfig.from_dict(data)
    assert (cfg.predict_ops, cfg.learn_ops, cfg.max_abs_error) == ([], [], 100.0)
    assert (cfg.mutate_setup_size_min, cfg.mutate_learn_size_max, cfg.fitness_combination_mode) == (0, 0, "mean")
    assert (cfg.initial_population, cfg.max_train_steps, cfg.mutate_prob) == (ops.NO_OP_ALGORITHM, 80000000000, 0.9)
    assert (cfg.progress_every, cfg.max_experiments, cfg.randomize_task_seeds) == (10000, 1, False)
    assert (cfg.sufficient_fitness, cfg.random_seed, cfg.fec, cfg.train_budget) == (None, 0, None, None)
    assert (cfg.num_scalars, cfg.num_vectors, cfg.num_matrices) == (20, 20, 20)
    assert cfg.islands == IslandsSpec(migrate_every=10000, num_migrants=10, protocol="ring")


def test_replace_validates_and_moves_dataset_dir():
    cfg = presets.load("projected_binary_integration")
    moved = cfg.replace(dataset_dir="/data/projected")
    assert [s.path for s in moved.search_tasks + moved.select_tasks + moved.final_tasks] == ["/data/projected"] * 3
    assert "path" not in moved.to_dict()["search_tasks"][0]
    assert SearchConfig.from_toml(moved.to_toml()) == moved
    own = cfg.replace(search_tasks=[dataclasses.replace(cfg.search_tasks[0], path="/elsewhere")])
    assert own.replace(dataset_dir="/new").search_tasks[0].path == "/elsewhere"
    assert own.to_dict()["search_tasks"][0]["path"] == "/elsewhere"
    assert cfg.replace(population_size=20).population_size == 20
    with pytest.raises(ConfigError, match=r"^population_size: must be >= 1, got 0$"):
        cfg.replace(population_size=0)
    with pytest.raises(ConfigError, match=r"^populaton_size: unknown field \(did you mean 'population_size'\?\)$"):
        cfg.replace(populaton_size=20)
    with pytest.raises(dataclasses.FrozenInstanceError, match="^cannot assign to field 'population_size'$"):
        cfg.population_size = 3


def test_writer_round_trips_awkward_values():
    cfg = presets.load("projected_binary_integration").replace(
        dataset_dir='dir with "quotes" \\ tab\t é', max_abs_error=float("inf"), mutate_prob=0.1 + 0.2,
        sufficient_fitness=1e-300, max_seconds=12.5, checkpoint_every_seconds=0)
    assert SearchConfig.from_toml(cfg.to_toml()) == cfg
    assert cfg.checkpoint_every_seconds == 0.0 and isinstance(cfg.checkpoint_every_seconds, float)


# ------------------------------------------------------------------------------------------ errors


def without(data: dict, *path):
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]


def set_value(data: dict, *path_and_value):
    *path, value = path_and_value
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def bad(name: str, edit, field: str, message: str, base: str = "demo"):
    return pytest.param(base, edit, field, message, id=name)


BAD = [
    bad("unknown-field", lambda d: set_value(d, "population_sise", 3), "population_sise",
        "unknown field (did you mean 'population_size'?)"),
    bad("unknown-task-field", lambda d: set_value(d, "search_tasks", 0, "feature_size", 4),
        "search_tasks[0].feature_size", "unknown field (did you mean 'features_size'?)"),
    bad("unknown-fec-field", lambda d: set_value(d, "fec", "cache", 5), "fec.cache",
        "unknown field (did you mean 'cache_size'?)"),
    bad("int-as-string", lambda d: set_value(d, "population_size", "1000"), "population_size",
        "expected an integer, got string '1000'"),
    bad("int-as-float", lambda d: set_value(d, "max_train_steps", 2e8), "max_train_steps",
        "expected an integer, got float 200000000.0"),
    bad("bool-as-int", lambda d: set_value(d, "randomize_task_seeds", 1), "randomize_task_seeds",
        "expected true or false, got integer 1"),
    bad("ops-not-array", lambda d: set_value(d, "learn_ops", "VECTOR_SUM_OP"), "learn_ops",
        "expected an array, got string 'VECTOR_SUM_OP'"),
    bad("task-type", lambda d: set_value(d, "search_tasks", 0, "num_tasks", "10"), "search_tasks[0].num_tasks",
        "expected an integer, got string '10'"),
    bad("unknown-op", lambda d: set_value(d, "setup_ops", 2, "SCALAR_DIF_OP"), "setup_ops[2]",
        "unknown op 'SCALAR_DIF_OP' (did you mean 'SCALAR_DIFF_OP'?)"),
    bad("unknown-op-code", lambda d: set_value(d, "predict_ops", 0, 65), "predict_ops[0]", "unknown op 65"),
    bad("unknown-mutation", lambda d: set_value(d, "allowed_mutation_types", 1, "RANDOMISE_INSTRUCTION"),
        "allowed_mutation_types[1]",
        "unknown mutation type 'RANDOMISE_INSTRUCTION' (did you mean 'RANDOMIZE_INSTRUCTION'?)"),
    bad("unknown-mutation-code", lambda d: set_value(d, "allowed_mutation_types", 0, 8),
        "allowed_mutation_types[0]", "unknown mutation type 8"),
    bad("unknown-algorithm", lambda d: set_value(d, "initial_population", "RANDOM_ALGORITM"), "initial_population",
        "unknown algorithm id 'RANDOM_ALGORITM' (did you mean 'RANDOM_ALGORITHM'?); expected one of "
        + ", ".join(ops.ALGORITHM_ID_NAMES)),
    bad("unknown-budget-baseline", lambda d: set_value(d, "train_budget", {"baseline": 9}),
        "train_budget.baseline", "unknown algorithm id 9; expected one of " + ", ".join(ops.ALGORITHM_ID_NAMES)),
    bad("budget-factor", lambda d: set_value(d, "train_budget", {"threshold_factor": 0}),
        "train_budget.threshold_factor", "must be > 0.0, got 0.0"),
    bad("features-size", lambda d: set_value(d, "final_tasks", 0, "features_size", 3),
        "final_tasks[0].features_size", "must be one of 2, 4, 8, 16, 32, got 3"),
    bad("unknown-kind", lambda d: set_value(d, "search_tasks", 0, "kind", "scalar_linear_regresion"),
        "search_tasks[0].kind", "unknown value 'scalar_linear_regresion' (did you mean "
        "'scalar_linear_regression'?); expected one of " + ", ".join(TASK_KINDS)),
    bad("eval-type-for-kind", lambda d: set_value(d, "select_tasks", 0, "eval_type", "accuracy"),
        "select_tasks[0].eval_type", "scalar_linear_regression tasks support only 'rms_error', got 'accuracy'"),
    bad("too-few-train-examples", lambda d: set_value(d, "search_tasks", 0, "num_train_examples", 9),
        "search_tasks[0].num_train_examples", "the evaluator needs at least 10 train examples over all epochs"),
    bad("no-valid-examples", lambda d: set_value(d, "search_tasks", 0, "num_valid_examples", 0),
        "search_tasks[0].num_valid_examples", "must be >= 1, got 0"),
    bad("nonlinear-f2", lambda d: set_value(d, "search_tasks", 0, "features_size", 2),
        "search_tasks[0].features_size",
        "scalar_2layer_nn_regression needs features_size >= 4 (its teacher zeroes hidden units 0 and 2)",
        base="nonlinear_integration"),
    bad("no-tasks", lambda d: set_value(d, "final_tasks", []), "final_tasks", "needs at least one task spec"),
    bad("population-0", lambda d: set_value(d, "population_size", 0), "population_size", "must be >= 1, got 0"),
    bad("tournament-0", lambda d: set_value(d, "tournament_size", 0), "tournament_size", "must be >= 1, got 0"),
    bad("mutate-prob", lambda d: set_value(d, "mutate_prob", 1.5), "mutate_prob", "must be <= 1.0, got 1.5"),
    bad("mutate-prob-negative", lambda d: set_value(d, "mutate_prob", -0.1), "mutate_prob",
        "must be >= 0.0, got -0.1"),
    bad("size-init-negative", lambda d: set_value(d, "learn_size_init", -1), "learn_size_init",
        "must be >= 0, got -1"),
    bad("insert-max-not-above-init", lambda d: set_value(d, "mutate_setup_size_max", 2), "mutate_setup_size_max",
        "must be > setup_size_init (2) when INSERT_INSTRUCTION is allowed, got 2", base="nonlinear_integration"),
    bad("insert-remove-empty-range", lambda d: set_value(d, "mutate_setup_size_min", 7), "mutate_setup_size_max",
        "must be > mutate_setup_size_min (7) (max is exclusive), got 7", base="nonlinear_integration"),
    bad("max-abs-error", lambda d: set_value(d, "max_abs_error", 0), "max_abs_error", "must be > 0.0, got 0.0"),
    bad("combination-mode", lambda d: set_value(d, "fitness_combination_mode", "average"),
        "fitness_combination_mode", "unknown value 'average'; expected one of mean, median"),
    bad("mode", lambda d: set_value(d, "mode", "random"), "mode",
        "unknown value 'random' (did you mean 'random_search'?); expected one of evolution, random_search"),
    bad("random-seed", lambda d: set_value(d, "random_seed", 2**32), "random_seed",
        "must be <= 4294967295, got 4294967296"),
    bad("fec-too-many", lambda d: set_value(d, "fec", "num_train_examples", 101), "fec.num_train_examples",
        "must be <= 100, got 101"),
    bad("fec-missing", lambda d: without(d, "fec", "num_valid_examples"), "fec.num_valid_examples",
        "missing required field"),
    bad("fec-not-table", lambda d: set_value(d, "fec", 10), "fec", "expected a table, got integer 10"),
    bad("no-mutations", lambda d: set_value(d, "allowed_mutation_types", []), "allowed_mutation_types",
        "needs at least one mutation type"),
    bad("nothing-to-mutate", lambda d: [set_value(d, f"{fn}_ops", []) for fn in ("setup", "predict", "learn")],
        "allowed_mutation_types", "ALTER_PARAM needs a component function to mutate, but setup_ops, predict_ops "
        "and learn_ops are all empty"),
    bad("random-search-nothing-to-draw",
        lambda d: [set_value(d, f"{fn}_ops", []) for fn in ("setup", "predict", "learn")]
        + [set_value(d, "allowed_mutation_types", ["IDENTITY"]), set_value(d, "mode", "random_search")],
        "mode", "random_search needs at least one non-empty op list"),
    bad("features-need-v0", lambda d: set_value(d, "num_vectors", 0), "num_vectors",
        "must be >= 1 (v0 holds the features), got 0"),
    bad("vector-output-needs-v2", lambda d: set_value(d, "num_vectors", 1), "num_vectors",
        "SCALAR_VECTOR_PRODUCT_OP in setup_ops writes a vector, which needs num_vectors >= 2, got 1"),
    bad("scalar-output-needs-s2", lambda d: set_value(d, "num_scalars", 1), "num_scalars",
        "must be >= 2 (s0 holds the label, s1 the prediction), got 1"),
    bad("matrix-input", lambda d: [set_value(d, "num_matrices", 0), set_value(d, "learn_ops", ["MATRIX_NORM_OP"])],
        "num_matrices", "MATRIX_NORM_OP in learn_ops reads a matrix, which needs num_matrices >= 1, got 0"),
    bad("neural-net-memory", lambda d: set_value(d, "num_vectors", 8), "num_vectors",
        "INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM (initial_population) needs num_vectors >= 9, got 8",
        base="nonlinear_integration"),
    bad("budget-baseline-memory",
        lambda d: [set_value(d, "num_matrices", 1), set_value(d, "initial_population", "RANDOM_ALGORITHM")],
        "num_matrices", "NEURAL_NET_ALGORITHM (train_budget.baseline) needs num_matrices >= 2, got 1",
        base="nonlinear_integration"),
    bad("linear-memory", lambda d: [set_value(d, "num_scalars", 3), set_value(d, "initial_population", "LINEAR")],
        "num_scalars", "LINEAR_ALGORITHM (initial_population) needs num_scalars >= 4, got 3"),
    bad("missing-required", lambda d: without(d, "population_size"), "population_size", "missing required field"),
    bad("missing-select-tasks", lambda d: without(d, "select_tasks"), "select_tasks", "missing required field"),
    bad("missing-task-kind", lambda d: without(d, "search_tasks", 0, "kind"), "search_tasks[0].kind",
        "missing required field"),
    bad("projected-no-path", lambda d: without(d, "dataset_dir"), "search_tasks[0].path",
        "projected_binary_classification needs a path: set dataset_dir in the config or pass --dataset-dir DIR", base="projected_binary_integration"),
    bad("projected-one-class", lambda d: without(d, "final_tasks", 0, "negative_class"),
        "final_tasks[0].negative_class", "give both positive_class and negative_class, or neither",
        base="projected_binary_integration"),
    bad("projected-class-order", lambda d: set_value(d, "search_tasks", 0, "positive_class", 3),
        "search_tasks[0].negative_class", "must be greater than positive_class (3), got 1 (dataset files are "
        "named by the smaller class first)", base="projected_binary_integration"),
    bad("projected-seed-range", lambda d: set_value(d, "search_tasks", 0, "max_supported_data_seed", 0),
        "search_tasks[0].max_supported_data_seed", "must be >= 1, got 0", base="projected_binary_integration"),
    bad("held-out-not-pair", lambda d: set_value(d, "search_tasks", 0, "held_out_pairs", [[1, 2, 3]]),
        "search_tasks[0].held_out_pairs[0]", "expected a pair [class, class], got [1, 2, 3]", base="baseline"),
    bad("hurdles-tasks", lambda d: set_value(d, "hurdles", {"tasks": 10}), "hurdles.tasks",
        "must be less than the number of search tasks (10), got 10"),
    bad("hurdles-percentile", lambda d: set_value(d, "hurdles", {"percentile": 101}), "hurdles.percentile",
        "must be <= 100.0, got 101.0"),
    bad("islands-protocol", lambda d: set_value(d, "islands", "protocol", "star"), "islands.protocol",
        "unknown value 'star'; expected one of pool, ring, random_pairs"),
    bad("islands-migrants", lambda d: set_value(d, "islands", "num_migrants", 1001), "islands.num_migrants",
        "must be <= population_size (1000), got 1001"),
]


@pytest.mark.parametrize("base,edit,field,message", BAD)
def test_bad_input_names_file_and_field(base, edit, field, message, tmp_path):
    data = presets.load(base).to_dict()
    edit(data)
    file = tmp_path / "bad.toml"
    file.write_text(write_toml(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        SearchConfig.from_toml(file)
    error = info.value
    assert str(error) == f"{file}: {field}: {message}"
    assert "\n" not in str(error)
    assert (error.source, error.field, error.message) == (str(file), field, message)
    with pytest.raises(ConfigError) as info:  # without a file, the same line minus the file name
        SearchConfig.from_dict(data)
    assert str(info.value) == f"{field}: {message}"


def test_invalid_toml_names_the_file(tmp_path):
    file = tmp_path / "broken.toml"
    file.write_text("population_size = = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        SearchConfig.from_toml(file)
    assert str(info.value).startswith(f"{file}: invalid TOML: ")
    assert "(at line 1, column 19)" in str(info.value)


def test_missing_file_names_the_file(tmp_path):
    file = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        SearchConfig.from_toml(file)
    assert str(info.value) == f"{file}: cannot read: No such file or directory"
