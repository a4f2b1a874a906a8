"""Search configuration: `SearchConfig` dataclasses, read from and written to TOML.

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
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from azero import algorithms, ops
from azero.tasks import EVAL_TYPES, FEATURE_SIZES, TASK_KINDS, TaskSpec

COMBINATION_MODES = ("mean", "median")
MODES = ("evolution", "random_search")
ISLAND_PROTOCOLS = ("pool", "ring", "random_pairs")
# Task kinds whose generator supports only one eval type (docs/semantics.md §7.3–7.5).
_KIND_EVAL_TYPE = {
    "scalar_linear_regression": "rms_error",
    "scalar_affine_regression": "rms_error",
    "scalar_2layer_nn_regression": "rms_error",
    "projected_binary_classification": "accuracy",
    "projected_regression": "rms_error",
}
_PROJECTED = "projected_binary_classification"
# Task kinds that read dataset files: a spec without `path` reads them from `dataset_dir`.
_DATASET_KINDS = (_PROJECTED, "projected_regression")
# Addresses are 16-bit (docs/semantics.md §1.3), and so are instruction positions (docs/semantics.md §6.3).
_MAX_ADDRESSES = 65535
_MAX_FUNCTION_SIZE = 65535
# Smallest (num_scalars, num_vectors, num_matrices) the hand-designed models address (docs/semantics.md §8.5).
_MODEL_MEMORY = {
    ops.LINEAR_ALGORITHM: (4, 3, 0),
    ops.NEURAL_NET_ALGORITHM: (5, 9, 2),
    ops.INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM: (5, 9, 2),
}
_BANK_NAMES = {ops.SCALAR: "num_scalars", ops.VECTOR: "num_vectors", ops.MATRIX: "num_matrices"}
_BANK_WORDS = {ops.SCALAR: "scalar", ops.VECTOR: "vector", ops.MATRIX: "matrix"}
_FUNCTIONS = ("setup", "predict", "learn")
# Mutation types that draw a component function and so need at least one non-empty op list (docs/semantics.md §8.4).
_NEEDS_FUNCTION = {
    ops.ALTER_PARAM,
    ops.RANDOMIZE_INSTRUCTION,
    ops.RANDOMIZE_COMPONENT_FUNCTION,
    ops.INSERT_INSTRUCTION,
    ops.REMOVE_INSTRUCTION,
    ops.TRADE_INSTRUCTION,
}


class ConfigError(ValueError):
    """A configuration problem: one line `[file: ]field: what is wrong`."""

    def __init__(self, field: str, message: str, source: str | None = None):
        self.field = field
        self.message = " ".join(str(message).split())
        self.source = source
        super().__init__(": ".join(part for part in (source, field, self.message) if part))

    def with_source(self, source: str | None) -> ConfigError:
        """The same error, naming the file it came from."""
        return ConfigError(self.field, self.message, source)


# ---------------------------------------------------------------------------------------------------------
# Value checks. Each takes the value and its field path and returns the normalised value or raises.


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", tuple: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _int(value: Any, path: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"expected an integer, got {_type_name(value)} {value!r}")
    if lo is not None and value < lo:
        raise ConfigError(path, f"must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(path, f"must be <= {hi}, got {value}")
    return int(value)


MAX_SEED = 2**32 - 1      # seeds are the reference's uint32


def check_seed(value: Any, what: str = "seed", clock: bool = True) -> int:
    """A seed: an integer in 0 .. 2^32 - 1, where 0 means "from the clock" (the config's `random_seed`,
    `--seed` and `Search(seed=...)` alike); ConfigError (one line) for anything else, never a silent wrap.
    `clock=False` (the random-op stream of an evaluation, which must be reproducible) refuses 0."""
    seed = _int(value.item() if isinstance(value, np.integer) else value, what, 0, MAX_SEED)
    if seed == 0 and not clock:
        raise ConfigError(what, f"must be in 1 .. {MAX_SEED} (0 means 'from the clock', which an evaluation "
                                "cannot use)")
    return seed


def _float(value: Any, path: str, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"expected a number, got {_type_name(value)} {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ConfigError(path, "must be a number, got nan")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(path, f"must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(path, f"must be <= {hi}, got {value}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, f"expected true or false, got {_type_name(value)} {value!r}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, f"expected a string, got {_type_name(value)} {value!r}")
    return value


def _choice(value: Any, path: str, choices: tuple[str, ...], aliases: dict[str, str] | None = None) -> str:
    key = _str(value, path).strip().lower()
    key = (aliases or {}).get(key, key)
    if key not in choices:
        raise ConfigError(path, f"unknown value {value!r}{_suggest(key, choices)}; expected one of "
                                f"{', '.join(choices)}")
    return key


def _array(value: Any, path: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(path, f"expected an array, got {_type_name(value)} {value!r}")
    return list(value)


def _suggest(name: str, names) -> str:
    close = difflib.get_close_matches(str(name).lower(), [n.lower() for n in names], n=1, cutoff=0.6)
    if not close:
        return ""
    original = next(n for n in names if n.lower() == close[0])
    return f" (did you mean {original!r}?)"


def _check_keys(data: dict, path: str, known, aliases: dict[str, str] | None = None) -> dict:
    """`data` with aliases renamed; unknown keys raise with the closest known name."""
    out = {}
    for key, value in data.items():
        name = (aliases or {}).get(key, key)
        if name not in known:
            where = f"{path}.{key}" if path else key
            raise ConfigError(where, f"unknown field{_suggest(key, list(known))}")
        if name in out:
            raise ConfigError(f"{path}.{name}" if path else name, "given twice (under two names)")
        out[name] = value
    return out


def _enum_list(value: Any, path: str, convert, what: str, names) -> list[int]:
    codes = []
    for i, item in enumerate(_array(value, path)):
        try:
            codes.append(convert(item))
        except ValueError:
            hint = _suggest(item, names) if isinstance(item, str) else ""
            raise ConfigError(f"{path}[{i}]", f"unknown {what} {item!r}{hint}") from None
    return codes


def _op_list(value: Any, path: str) -> list[int]:
    names = [op.name for op in ops.OPS] + [op.name[:-3] for op in ops.OPS if op.name.endswith("_OP")]
    return _enum_list(value, path, ops.op_code, "op", names)


def _algorithm(value: Any, path: str) -> int:
    try:
        return ops.algorithm_id_code(value)
    except ValueError:
        hint = _suggest(value, ops.ALGORITHM_ID_NAMES) if isinstance(value, str) else ""
        raise ConfigError(path, f"unknown algorithm id {value!r}{hint}; expected one of "
                                f"{', '.join(ops.ALGORITHM_ID_NAMES)}") from None


# ---------------------------------------------------------------------------------------------------------
# Sub-tables. Each validates itself on construction, naming its fields as they sit in a SearchConfig.


def _sub(value: Any, cls, path: str, optional: bool):
    """A sub-table given as an instance, a dict (e.g. from TOML) or (if optional) None."""
    if value is None and optional:
        return None
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        fields = dataclasses.fields(cls)
        data = _check_keys(value, path, [f.name for f in fields], cls._aliases)
        for f in fields:
            if f.name not in data and f.default is dataclasses.MISSING:
                raise ConfigError(f"{path}.{f.name}", "missing required field")
        return cls(**data)
    raise ConfigError(path, f"expected a table, got {_type_name(value)} {value!r}")


@dataclasses.dataclass(frozen=True)
class FECSpec:
    """Functional-equivalence cache (docs/semantics.md §5): pre-run sizes, LRU capacity, hits before an entry is dropped."""

    num_train_examples: int
    num_valid_examples: int
    cache_size: int = 100000
    forget_every: int = 100  # 0 = never forget

    _aliases: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        # The pre-run records at most 100 errors each (docs/semantics.md §3.7).
        _int(self.num_train_examples, "fec.num_train_examples", 1, 100)
        _int(self.num_valid_examples, "fec.num_valid_examples", 1, 100)
        _int(self.cache_size, "fec.cache_size", 1)
        _int(self.forget_every, "fec.forget_every", 0)


@dataclasses.dataclass(frozen=True)
class TrainBudgetSpec:
    """Train budget (docs/semantics.md §4.3): reject algorithms costing more than `threshold_factor` x the baseline's cost."""

    baseline: int = ops.NEURAL_NET_ALGORITHM  # HardcodedAlgorithmID code; names accepted on input
    threshold_factor: float = 2.0

    _aliases: ClassVar[dict[str, str]] = {
        "train_budget_baseline": "baseline",
        "train_budget_threshold_factor": "threshold_factor",
    }

    def __post_init__(self) -> None:
        object.__setattr__(self, "baseline", _algorithm(self.baseline, "train_budget.baseline"))
        object.__setattr__(self, "threshold_factor",
                           _float(self.threshold_factor, "train_budget.threshold_factor", 0.0, lo_open=True))


@dataclasses.dataclass(frozen=True)
class HurdlesSpec:
    """Hurdles (paper's "Full" method, not in the reference): a child is first evaluated on the first `tasks`
    search tasks; it goes on to the rest only if that partial fitness reaches the `percentile`-th percentile
    of the partial fitnesses of the last `window` evaluated individuals (otherwise it keeps the partial one)."""

    percentile: float = 75.0
    window: int = 1000
    tasks: int = 1

    _aliases: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        object.__setattr__(self, "percentile", _float(self.percentile, "hurdles.percentile", 0.0, 100.0))
        _int(self.window, "hurdles.window", 1)
        _int(self.tasks, "hurdles.tasks", 1)


@dataclasses.dataclass(frozen=True)
class IslandsSpec:
    """Migration between islands (one per MPI rank; semantics in azero.islands): after the generation in which
    an island's individual count crosses a multiple of `migrate_every`, each island sends its `num_migrants`
    best individuals (0 = half the population) by `protocol`: "ring" (to the next rank), "random_pairs"
    (ranks paired at random each round) or "pool" (the paper's: draws from all other islands' offers)."""

    migrate_every: int = 10000
    num_migrants: int = 10
    protocol: str = "ring"

    _aliases: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        _int(self.migrate_every, "islands.migrate_every", 1)
        _int(self.num_migrants, "islands.num_migrants", 0)
        object.__setattr__(self, "protocol", _choice(self.protocol, "islands.protocol", ISLAND_PROTOCOLS))


@dataclasses.dataclass(frozen=True)
class SuccessSpec:
    """Success criterion (ours, for experiments and sweeps): a search succeeds when an evaluated individual's
    T_search fitness reaches the fitness of `reference` (a hand-designed model name of azero.algorithms or a
    program file) on the same tasks, less `tolerance`: fitness >= reference - tolerance (a negative tolerance
    asks for a margin above it). Counted once per search, at its first success; with `stop` the search then
    ends (T_select and T_final as usual)."""

    reference: str
    tolerance: float = 0.0
    stop: bool = False

    _aliases: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        if not _str(self.reference, "success.reference"):
            raise ConfigError("success.reference", "must name a hand-designed model or a program file")
        object.__setattr__(self, "tolerance", _float(self.tolerance, "success.tolerance"))
        _bool(self.stop, "success.stop")


# ---------------------------------------------------------------------------------------------------------
# Task specs (the dataclass lives in azero.tasks; here: checking and converting TOML tables).

_TASK_KIND_ALIASES = {kind + "_task": kind for kind in TASK_KINDS}  # the reference's oneof field names


def _task_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _seed_list(value: Any, path: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):  # the reference's text format allows `data_seeds: 3`
        value = [value]
    return [_int(seed, f"{path}[{i}]", 0, 2**32 - 1) for i, seed in enumerate(_array(value, path))]


def _pair_list(value: Any, path: str) -> list[tuple[int, int]]:
    pairs = []
    for i, pair in enumerate(_array(value, path)):
        if isinstance(pair, dict):
            pair = [pair.get("positive_class"), pair.get("negative_class")]
        pair = _array(pair, f"{path}[{i}]")
        if len(pair) != 2:
            raise ConfigError(f"{path}[{i}]", f"expected a pair [class, class], got {pair!r}")
        first, second = (_int(c, f"{path}[{i}]", 0, 9) for c in pair)
        pairs.append((first, second))
    return pairs


def _optional_class(value: Any, path: str) -> int | None:
    return None if value is None else _int(value, path, 0, 9)


def _optional_str(value: Any, path: str) -> str | None:
    return None if value is None else _str(value, path)


def _features_size(value: Any, path: str) -> int:
    size = _int(value, path)
    if size not in FEATURE_SIZES:
        raise ConfigError(path, f"must be one of {', '.join(map(str, FEATURE_SIZES))}, got {size}")
    return size


# Checks of the TaskSpec fields we know about; fields azero.tasks may add are passed through unchecked.
_TASK_CHECKS = {
    "kind": lambda v, p: _choice(v, p, TASK_KINDS, _TASK_KIND_ALIASES),
    "features_size": _features_size,
    "num_train_examples": lambda v, p: _int(v, p, 1),
    "num_valid_examples": lambda v, p: _int(v, p, 1),
    "num_tasks": lambda v, p: _int(v, p, 1),
    "eval_type": lambda v, p: None if v is None else _choice(v, p, tuple(EVAL_TYPES)),
    "param_seeds": _seed_list,
    "data_seeds": _seed_list,
    "num_train_epochs": lambda v, p: _int(v, p, 1),
    "increment": lambda v, p: _float(v, p),
    "positive_class": _optional_class,
    "negative_class": _optional_class,
    "dataset_name": _optional_str,
    "path": _optional_str,
    "held_out_pairs": _pair_list,
    "min_supported_data_seed": lambda v, p: _int(v, p, 0),
    "max_supported_data_seed": lambda v, p: _int(v, p, 1),
}


def _task(value: Any, path: str) -> TaskSpec:
    """A TaskSpec from a TOML table or an existing TaskSpec, checked field by field."""
    fields = {f.name: f for f in dataclasses.fields(TaskSpec) if f.init}
    if isinstance(value, TaskSpec):
        data = {name: getattr(value, name) for name in fields}
    elif isinstance(value, dict):
        data = _check_keys(value, path, fields)
        missing = [n for n, f in fields.items() if n not in data and _task_default(f) is dataclasses.MISSING]
        if missing:
            raise ConfigError(f"{path}.{missing[0]}", "missing required field")
    else:
        raise ConfigError(path, f"expected a table, got {_type_name(value)} {value!r}")
    checked: dict[str, Any] = {name: (_TASK_CHECKS[name](v, f"{path}.{name}") if name in _TASK_CHECKS else v)
                               for name, v in data.items()}
    kind, eval_type = checked["kind"], checked.get("eval_type")
    if kind in _KIND_EVAL_TYPE and eval_type not in (None, _KIND_EVAL_TYPE[kind]):
        raise ConfigError(f"{path}.eval_type", f"{kind} tasks support only {_KIND_EVAL_TYPE[kind]!r}, "
                                               f"got {eval_type!r}")
    if kind == "scalar_2layer_nn_regression" and checked["features_size"] < 4:
        raise ConfigError(f"{path}.features_size", "scalar_2layer_nn_regression needs features_size >= 4 "
                                                   "(its teacher zeroes hidden units 0 and 2)")
    if checked["num_train_examples"] * checked.get("num_train_epochs", 1) < 10:
        raise ConfigError(f"{path}.num_train_examples",
                          "the evaluator needs at least 10 train examples over all epochs")
    if kind == _PROJECTED:
        pos, neg = checked.get("positive_class"), checked.get("negative_class")
        if (pos is None) != (neg is None):
            raise ConfigError(f"{path}.{'negative_class' if neg is None else 'positive_class'}",
                              "give both positive_class and negative_class, or neither")
        if pos is not None and pos >= neg:
            raise ConfigError(f"{path}.negative_class", f"must be greater than positive_class ({pos}), got {neg} "
                                                        "(dataset files are named by the smaller class first)")
        lo, hi = checked.get("min_supported_data_seed", 0), checked.get("max_supported_data_seed", 10)
        if hi <= lo:
            raise ConfigError(f"{path}.max_supported_data_seed",
                              f"must be > min_supported_data_seed ({lo}), got {hi}")
    try:
        return TaskSpec(**checked)
    except (TypeError, ValueError) as error:
        raise ConfigError(path, str(error)) from None


def _task_list(value: Any, path: str) -> list[TaskSpec]:
    specs = [_task(item, f"{path}[{i}]") for i, item in enumerate(_array(value, path))]
    if not specs:
        raise ConfigError(path, "needs at least one task spec")
    return specs


def _task_to_dict(spec: TaskSpec, dataset_dir: str | None) -> dict:
    """The fields worth writing: the required ones, then those that differ from TaskSpec's defaults."""
    out = {}
    for field in dataclasses.fields(TaskSpec):
        if not field.init:
            continue
        value = getattr(spec, field.name)
        default = _task_default(field)
        if value is None or (default is not dataclasses.MISSING and value == default
                             and field.name not in ("kind", "eval_type", "features_size", "num_tasks",
                                                    "num_train_examples", "num_valid_examples")):
            continue
        if field.name == "path" and spec.kind in _DATASET_KINDS and value == dataset_dir:
            continue
        if hasattr(value, "tolist"):  # numpy data of a unit_test_fixed task
            value = value.tolist()
        if field.name == "held_out_pairs":
            value = [list(pair) for pair in value]
        out[field.name] = list(value) if isinstance(value, tuple) else value
    return out


# ---------------------------------------------------------------------------------------------------------


_REQUIRED = (
    "search_tasks", "select_tasks", "final_tasks", "setup_size_init", "predict_size_init", "learn_size_init",
    "population_size", "tournament_size", "allowed_mutation_types",
)
_SUBTABLES = {"fec": FECSpec, "train_budget": TrainBudgetSpec, "hurdles": HurdlesSpec, "islands": IslandsSpec,
              "success": SuccessSpec}
_TASK_LISTS = ("search_tasks", "select_tasks", "final_tasks")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Everything one search needs: the reference's SearchExperimentSpec, its run flags, memory sizes, ours.

    Construction validates and normalises (names -> codes, dicts -> sub-specs); any problem raises
    ConfigError. Instances are immutable: use `replace`. Op lists, mutation types and algorithm ids are stored
    as integer codes (azero.ops); task specs as azero.tasks.TaskSpec.
    """

    # -- SearchExperimentSpec (docs/semantics.md §9.8) --
    search_tasks: list[TaskSpec]
    setup_ops: list[int] = dataclasses.field(default_factory=list)  # empty => never randomised/mutated
    predict_ops: list[int] = dataclasses.field(default_factory=list)
    learn_ops: list[int] = dataclasses.field(default_factory=list)
    setup_size_init: int
    predict_size_init: int
    learn_size_init: int
    mutate_setup_size_min: int = 0  # size bounds: min inclusive, max exclusive (only INSERT/REMOVE read them)
    mutate_setup_size_max: int = 0
    mutate_predict_size_min: int = 0
    mutate_predict_size_max: int = 0
    mutate_learn_size_min: int = 0
    mutate_learn_size_max: int = 0
    train_budget: TrainBudgetSpec | None = None
    max_abs_error: float = 100.0
    fec: FECSpec | None = None
    fitness_combination_mode: str = "mean"  # "mean" | "median"
    population_size: int
    tournament_size: int
    initial_population: int = ops.NO_OP_ALGORITHM
    max_train_steps: int = 80_000_000_000
    allowed_mutation_types: list[int]
    mutate_prob: float = 0.9
    progress_every: int = 10000
    # -- run_search_experiment flags (docs/semantics.md §9.6) --
    select_tasks: list[TaskSpec]
    final_tasks: list[TaskSpec]
    max_experiments: int = 1  # 0 = unlimited
    randomize_task_seeds: bool = False
    sufficient_fitness: float | None = None  # None = never stop early
    random_seed: int = 0  # 0 = from the clock
    # -- memory banks (compile-time in the reference, docs/semantics.md §1.2) --
    num_scalars: int = 20
    num_vectors: int = 20
    num_matrices: int = 20
    # -- ours --
    max_seconds: float | None = None  # wall-time limit (s) of the whole search, checked between generations
    hurdles: HurdlesSpec | None = None
    mode: str = "evolution"  # "evolution" | "random_search"
    islands: IslandsSpec = dataclasses.field(default_factory=IslandsSpec)
    checkpoint_every_seconds: float = 600.0  # 0 = never
    dataset_dir: str | None = None  # default `path` of projected-binary task specs
    # -- experiments (sweeps): budget in individuals, success criterion, learn-only searches --
    max_individuals: int | None = None  # stop at the first generation boundary with >= this many individuals
    success: SuccessSpec | None = None
    learn_only: str | None = None  # model name or program file: its Setup and Predict, fixed; Learn random

    def __post_init__(self) -> None:
        self._normalise()
        self.validate()

    # -- construction helpers --

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _normalise(self) -> None:
        """Check each field's type and range and convert names / tables to their stored form."""
        if isinstance(self.dataset_dir, os.PathLike):
            self._set("dataset_dir", os.fspath(self.dataset_dir))
        if self.dataset_dir is not None:
            _str(self.dataset_dir, "dataset_dir")
        for name in _TASK_LISTS:
            self._set(name, [self._fill_path(spec, f"{name}[{i}]")
                             for i, spec in enumerate(_task_list(getattr(self, name), name))])
        for fn in _FUNCTIONS:
            self._set(f"{fn}_ops", _op_list(getattr(self, f"{fn}_ops"), f"{fn}_ops"))
            self._set(f"{fn}_size_init", _int(getattr(self, f"{fn}_size_init"), f"{fn}_size_init",
                                              0, _MAX_FUNCTION_SIZE))
            for bound in ("min", "max"):
                name = f"mutate_{fn}_size_{bound}"
                self._set(name, _int(getattr(self, name), name, 0, _MAX_FUNCTION_SIZE))
        for name, cls in _SUBTABLES.items():
            self._set(name, _sub(getattr(self, name), cls, name, optional=name != "islands"))
        self._set("max_abs_error", _float(self.max_abs_error, "max_abs_error", 0.0, lo_open=True))
        self._set("fitness_combination_mode", _choice(
            self.fitness_combination_mode, "fitness_combination_mode", COMBINATION_MODES,
            {"mean_fitness_combination": "mean", "median_fitness_combination": "median"}))
        self._set("population_size", _int(self.population_size, "population_size", 1))
        self._set("tournament_size", _int(self.tournament_size, "tournament_size", 1))
        self._set("initial_population", _algorithm(self.initial_population, "initial_population"))
        self._set("max_train_steps", _int(self.max_train_steps, "max_train_steps", 0))
        self._set("allowed_mutation_types", _enum_list(
            self.allowed_mutation_types, "allowed_mutation_types", _mutation_type, "mutation type",
            ops.MUTATION_TYPE_NAMES))
        self._set("mutate_prob", _float(self.mutate_prob, "mutate_prob", 0.0, 1.0))
        self._set("progress_every", _int(self.progress_every, "progress_every", 0))
        self._set("max_experiments", _int(self.max_experiments, "max_experiments", 0))
        self._set("randomize_task_seeds", _bool(self.randomize_task_seeds, "randomize_task_seeds"))
        if self.sufficient_fitness is not None:
            self._set("sufficient_fitness", _float(self.sufficient_fitness, "sufficient_fitness"))
        self._set("random_seed", check_seed(self.random_seed, "random_seed"))
        for name in _BANK_NAMES.values():
            self._set(name, _int(getattr(self, name), name, 0, _MAX_ADDRESSES))
        if self.max_seconds is not None:
            self._set("max_seconds", _float(self.max_seconds, "max_seconds", 0.0, lo_open=True))
        self._set("mode", _choice(self.mode, "mode", MODES))
        self._set("checkpoint_every_seconds",
                  _float(self.checkpoint_every_seconds, "checkpoint_every_seconds", 0.0))
        self._normalise_experiment_fields()

    def _normalise_experiment_fields(self) -> None:
        if self.max_individuals is not None:
            self._set("max_individuals", _int(self.max_individuals, "max_individuals", 1))
        if self.learn_only is not None and not _str(self.learn_only, "learn_only"):
            raise ConfigError("learn_only", "must name a hand-designed model or a program file")

    def _fill_path(self, spec: TaskSpec, path: str) -> TaskSpec:
        """Projected-binary and projected-regression specs without a path read their files from `dataset_dir`."""
        if spec.kind not in _DATASET_KINDS or spec.path:
            return spec
        if self.dataset_dir is None:
            raise ConfigError(f"{path}.path", f"{spec.kind} needs a path: set dataset_dir "
                              "in the config or pass --dataset-dir DIR")
        return dataclasses.replace(spec, path=self.dataset_dir)

    def validate(self) -> None:
        """Cross-field checks (run on construction): sizes, op lists versus memory, mutations, sub-tables."""
        if not self.allowed_mutation_types:
            raise ConfigError("allowed_mutation_types", "needs at least one mutation type")
        mutable = [fn for fn in _FUNCTIONS if getattr(self, f"{fn}_ops")]
        needing = [t for t in self.allowed_mutation_types if t in _NEEDS_FUNCTION]
        if needing and not mutable:
            raise ConfigError("allowed_mutation_types",
                              f"{ops.MUTATION_TYPE_NAMES[needing[0]]} needs a component function to mutate, "
                              "but setup_ops, predict_ops and learn_ops are all empty")
        if self.mode == "random_search" and not mutable:
            raise ConfigError("mode", "random_search needs at least one non-empty op list")
        self._check_sizes(mutable)
        self._check_memory()
        if self.hurdles is not None:
            total = sum(spec.num_tasks for spec in self.search_tasks)
            if self.hurdles.tasks >= total:
                raise ConfigError("hurdles.tasks", f"must be less than the number of search tasks ({total}), "
                                                   f"got {self.hurdles.tasks}")
        if self.tournament_size > self.population_size:
            raise ConfigError("tournament_size", f"must be <= population_size ({self.population_size}), "
                                                 f"got {self.tournament_size}")
        self._check_experiment_fields()
        if self.islands.num_migrants > self.population_size:
            raise ConfigError("islands.num_migrants", f"must be <= population_size ({self.population_size}), "
                                                      f"got {self.islands.num_migrants}")

    def _check_experiment_fields(self) -> None:
        """Learn-only searches mutate Learn alone, from a random start; hand-designed models must fit the memory
        (program files are read when the search starts)."""
        if self.learn_only is not None:
            if self.setup_ops or self.predict_ops:
                raise ConfigError("learn_only", "Setup and Predict are fixed: setup_ops and predict_ops must be empty")
            if not self.learn_ops:
                raise ConfigError("learn_only", "learn_ops must not be empty (Learn is what the search evolves)")
            if self.initial_population != ops.RANDOM_ALGORITHM:
                raise ConfigError("learn_only", "needs initial_population = \"RANDOM_ALGORITHM\" (Learn starts random)")
        for where, name in (("learn_only", self.learn_only),
                            ("success.reference", None if self.success is None else self.success.reference)):
            if name in algorithms.MODEL_NAMES:
                try:
                    algorithms.load_program(name, self.num_scalars, self.num_vectors, self.num_matrices)
                except ValueError as error:
                    raise ConfigError(where, f"{name} does not fit the memory ({error})") from None

    def _check_sizes(self, mutable: list[str]) -> None:
        """Size bounds only matter where INSERT/REMOVE/TRADE can change a mutable function (docs/semantics.md §8.4)."""
        types = set(self.allowed_mutation_types)
        inserts = ops.INSERT_INSTRUCTION in types
        removes = ops.REMOVE_INSTRUCTION in types
        for fn in mutable:
            init = getattr(self, f"{fn}_size_init")
            lo, hi = getattr(self, f"mutate_{fn}_size_min"), getattr(self, f"mutate_{fn}_size_max")
            if inserts and hi <= init:
                raise ConfigError(f"mutate_{fn}_size_max", f"must be > {fn}_size_init ({init}) when "
                                                           f"INSERT_INSTRUCTION is allowed, got {hi}")
            if inserts and removes and hi <= lo:
                raise ConfigError(f"mutate_{fn}_size_max",
                                  f"must be > mutate_{fn}_size_min ({lo}) (max is exclusive), got {hi}")

    def _check_memory(self) -> None:
        """Memory must hold the executor's s0, s1, v0, every address the op lists can draw (inputs: index 0
        upwards; scalar and vector outputs: index 1 upwards; docs/semantics.md §1.2) and the hand-designed models used."""
        have = {ops.SCALAR: self.num_scalars, ops.VECTOR: self.num_vectors, ops.MATRIX: self.num_matrices}
        if self.num_scalars < 2:
            raise ConfigError("num_scalars", f"must be >= 2 (s0 holds the label, s1 the prediction), "
                                             f"got {self.num_scalars}")
        if self.num_vectors < 1:
            raise ConfigError("num_vectors", f"must be >= 1 (v0 holds the features), got {self.num_vectors}")
        for fn in _FUNCTIONS:
            for code in getattr(self, f"{fn}_ops"):
                info = ops.OPS[code]
                needs = [(bank, 1, "reads") for bank in (info.in1, info.in2) if bank != ops.NONE]
                if info.out != ops.NONE:
                    needs.append((info.out, 1 if info.out == ops.MATRIX else 2, "writes"))
                for bank, count, verb in needs:
                    if have[bank] < count:
                        raise ConfigError(_BANK_NAMES[bank],
                                          f"{info.name} in {fn}_ops {verb} a {_BANK_WORDS[bank]}, which needs "
                                          f"{_BANK_NAMES[bank]} >= {count}, got {have[bank]}")
        models = [("initial_population", self.initial_population)]
        if self.train_budget is not None:
            models.append(("train_budget.baseline", self.train_budget.baseline))
        for where, model in models:
            for bank, count in zip((ops.SCALAR, ops.VECTOR, ops.MATRIX), _MODEL_MEMORY.get(model, (0, 0, 0))):
                if have[bank] < count:
                    raise ConfigError(_BANK_NAMES[bank],
                                      f"{ops.ALGORITHM_ID_NAMES[model]} ({where}) needs {_BANK_NAMES[bank]} >= "
                                      f"{count}, got {have[bank]}")

    # -- public API --

    @classmethod
    def from_dict(cls, data: dict, source: str | None = None) -> SearchConfig:
        """A config from plain data in the TOML layout; `source` names the file in errors."""
        try:
            if not isinstance(data, dict):
                raise ConfigError("", f"expected a table, got {_type_name(data)}")
            names = [f.name for f in dataclasses.fields(cls)]
            data = _check_keys(data, "", names)
            for name in _REQUIRED:
                if name not in data:
                    raise ConfigError(name, "missing required field")
            return cls(**data)
        except ConfigError as error:
            raise error.with_source(source) from None

    @classmethod
    def from_toml(cls, path_or_text: str | os.PathLike, **overrides: Any) -> SearchConfig:
        """A config from a TOML file (a path) or TOML text (a string with a newline or '=' that is no file).

        `overrides` replace top-level fields before validation (e.g. dataset_dir for a file that leaves it out).
        """
        source = None
        if isinstance(path_or_text, os.PathLike) or (
                "\n" not in path_or_text and (os.path.exists(path_or_text) or path_or_text.endswith(".toml"))):
            source = os.fspath(path_or_text)
            try:
                text = Path(source).read_text(encoding="utf-8")
            except OSError as error:
                raise ConfigError("", f"cannot read: {error.strerror or error}", source) from None
        else:
            text = path_or_text
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError("", f"invalid TOML: {error}", source) from None
        data.update({key: value for key, value in overrides.items() if value is not None})
        return cls.from_dict(data, source)

    def to_dict(self) -> dict:
        """Plain data in the TOML layout (names for ops, mutation types and algorithm ids; unset fields left out)."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if field.name.endswith("_ops"):
                value = [ops.op_name(code) for code in value]
            elif field.name == "allowed_mutation_types":
                value = [ops.MUTATION_TYPE_NAMES[code] for code in value]
            elif field.name == "initial_population":
                value = ops.ALGORITHM_ID_NAMES[value]
            elif field.name in _TASK_LISTS:
                value = [_task_to_dict(spec, self.dataset_dir) for spec in value]
            elif field.name in _SUBTABLES:
                value = dataclasses.asdict(value)
                if field.name == "train_budget":
                    value["baseline"] = ops.ALGORITHM_ID_NAMES[value["baseline"]]
            out[field.name] = value
        return out

    def to_toml(self) -> str:
        """TOML text that `from_toml` reads back to an equal config."""
        return _dump_toml(self.to_dict())

    def replace(self, **changes: Any) -> SearchConfig:
        """A copy with some fields changed (validated). Changing `dataset_dir` moves the projected-binary task
        specs that read from the old `dataset_dir` to the new one."""
        names = [f.name for f in dataclasses.fields(self)]
        for name in changes:
            if name not in names:
                raise ConfigError(name, f"unknown field{_suggest(name, names)}")
        if "dataset_dir" in changes and self.dataset_dir is not None:
            default_path = _task_default(next(f for f in dataclasses.fields(TaskSpec) if f.name == "path"))
            for name in _TASK_LISTS:
                if name not in changes:
                    changes[name] = [
                        dataclasses.replace(spec, path=default_path)
                        if spec.kind == _PROJECTED and spec.path == self.dataset_dir else spec
                        for spec in getattr(self, name)]
        return dataclasses.replace(self, **changes)


def _mutation_type(value: Any) -> int:
    if isinstance(value, str) and value.strip().upper().endswith("_MUTATION_TYPE"):
        value = value.strip()[: -len("_MUTATION_TYPE")]
    return ops.mutation_type_code(value)


# ---------------------------------------------------------------------------------------------------------
# A small TOML writer for the values a config holds: bool, int, float, str, arrays of those (nested), tables
# of those, and arrays of such tables. Scalars first, then tables, then arrays of tables (TOML's order rule).


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back to the same double
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    bare = key and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in key)
    return key if bare else _toml_string(key)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _dump_toml(data: dict) -> str:
    lines: list[str] = []

    def scalars(table: dict) -> None:
        for key, value in table.items():
            if not isinstance(value, dict) and not _is_table_array(value):
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")

    scalars(data)
    for key, value in data.items():
        if isinstance(value, dict):
            lines.extend(["", f"[{_toml_key(key)}]"])
            scalars(value)
    for key, value in data.items():
        if _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{_toml_key(key)}]]"])
                scalars(item)
    return "\n".join(lines) + "\n"
