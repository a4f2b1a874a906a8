"""Every op of docs/semantics.md §2.1 for every F against a plain-Python float64 model, bit for bit.

The model uses Python floats (IEEE double), the math module wrapped to return IEEE results instead of raising
(the export runtime's wrappers, which test_export_runtime checks on their own), and the reduction orders of
docs/semantics.md §2.4 written out literally (recursive definitions). Inputs mix ordinary values over a wide
magnitude range (so that summation order shows in the last bits) with ±0, ±inf, NaN, 1e300 and 5e-324. Random
ops are checked against the RandomGenerator's own draws, including the number of words used.
"""
import math
import struct

import numpy as np
import pytest

from azero._core import INSTRUCTION_DTYPE
from azero._core.checks import FEATURE_SIZES
from azero._core.executor import execute_ops
from azero._core.rng import RandomGenerator
from azero.export_runtime import _acos as ACOS, _asin as ASIN, _cos as COS, _div as DIV, _exp as EXP
from azero.export_runtime import _log as LOG, _sin as SIN, _sqrt as SQRT, _tan as TAN

NUM_OPS = 65
S = V = M = 4  # small banks so that random addresses alias often

# (in1, in2, out) banks per op, "-" = unused (docs/semantics.md §2.1 table).
BANKS = (
    "---", "sss", "sss", "sss", "sss", "s-s", "s-s", "s-s", "s-s", "s-s",
    "s-s", "s-s", "s-s", "s-s", "s-s", "s-s", "v-v", "m-m", "svv", "s-v",
    "v-v", "v-s", "v-v", "vvv", "vvv", "vvv", "vvv", "vvs", "vvm", "smm",
    "m-m", "mvv", "v-m", "v-m", "m-s", "m-v", "m-v", "m-m", "m-m", "mmm",
    "mmm", "mmm", "mmm", "mmm", "sss", "vvv", "mmm", "sss", "vvv", "mmm",
    "v-s", "m-s", "m-v", "m-v", "v-s", "m-s", "--s", "--v", "--m", "--s",
    "--v", "--m", "--s", "--v", "--m",
)
assert len(BANKS) == NUM_OPS


# ------------------------------------------------------------------------------------------------------------
# Reduction orders of docs/semantics.md §2.4, written from their definitions.

def red_P(xs):
    pairs = [(xs[2 * k], xs[2 * k + 1]) for k in range(len(xs) // 2)]

    def combine(lo, c):
        if c == 1:
            return pairs[lo]
        h = c // 2
        left, right = combine(lo, h), combine(lo + h, c - h)
        return (left[0] + right[0], left[1] + right[1])

    lane0, lane1 = combine(0, len(pairs))
    return lane0 + lane1


def red_L(xs):
    pairs = [(xs[2 * k], xs[2 * k + 1]) for k in range(len(xs) // 2)]
    A, B = pairs[0], pairs[1]
    k = 2
    while k + 1 < len(pairs):
        A = (A[0] + pairs[k][0], A[1] + pairs[k][1])
        B = (B[0] + pairs[k + 1][0], B[1] + pairs[k + 1][1])
        k += 2
    A = (A[0] + B[0], A[1] + B[1])
    if k < len(pairs):
        A = (A[0] + pairs[k][0], A[1] + pairs[k][1])
    return A[0] + A[1]


def red_T(xs):
    if len(xs) == 1:
        return xs[0]
    h = len(xs) // 2
    return red_T(xs[:h]) + red_T(xs[h:])


def red_S0(xs):
    acc = 0.0
    for x in xs:
        acc += x
    return acc


def red_G(xs):
    lane0 = lane1 = 0.0
    for x in xs[0::2]:
        lane0 += x
    for x in xs[1::2]:
        lane1 += x
    return lane0 + lane1


def r_vec(xs, F):
    return red_P(xs)


def r_mat(xs, F):
    return red_P(xs) if F <= 8 else red_L(xs)


def r_msq(xs, F):
    return red_P(xs) if F <= 4 else red_L(xs)


def r_mv(xs, F):
    return red_P(xs) if F <= 4 else red_G(xs)


def r_mm(xs, F):
    return red_T(xs) if F <= 4 else red_S0(xs)


def test_reduction_examples():
    """The model's orders on the worked examples of docs/semantics.md §2.4."""
    x = [1e16, 1.0, -1e16, 1.0]
    assert red_P(x) == (1e16 + -1e16) + (1.0 + 1.0) == 2.0
    assert red_T(x) == (1e16 + 1.0) + (-1e16 + 1.0) == 0.0
    assert red_S0([-0.0, -0.0]) == 0.0 and math.copysign(1.0, red_S0([-0.0, -0.0])) == 1.0
    assert red_G([1.0, 2.0, 3.0, 4.0]) == (0.0 + 1.0 + 3.0) + (0.0 + 2.0 + 4.0)


# ------------------------------------------------------------------------------------------------------------
# The model of one instruction: compute the whole result from the inputs, then write it.

def fraction_index(F, f):
    x = np.float32(F) * np.float32(f)  # float arithmetic, as the reference
    return int(x) if -1.0 < x < F else None


def model_step(ins, s, v, m, F, rng):
    op, a, b, o = int(ins["op"]), int(ins["in1"]), int(ins["in2"]), int(ins["out"])
    f0, f1, f2 = float(ins["f0"]), float(ins["f1"]), float(ins["f2"])
    FF = F * F
    rows = lambda mat: [mat[i * F:(i + 1) * F] for i in range(F)]
    scalar_binary = {1: lambda x, y: x + y, 2: lambda x, y: x - y, 3: lambda x, y: x * y, 4: DIV,
                     44: lambda x, y: y if y < x else x, 47: lambda x, y: y if x < y else x}
    scalar_unary = {5: math.fabs, 6: lambda x: DIV(1.0, x), 7: SIN, 8: COS, 9: TAN, 10: ASIN, 11: ACOS,
                    12: math.atan, 13: EXP, 14: LOG, 15: lambda x: 1.0 if x >= 0.0 else 0.0}
    elem_unary = {16: lambda x: 1.0 if x > 0.0 else 0.0, 20: lambda x: DIV(1.0, x), 22: math.fabs,
                  17: lambda x: 1.0 if x > 0.0 else 0.0, 30: lambda x: DIV(1.0, x), 38: math.fabs}
    elem_binary = {23: lambda x, y: x + y, 24: lambda x, y: x - y, 25: lambda x, y: x * y, 26: DIV,
                   45: lambda x, y: y if y < x else x, 48: lambda x, y: y if x < y else x,
                   39: lambda x, y: x + y, 40: lambda x, y: x - y, 41: lambda x, y: x * y, 42: DIV,
                   46: lambda x, y: x if x < y else y, 49: lambda x, y: x if x > y else y}
    if op == 0:
        return
    if op in scalar_binary:
        s[o] = scalar_binary[op](s[a], s[b])
    elif op in scalar_unary:
        s[o] = scalar_unary[op](s[a])
    elif op in elem_unary:
        bank = v if op in (16, 20, 22) else m
        bank[o] = [elem_unary[op](x) for x in bank[a]]
    elif op in elem_binary:
        bank = v if op in (23, 24, 25, 26, 45, 48) else m
        bank[o] = [elem_binary[op](x, y) for x, y in zip(bank[a], bank[b])]
    elif op == 18:
        v[o] = [x * s[a] for x in v[b]]
    elif op == 19:
        v[o] = [s[a] * 1.0] * F
    elif op == 21:
        s[o] = SQRT(r_vec([x * x for x in v[a]], F))
    elif op == 27:
        s[o] = r_vec([x * y for x, y in zip(v[a], v[b])], F)
    elif op == 28:
        m[o] = [x * y for x in v[a] for y in v[b]]
    elif op == 29:
        m[o] = [x * s[a] for x in m[b]]
    elif op == 31:
        v[o] = [r_mv([x * y for x, y in zip(row, v[b])], F) for row in rows(m[a])]
    elif op == 32:
        m[o] = [x for x in v[a] for _ in range(F)]
    elif op == 33:
        m[o] = list(v[a]) * F
    elif op == 34:
        s[o] = SQRT(r_mat([x * x for x in m[a]], F))
    elif op == 35:
        s_cols = [[m[a][i * F + j] for i in range(F)] for j in range(F)]
        v[o] = [SQRT(red_T([x * x for x in col])) for col in s_cols]
    elif op == 36:
        v[o] = [SQRT(r_vec([x * x for x in row], F)) for row in rows(m[a])]
    elif op == 37:
        m[o] = [m[a][j * F + i] for i in range(F) for j in range(F)]
    elif op == 43:
        A, B = m[a], m[b]
        m[o] = [r_mm([A[i * F + k] * B[k * F + j] for k in range(F)], F) for i in range(F) for j in range(F)]
    elif op == 50:
        s[o] = r_vec(v[a], F) / F
    elif op == 51:
        s[o] = r_mat(m[a], F) / FF
    elif op == 52:
        v[o] = [r_vec(row, F) / F for row in rows(m[a])]
    elif op == 53:
        out = []
        for row in rows(m[a]):
            mu = r_vec(row, F) / F
            out.append(SQRT(r_vec([x * x for x in row], F) / F - mu * mu))
        v[o] = out
    elif op == 54:
        mu = r_vec(v[a], F) / F
        s[o] = SQRT(r_vec([x * x for x in v[a]], F) / F - mu * mu)
    elif op == 55:
        mu = r_mat(m[a], F) / FF
        s[o] = SQRT(r_msq([x * x for x in m[a]], F) / FF - mu * mu)
    elif op == 56:
        s[o] = float(ins["activation"])
    elif op == 57:
        i = fraction_index(F, ins["f0"])
        if i is not None:
            v[o][i] = f1
    elif op == 58:
        i, j = fraction_index(F, ins["f0"]), fraction_index(F, ins["f1"])
        if i is not None and j is not None:
            m[o][i * F + j] = f2
    elif 59 <= op <= 64:  # uniform (59-61) or Gaussian (62-64) draws into a scalar, a vector or a matrix
        draw = rng.uniform_open if op <= 61 else rng.gaussian
        if op in (59, 62):
            s[o] = draw(f0, f1)
        elif op in (60, 63):
            v[o] = [draw(f0, f1) for _ in range(F)]
        else:
            m[o] = [draw(f0, f1) for _ in range(FF)]
    else:
        raise AssertionError(f"op {op} not modelled")


# ------------------------------------------------------------------------------------------------------------
# Inputs and comparison.

SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e300, -1e300, 5e-324, -5e-324, 1e-300, 1.0, -1.0,
            0.5, -2.0, 1e154, 1.5e-154]


def random_values(rs, n):
    """n doubles: sometimes all -0 or constant, else a mix of wide-range normals, small ints and specials."""
    mode = rs.random_sample()
    if mode < 0.06:
        return [-0.0] * n
    if mode < 0.12:
        return [float(rs.choice([0.75, -3.0, 1e300, 5e-324]))] * n
    if mode < 0.5:  # similar magnitudes: summation order shows in the last bits
        return (rs.standard_normal(n) * 10.0 ** rs.randint(-3, 4)).tolist()
    if mode < 0.6:  # wide dynamic range
        return (rs.standard_normal(n) * 10.0 ** rs.uniform(-8, 8, n)).tolist()
    out = []
    for _ in range(n):
        r = rs.random_sample()
        if r < 0.15:
            out.append(SPECIALS[rs.randint(len(SPECIALS))])
        elif r < 0.3:
            out.append(float(rs.randint(-3, 4)))
        else:
            out.append(float(rs.standard_normal() * 10.0 ** rs.randint(-3, 4)))
    return out


def random_memory(rs, F):
    s = np.array(random_values(rs, S))
    v = np.array([random_values(rs, F) for _ in range(V)])
    m = np.array([random_values(rs, F * F) for _ in range(M)]).reshape(M, F, F)
    return s, v, m


def random_data(rs, op, ins, F):
    """Data fields as the randomiser would set them, plus edge cases (docs/semantics.md §8.1, 1.3)."""
    ins["activation"] = rs.choice([rs.uniform(-1, 1), 0.0, -0.0, 1e300, math.inf, math.nan])
    if op in (57, 58):  # index fractions: usually valid, sometimes exactly (i + 0.5) / F or slightly negative
        for f in ("f0", "f1"):
            ins[f] = rs.choice([rs.uniform(0, 1), (rs.randint(F) + 0.5) / F, -0.2, 0.0, 0.999999])
        ins["f2"] = rs.uniform(-1, 1)
    elif op in (59, 60, 61):  # unsorted bounds: low > high is an invalid range; equal bounds are valid
        bounds = [(rs.uniform(-1, 1), rs.uniform(-1, 1)), (0.25, 0.25), (-0.5, 0.5)]
        ins["f0"], ins["f1"] = bounds[rs.randint(len(bounds))]
    elif op in (62, 63, 64):
        ins["f0"], ins["f1"] = rs.uniform(-1, 1), rs.choice([rs.uniform(0, 1), 0.145231, 0.0])


def to_lists(s, v, m):
    return s.tolist(), v.tolist(), [mat.reshape(-1).tolist() for mat in m]


def same_bits(x, y):
    return (math.isnan(x) and math.isnan(y)) or struct.pack("<d", x) == struct.pack("<d", y)


def assert_memory_equal(got, want, context):
    for bank, g, w in zip("svm", got, want):
        g = np.asarray(g, dtype=np.float64).reshape(len(w), -1)
        for k, (grow, wrow) in enumerate(zip(g, w)):
            wrow = [wrow] if bank == "s" else wrow
            for i, (x, y) in enumerate(zip(grow, wrow)):
                assert same_bits(float(x), y), f"{context}: {bank}{k}[{i}] = {float(x).hex()}, model {y.hex()}"


def check(instructions, F, s, v, m, seed):
    """Run on the executor and on the model from the same memory and RNG state; compare bits and RNG."""
    model = to_lists(s, v, m)
    rng, model_rng = RandomGenerator(seed), RandomGenerator(seed)
    code = np.array(instructions, dtype=INSTRUCTION_DTYPE)
    for ins in code:
        model_step(ins, *model, F, model_rng)
    execute_ops(code, F, s, v, m, rng)
    assert_memory_equal((s, v, m), model, f"F={F} {code}")
    assert np.array_equal(rng.get_state(), model_rng.get_state()), f"F={F} {code}: RNG draws differ"


def make_instruction(op, in1, in2, out):
    ins = np.zeros((), INSTRUCTION_DTYPE)
    ins["op"], ins["in1"], ins["in2"], ins["out"] = op, in1, in2, out
    return ins


def address_cases(rs, op):
    """(in1, in2, out) triples: random ones plus every aliasing pattern the banks allow."""
    banks = BANKS[op]
    cases = [tuple(int(rs.randint(4)) if bk != "-" else 0 for bk in banks) for _ in range(8)]
    if banks[2] == banks[0]:
        cases.append((1, 2, 1))          # out == in1
    if banks[2] == banks[1]:
        cases.append((1, 2, 2))          # out == in2
    if banks[0] == banks[1] != "-":
        cases.append((3, 3, 0))          # in1 == in2
        if banks[2] == banks[0]:
            cases.append((2, 2, 2))      # all three
    return cases


@pytest.mark.parametrize("F", FEATURE_SIZES)
@pytest.mark.parametrize("op", range(NUM_OPS))
def test_op_matches_model(op, F):
    rs = np.random.RandomState(1000 * op + F)
    for trial, (in1, in2, out) in enumerate(address_cases(rs, op)):
        ins = make_instruction(op, in1, in2, out)
        random_data(rs, op, ins, F)
        check([ins], F, *random_memory(rs, F), seed=trial + 17)


REDUCTION_OPS = (21, 27, 31, 34, 35, 36, 43, 50, 51, 52, 53, 54, 55)


@pytest.mark.parametrize("F", FEATURE_SIZES)
@pytest.mark.parametrize("op", REDUCTION_OPS)
def test_reduction_order(op, F):
    """Ops that sum: many inputs of one magnitude with random mantissas, where any other order than docs/semantics.md §2.4's
    changes the last bits."""
    rs = np.random.RandomState(op * 100 + F)
    for trial in range(12):
        s = rs.standard_normal(S)
        v = rs.standard_normal((V, F)) + rs.choice([0.0, 3.0])
        m = rs.standard_normal((M, F, F)) + rs.choice([0.0, 3.0])
        check([make_instruction(op, 0, 1, 2)], F, s, v, m, seed=trial)


@pytest.mark.parametrize("F", FEATURE_SIZES)
def test_random_programs_match_model(F):
    """Long random instruction sequences (every op, random addresses and data) agree after every run."""
    rs = np.random.RandomState(F)
    for trial in range(4):
        code = []
        for _ in range(120):
            op = int(rs.randint(NUM_OPS))
            ins = make_instruction(op, *(int(rs.randint(4)) for _ in range(3)))
            random_data(rs, op, ins, F)
            code.append(ins)
        check(code, F, *random_memory(rs, F), seed=trial)


# ------------------------------------------------------------------------------------------------------------
# Facts stated directly by the spec (independent of the model).

def run_one(op, F, s, v, m, in1=0, in2=1, out=2, seed=5489, **data):
    ins = make_instruction(op, in1, in2, out)
    for key, value in data.items():
        ins[key] = value
    rng = RandomGenerator(seed)
    execute_ops(np.array([ins]), F, s, v, m, rng)
    return rng


def blank(F, fill=0.0):
    return np.full(S, fill), np.full((V, F), fill), np.full((M, F, F), fill)


@pytest.mark.parametrize("F", FEATURE_SIZES)
def test_signed_zero_of_products(F):
    """mat-vec and matmul whose terms are all -0 (-0 * 1) give -0 for F <= 4 and +0 for F >= 8 (docs/semantics.md §2.4)."""
    s, v, m = blank(F, 1.0)
    m[0] = -0.0
    run_one(31, F, s, v, m, in1=0, in2=0, out=1)   # vo = dot(m0, v0)
    run_one(43, F, s, v, m, in1=0, in2=1, out=2)   # m2 = matmul(m0, m1)
    sign = -1.0 if F <= 4 else 1.0
    assert all(math.copysign(1.0, x) == sign and x == 0.0 for x in v[1])
    assert all(math.copysign(1.0, x) == sign and x == 0.0 for x in m[2].reshape(-1))


@pytest.mark.parametrize("F", FEATURE_SIZES)
def test_min_max_ties_and_nan(F):
    """Scalar and vector min/max return in1 on ties and NaN; matrix min/max return in2 (docs/semantics.md §2.3)."""
    s, v, m = blank(F)
    s[0], s[1] = -0.0, 0.0
    v[0], v[1] = -0.0, 0.0
    v[0, 0] = math.nan
    m[0], m[1] = -0.0, 0.0
    m[0, 0, 0] = math.nan
    for op in (44, 47):
        run_one(op, F, s, v, m)
        assert str(s[2]) == "-0.0"
    for op in (45, 48):
        run_one(op, F, s, v, m)
        assert math.isnan(v[2, 0]) and str(v[2, F - 1]) == "-0.0"
    for op in (46, 49):
        run_one(op, F, s, v, m)
        assert m[2, 0, 0] == 0.0 and str(m[2, 1, 1]) == "0.0"


def test_heaviside_rules():
    s, v, m = blank(4)
    for x, scalar, elementwise in ((-0.0, 1.0, 0.0), (0.0, 1.0, 0.0), (math.nan, 0.0, 0.0), (-1e-300, 0.0, 0.0),
                                   (5e-324, 1.0, 1.0)):
        s[0] = x
        v[0] = x
        m[0] = x
        run_one(15, 4, s, v, m)
        run_one(16, 4, s, v, m)
        run_one(17, 4, s, v, m)
        assert s[2] == scalar and set(v[2]) == {elementwise} and set(m[2].reshape(-1)) == {elementwise}


@pytest.mark.parametrize("F", FEATURE_SIZES)
def test_index_fraction(F):
    """(i + 0.5) / F writes entry i; a fraction with -1 < F * f < 0 truncates to 0; fractions giving an index outside 0..F-1 write nothing."""
    for i in range(F):
        s, v, m = blank(F)
        run_one(57, F, s, v, m, out=1, f0=(i + 0.5) / F, f1=0.145231)
        assert v[1, i] == float(np.float32(0.145231)) and np.count_nonzero(v) == 1
        run_one(58, F, s, v, m, out=3, f0=(i + 0.5) / F, f1=(F - 1 - i + 0.5) / F, f2=-0.5)
        assert m[3, i, F - 1 - i] == -0.5 and np.count_nonzero(m) == 1
    s, v, m = blank(F)
    run_one(57, F, s, v, m, out=1, f0=-0.5 / F, f1=2.0)   # F * f0 = -0.5 truncates to index 0
    assert v[1, 0] == 2.0
    s, v, m = blank(F)
    for f in (1.0, -1.0, 3e38, math.inf, math.nan):
        run_one(57, F, s, v, m, out=1, f0=f, f1=2.0)
        run_one(58, F, s, v, m, out=1, f0=0.0, f1=f, f2=2.0)
    assert not v.any() and not m.any()


def test_random_ops_consume_the_stream_in_order():
    """Matrix entries are drawn row-major from the given RNG; an invalid uniform range draws nothing."""
    F = 4
    s, v, m = blank(F)
    rng = run_one(64, F, s, v, m, out=1, seed=100000, f0=0.0, f1=np.float32(0.1))
    expected = RandomGenerator(100000).gaussian_array(16, 0.0, float(np.float32(0.1)))
    assert m[1].reshape(-1).tolist() == expected.tolist()
    s, v, m = blank(F)
    before = RandomGenerator(7)
    rng = run_one(60, F, s, v, m, out=1, seed=7, f0=0.5, f1=-0.5)
    assert v[1].tolist() == [0.5] * F and np.array_equal(rng.get_state(), before.get_state())


def test_invalid_programs_are_rejected():
    s, v, m = blank(4)
    with pytest.raises(ValueError, match=r"^instructions instruction 0: address 'v4' out of range \(memory has 4 vectors\)$"):
        run_one(23, 4, s, v, m, in1=0, in2=1, out=V)     # vector out of range
    with pytest.raises(ValueError, match=r"^instructions instruction 0: invalid op code 65 \(op codes are 0\.\.64\)$"):
        run_one(65, 4, s, v, m)                          # unknown op
    with pytest.raises(TypeError, match=r"^vectors must be a writable C-contiguous float64 array of shape \(n, \*\(4,\)\)$"):
        execute_ops(np.zeros(1, INSTRUCTION_DTYPE), 4, s, v[:, :2].copy(), m, RandomGenerator())
    with pytest.raises(ValueError, match=r"^features_size must be one of \(2, 4, 8, 16, 32\), got 3$"):
        execute_ops(np.zeros(1, INSTRUCTION_DTYPE), 3, s, v, m, RandomGenerator())


@pytest.mark.parametrize("op", range(NUM_OPS))
def test_address_check_follows_banks(op):
    """Each used address field is checked against its own bank's size; unused fields are ignored."""
    s, v, m = np.zeros(2), np.zeros((3, 4)), np.zeros((5, 4, 4))
    size = {"s": 2, "v": 3, "m": 5}
    banks = BANKS[op]
    ins = make_instruction(op, *(size[bk] - 1 if bk != "-" else 999 for bk in banks))
    execute_ops(np.array([ins]), 4, s, v, m, RandomGenerator())
    for field, bk in zip(("in1", "in2", "out"), banks):
        if bk != "-":
            bad = ins.copy()
            bad[field] = size[bk]
            with pytest.raises(ValueError, match=r"^instructions instruction 0: address '[svm]\d' out of range \(memory has \d (scalars|vectors|matrices)\)$"):
                execute_ops(np.array([bad]), 4, s, v, m, RandomGenerator())
