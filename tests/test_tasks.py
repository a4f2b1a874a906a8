"""Task generation (docs/semantics.md §7): golden values, seeds, reduction orders, unit-test tasks, epochs, validation."""
import math
import sys
import types

import numpy as np
import pytest

from azero._core.rng import RandomGenerator, hash_mix
from azero.tasks import (
    DEFAULT_DATA_SEEDS,
    DEFAULT_PARAM_SEEDS,
    Task,
    TaskSpec,
    epoch_orders,
    make_tasks,
    randomize_task_seeds,
    std_shuffle,
    task_seeds,
)

U32 = 2**32


def _spec(kind="scalar_linear_regression", f=4, n_train=10, n_valid=5, **kw):
    return TaskSpec(kind=kind, features_size=f, num_train_examples=n_train, num_valid_examples=n_valid, **kw)


def _close(actual, expected: str):
    """actual equals the decimal ``expected`` to the digits written (half a unit in its last place)."""
    digits = expected.split(".")[1] if "." in expected else ""
    assert abs(actual - float(expected)) <= 0.5 * 10.0 ** -len(digits) + 1e-15, (actual, expected)


# ------------------------------------------------------------------------------------------ golden values


@pytest.fixture(scope="module")
def golden_nn_task():
    spec = _spec("scalar_2layer_nn_regression", 4, 1000, 100, param_seeds=[1000], data_seeds=[10000])
    (task,) = make_tasks(spec)
    return task


def test_nn_regression_golden_values(golden_nn_task):
    t = golden_nn_task
    for actual, expected in zip(t.train_features[0], ["1.30836", "-0.192507", "0.549877", "-0.667065"]):
        _close(actual, expected)
    _close(t.train_labels[0], "1.508635")
    for actual, expected in zip(t.train_features[994], ["-0.265714", "1.38325", "0.775253", "1.78923"]):
        _close(actual, expected)
    _close(t.train_labels[994], "-2.8410525")
    for actual, expected in zip(t.valid_features[0], ["1.39658", "0.293097", "-0.504938", "-1.09144"]):
        _close(actual, expected)
    assert t.valid_labels[0] == 0.0
    for actual, expected in zip(t.valid_features[94], ["-0.224309", "1.78054", "1.24783", "0.54083"]):
        _close(actual, expected)
    _close(t.valid_labels[98], "-0.66133333")


def test_task_attributes(golden_nn_task):
    t = golden_nn_task
    assert t.train_features.shape == (1000, 4) and t.valid_features.shape == (100, 4)
    assert t.train_labels.shape == (1000,) and t.valid_labels.shape == (100,)
    for arr in (t.train_features, t.train_labels, t.valid_features, t.valid_labels):
        assert arr.dtype == np.float64 and arr.flags.c_contiguous
    assert (t.eval_type, t.eval_type_code, t.features_size, t.num_epochs) == ("rms_error", 1, 4, 1)
    assert t.epoch_orders.dtype == np.int64 and t.epoch_orders.shape == (1, 1000)
    assert (t.epoch_orders[0] == np.arange(1000)).all()
    assert (t.param_seed, t.data_seed) == (1000, 10000)
    assert repr(t) == "<Task F=4 train=1000x1 valid=100 rms_error>"


# ------------------------------------------------------------------------------------ data and label orders


def _packet_sum(x):
    """docs/semantics.md §2.4 order P (Eigen's unrolled packet redux) written out for F = 2, 4, 8, 16: lane-wise halving over
    the pairs (x0, x1), (x2, x3), ..., then lane 0 + lane 1."""
    if len(x) == 2:
        return x[0] + x[1]
    if len(x) == 4:
        return (x[0] + x[2]) + (x[1] + x[3])
    if len(x) == 8:
        return ((x[0] + x[2]) + (x[4] + x[6])) + ((x[1] + x[3]) + (x[5] + x[7]))
    lanes = [x[0::2], x[1::2]]
    l0, l1 = (((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])) for a in lanes)
    return l0 + l1


def _lanes_sum(x):
    """docs/semantics.md §2.4 order G: two sequential lanes from +0.0."""
    a = b = 0.0
    for k in range(0, len(x), 2):
        a += x[k]
        b += x[k + 1]
    return a + b


def _gaussians(seed, n):
    gen = RandomGenerator(seed % U32)
    return [gen.gaussian(0.0, 1.0) for _ in range(n)]


@pytest.mark.parametrize("f", [2, 4, 8, 16])
def test_linear_regression_streams_and_dot_order(f):
    spec = _spec(f=f, n_train=7, n_valid=3, param_seeds=[5], data_seeds=[U32 - 1])
    (t,) = make_tasks(spec)
    draws = _gaussians(U32 - 1 + 939723201, 10 * f)  # the seed sum wraps modulo 2^32
    assert t.train_features.ravel().tolist() == draws[: 7 * f]
    assert t.valid_features.ravel().tolist() == draws[7 * f :]
    w = _gaussians(5 + 997958712, f)
    for x, y in zip(np.vstack([t.train_features, t.valid_features]), np.concatenate([t.train_labels, t.valid_labels])):
        assert y == _packet_sum([w[i] * x[i] for i in range(f)])


@pytest.mark.parametrize("f", [4, 8, 16])
def test_nn_regression_teacher_and_reduction_orders(f):
    spec = _spec("scalar_2layer_nn_regression", f, 30, 10, param_seeds=[77], data_seeds=[88])
    (t,) = make_tasks(spec)
    draws = _gaussians(88 + 865546086, 40 * f)
    assert t.train_features.ravel().tolist() == draws[: 30 * f]
    params = _gaussians(77 + 174299604, f * f + f)
    w = [params[i * f : (i + 1) * f] for i in range(f)]
    w[0] = [0.0] * f
    w[2] = [0.0] * f
    u = params[f * f :]
    u[0] = u[2] = 0.0
    reduce_mv = _packet_sum if f <= 4 else _lanes_sum
    for x, y in zip(np.vstack([t.train_features, t.valid_features]), np.concatenate([t.train_labels, t.valid_labels])):
        h = [reduce_mv([w[i][k] * x[k] for k in range(f)]) for i in range(f)]
        relu = [0.0 if hi < 0.0 else hi for hi in h]
        expected = _packet_sum([relu[i] * u[i] for i in range(f)])
        assert np.float64(y).tobytes() == np.float64(expected).tobytes()


def _flip_and_squash(x):
    return 1.0 + -0.63661977236758138243 * math.atan(x)


@pytest.mark.parametrize(
    "kind, f, n_train, n_valid, seeds, learning_rate, expected",
    [
        ("scalar_linear_regression", 16, 20, 10, ([713870], [834278]), 0.1, ["0x1.f440a2dd128c4p-3"]),
        ("scalar_linear_regression", 8, 100, 20, ([525199], [626270]), 0.01,
         ["0x1.11a72d92bad76p-1", "0x1.3e485fa3b90ecp-1", "0x1.0d2cdbff2bd10p-1"]),
        ("scalar_2layer_nn_regression", 16, 20, 10, ([118610], [878170]), 0.05,
         ["0x1.7fc2226a82a00p-5", "0x1.c91f7cef01e40p-5"]),
    ],
)
def test_tasks_reproduce_cross_check_fitness(kind, f, n_train, n_valid, seeds, learning_rate, expected):
    """SGD of the linear model (docs/semantics.md §8.5) on generated tasks, scored as docs/semantics.md §3.5; expected values come from the
    executor cross-check vectors (an independent model of the reference)."""
    spec = _spec(kind, f, n_train, n_valid, num_tasks=len(expected), param_seeds=seeds[0], data_seeds=seeds[1])
    for task, fitness in zip(make_tasks(spec), expected):
        w = [0.0] * f
        for x, y in zip(task.train_features.tolist(), task.train_labels.tolist()):
            step = learning_rate * (y - _packet_sum([w[k] * x[k] for k in range(f)]))
            w = [w[k] + step * x[k] for k in range(f)]
        loss = 0.0
        for x, y in zip(task.valid_features.tolist(), task.valid_labels.tolist()):
            err = y - _packet_sum([w[k] * x[k] for k in range(f)])
            loss += err * err
        assert _flip_and_squash(math.sqrt(loss / n_valid)).hex() == fitness


def test_same_seeds_same_data_and_different_seeds_different_data():
    a = make_tasks(_spec(param_seeds=[1], data_seeds=[2]))[0]
    b = make_tasks(_spec(param_seeds=[1], data_seeds=[2]))[0]
    c = make_tasks(_spec(param_seeds=[1], data_seeds=[3]))[0]
    d = make_tasks(_spec(param_seeds=[4], data_seeds=[2]))[0]
    assert np.array_equal(a.train_features, b.train_features) and np.array_equal(a.valid_labels, b.valid_labels)
    assert not np.array_equal(a.train_features, c.train_features)
    assert np.array_equal(a.train_features, d.train_features) and not np.array_equal(a.train_labels, d.train_labels)


# ------------------------------------------------------------------------------------------------- seeds


def test_default_seeds_then_previous_plus_one():
    seeds = task_seeds(_spec(num_tasks=10))
    assert [p for p, _ in seeds] == list(DEFAULT_PARAM_SEEDS) + [1004, 1005]
    assert [d for _, d in seeds] == list(DEFAULT_DATA_SEEDS) + [11004, 11005]
    assert DEFAULT_PARAM_SEEDS == (1001, 1012, 1010, 1000, 1006, 1008, 1007, 1003)
    assert DEFAULT_DATA_SEEDS == (11001, 11012, 11010, 11000, 11006, 11008, 11007, 11003)


def test_seed_lists_extend_modulo_2_32():
    seeds = task_seeds(_spec(num_tasks=4, param_seeds=[7, U32 - 1], data_seeds=[U32 - 2]))
    assert seeds == [(7, U32 - 2), (U32 - 1, U32 - 1), (0, 0), (1, 1)]
    tasks = make_tasks(_spec(num_tasks=3, param_seeds=[9], data_seeds=[19]))
    assert [(t.param_seed, t.data_seed) for t in tasks] == [(9, 19), (10, 20), (11, 21)]
    alone = make_tasks(_spec(param_seeds=[10], data_seeds=[20]))[0]
    assert np.array_equal(tasks[1].train_features, alone.train_features)


def test_make_tasks_accepts_a_list_of_specs_in_order():
    specs = [_spec(num_tasks=2), _spec("unit_test_ones", f=2, n_train=3, n_valid=2)]
    tasks = make_tasks(specs)
    assert [t.features_size for t in tasks] == [4, 4, 2]
    assert [t.data_seed for t in tasks] == [11001, 11012, 11001]
    with pytest.raises(TypeError, match="expected TaskSpec"):
        make_tasks([{"kind": "unit_test_ones"}])


def test_randomize_task_seeds_is_deterministic_and_uses_two_streams():
    specs = [_spec(num_tasks=2, param_seeds=[1, 2]), _spec(num_tasks=3)]
    first = randomize_task_seeds(specs, 1234)
    assert first == randomize_task_seeds(specs, 1234)
    assert first != randomize_task_seeds(specs, 1235)
    assert specs[0].param_seeds == [1, 2] and specs[1].data_seeds == []  # inputs untouched
    param_gen = RandomGenerator(hash_mix(85652777, 1234))
    data_gen = RandomGenerator(hash_mix(38272328, 1234))
    params = [param_gen.random_seed() for _ in range(5)]
    datas = [data_gen.random_seed() for _ in range(5)]
    assert first[0].param_seeds == params[:2] and first[1].param_seeds == params[2:]
    assert first[0].data_seeds == datas[:2] and first[1].data_seeds == datas[2:]
    assert all(2 <= s <= U32 - 2 for spec in first for s in spec.param_seeds + spec.data_seeds)
    assert randomize_task_seeds(specs[1], 99) == randomize_task_seeds([specs[1]], 99)


# --------------------------------------------------------------------------------------------- unit tests


def test_zeros_and_ones_tasks():
    zeros, ones = make_tasks([_spec("unit_test_zeros", 8, 4, 3), _spec("unit_test_ones", 8, 4, 3)])
    assert zeros.train_features.shape == (4, 8) and not zeros.train_features.any() and not zeros.valid_labels.any()
    assert (ones.train_features == 1.0).all() and (ones.valid_features == 1.0).all()
    assert (ones.train_labels == 1.0).all() and ones.valid_labels.shape == (3,)


def test_increment_task_adds_the_increment_repeatedly_and_restarts_for_valid():
    (t,) = make_tasks(_spec("unit_test_increment", 2, 5, 3, increment=0.1))
    expected, value = [], 0.0
    for _ in range(5):
        expected.append(value)
        value += 0.1
    assert t.train_labels.tolist() == expected  # 0.30000000000000004, not 3 * 0.1
    assert t.train_features.tolist() == [[v, v] for v in expected]
    assert t.valid_labels.tolist() == expected[:3]
    (default,) = make_tasks(_spec("unit_test_increment", 4, 3, 2))
    assert default.train_labels.tolist() == [0.0, 1.0, 2.0] and default.valid_features[1].tolist() == [1.0] * 4


def test_fixed_task():
    spec = _spec(
        "unit_test_fixed", 2, 2, 1,
        train_features=[[1, 2], [3, 4]], train_labels=[5, 6], valid_features=[[7, 8]], valid_labels=[9],
    )
    (t,) = make_tasks(spec)
    assert t.train_features.tolist() == [[1.0, 2.0], [3.0, 4.0]] and t.valid_labels.tolist() == [9.0]
    with pytest.raises(ValueError, match="must equal the number of given examples"):
        _spec("unit_test_fixed", 2, 3, 1, train_features=[[1, 2]], train_labels=[5], valid_features=[[7, 8]],
              valid_labels=[9])
    with pytest.raises(ValueError, match="needs train_features"):
        _spec("unit_test_fixed", 2, 1, 1)
    bad = _spec("unit_test_fixed", 4, 1, 1, train_features=[[1, 2]], train_labels=[5], valid_features=[[7, 8]],
                valid_labels=[9])
    with pytest.raises(ValueError, match="must have 4 features"):
        make_tasks(bad)


# ------------------------------------------------------------------------------------------------- epochs

# Orders printed by a g++ 12 (libstdc++) program: std::mt19937 g(seed); for each epoch print the list, then
# std::shuffle(list.begin(), list.end(), g).
LIBSTDCXX_EPOCHS = {
    (5489, 10): [list(range(10)), [2, 9, 0, 5, 4, 6, 7, 1, 3, 8], [6, 4, 3, 1, 7, 2, 9, 8, 5, 0]],
    (5489, 9): [list(range(9)), [3, 2, 4, 6, 1, 5, 8, 0, 7], [4, 0, 2, 8, 1, 5, 7, 3, 6]],
    (1, 2): [[0, 1], [1, 0], [1, 0]],
    (1, 1): [[0], [0]],
}
# First 8 entries after one shuffle, and the generator output after a second shuffle, around the n^2 < 2^32
# switch of the pairwise draws (seed 42).
LIBSTDCXX_LARGE = {
    65535: ([62975, 49266, 14830, 16855, 60348, 46743, 43775, 49614], 2437246434),
    65536: ([37384, 53608, 43891, 25566, 61703, 52017, 54481, 12044], 1967300302),
    70001: ([67453, 53608, 43891, 25566, 61703, 52017, 68291, 12044], 985502970),
}
EPOCH_OFFSET = 3274582109


@pytest.mark.parametrize("seed, n", list(LIBSTDCXX_EPOCHS))
def test_epoch_orders_match_libstdcxx_shuffle(seed, n):
    expected = LIBSTDCXX_EPOCHS[(seed, n)]
    orders = epoch_orders(n, len(expected), (seed - EPOCH_OFFSET) % U32)
    assert orders.dtype == np.int64 and orders.tolist() == expected


@pytest.mark.parametrize("n", list(LIBSTDCXX_LARGE))
def test_std_shuffle_large_ranges_and_rng_consumption(n):
    head, next_word = LIBSTDCXX_LARGE[n]
    gen = RandomGenerator(42)
    items = list(range(n))
    std_shuffle(items, gen)
    assert items[:8] == head and sorted(items) == list(range(n))
    std_shuffle(items, gen)
    assert gen.next_u32() == next_word


def test_multi_epoch_tasks():
    spec = _spec(n_train=50, num_train_epochs=4, data_seeds=[123])
    (t,) = make_tasks(spec)
    assert t.num_epochs == 4 and t.epoch_orders.shape == (4, 50)
    assert (t.epoch_orders[0] == np.arange(50)).all()
    for epoch in t.epoch_orders[1:]:
        assert sorted(epoch.tolist()) == list(range(50)) and (epoch != np.arange(50)).any()
    assert len({tuple(e) for e in t.epoch_orders.tolist()}) == 4
    assert np.array_equal(t.epoch_orders, make_tasks(spec)[0].epoch_orders)
    assert np.array_equal(t.epoch_orders, epoch_orders(50, 4, 123))
    other = make_tasks(_spec(n_train=50, num_train_epochs=4, data_seeds=[124]))[0]
    assert not np.array_equal(t.epoch_orders, other.epoch_orders)


# ------------------------------------------------------------------------------------------ user-data tasks


def _arrays(n=6, f=4):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, f)), (rng.random(n) > 0.5).astype(float), rng.normal(size=(3, f)), np.array([0, 1, 1.0])


def test_task_from_user_arrays():
    tx, ty, vx, vy = _arrays()
    t = Task(tx.tolist(), ty, np.asfortranarray(vx), vy)
    assert (t.eval_type, t.eval_type_code, t.features_size, t.num_epochs) == ("accuracy", 4, 4, 1)
    assert t.valid_features.flags.c_contiguous and np.array_equal(t.valid_features, vx)
    assert t.data_seed is None and (t.epoch_orders == np.arange(6)).all()
    assert t.num_train_examples == 6 and t.num_valid_examples == 3
    tx[0, 0] = 99.0
    assert t.train_features[0, 0] != 99.0
    regression = Task(tx, ty * 3.5, vx, vy * 2.5, eval_type="rms_error")
    assert regression.eval_type_code == 1
    shuffled = Task(tx, ty, vx, vy, num_train_epochs=3, data_seed=7)
    assert np.array_equal(shuffled.epoch_orders, epoch_orders(6, 3, 7))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: (a[0][:, :3], *a[1:]), "train_features has 3 features per example"),
        (lambda a: (a[0][0], *a[1:]), "train_features must be 2-d"),
        (lambda a: (a[0][:0], a[1][:0], *a[2:]), "train_features has no examples"),
        (lambda a: (a[0], a[1], a[2][:, :2], a[3]), "valid_features has 2 features per example but train_features"),
        (lambda a: (np.where(a[0] > 1, np.nan, a[0]), *a[1:]), "train_features contains NaN or infinite values"),
        (lambda a: (a[0], a[1][:5], *a[2:]), "train_labels has 5 labels but there are 6 examples"),
        (lambda a: (a[0], a[1][:, None], *a[2:]), "train_labels must be 1-d"),
        (lambda a: (a[0], a[1], a[2], np.array([0, 1, np.inf])), "valid_labels contains NaN or infinite values"),
        (lambda a: (a[0], a[1], a[2], np.array([0, 0.5, 1])), "valid_labels must be 0 or 1 for eval_type 'accuracy'"),
        (lambda a: (a[0], [["x"]] * 6, a[2], a[3]), "train_labels must be a 1-d array of numbers"),
    ],
)
def test_task_validation_errors(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Task(*change(_arrays()))


def test_task_argument_errors():
    tx, ty, vx, vy = _arrays()
    with pytest.raises(ValueError, match="unknown eval_type 'mse'"):
        Task(tx, ty, vx, vy, eval_type="mse")
    with pytest.raises(ValueError, match="num_train_epochs must be a positive integer"):
        Task(tx, ty, vx, vy, num_train_epochs=0)
    with pytest.raises(ValueError, match="needs a data_seed"):
        Task(tx, ty, vx, vy, num_train_epochs=2)


# ------------------------------------------------------------------------------------------- spec checks


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="scalar_cubic_regression"), "unknown task kind"),
        (dict(f=3), "features_size must be one of"),
        (dict(kind="scalar_2layer_nn_regression", f=2), "needs features_size >= 4"),
        (dict(eval_type="accuracy"), "support only eval_type 'rms_error'"),
        (dict(eval_type="bogus"), "unknown eval_type"),
        (dict(n_train=0), "num_train_examples must be a positive integer"),
        (dict(num_tasks=0), "num_tasks must be a positive integer"),
        (dict(num_train_epochs=0), "num_train_epochs must be a positive integer"),
        (dict(param_seeds=[-1]), r"param_seeds must be integers in \[0, 2\^32\)"),
        (dict(data_seeds=[U32]), r"data_seeds must be integers in \[0, 2\^32\)"),
        (dict(kind="projected_binary_classification", positive_class=1), "give both positive_class and negative_class"),
        (dict(kind="projected_binary_classification", eval_type="rms_error"), "supports only eval_type 'accuracy'"),
    ],
)
def test_task_spec_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _spec(**kwargs)


def test_task_spec_normalises_kind_and_eval_type():
    spec = _spec("SCALAR_LINEAR_REGRESSION_TASK", eval_type="RMS_ERROR")
    assert (spec.kind, spec.eval_type) == ("scalar_linear_regression", "rms_error")
    assert _spec(eval_type=1).eval_type == "rms_error"
    assert _spec("projected_binary_classification").eval_type == "accuracy"
    assert _spec("unit_test_ones", eval_type=4).eval_type == "accuracy"


def test_projected_tasks_are_loaded_through_the_datasets_hook(monkeypatch):
    calls = []

    def load_projected_task(spec, data_seed, num_train, num_valid):
        calls.append((spec.dataset_name, data_seed, num_train, num_valid))
        x = np.full((num_train, 16), float(data_seed))
        return x, np.arange(num_train) % 2, np.zeros((num_valid, 16)), np.ones(num_valid)

    monkeypatch.setitem(sys.modules, "azero.datasets", types.SimpleNamespace(load_projected_task=load_projected_task))
    spec = _spec("projected_binary_classification", 16, 8, 4, num_tasks=2, data_seeds=[3], dataset_name="cifar10")
    tasks = make_tasks(spec)
    assert calls == [("cifar10", 3, 8, 4), ("cifar10", 4, 8, 4)]
    assert [t.eval_type_code for t in tasks] == [4, 4]
    assert tasks[1].train_features[0, 0] == 4.0 and tasks[0].train_labels.tolist() == [0, 1] * 4
    with pytest.raises(ValueError, match="task data has 16 features but the spec says 8"):
        make_tasks(_spec("projected_binary_classification", 8, 8, 4))
