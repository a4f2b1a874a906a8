"""Search configuration: `SearchConfig` dataclasses, read from and written to TOML.

Modules: `model` (the dataclasses), `checks` (value checks, `ConfigError`), `task_specs` (task tables),
`toml_io` (TOML in and out, written with tomli-w).

The fields mirror the reference's `SearchExperimentSpec` (docs/semantics.md §9.8, same names and defaults), the flags of
`run_search_experiment` (docs/semantics.md §9.6) and the memory sizes the reference fixes at compile time (docs/semantics.md §1.2), plus a
few of ours (wall-time limit, hurdles, random search, islands, checkpoints, dataset folder).

TOML layout (one file per configuration; azero/presets/*.toml are complete examples):

- top-level keys: every plain field of SearchConfig, including the memory sizes (num_scalars, num_vectors,
  num_matrices) and the run flags (max_experiments, randomize_task_seeds, sufficient_fitness, random_seed);
- op lists take reference enum names ("SCALAR_SUM_OP" or "SCALAR_SUM", any case) or codes; mutation types
  names ("ALTER_PARAM" or "ALTER_PARAM_MUTATION_TYPE") or codes; algorithm ids names ("RANDOM_ALGORITHM" or
  "RANDOM") or codes; fitness_combination_mode "mean" / "median" (or the reference's MEAN_FITNESS_COMBINATION);
- tables [fec], [train_budget], [hurdles] (optional) and [islands] (defaults when left out);
- arrays of tables [[search_tasks]], [[select_tasks]], [[final_tasks]] (T_search, T_select, T_final), whose
  keys are the fields of azero.tasks.TaskSpec.

::

    population_size = 1000
    setup_ops = ["SCALAR_CONST_SET_OP", "VECTOR_INNER_PRODUCT_OP"]
    allowed_mutation_types = ["ALTER_PARAM", "RANDOMIZE_INSTRUCTION"]
    initial_population = "RANDOM_ALGORITHM"
    num_scalars = 4

    [fec]
    num_train_examples = 10
    num_valid_examples = 10

    [train_budget]
    baseline = "NEURAL_NET_ALGORITHM"   # the reference's train_budget_baseline / ..._threshold_factor work too

    [[search_tasks]]
    kind = "scalar_linear_regression"
    features_size = 4
    num_train_examples = 100
    num_valid_examples = 100
    num_tasks = 10
    eval_type = "rms_error"

TOML has no null, so optional fields (fec, train_budget, hurdles, sufficient_fitness, max_seconds, dataset_dir)
are simply left out when unset. Projected-binary task specs may leave out `path`: it is then `dataset_dir`
(relative paths resolve against the current working directory, like the reference's `$(pwd)/...`).

Every problem raises `ConfigError`, one line naming the file (when read from one), the field path (e.g.
``search_tasks[0].features_size``) and what is wrong.
"""
from azero.config.checks import MAX_SEED, ConfigError, check_seed
from azero.config.model import (COMBINATION_MODES, ISLAND_PROTOCOLS, MODES, FECSpec, HurdlesSpec, IslandsSpec,
                                SearchConfig, SuccessSpec, TrainBudgetSpec)

__all__ = ["COMBINATION_MODES", "ISLAND_PROTOCOLS", "MAX_SEED", "MODES", "ConfigError", "FECSpec", "HurdlesSpec",
           "IslandsSpec", "SearchConfig", "SuccessSpec", "TrainBudgetSpec", "check_seed"]
