"""The config dataclasses: `SearchConfig` and its sub-tables, each validated on construction."""
from __future__ import annotations

import dataclasses
import os
from typing import Any, ClassVar

from azero import algorithms
from azero._core import ops
from azero.config import toml_io
from azero.config.checks import (ConfigError, _algorithm, _bool, _check_keys, _choice, _enum_list, _float, _int,
                                 _mutation_type, _op_list, _str, _suggest, _type_name, check_seed)
from azero.config.task_specs import _DATASET_KINDS, _PROJECTED, _task_default, _task_list, _task_to_dict
from azero.tasks import TaskSpec

COMBINATION_MODES = ("mean", "median")
MODES = ("evolution", "random_search")
ISLAND_PROTOCOLS = ("pool", "ring", "random_pairs")
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
    as integer codes (azero._core.ops); task specs as azero.tasks.TaskSpec.
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
        data, source = toml_io.read_toml(path_or_text)
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
        return toml_io.write_toml(self.to_dict())

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
