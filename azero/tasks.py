"""Tasks: what an algorithm is trained and validated on (docs/semantics.md §7).

:class:`TaskSpec` mirrors the reference's ``TaskSpec`` proto; :func:`make_tasks` turns specs into :class:`Task`
objects with exactly the reference's data (same random streams, same label arithmetic), and :class:`Task` also
wraps user arrays. A Task carries plain numpy arrays that the compiled evaluator reads directly.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from azero._core.checks import FEATURE_SIZES
from azero._core.rng import RandomGenerator, hash_mix

__all__ = [
    "TASK_KINDS",
    "EVAL_TYPES",
    "FEATURE_SIZES",
    "DEFAULT_PARAM_SEEDS",
    "DEFAULT_DATA_SEEDS",
    "TaskSpec",
    "Task",
    "make_tasks",
    "task_seeds",
    "randomize_task_seeds",
    "epoch_orders",
    "std_shuffle",
]

TASK_KINDS = (
    "scalar_linear_regression",
    "scalar_affine_regression",
    "scalar_2layer_nn_regression",
    "projected_binary_classification",
    "projected_regression",
    "unit_test_fixed",
    "unit_test_zeros",
    "unit_test_ones",
    "unit_test_increment",
)
# Reference EvalType values.
EVAL_TYPES = {"rms_error": 1, "accuracy": 4}

# Seeds used when a spec lists none (reference DefaultFirstParamSeeds / DefaultFirstDataSeeds).
DEFAULT_PARAM_SEEDS = (1001, 1012, 1010, 1000, 1006, 1008, 1007, 1003)
DEFAULT_DATA_SEEDS = (11001, 11012, 11010, 11000, 11006, 11008, 11007, 11003)

# Offsets added (mod 2^32) to a task's seeds to seed its random streams.
_LINEAR_DATA_OFFSET = 939723201
_LINEAR_PARAM_OFFSET = 997958712
_NN_DATA_OFFSET = 865546086
_NN_PARAM_OFFSET = 174299604
_EPOCH_OFFSET = 3274582109
# RandomizeTaskSeeds salts.
_PARAM_SEED_SALT = 85652777
_DATA_SEED_SALT = 38272328

_U32 = 1 << 32


def _kind(value: str) -> str:
    kind = str(value).strip().lower()
    if kind.endswith("_task"):
        kind = kind[: -len("_task")]
    if kind not in TASK_KINDS:
        raise ValueError(f"unknown task kind {value!r} (expected one of {', '.join(TASK_KINDS)})")
    return kind


def _eval_type(value: str | int) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        for name, code in EVAL_TYPES.items():
            if code == int(value):
                return name
    elif isinstance(value, str) and value.strip().lower() in EVAL_TYPES:
        return value.strip().lower()
    raise ValueError(f"unknown eval_type {value!r} (expected 'rms_error' or 'accuracy')")


def _seed_list(values: Iterable[int], what: str) -> list[int]:
    seeds = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < _U32:
            raise ValueError(f"{what} must be integers in [0, 2^32), got {v!r}")
        seeds.append(int(v))
    return seeds


@dataclass
class TaskSpec:
    """One entry of a task collection (reference ``TaskSpec`` proto), producing ``num_tasks`` tasks.

    ``eval_type`` defaults to "accuracy" for projected binary classification and "rms_error" otherwise.
    Empty seed lists mean the reference defaults (:data:`DEFAULT_PARAM_SEEDS`, :data:`DEFAULT_DATA_SEEDS`);
    tasks beyond a list's length use the previous seed + 1. The ``train_*``/``valid_*`` fields hold the
    explicit data of a "unit_test_fixed" task (nested lists or arrays).
    """

    kind: str
    features_size: int
    num_train_examples: int
    num_valid_examples: int
    num_tasks: int = 1
    eval_type: str | None = None
    param_seeds: list[int] = field(default_factory=list)
    data_seeds: list[int] = field(default_factory=list)
    num_train_epochs: int = 1
    increment: float = 1.0
    positive_class: int | None = None
    negative_class: int | None = None
    dataset_name: str = ""
    path: str = ""
    held_out_pairs: list[tuple[int, int]] = field(default_factory=list)
    min_supported_data_seed: int = 0
    max_supported_data_seed: int = 10
    train_features: list | None = None
    train_labels: list | None = None
    valid_features: list | None = None
    valid_labels: list | None = None

    def __post_init__(self) -> None:
        self.kind = _kind(self.kind)
        if self.eval_type is None:
            self.eval_type = "accuracy" if self.kind == "projected_binary_classification" else "rms_error"
        self.eval_type = _eval_type(self.eval_type)
        if isinstance(self.features_size, bool) or self.features_size not in FEATURE_SIZES:
            raise ValueError(f"features_size must be one of {FEATURE_SIZES}, got {self.features_size!r}")
        self.features_size = int(self.features_size)
        for name in ("num_train_examples", "num_valid_examples", "num_tasks", "num_train_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            setattr(self, name, int(value))
        self.param_seeds = _seed_list(self.param_seeds, "param_seeds")
        self.data_seeds = _seed_list(self.data_seeds, "data_seeds")
        if self.kind in ("scalar_linear_regression", "scalar_2layer_nn_regression") and self.eval_type != "rms_error":
            raise ValueError(f"{self.kind} tasks support only eval_type 'rms_error', got {self.eval_type!r}")
        if self.kind == "scalar_2layer_nn_regression" and self.features_size < 4:
            raise ValueError("scalar_2layer_nn_regression needs features_size >= 4 (its teacher zeroes hidden unit 2)")
        if self.kind == "projected_binary_classification":
            if self.eval_type != "accuracy":
                raise ValueError("projected_binary_classification supports only eval_type 'accuracy'")
            if (self.positive_class is None) != (self.negative_class is None):
                raise ValueError("give both positive_class and negative_class, or neither")
            if self.max_supported_data_seed <= self.min_supported_data_seed:
                raise ValueError("max_supported_data_seed must be greater than min_supported_data_seed")
            self.held_out_pairs = [(int(a), int(b)) for a, b in self.held_out_pairs]
        if self.kind == "projected_regression":
            if self.eval_type != "rms_error":
                raise ValueError("projected_regression supports only eval_type 'rms_error'")
            if self.max_supported_data_seed <= self.min_supported_data_seed:
                raise ValueError("max_supported_data_seed must be greater than min_supported_data_seed")
        if self.kind == "unit_test_fixed":
            self._check_fixed_data()

    def _check_fixed_data(self) -> None:
        if (self.train_features is None or self.train_labels is None or self.valid_features is None
                or self.valid_labels is None):
            raise ValueError("unit_test_fixed needs train_features, train_labels, valid_features and valid_labels")
        if len(self.train_features) != self.num_train_examples or len(self.valid_features) != self.num_valid_examples:
            raise ValueError(
                "unit_test_fixed: num_train_examples/num_valid_examples must equal the number of given examples"
            )


def task_seeds(spec: TaskSpec) -> list[tuple[int, int]]:
    """(param_seed, data_seed) of each of the spec's tasks: listed seeds, then previous + 1 (mod 2^32)."""
    param_list = spec.param_seeds or list(DEFAULT_PARAM_SEEDS)
    data_list = spec.data_seeds or list(DEFAULT_DATA_SEEDS)
    seeds = []
    param_seed = data_seed = 0
    for i in range(spec.num_tasks):
        param_seed = param_list[i] if i < len(param_list) else (param_seed + 1) % _U32
        data_seed = data_list[i] if i < len(data_list) else (data_seed + 1) % _U32
        seeds.append((param_seed, data_seed))
    return seeds


def randomize_task_seeds(specs: TaskSpec | Sequence[TaskSpec], seed: int) -> list[TaskSpec]:
    """New specs with fresh seeds, as the reference's RandomizeTaskSeeds(collection, seed).

    For each spec in order: ``num_tasks`` param seeds from the param stream, then ``num_tasks`` data seeds from
    the data stream (each stream an MT19937 seeded with a hash of ``seed``).
    """
    spec_list = [specs] if isinstance(specs, TaskSpec) else list(specs)
    param_gen = RandomGenerator(hash_mix(_PARAM_SEED_SALT, int(seed) % _U32))
    data_gen = RandomGenerator(hash_mix(_DATA_SEED_SALT, int(seed) % _U32))
    result = []
    for spec in spec_list:
        param_seeds = [param_gen.random_seed() for _ in range(spec.num_tasks)]
        data_seeds = [data_gen.random_seed() for _ in range(spec.num_tasks)]
        result.append(dataclasses.replace(spec, param_seeds=param_seeds, data_seeds=data_seeds))
    return result


# ----------------------------------------------------------------------------------------------------------
# Epoch orders: libstdc++'s std::shuffle driven by std::mt19937


def _uniform_int(gen: RandomGenerator, hi: int) -> int:
    """libstdc++ ``uniform_int_distribution<unsigned long>{0, hi}(mt19937)`` (GCC >= 11: Lemire's method)."""
    if hi == _U32 - 1:
        return gen.next_u32()
    if hi >= _U32:
        raise ValueError("ranges wider than 2^32 are not supported")
    span = hi + 1
    product = gen.next_u32() * span
    low = product & (_U32 - 1)
    if low < span:
        threshold = (_U32 - span) % span
        while low < threshold:
            product = gen.next_u32() * span
            low = product & (_U32 - 1)
    return product >> 32


def std_shuffle(items: list, gen: RandomGenerator) -> None:
    """Shuffle ``items`` in place exactly as libstdc++'s ``std::shuffle(begin, end, mt19937&)``.

    When n^2 fits in the generator's range, libstdc++ draws the swap positions of two successive elements from a
    single number (after one lone swap first when n is even); otherwise it draws one position per element.
    """
    n = len(items)
    if n == 0:
        return
    if (_U32 - 1) // n >= n:
        i = 1
        if n % 2 == 0:
            j = _uniform_int(gen, 1)
            items[i], items[j] = items[j], items[i]
            i += 1
        while i != n:
            width = i + 1  # positions 0..i for element i, 0..i+1 for element i+1
            first, second = divmod(_uniform_int(gen, width * (width + 1) - 1), width + 1)
            items[i], items[first] = items[first], items[i]
            items[i + 1], items[second] = items[second], items[i + 1]
            i += 2
    else:
        for i in range(1, n):
            j = _uniform_int(gen, i)
            items[i], items[j] = items[j], items[i]


def epoch_orders(num_examples: int, num_epochs: int, data_seed: int) -> np.ndarray:
    """(num_epochs, num_examples) int64 example orders: epoch 0 is 0..n-1; each next epoch is the previous one
    shuffled with one std::mt19937(data_seed + 3274582109) stream (reference GenerateEpochs)."""
    orders = np.empty((num_epochs, num_examples), dtype=np.int64)
    indexes = list(range(num_examples))
    orders[0] = indexes
    if num_epochs > 1:
        gen = RandomGenerator((data_seed + _EPOCH_OFFSET) % _U32)
        for epoch in range(1, num_epochs):
            std_shuffle(indexes, gen)
            orders[epoch] = indexes
    return orders


# ----------------------------------------------------------------------------------------------------------


class Task:
    """Train and validation examples of one task, as read by the compiled evaluator.

    Attributes: ``train_features`` (n_train, F) and ``valid_features`` (n_valid, F) float64 C-contiguous,
    ``train_labels`` (n_train,), ``valid_labels`` (n_valid,), ``eval_type`` ("rms_error" | "accuracy"),
    ``eval_type_code`` (1 | 4), ``features_size`` F, ``num_epochs``, ``epoch_orders`` (num_epochs, n_train) int64
    (epoch 0 is the identity; later epochs are shuffled as the reference does with ``data_seed``),
    ``param_seed`` and ``data_seed`` (None for user data unless given).
    """

    __slots__ = (
        "train_features",
        "train_labels",
        "valid_features",
        "valid_labels",
        "eval_type",
        "eval_type_code",
        "features_size",
        "num_epochs",
        "epoch_orders",
        "param_seed",
        "data_seed",
    )

    def __init__(
        self,
        train_features,
        train_labels,
        valid_features,
        valid_labels,
        eval_type: str | int = "accuracy",
        num_train_epochs: int = 1,
        data_seed: int | None = None,
        param_seed: int | None = None,
    ):
        self.eval_type = _eval_type(eval_type)
        self.eval_type_code = EVAL_TYPES[self.eval_type]
        self.train_features = _features(train_features, "train_features")
        self.valid_features = _features(valid_features, "valid_features")
        self.features_size = self.train_features.shape[1]
        if self.valid_features.shape[1] != self.features_size:
            raise ValueError(
                f"valid_features has {self.valid_features.shape[1]} features per example but train_features has "
                f"{self.features_size}"
            )
        self.train_labels = _labels(train_labels, len(self.train_features), "train_labels", self.eval_type)
        self.valid_labels = _labels(valid_labels, len(self.valid_features), "valid_labels", self.eval_type)
        if isinstance(num_train_epochs, bool) or not isinstance(num_train_epochs, (int, np.integer)) or (
            num_train_epochs < 1
        ):
            raise ValueError(f"num_train_epochs must be a positive integer, got {num_train_epochs!r}")
        if num_train_epochs > 1 and data_seed is None:
            raise ValueError("num_train_epochs > 1 needs a data_seed to shuffle the epochs")
        self.num_epochs = int(num_train_epochs)
        self.data_seed = None if data_seed is None else int(data_seed) % _U32
        self.param_seed = None if param_seed is None else int(param_seed) % _U32
        self.epoch_orders = epoch_orders(len(self.train_features), self.num_epochs, self.data_seed or 0)

    @property
    def num_train_examples(self) -> int:
        """Unique train examples (one epoch)."""
        return len(self.train_labels)

    @property
    def num_valid_examples(self) -> int:
        return len(self.valid_labels)

    def __repr__(self) -> str:
        return (
            f"<Task F={self.features_size} train={self.num_train_examples}x{self.num_epochs} "
            f"valid={self.num_valid_examples} {self.eval_type}>"
        )


def _number_array(values, what: str, ndim: int, axes: str = "") -> np.ndarray:
    """`values` as a C-ordered float64 array of `ndim` dimensions (`axes` names them in the message), else a
    ValueError naming `what`."""
    try:
        arr = np.array(values, dtype=np.float64, order="C")
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} must be a {ndim}-d array of numbers ({e})") from None
    if arr.ndim != ndim:
        raise ValueError(f"{what} must be {ndim}-d{axes}, got shape {arr.shape}")
    return arr


def _features(values, what: str) -> np.ndarray:
    arr = _number_array(values, what, 2, " (examples x features)")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} has no examples")
    if arr.shape[1] not in FEATURE_SIZES:
        raise ValueError(f"{what} has {arr.shape[1]} features per example; the number must be one of {FEATURE_SIZES}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


def _labels(values, n: int, what: str, eval_type: str) -> np.ndarray:
    arr = _number_array(values, what, 1)
    if len(arr) != n:
        raise ValueError(f"{what} has {len(arr)} labels but there are {n} examples")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    if eval_type == "accuracy" and not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError(f"{what} must be 0 or 1 for eval_type 'accuracy'")
    return arr


# ----------------------------------------------------------------------------------------------------------
# Reductions in the reference's summation orders (docs/semantics.md §2.4), vectorised over examples (rows).


def _packet_tree_sum(terms: np.ndarray) -> np.ndarray:
    """Order P: lane-wise recursive halving over consecutive pairs, then lane0 + lane1 (per row)."""

    def combine(lanes: np.ndarray, lo: int, count: int) -> np.ndarray:
        if count == 1:
            return lanes[:, lo]
        half = count // 2
        return combine(lanes, lo, half) + combine(lanes, lo + half, count - half)

    pairs = terms.shape[1] // 2
    return combine(terms[:, 0::2], 0, pairs) + combine(terms[:, 1::2], 0, pairs)


def _gemv_lanes_sum(terms: np.ndarray) -> np.ndarray:
    """Order G: two lanes accumulated sequentially from +0.0 (even and odd terms), then lane0 + lane1."""
    lane0 = np.zeros(terms.shape[0])
    lane1 = np.zeros(terms.shape[0])
    for k in range(0, terms.shape[1], 2):
        lane0 = lane0 + terms[:, k]
        lane1 = lane1 + terms[:, k + 1]
    return lane0 + lane1


def _dot_rows(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """dot(w, x_r) per row r in order R_vec (VECTOR_INNER_PRODUCT_OP)."""
    return _packet_tree_sum(x * w[np.newaxis, :])


def _matvec_rows(matrix: np.ndarray, x: np.ndarray) -> np.ndarray:
    """matrix · x_r per row r in order R_mv (MATRIX_VECTOR_PRODUCT_OP): P for F <= 4, G for F >= 8."""
    f = matrix.shape[0]
    reduce = _packet_tree_sum if f <= 4 else _gemv_lanes_sum
    out = np.empty_like(x)
    for i in range(f):
        out[:, i] = reduce(x * matrix[i][np.newaxis, :])
    return out


# ----------------------------------------------------------------------------------------------------------
# Task generators


def _gaussian_features(gen: RandomGenerator, n_train: int, n_valid: int, f: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard normal features, drawn for all train examples then all valid examples, entries in index order."""
    draws = gen.gaussian_array((n_train + n_valid) * f, 0.0, 1.0).reshape(n_train + n_valid, f)
    return np.ascontiguousarray(draws[:n_train]), np.ascontiguousarray(draws[n_train:])


def _linear_regression(spec: TaskSpec, param_seed: int, data_seed: int):
    f = spec.features_size
    data_gen = RandomGenerator((data_seed + _LINEAR_DATA_OFFSET) % _U32)
    param_gen = RandomGenerator((param_seed + _LINEAR_PARAM_OFFSET) % _U32)
    train_x, valid_x = _gaussian_features(data_gen, spec.num_train_examples, spec.num_valid_examples, f)
    weights = param_gen.gaussian_array(f, 0.0, 1.0)
    return train_x, _dot_rows(train_x, weights), valid_x, _dot_rows(valid_x, weights)


def _affine_regression(spec: TaskSpec, param_seed: int, data_seed: int):
    """Ours (paper §4.1, not in the reference): labels u·x + a. Seeded like the linear task: the same features
    and the same weights u (first F draws of the param stream) for the same seeds, then a = the next draw."""
    f = spec.features_size
    data_gen = RandomGenerator((data_seed + _LINEAR_DATA_OFFSET) % _U32)
    param_gen = RandomGenerator((param_seed + _LINEAR_PARAM_OFFSET) % _U32)
    train_x, valid_x = _gaussian_features(data_gen, spec.num_train_examples, spec.num_valid_examples, f)
    weights = param_gen.gaussian_array(f, 0.0, 1.0)
    bias = float(param_gen.gaussian_array(1, 0.0, 1.0)[0])
    return train_x, _dot_rows(train_x, weights) + bias, valid_x, _dot_rows(valid_x, weights) + bias


def _nn_regression(spec: TaskSpec, param_seed: int, data_seed: int):
    f = spec.features_size
    data_gen = RandomGenerator((data_seed + _NN_DATA_OFFSET) % _U32)
    param_gen = RandomGenerator((param_seed + _NN_PARAM_OFFSET) % _U32)
    train_x, valid_x = _gaussian_features(data_gen, spec.num_train_examples, spec.num_valid_examples, f)
    first_layer = param_gen.gaussian_array(f * f, 0.0, 1.0).reshape(f, f)
    first_layer[0, :] = 0.0
    first_layer[2, :] = 0.0
    final_layer = param_gen.gaussian_array(f, 0.0, 1.0)
    final_layer[0] = 0.0
    final_layer[2] = 0.0

    def labels(x: np.ndarray) -> np.ndarray:
        hidden = _matvec_rows(first_layer, x)
        # ReLU as VECTOR_MAX_OP(hidden, zeros) with std::max semantics: (h < 0) ? 0 : h (keeps -0 and NaN).
        relu = np.where(hidden < 0.0, 0.0, hidden)
        return _dot_rows(relu, final_layer)

    return train_x, labels(train_x), valid_x, labels(valid_x)


def _increment_data(n: int, f: int, increment: float) -> tuple[np.ndarray, np.ndarray]:
    """Example k has every feature and its label equal to increment added k times, starting from 0."""
    steps = np.full(n, float(increment))
    steps[0] = 0.0
    values = np.add.accumulate(steps)  # sequential sums, like the reference's repeated +=
    return np.repeat(values[:, np.newaxis], f, axis=1), values


def _unit_test_data(spec: TaskSpec):
    f, n_train, n_valid = spec.features_size, spec.num_train_examples, spec.num_valid_examples
    if spec.kind == "unit_test_zeros":
        return np.zeros((n_train, f)), np.zeros(n_train), np.zeros((n_valid, f)), np.zeros(n_valid)
    if spec.kind == "unit_test_ones":
        return np.ones((n_train, f)), np.ones(n_train), np.ones((n_valid, f)), np.ones(n_valid)
    if spec.kind == "unit_test_increment":
        train_x, train_y = _increment_data(n_train, f, spec.increment)
        valid_x, valid_y = _increment_data(n_valid, f, spec.increment)
        return train_x, train_y, valid_x, valid_y
    train_x = np.array(spec.train_features, dtype=np.float64)
    valid_x = np.array(spec.valid_features, dtype=np.float64)
    for name, x in (("train_features", train_x), ("valid_features", valid_x)):
        if x.ndim != 2 or x.shape[1] != f:
            raise ValueError(f"unit_test_fixed: {name} must have {f} features per example, got shape {x.shape}")
    return train_x, spec.train_labels, valid_x, spec.valid_labels


def _make_one(spec: TaskSpec, param_seed: int, data_seed: int) -> Task:
    if spec.kind == "scalar_linear_regression":
        data = _linear_regression(spec, param_seed, data_seed)
    elif spec.kind == "scalar_affine_regression":
        data = _affine_regression(spec, param_seed, data_seed)
    elif spec.kind == "scalar_2layer_nn_regression":
        data = _nn_regression(spec, param_seed, data_seed)
    elif spec.kind == "projected_binary_classification":
        from azero.datasets import load_projected_task  # optional dependency chain, loaded only when needed

        data = load_projected_task(spec, data_seed, spec.num_train_examples, spec.num_valid_examples)
    elif spec.kind == "projected_regression":
        from azero.datasets import load_projected_regression_task

        data = load_projected_regression_task(spec, data_seed, spec.num_train_examples, spec.num_valid_examples)
    else:
        data = _unit_test_data(spec)
    assert spec.eval_type is not None  # TaskSpec.__post_init__ sets it
    train_features, train_labels, valid_features, valid_labels = data
    task = Task(
        train_features,
        train_labels,
        valid_features,
        valid_labels,
        eval_type=spec.eval_type,
        num_train_epochs=spec.num_train_epochs,
        data_seed=data_seed,
        param_seed=param_seed,
    )
    if task.features_size != spec.features_size:
        raise ValueError(f"task data has {task.features_size} features but the spec says {spec.features_size}")
    if (task.num_train_examples, task.num_valid_examples) != (spec.num_train_examples, spec.num_valid_examples):
        raise ValueError(
            f"task data has {task.num_train_examples} train / {task.num_valid_examples} valid examples but the spec "
            f"asks for {spec.num_train_examples} / {spec.num_valid_examples}"
        )
    return task


def make_tasks(specs: TaskSpec | Sequence[TaskSpec]) -> list[Task]:
    """The tasks of one spec or of a list of specs (a task collection), in order: for each spec, its
    ``num_tasks`` tasks with the seeds of :func:`task_seeds`."""
    spec_list = [specs] if isinstance(specs, TaskSpec) else list(specs)
    tasks: list[Task] = []
    for spec in spec_list:
        if not isinstance(spec, TaskSpec):
            raise TypeError(f"expected TaskSpec, got {type(spec).__name__}")
        tasks.extend(_make_one(spec, param_seed, data_seed) for param_seed, data_seed in task_seeds(spec))
    return tasks


def check_task_sources(specs: Sequence[TaskSpec]) -> None:
    """Fail early (DatasetError, one line) when a projected task's dataset folder is missing: before a search
    prints its seed or creates its run directory."""
    from azero.datasets import check_dataset_folder

    for spec in specs:
        if spec.kind == "projected_binary_classification":
            check_dataset_folder(spec)
