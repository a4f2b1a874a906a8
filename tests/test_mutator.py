"""Mutator (docs/semantics.md §8 and §6.7): results and random-stream consumption against a pure-Python model of those sections."""
import ctypes
import ctypes.util

import numpy as np
import pytest

from azero._core import INSTRUCTION_DTYPE
from azero._core.mutator import Mutator
from azero._core.rng import RandomGenerator
from azero import ops as op_table
from azero._core.ops import (ALTER_PARAM, IDENTITY, INSERT_INSTRUCTION, RANDOMIZE_ALGORITHM, RANDOMIZE_COMPONENT_FUNCTION,
                       RANDOMIZE_INSTRUCTION, REMOVE_INSTRUCTION, TRADE_INSTRUCTION)

# ----------------------------------------------------------------------------------------------------------------
# Op table of docs/semantics.md §2.1: category (0 data, 1 one input, 2 two inputs, 3 NO_OP), then the in1, in2, out banks.
# ----------------------------------------------------------------------------------------------------------------
_OPS = (
    "3---",                                   # 0 NO_OP
    "2sss", "2sss", "2sss", "2sss",           # 1-4 scalar sum, diff, product, division
    *["1s-s"] * 11,                           # 5-15 abs .. heaviside
    "1v-v", "1m-m",                           # 16-17 vector/matrix heaviside
    "2svv", "1s-v", "1v-v", "1v-s", "1v-v",   # 18-22
    "2vvv", "2vvv", "2vvv", "2vvv",           # 23-26
    "2vvs", "2vvm", "2smm", "1m-m", "2mvv",   # 27-31
    "1v-m", "1v-m", "1m-s", "1m-v", "1m-v",   # 32-36
    "1m-m", "1m-m",                           # 37-38
    "2mmm", "2mmm", "2mmm", "2mmm", "2mmm",   # 39-43
    "2sss", "2vvv", "2mmm", "2sss", "2vvv", "2mmm",  # 44-49 min/max
    "1v-s", "1m-s", "1m-v", "1m-v", "1v-s", "1m-s",  # 50-55
    "0--s", "0--v", "0--m",                   # 56-58 const sets
    "0--s", "0--v", "0--m",                   # 59-61 uniform sets
    "0--s", "0--v", "0--m",                   # 62-64 gaussian sets
)
assert len(_OPS) == 65
_BANK = {"-": 0, "s": 1, "v": 2, "m": 3}
CATEGORY = np.array([int(row[0]) for row in _OPS], dtype=np.uint8)
IN1 = np.array([_BANK[row[1]] for row in _OPS], dtype=np.uint8)
IN2 = np.array([_BANK[row[2]] for row in _OPS], dtype=np.uint8)
OUT = np.array([_BANK[row[3]] for row in _OPS], dtype=np.uint8)

SCALAR_CONST_SET, VECTOR_CONST_SET, MATRIX_CONST_SET = 56, 57, 58
UNIFORM_SETS = (59, 60, 61)
GAUSSIAN_SETS = (62, 63, 64)

# glibc libm, as the reference uses (float logf/expf for the float LogScale, double log/exp for activations).
_libm = ctypes.CDLL(ctypes.util.find_library("m"))
for _name, _type in (("logf", ctypes.c_float), ("expf", ctypes.c_float), ("log", ctypes.c_double),
                     ("exp", ctypes.c_double)):
    getattr(_libm, _name).restype = _type
    getattr(_libm, _name).argtypes = [_type]
f32 = np.float32


# ----------------------------------------------------------------------------------------------------------------
# Independent model written from docs/semantics.md §8; instructions are lists [op, in1, in2, out, activation, f0, f1, f2].
# ----------------------------------------------------------------------------------------------------------------
class Model:
    def __init__(self, actions, mutate_prob, ops, mins, maxs, banks):
        self.actions = list(actions)
        self.mutate_prob = mutate_prob
        self.ops = [list(o) for o in ops]
        self.mins, self.maxs = list(mins), list(maxs)
        self.counts = {1: banks[0], 2: banks[1], 3: banks[2]}
        self.cfs = [k for k in range(3) if self.ops[k]]

    def in_address(self, bank, rng):
        return rng.uniform_u16(0, self.counts[bank])

    def out_address(self, bank, rng):
        return rng.uniform_u16(0 if bank == 3 else 1, self.counts[bank])

    def random_instruction(self, op, rng):
        ins = [op, 0, 0, 0, 0.0, f32(0), f32(0), f32(0)]
        cat = CATEGORY[op]
        if cat == 0:
            ins[3] = self.out_address(OUT[op], rng)
            if op == SCALAR_CONST_SET:
                ins[4] = rng.uniform_open(-1.0, 1.0)
            elif op == VECTOR_CONST_SET:
                ins[5] = f32(rng.uniform_float(0.0, 1.0))
                ins[6] = f32(rng.uniform_float(-1.0, 1.0))
            elif op == MATRIX_CONST_SET:
                ins[5] = f32(rng.uniform_float(0.0, 1.0))
                ins[6] = f32(rng.uniform_float(0.0, 1.0))
                ins[7] = f32(rng.uniform_float(-1.0, 1.0))
            elif op in GAUSSIAN_SETS:
                ins[5] = f32(rng.uniform_float(-1.0, 1.0))
                ins[6] = f32(rng.uniform_float(0.0, 1.0))
            else:
                ins[5] = f32(rng.uniform_float(-1.0, 1.0))
                ins[6] = f32(rng.uniform_float(-1.0, 1.0))
        elif cat == 1:
            ins[1] = self.in_address(IN1[op], rng)
            ins[3] = self.out_address(OUT[op], rng)
        elif cat == 2:
            ins[1] = self.in_address(IN1[op], rng)
            ins[2] = self.in_address(IN2[op], rng)
            ins[3] = self.out_address(OUT[op], rng)
        return ins

    @staticmethod
    def log_scale_double(x, rng):
        g = rng.gaussian(0.0, 1.0)
        if x > 0:
            return _libm.exp(_libm.log(x) + g)
        return -_libm.exp(_libm.log(-x) + g)

    @staticmethod
    def log_scale_float(x, rng):
        g = f32(rng.gaussian_float(0.0, 1.0))
        if x > 0:
            return f32(_libm.expf(float(f32(_libm.logf(float(x))) + g)))
        return -f32(_libm.expf(float(f32(_libm.logf(float(-x))) + g)))

    def flip_or_scale(self, x, rng, scale):
        if float(rng.uniform_prob()) < 0.1:
            return -x
        return scale(x, rng)

    def alter(self, ins, rng):
        ins = list(ins)
        op, cat = ins[0], CATEGORY[ins[0]]
        if cat == 3:
            return ins
        if cat == 1:
            if rng.uniform_i64(0, 2) == 0:
                ins[1] = self.in_address(IN1[op], rng)
            else:
                ins[3] = self.out_address(OUT[op], rng)
            return ins
        if cat == 2:
            c = rng.uniform_i64(0, 3)
            if c == 0:
                ins[1] = self.in_address(IN1[op], rng)
            elif c == 1:
                ins[2] = self.in_address(IN2[op], rng)
            else:
                ins[3] = self.out_address(OUT[op], rng)
            return ins
        if rng.uniform_i64(0, 2) == 0:
            ins[3] = self.out_address(OUT[op], rng)
            return ins
        fl = self.log_scale_float
        if op == SCALAR_CONST_SET:
            ins[4] = self.flip_or_scale(ins[4], rng, self.log_scale_double)
        elif op == VECTOR_CONST_SET:
            if rng.uniform_i64(0, 2) == 0:
                ins[5] = f32(rng.uniform_float(0.0, 1.0))
            else:
                ins[6] = self.flip_or_scale(ins[6], rng, fl)
        elif op == MATRIX_CONST_SET:
            c = rng.uniform_i64(0, 3)
            if c == 0:
                ins[5] = f32(rng.uniform_float(0.0, 1.0))
            elif c == 1:
                ins[6] = f32(rng.uniform_float(0.0, 1.0))
            else:
                ins[7] = self.flip_or_scale(ins[7], rng, fl)
        elif op in GAUSSIAN_SETS:
            if rng.uniform_i64(0, 2) == 0:
                ins[5] = self.flip_or_scale(ins[5], rng, fl)
            else:
                ins[6] = fl(ins[6], rng)
        else:
            low, high = ins[5], ins[6]
            if rng.uniform_i64(0, 2) == 0:
                low = self.flip_or_scale(low, rng, fl)
            else:
                high = self.flip_or_scale(high, rng, fl)
            ins[5] = high if high < low else low
            ins[6] = high if low < high else low
        return ins

    def op(self, k, rng):
        return self.ops[k][rng.uniform_u16(0, len(self.ops[k]))]

    def cf(self, rng):
        return self.cfs[rng.uniform_i64(0, len(self.cfs))]

    def randomize_function(self, prog, k, rng):
        for i in range(len(prog[k])):
            prog[k][i] = self.random_instruction(self.op(k, rng), rng)

    def randomize(self, prog, rng):
        for k in range(3):
            if self.ops[k]:
                self.randomize_function(prog, k, rng)

    def insert(self, fn, op, rng):
        pos = rng.uniform_u16(0, len(fn) + 1)
        fn.insert(pos, self.random_instruction(op, rng))

    def remove(self, fn, rng):
        del fn[rng.uniform_u16(0, len(fn))]

    def mutate_once(self, prog, rng):
        action = self.actions[rng.uniform_u64(0, len(self.actions))]
        if action == IDENTITY:
            return
        if action == RANDOMIZE_ALGORITHM:
            self.randomize(prog, rng)
            return
        k = self.cf(rng)
        fn = prog[k]
        if action == ALTER_PARAM:
            if fn:
                pos = rng.uniform_u16(0, len(fn))
                fn[pos] = self.alter(fn[pos], rng)
        elif action == RANDOMIZE_INSTRUCTION:
            if fn:
                pos = rng.uniform_u16(0, len(fn))
                fn[pos] = self.random_instruction(self.op(k, rng), rng)
        elif action == RANDOMIZE_COMPONENT_FUNCTION:
            self.randomize_function(prog, k, rng)
        elif action == INSERT_INSTRUCTION:
            if len(fn) < self.maxs[k] - 1:
                self.insert(fn, self.op(k, rng), rng)
        elif action == REMOVE_INSTRUCTION:
            if len(fn) > self.mins[k]:
                self.remove(fn, rng)
        elif action == TRADE_INSTRUCTION:
            self.insert(fn, self.op(k, rng), rng)
            self.remove(fn, rng)

    def mutate(self, prog, rng, num_mutations):
        if self.mutate_prob >= 1.0 or float(rng.uniform_prob()) < self.mutate_prob:
            for _ in range(num_mutations):
                self.mutate_once(prog, rng)


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------
def to_array(fn):
    return np.array([tuple(ins) for ins in fn], dtype=INSTRUCTION_DTYPE)


def to_lists(arr):
    return [[int(r["op"]), int(r["in1"]), int(r["in2"]), int(r["out"]), float(r["activation"]), f32(r["f0"]),
             f32(r["f1"]), f32(r["f2"])] for r in arr]


def assert_same_records(actual, expected):
    """Field by field and bit for bit (signed zeros included)."""
    assert actual.dtype == INSTRUCTION_DTYPE and actual.shape == expected.shape
    for name, bits in (("op", None), ("in1", None), ("in2", None), ("out", None), ("activation", np.uint64),
                       ("f0", np.uint32), ("f1", np.uint32), ("f2", np.uint32)):
        a, e = actual[name], expected[name]
        if bits is not None:
            a, e = a.view(bits), e.view(bits)
        assert np.array_equal(a, e), name


def same_records(actual, expected):
    try:
        assert_same_records(actual, expected)
    except AssertionError:
        return False
    return True


def same_state(a, b):
    return np.array_equal(a.get_state(), b.get_state())


def random_program_arrays(gen, sizes, banks, op_pool=tuple(range(65))):
    """Arbitrary instructions (any op, unsorted uniform bounds, zero and negative data) to mutate."""
    arrays = []
    for size in sizes:
        arr = np.zeros(size, dtype=INSTRUCTION_DTYPE)
        arr["op"] = gen.choice(op_pool, size)
        for i, op in enumerate(arr["op"]):
            if op == 0:
                continue
            count = {1: banks[0], 2: banks[1], 3: banks[2]}
            if IN1[op]:
                arr["in1"][i] = gen.integers(0, count[IN1[op]])
            if IN2[op]:
                arr["in2"][i] = gen.integers(0, count[IN2[op]])
            arr["out"][i] = gen.integers(0, count[OUT[op]])
            if CATEGORY[op] == 0:
                special = gen.integers(0, 4)
                values = gen.normal(0, 2, 4) if special else np.array([0.0, -0.0, 0.0, -0.0])
                arr["activation"][i] = values[0]
                arr["f0"][i], arr["f1"][i], arr["f2"][i] = values[1:]
        arrays.append(arr)
    return arrays


def make_mutator(actions, ops, mins=(0, 0, 0), maxs=(10, 10, 10), banks=(4, 3, 1), mutate_prob=1.0):
    mutator = Mutator(
        allowed_mutation_types=list(actions), mutate_prob=mutate_prob,
        setup_ops=ops[0], predict_ops=ops[1], learn_ops=ops[2],
        setup_size_min=mins[0], setup_size_max=maxs[0], predict_size_min=mins[1], predict_size_max=maxs[1],
        learn_size_min=mins[2], learn_size_max=maxs[2],
        num_scalars=banks[0], num_vectors=banks[1], num_matrices=banks[2],
        op_category=CATEGORY, in1_bank=IN1, in2_bank=IN2, out_bank=OUT)
    model = Model(actions, mutate_prob, ops, mins, maxs, banks)
    return mutator, model


_DEMO = [56, 27, 2, 3, 18, 23]
_BASELINE = ([56, 62, 59, 63, 60, 64, 61], [1, 31, 48, 27, 23], [1, 2, 3, 18, 23, 16, 25, 28, 39])
_FULL = list(np.random.default_rng(3).permutation(65)) + [56, 57, 58, 59, 60, 61, 62, 63, 64]
# name: (ops per function, size mins, size maxs, (S, V, M))
CONFIGS = {
    "demo": ((_DEMO, _DEMO, _DEMO), (2, 1, 3), (8, 6, 10), (4, 3, 1)),
    "linear": (([56], [27], [2, 3, 18, 23]), (1, 1, 4), (4, 3, 9), (4, 3, 1)),
    "nonlinear": (([63, 64], [], []), (1, 0, 0), (7, 0, 0), (5, 9, 2)),
    "baseline": (_BASELINE, (3, 1, 2), (21, 11, 16), (5, 9, 2)),
    "full": ((_FULL, _FULL[:30], _FULL[20:]), (0, 0, 1), (9, 5, 7), (20, 20, 20)),
    "data": ((list(range(56, 65)),) * 3, (0, 0, 0), (12, 12, 12), (6, 5, 4)),
    "tiny": (([0, 56, 57, 58], [0], [44, 45, 46, 59, 60, 61, 62, 63, 64]), (0, 0, 0), (3, 2, 4), (2, 2, 1)),
}
ACTION_SETS = [[t] for t in range(8)] + [[0, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5]]


def run_against_model(config, actions, mutate_prob, steps, seed, op_pool=tuple(range(65))):
    ops, mins, maxs, banks = CONFIGS[config]
    mutator, model = make_mutator(actions, ops, mins, maxs, banks, mutate_prob)
    gen = np.random.default_rng(seed)
    sizes = [int(gen.integers(lo, max(lo + 1, hi))) if o else int(gen.integers(0, 5))
             for lo, hi, o in zip(mins, maxs, ops)]
    arrays = random_program_arrays(gen, sizes, banks, op_pool)
    prog = [to_lists(a) for a in arrays]
    rng, rng_model = RandomGenerator(seed), RandomGenerator(seed)
    for _ in range(steps):
        n = int(gen.integers(0, 4))
        arrays = list(mutator.mutate_arrays(*arrays, rng, num_mutations=n))
        model.mutate(prog, rng_model, n)
        for k in range(3):
            assert_same_records(arrays[k], to_array(prog[k]))
        assert same_state(rng, rng_model)
    return arrays


# ----------------------------------------------------------------------------------------------------------------
# Exactness against the model
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("actions", ACTION_SETS, ids=lambda a: "-".join(map(str, a)))
def test_mutations_match_model(config, actions):
    arrays = run_against_model(config, actions, 1.0, steps=80, seed=1000 + 17 * len(actions) + actions[0])
    ops, mins, maxs, _ = CONFIGS[config]
    for k in range(3):
        if ops[k]:  # started within [min, max - 1], so it stays there
            assert mins[k] <= len(arrays[k]) <= maxs[k] - 1


def test_alter_param_of_data_ops_matches_model():
    """Many float and double LogScale / flip alterations (docs/semantics.md §8.2), signed zeros included."""
    run_against_model("data", [ALTER_PARAM], 1.0, steps=500, seed=31, op_pool=tuple(range(56, 65)))


@pytest.mark.parametrize("mutate_prob", [0.0, 0.3, 0.9])
def test_mutate_prob_below_one_matches_model(mutate_prob):
    run_against_model("baseline", ACTION_SETS[-1], mutate_prob, steps=150, seed=77)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_randomize_matches_model(config):
    ops, mins, maxs, banks = CONFIGS[config]
    mutator, model = make_mutator([RANDOMIZE_ALGORITHM], ops, mins, maxs, banks)
    gen = np.random.default_rng(5)
    rng, rng_model = RandomGenerator(11), RandomGenerator(11)
    for _ in range(20):
        arrays = random_program_arrays(gen, [int(s) for s in gen.integers(0, 12, 3)], banks)
        out = mutator.randomize_arrays(*arrays, rng)
        prog = [to_lists(a) for a in arrays]
        model.randomize(prog, rng_model)
        for k in range(3):
            assert_same_records(out[k], to_array(prog[k]))
            if not ops[k]:
                assert out[k].tobytes() == arrays[k].tobytes()
        assert same_state(rng, rng_model)


def test_random_instruction_matches_model_for_every_op():
    mutator, model = make_mutator([IDENTITY], ([1], [], []), banks=(6, 5, 3))
    rng, rng_model = RandomGenerator(2024), RandomGenerator(2024)
    for _ in range(30):
        for op in range(65):
            record = mutator.random_instruction(op, rng)
            assert_same_records(np.array([record], dtype=INSTRUCTION_DTYPE),
                                to_array([model.random_instruction(op, rng_model)]))
    assert same_state(rng, rng_model)


# ----------------------------------------------------------------------------------------------------------------
# Draw counts and properties checked directly on the generator
# ----------------------------------------------------------------------------------------------------------------
def test_mutate_prob_one_draws_nothing_for_zero_mutations():
    mutator, _ = make_mutator(ACTION_SETS[-1], (_DEMO, _DEMO, _DEMO), mutate_prob=1.0)
    arrays = random_program_arrays(np.random.default_rng(0), [3, 4, 5], (4, 3, 1))
    rng = RandomGenerator(9)
    before = rng.get_state()
    out = mutator.mutate_arrays(*arrays, rng, num_mutations=0)
    assert np.array_equal(rng.get_state(), before)
    assert all(same_records(o, a) for o, a in zip(out, arrays))


@pytest.mark.parametrize("mutate_prob", [0.0, 0.5, 0.999])
def test_mutate_prob_below_one_draws_one_uniform_prob(mutate_prob):
    mutator, _ = make_mutator(ACTION_SETS[-1], (_DEMO, _DEMO, _DEMO), mutate_prob=mutate_prob)
    arrays = random_program_arrays(np.random.default_rng(0), [3, 4, 5], (4, 3, 1))
    for seed in range(20):
        rng, expected = RandomGenerator(seed), RandomGenerator(seed)
        out = mutator.mutate_arrays(*arrays, rng, num_mutations=0)
        expected.uniform_prob()
        assert same_state(rng, expected)
        assert all(same_records(o, a) for o, a in zip(out, arrays))
    # mutate_prob 0 never mutates, whatever the number of mutations asked.
    rng, expected = RandomGenerator(1), RandomGenerator(1)
    if mutate_prob == 0.0:
        out = mutator.mutate_arrays(*arrays, rng, num_mutations=5)
        expected.uniform_prob()
        assert same_state(rng, expected)
        assert all(same_records(o, a) for o, a in zip(out, arrays))


def test_identity_draws_only_the_action():
    mutator, _ = make_mutator([IDENTITY] * 3, (_DEMO, _DEMO, _DEMO))
    arrays = random_program_arrays(np.random.default_rng(0), [3, 4, 5], (4, 3, 1))
    rng, expected = RandomGenerator(4), RandomGenerator(4)
    out = mutator.mutate_arrays(*arrays, rng, num_mutations=7)
    for _ in range(7):
        assert expected.uniform_u64(0, 3) < 3
    assert same_state(rng, expected)
    assert all(same_records(o, a) for o, a in zip(out, arrays))


def test_insert_and_remove_respect_size_bounds():
    ops = (_DEMO, _DEMO, _DEMO)
    mins, maxs = (2, 0, 3), (6, 2, 9)
    inserter, _ = make_mutator([INSERT_INSTRUCTION], ops, mins, maxs)
    remover, _ = make_mutator([REMOVE_INSTRUCTION], ops, mins, maxs)
    arrays = random_program_arrays(np.random.default_rng(0), [3, 0, 5], (4, 3, 1))
    rng = RandomGenerator(3)
    arrays = inserter.mutate_arrays(*arrays, rng, num_mutations=200)
    assert [len(a) for a in arrays] == [m - 1 for m in maxs]  # max is exclusive
    arrays = remover.mutate_arrays(*arrays, rng, num_mutations=200)
    assert [len(a) for a in arrays] == list(mins)  # min is inclusive
    # At a bound the skipped step draws only the action and the component function.
    for mutator, bound in ((inserter, [m - 1 for m in maxs]), (remover, list(mins))):
        arrays = random_program_arrays(np.random.default_rng(1), bound, (4, 3, 1))
        rng, expected = RandomGenerator(8), RandomGenerator(8)
        out = mutator.mutate_arrays(*arrays, rng, num_mutations=5)
        for _ in range(5):
            expected.uniform_u64(0, 1)
            expected.uniform_i64(0, 3)
        assert same_state(rng, expected)
        assert all(same_records(o, a) for o, a in zip(out, arrays))


def test_trade_keeps_sizes_even_beyond_the_bounds():
    mutator, _ = make_mutator([TRADE_INSTRUCTION], (_DEMO, _DEMO, _DEMO), (2, 2, 2), (3, 3, 3))
    arrays = random_program_arrays(np.random.default_rng(0), [1, 2, 7], (4, 3, 1))
    sizes = [len(a) for a in arrays]
    assert mutator.capacity_needed(sizes) == (4, 4, 8)
    out = mutator.mutate_arrays(*arrays, RandomGenerator(5), num_mutations=100)
    assert [len(a) for a in out] == sizes


def test_empty_op_lists_are_never_touched():
    ops, mins, maxs, banks = CONFIGS["nonlinear"]
    mutator, _ = make_mutator(ACTION_SETS[-1], ops, mins, maxs, banks)
    arrays = random_program_arrays(np.random.default_rng(2), [4, 6, 9], banks)
    out = mutator.mutate_arrays(*arrays, RandomGenerator(6), num_mutations=300)
    assert same_records(out[1], arrays[1]) and same_records(out[2], arrays[2])
    assert not same_records(out[0], arrays[0])
    assert set(out[0]["op"]) <= {63, 64} | set(arrays[0]["op"])


def test_random_addresses_and_data_stay_in_range():
    banks = (4, 3, 2)
    mutator, _ = make_mutator([IDENTITY], ([1], [], []), banks=banks)
    out_ranges = {1: range(1, banks[0]), 2: range(1, banks[1]), 3: range(0, banks[2])}
    in_ranges = {1: range(0, banks[0]), 2: range(0, banks[1]), 3: range(0, banks[2])}
    rng = RandomGenerator(12)
    seen_out = {1: set(), 2: set(), 3: set()}
    for _ in range(60):
        for op in range(65):
            r = mutator.random_instruction(op, rng)
            assert r["op"] == op
            if op == 0:
                assert r.tobytes() == np.zeros(1, INSTRUCTION_DTYPE).tobytes()
                continue
            assert r["out"] in out_ranges[OUT[op]]
            seen_out[OUT[op]].add(int(r["out"]))
            assert (r["in1"] in in_ranges[IN1[op]]) if IN1[op] else r["in1"] == 0
            assert (r["in2"] in in_ranges[IN2[op]]) if IN2[op] else r["in2"] == 0
            if op == SCALAR_CONST_SET:
                assert -1.0 < r["activation"] < 1.0 and r["f0"] == r["f1"] == r["f2"] == 0
            elif op == VECTOR_CONST_SET:
                assert 0 <= r["f0"] < 1 and -1 <= r["f1"] < 1 and r["f2"] == 0
            elif op == MATRIX_CONST_SET:
                assert 0 <= r["f0"] < 1 and 0 <= r["f1"] < 1 and -1 <= r["f2"] < 1
            elif op in GAUSSIAN_SETS:
                assert -1 <= r["f0"] < 1 and 0 <= r["f1"] < 1 and r["f2"] == 0
            elif op in UNIFORM_SETS:
                assert -1 <= r["f0"] < 1 and -1 <= r["f1"] < 1 and r["f2"] == 0
            else:
                assert r["activation"] == 0 and r["f0"] == r["f1"] == r["f2"] == 0
    assert seen_out == {k: set(v) for k, v in out_ranges.items()}  # s0 and v0 are never outputs


def test_alter_param_of_zero_activation_gives_negative_zero():
    mutator, _ = make_mutator([ALTER_PARAM], ([56], [], []), banks=(9, 3, 1))
    instr = np.zeros(1, dtype=INSTRUCTION_DTYPE)
    instr["op"], instr["out"] = SCALAR_CONST_SET, 3
    empty = np.zeros(0, dtype=INSTRUCTION_DTYPE)
    altered_data = 0
    for seed in range(40):
        out = mutator.mutate_arrays(instr, empty, empty, RandomGenerator(seed))[0]
        if out["out"][0] == 3 and np.signbit(out["activation"][0]):
            altered_data += 1
            assert out["activation"][0] == 0.0
        else:
            assert out["activation"].view(np.uint64)[0] == 0
    assert altered_data > 0


def test_alter_param_sorts_uniform_bounds():
    mutator, _ = make_mutator([ALTER_PARAM], ([60], [], []), banks=(4, 3, 1))
    instr = np.zeros(1, dtype=INSTRUCTION_DTYPE)
    instr["op"], instr["out"], instr["f0"], instr["f1"] = 60, 1, 0.75, -0.25
    empty = np.zeros(0, dtype=INSTRUCTION_DTYPE)
    sorted_count = 0
    for seed in range(40):
        out = mutator.mutate_arrays(instr, empty, empty, RandomGenerator(seed))[0]
        if (out["f0"][0], out["f1"][0]) != (f32(0.75), f32(-0.25)):
            sorted_count += 1
            assert out["f0"][0] <= out["f1"][0]
    assert sorted_count > 0


# ----------------------------------------------------------------------------------------------------------------
# Construction and wrappers
# ----------------------------------------------------------------------------------------------------------------
def test_capacity_needed():
    mutator, _ = make_mutator([INSERT_INSTRUCTION], (_DEMO, [], _DEMO), (0, 0, 0), (5, 0, 3))
    assert mutator.capacity_needed([2, 4, 7]) == (6, 5, 8)


@pytest.mark.parametrize("change, message", [
    (dict(allowed_mutation_types=[]), "must not be empty"),
    (dict(allowed_mutation_types=[8]), "0..7"),
    (dict(setup_ops=[65]), "op codes"),
    (dict(setup_ops=[], predict_ops=[], learn_ops=[]), "every op list is empty"),
    (dict(allowed_mutation_types=[INSERT_INSTRUCTION], setup_size_max=0), "setup_size_max"),
    (dict(op_category=np.zeros(64, np.uint8)), "65 entries"),
    (dict(op_category=np.where(np.arange(65) == 57, 1, CATEGORY)), "op 57"),
    (dict(out_bank=np.where(np.arange(65) == 3, 0, OUT)), "op 3"),
    (dict(num_scalars=0), "num_scalars"),
])
def test_constructor_rejects_bad_configuration(change, message):
    kwargs = dict(allowed_mutation_types=[0, 4], mutate_prob=1.0, setup_ops=[1], predict_ops=[], learn_ops=[],
                  setup_size_min=0, setup_size_max=5, predict_size_min=0, predict_size_max=5, learn_size_min=0,
                  learn_size_max=5, num_scalars=4, num_vectors=3, num_matrices=1, op_category=CATEGORY,
                  in1_bank=IN1, in2_bank=IN2, out_bank=OUT)
    kwargs.update(change)
    with pytest.raises(ValueError, match=message):
        Mutator(**kwargs)


def test_only_identity_and_randomize_algorithm_need_no_op_list():
    mutator, _ = make_mutator([IDENTITY, RANDOMIZE_ALGORITHM], ([], [], []))
    arrays = random_program_arrays(np.random.default_rng(0), [2, 3, 4], (4, 3, 1))
    out = mutator.mutate_arrays(*arrays, RandomGenerator(0), num_mutations=10)
    assert all(same_records(o, a) for o, a in zip(out, arrays))


def test_wrappers_reject_foreign_arrays():
    mutator, _ = make_mutator([IDENTITY], (_DEMO, [], []))
    good = np.zeros(2, dtype=INSTRUCTION_DTYPE)
    with pytest.raises(TypeError, match=r"^Setup: expected a 1-d array of INSTRUCTION_DTYPE records, got float64 "
                                        r"array of shape \(2,\)$"):
        mutator.mutate_arrays(np.zeros(2), good, good, RandomGenerator(0))
    bad_op = good.copy()
    bad_op["op"][1] = 65
    with pytest.raises(ValueError, match=r"^Predict instruction 1: invalid op code 65 \(op codes are 0\.\.64\)$"):
        mutator.randomize_arrays(good, bad_op, good, RandomGenerator(0))
    with pytest.raises(ValueError, match=r"^op must be in 0\.\.64$"):
        mutator.random_instruction(65, RandomGenerator(0))


def test_mutation_type_constants_follow_the_spec():
    # azero._core.ops is the one Python table of mutation types; the mutator's C enum must take the same codes.
    names = ("ALTER_PARAM", "RANDOMIZE_INSTRUCTION", "RANDOMIZE_COMPONENT_FUNCTION", "IDENTITY",
             "INSERT_INSTRUCTION", "REMOVE_INSTRUCTION", "TRADE_INSTRUCTION", "RANDOMIZE_ALGORITHM")
    assert op_table.MUTATION_TYPE_NAMES == names
    assert [getattr(op_table, name) for name in names] == list(range(8))
    with pytest.raises(ValueError, match="0..7"):
        make_mutator([len(names)], (_DEMO, [], []))
    program = np.zeros(3, dtype=INSTRUCTION_DTYPE)
    mutator, _ = make_mutator([IDENTITY], (_DEMO, [], []))
    assert all(same_records(a, program)
               for a in mutator.mutate_arrays(program, program, program, RandomGenerator(3), 5))
