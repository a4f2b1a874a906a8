"""Tests of azero._core.rng: MT19937 and the Abseil 20200923 distributions of docs/semantics.md §6.

Independent references used here: NumPy's MT19937 (RandomState seeds an int with init_genrand; its bit
generator yields the raw 32-bit words), the reference's own golden values (docs/semantics.md §12.1, from executor_test.cc),
straightforward pure-Python models of docs/semantics.md §6.3–6.4 and A.7 that read the same raw words, and for the
Gaussian (§6.5) the export runtime's pure-Python ziggurat reading those words.
"""
import copy
import math
import pickle
import random

import numpy as np
import pytest

from azero import export_runtime as runtime
from azero._core.rng import RandomGenerator, hash_combine, hash_mix

MASK64 = (1 << 64) - 1


# ------------------------------------------------------------------------------------------------------------
# Independent models
# ------------------------------------------------------------------------------------------------------------


class Words:
    """The raw 32-bit words that follow `gen`'s current position, from NumPy's MT19937; counts what is read."""

    def __init__(self, gen: RandomGenerator):
        state = gen.get_state()
        self.bit_gen = np.random.MT19937()
        self.bit_gen.state = {
            "bit_generator": "MT19937",
            "state": {"key": state[:624].copy(), "pos": int(state[624])},
        }
        self.count = 0

    def u32(self) -> int:
        self.count += 1
        return int(self.bit_gen.random_raw())

    def u64(self) -> int:
        high = self.u32()
        return (high << 32) + self.u32()


def model_uniform_int(words: Words, lo: int, hi: int, width: int, signed: bool) -> int:
    """absl::Uniform<T>(g, lo, hi) per docs/semantics.md §6.3 (with Abseil's upper bound kept at the type's minimum)."""
    type_min = -(1 << (width - 1)) if signed else 0
    upper = hi - 1 if hi > type_min else hi
    if lo > upper:
        return lo
    mask = (1 << width) - 1
    r = upper - lo
    lim = r + 1

    def draw() -> int:
        if width == 16:
            return words.u32() & 0xFFFF
        return words.u32() if width == 32 else words.u64()

    bits = draw()
    if r & lim == 0:
        return lo + (bits & r)
    product = bits * lim
    if product & mask < lim:
        threshold = ((1 << width) - lim) % lim
        while product & mask < threshold:
            product = draw() * lim
    return lo + (product >> width)


def real_from_bits(bits: int, mantissa_bits: int, include_zero: bool) -> float:
    """bits / 2^64 truncated to 1 + mantissa_bits significant bits (GeneratePositiveTag), exactly."""
    if bits == 0:
        return 0.0 if include_zero else 2.0**-65
    clz = 64 - bits.bit_length()
    mantissa = ((bits << clz) & MASK64) >> (63 - mantissa_bits) & ((1 << mantissa_bits) - 1)
    return math.ldexp(1.0 + mantissa / 2.0**mantissa_bits, -1 - clz)


def model_uniform_float(words: Words, lo: float, hi: float) -> np.float32:
    """absl::Uniform<float>(g, lo, hi): float32 arithmetic, 64 bits per attempt."""
    lo, hi = np.float32(lo), np.float32(hi)
    with np.errstate(over="ignore", invalid="ignore"):
        span = np.float32(hi - lo)
    if not (lo <= hi and np.isfinite(span)):
        return lo
    while True:
        sample = np.float32(real_from_bits(words.u64(), 23, True))
        res = np.float32(lo + np.float32(sample * span))
        if res < hi or span <= 0:
            return res


def model_uniform_open(words: Words, lo: float, hi: float) -> float:
    """absl::Uniform<double>(IntervalOpen, g, lo, hi)."""
    a = math.nextafter(lo, hi)
    span = hi - a
    if not (a <= hi and math.isfinite(span)):
        return lo
    while True:
        res = a + real_from_bits(words.u64(), 52, True) * span
        if res < hi or span <= 0:
            return res


KR = 3.442619855899   # where the ziggurat's tail starts: no deviate drawn elsewhere reaches it


class ModelGaussian(runtime.Random):
    """The export runtime's absl ziggurat (itself checked against the compiled generator in test_export_runtime)
    reading its words from `words`; `paths` counts the draws that go through the tail, and those that leave the
    fast path through wedges only."""

    def __init__(self, words: Words):
        self.words = words
        self.paths = {"tail": 0, "wedge": 0}

    def next64(self) -> int:
        return self.words.u64()

    def _normal(self) -> float:
        start = self.words.count
        x = super()._normal()
        if abs(x) >= KR:
            self.paths["tail"] += 1
        elif self.words.count - start > 2:
            self.paths["wedge"] += 1
        return x


def model_hash_combine(seed: int, value: int) -> int:
    """docs/semantics.md §6.6 written out step by step with explicit 64-bit wrap-around."""
    a, b, c = 0x9E3779B9, seed, value
    for shift_a, shift_b, shift_c in [(43, 9, 8), (38, 23, 5), (35, 49, 11), (12, 18, 22)]:
        a = (a - b) & MASK64
        a = (a - c) & MASK64
        a ^= c >> shift_a
        b = (b - c) & MASK64
        b = (b - a) & MASK64
        b ^= (a << shift_b) & MASK64
        c = (c - a) & MASK64
        c = (c - b) & MASK64
        c ^= b >> shift_c
    return c


def advanced(gen: RandomGenerator, words: int) -> RandomGenerator:
    """A copy of `gen` moved on by `words` raw draws."""
    other = gen.copy()
    for _ in range(words):
        other.next_u32()
    return other


def same_position(a: RandomGenerator, b: RandomGenerator) -> bool:
    return np.array_equal(a.get_state(), b.get_state())


# ------------------------------------------------------------------------------------------------------------
# MT19937
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 42, 5489, 100000, 2**31, 2**32 - 1])
def test_seeding_is_init_genrand(seed):
    state = RandomGenerator(seed).get_state()
    _, key, pos, *_ = np.random.RandomState(seed).get_state()
    assert np.array_equal(state[:624], key)
    assert state[624] == pos == 624


@pytest.mark.parametrize("seed", [1, 5489, 100000, 4000000000])
def test_raw_words_match_numpy_mt19937(seed):
    gen = RandomGenerator(seed)
    expected = Words(gen)
    # 2000 words cross three twists.
    assert [gen.next_u32() for _ in range(2000)] == [expected.u32() for _ in range(2000)]


def test_default_seed_10000th_output():
    gen = RandomGenerator()
    for _ in range(9999):
        gen.next_u32()
    assert gen.next_u32() == 4123659995


def test_seed_is_taken_mod_2_32():
    assert same_position(RandomGenerator(2**32 + 5), RandomGenerator(5))
    assert same_position(RandomGenerator(-1), RandomGenerator(2**32 - 1))
    assert same_position(RandomGenerator(np.int64(7)), RandomGenerator(7))
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        RandomGenerator(1.5)


def test_reseed_restarts_the_stream():
    gen = RandomGenerator(3)
    first = [gen.next_u32() for _ in range(700)]
    gen.seed(3)
    assert [gen.next_u32() for _ in range(700)] == first
    gen.seed()
    assert same_position(gen, RandomGenerator(5489))


def test_next_u64_first_word_high():
    gen, ref = RandomGenerator(11), RandomGenerator(11)
    for _ in range(5):
        high, low = ref.next_u32(), ref.next_u32()
        assert gen.next_u64() == (high << 32) + low


# ------------------------------------------------------------------------------------------------------------
# Golden values of the reference (docs/semantics.md §12.1; executor_test.cc, printed by C++ streams: 6 significant digits)
# ------------------------------------------------------------------------------------------------------------


def test_golden_scalar_gaussian():
    assert f"{RandomGenerator(100000).gaussian(20.0, 10.0):.8g}" == "28.042686"


def test_golden_vector_gaussian():
    gen = RandomGenerator(100000)
    assert [f"{gen.gaussian(20.0, 10.0):.6g}" for _ in range(4)] == ["28.0427", "19.8492", "37.8303", "24.1638"]


def test_golden_matrix_gaussian():
    stdev = float(np.float32(0.1))  # the instruction stores 0.1 as a float; the op widens it to double
    values = RandomGenerator(100000).gaussian_array(16, 0.0, stdev)
    assert [f"{v:.6g}" for v in values] == [
        "0.0804269", "-0.00150771", "0.178303", "0.0416377",
        "0.126852", "0.0111104", "-0.0138105", "0.0856213",
        "0.0580157", "-0.0448301", "0.164389", "0.0162463",
        "-0.0230088", "0.268562", "0.0362391", "-0.0849112",
    ]


def test_golden_uniform_open():
    assert f"{RandomGenerator(100000).uniform_open(-2.5, -2.0):.8g}" == "-2.3562196"
    gen = RandomGenerator(100000)
    assert [f"{gen.uniform_open(-2.5, -2.0):.6g}" for _ in range(16)] == [
        "-2.35622", "-2.24588", "-2.25098", "-2.10917",
        "-2.4388", "-2.35507", "-2.48641", "-2.21651",
        "-2.2658", "-2.2554", "-2.04414", "-2.17942",
        "-2.29889", "-2.4564", "-2.14704", "-2.28224",
    ]


# ------------------------------------------------------------------------------------------------------------
# Word consumption (docs/semantics.md §6.7)
# ------------------------------------------------------------------------------------------------------------

CONSUMPTION = [
    ("u16 power of two", lambda g: g.uniform_u16(0, 16), 1),
    ("u16 not power of two", lambda g: g.uniform_u16(1, 20), 1),
    ("u16 full range", lambda g: g.uniform_u16(0, 65535), 1),
    ("u32", lambda g: g.uniform_u32(0, 1000), 1),
    ("i32", lambda g: g.uniform_i32(-5, 5), 1),
    ("u64", lambda g: g.uniform_u64(0, 7), 2),
    ("i64 Choice3", lambda g: g.uniform_i64(0, 3), 2),
    ("uniform_float", lambda g: g.uniform_float(-1.0, 1.0), 2),
    ("uniform_prob", lambda g: g.uniform_prob(), 2),
    ("uniform_open", lambda g: g.uniform_open(-1.0, 1.0), 2),
    ("random_seed", lambda g: g.random_seed(), 1),
    ("empty u16", lambda g: g.uniform_u16(5, 5), 0),
    ("reversed u32", lambda g: g.uniform_u32(7, 3), 0),
    ("empty u64", lambda g: g.uniform_u64(9, 9), 0),
    ("empty i32", lambda g: g.uniform_i32(-3, -3), 0),
    ("empty i64", lambda g: g.uniform_i64(10, 10), 0),
    ("uniform_open invalid", lambda g: g.uniform_open(1.0, 0.0), 0),
    ("uniform_open nan", lambda g: g.uniform_open(math.nan, 1.0), 0),
    ("uniform_float invalid", lambda g: g.uniform_float(1.0, -1.0), 0),
    ("uniform_float infinite span", lambda g: g.uniform_float(-3e38, 3e38), 0),
    ("uniform_open equal bounds", lambda g: g.uniform_open(0.5, 0.5), 2),
    ("uniform_float equal bounds", lambda g: g.uniform_float(0.25, 0.25), 2),
    # Abseil keeps hi when it is the type's minimum, so [0, 0) of an unsigned type is the valid [0, 0].
    ("u16 [0, 0)", lambda g: g.uniform_u16(0, 0), 1),
    ("i32 [min, min)", lambda g: g.uniform_i32(-(2**31), -(2**31)), 1),
]


@pytest.mark.parametrize("call, words", [c[1:] for c in CONSUMPTION], ids=[c[0] for c in CONSUMPTION])
def test_word_consumption(call, words):
    for seed in (1, 100000):
        gen = RandomGenerator(seed)
        start = gen.copy()
        call(gen)
        assert same_position(gen, advanced(start, words))


def test_no_draw_results():
    gen = RandomGenerator(5)
    assert gen.uniform_u16(5, 5) == 5
    assert gen.uniform_u32(7, 3) == 7
    assert gen.uniform_i64(10, 10) == 10
    assert gen.uniform_open(1.0, 0.0) == 1.0
    assert gen.uniform_float(1.0, -1.0) == 1.0
    assert gen.uniform_open(0.5, 0.5) == 0.5
    assert gen.uniform_float(0.25, 0.25) == 0.25
    assert gen.uniform_u16(0, 0) == 0
    assert same_position(gen, advanced(RandomGenerator(5), 2 + 2 + 1))


# ------------------------------------------------------------------------------------------------------------
# Integer uniform against the model, including rejection
# ------------------------------------------------------------------------------------------------------------

INT_KINDS = {
    "u16": (16, False, RandomGenerator.uniform_u16),
    "u32": (32, False, RandomGenerator.uniform_u32),
    "u64": (64, False, RandomGenerator.uniform_u64),
    "i32": (32, True, RandomGenerator.uniform_i32),
    "i64": (64, True, RandomGenerator.uniform_i64),
}

# Ranges whose Lim leaves a large remainder 2^N mod Lim, so that a first attempt is often rejected.
REJECTING_RANGES = {
    "u16": (0, 40000),
    "u32": (0, 3_000_000_000),
    "u64": (0, 3 << 62),
    "i32": (-2_000_000_000, 1_000_000_000),
    "i64": (-(1 << 62), (1 << 63) - 1),
}


@pytest.mark.parametrize("kind", INT_KINDS)
def test_integer_rejection_redraws(kind):
    width, signed, method = INT_KINDS[kind]
    lo, hi = REJECTING_RANGES[kind]
    attempt_words = 2 if width == 64 else 1
    redraws = 0
    for seed in range(1, 60):
        gen = RandomGenerator(seed)
        words = Words(gen)
        expected = model_uniform_int(words, lo, hi, width, signed)
        assert method(gen, lo, hi) == expected
        assert same_position(gen, advanced(RandomGenerator(seed), words.count))
        redraws += words.count > attempt_words
    assert redraws > 0


@pytest.mark.parametrize("kind", INT_KINDS)
def test_integer_uniform_matches_model(kind):
    width, signed, method = INT_KINDS[kind]
    picker = random.Random(1234)
    type_min = -(1 << (width - 1)) if signed else 0
    type_max = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
    gen = RandomGenerator(777)
    for trial in range(400):
        if trial % 4 == 0:  # small ranges, as used for addresses and choices
            lo = picker.randrange(30) + (type_min if trial % 8 == 0 else 0)
            hi = lo + picker.randrange(25)
        elif trial % 4 == 1:  # power-of-two lengths
            lo = max(type_min, picker.randrange(-1000, 1000))
            hi = min(type_max, lo + (1 << picker.randrange(width - 1)))
        else:  # anywhere in the type
            lo, hi = sorted(picker.randint(type_min, type_max) for _ in range(2))
        words = Words(gen)
        start = gen.copy()
        expected = model_uniform_int(words, lo, hi, width, signed)
        assert method(gen, lo, hi) == expected, (lo, hi)
        assert same_position(gen, advanced(start, words.count))


def test_integer_arguments_are_checked():
    gen = RandomGenerator(1)
    with pytest.raises(OverflowError, match="value too large to convert to uint16_t"):
        gen.uniform_u16(0, 70000)
    with pytest.raises(OverflowError, match="can't convert negative value to uint32_t"):
        gen.uniform_u32(-1, 3)
    assert 0 <= gen.uniform_u16(np.uint16(0), np.int64(20)) < 20


def test_random_seed_matches_model():
    gen = RandomGenerator(99)
    words = Words(gen)
    for _ in range(500):
        expected = 2 + model_uniform_int(words, 0, 2**32 - 3, 32, False)
        value = gen.random_seed()
        assert value == expected
        assert 2 <= value <= 2**32 - 2


# ------------------------------------------------------------------------------------------------------------
# Real uniforms against the model
# ------------------------------------------------------------------------------------------------------------


def test_uniform_float_matches_model():
    picker = np.random.default_rng(55)
    gen = RandomGenerator(2024)
    bounds = [(0.0, 1.0), (-1.0, 1.0), (1.0, float(np.nextafter(np.float32(1), np.float32(2))))]
    bounds += [tuple(sorted(picker.uniform(-50, 50, 2))) for _ in range(200)]
    for lo, hi in bounds:
        words = Words(gen)
        start = gen.copy()
        expected = model_uniform_float(words, lo, hi)
        value = gen.uniform_float(lo, hi)
        assert np.float32(value).tobytes() == expected.tobytes(), (lo, hi)
        assert same_position(gen, advanced(start, words.count))
        assert np.float32(lo) <= value < np.float32(hi)


def test_uniform_float_redraws_when_rounding_up_to_hi():
    # Between two adjacent floats every sample >= 1/2 rounds to hi and is redrawn.
    lo, hi = 1.0, float(np.nextafter(np.float32(1), np.float32(2)))
    redraws = 0
    for seed in range(1, 20):
        gen = RandomGenerator(seed)
        words = Words(gen)
        assert gen.uniform_float(lo, hi) == model_uniform_float(words, lo, hi) == lo
        redraws += words.count > 2
    assert redraws > 0


def test_uniform_prob_is_uniform_float_0_1():
    a, b = RandomGenerator(8), RandomGenerator(8)
    assert [a.uniform_prob() for _ in range(50)] == [b.uniform_float(0.0, 1.0) for _ in range(50)]


def test_uniform_open_matches_model():
    picker = np.random.default_rng(66)
    gen = RandomGenerator(31337)
    bounds = [(-1.0, 1.0), (1.0, math.nextafter(math.nextafter(1.0, 2.0), 2.0)), (0.0, 5e-324)]
    bounds += [tuple(sorted(picker.normal(0, 10, 2))) for _ in range(200)]
    for lo, hi in bounds:
        words = Words(gen)
        start = gen.copy()
        expected = model_uniform_open(words, lo, hi)
        value = gen.uniform_open(lo, hi)
        assert value == expected, (lo, hi)
        assert same_position(gen, advanced(start, words.count))
        # (0, 5e-324) has no double inside: its closed-open form [5e-324, 5e-324) yields hi.
        assert lo < value < hi or value == hi == math.nextafter(lo, hi)


# ------------------------------------------------------------------------------------------------------------
# Gaussian
# ------------------------------------------------------------------------------------------------------------


def test_gaussian_matches_model_including_tail_and_wedges():
    gen = RandomGenerator(4242)
    words = Words(gen)
    model = ModelGaussian(words)
    draws = gen.gaussian_array(40000)
    expected = [model._normal() for _ in range(40000)]
    assert draws.tolist() == expected
    assert model.paths["tail"] > 0 and model.paths["wedge"] > 0
    assert same_position(gen, advanced(RandomGenerator(4242), words.count))


def test_gaussian_scaling_in_double_and_float():
    gen, ref = RandomGenerator(17), RandomGenerator(17)
    model = ModelGaussian(Words(gen))
    for mean, stdev in [(0.0, 1.0), (20.0, 10.0), (-0.3, 0.145231)]:
        assert gen.gaussian(mean, stdev) == model.gaussian(mean, stdev)
        z = np.float32(model._normal())
        expected = np.float32(np.float32(mean) + np.float32(np.float32(stdev) * z))
        assert np.float32(gen.gaussian_float(mean, stdev)).tobytes() == expected.tobytes()
    twin = ref.copy()
    assert ref.gaussian() == twin.gaussian(0.0, 1.0)


def test_gaussian_array_is_successive_draws():
    a, b = RandomGenerator(5), RandomGenerator(5)
    values = a.gaussian_array(100, 1.5, 0.25)
    assert values.dtype == np.float64 and values.shape == (100,)
    assert values.tolist() == [b.gaussian(1.5, 0.25) for _ in range(100)]
    assert a.gaussian_array(0).shape == (0,)
    with pytest.raises(ValueError, match="^n must be non-negative, got -1$"):
        a.gaussian_array(-1)


def test_gaussian_statistics():
    values = RandomGenerator(20200923).gaussian_array(100_000)
    assert abs(values.mean()) < 0.02          # 5 standard errors
    assert abs(values.std() - 1.0) < 0.015
    tail = np.count_nonzero(np.abs(values) > KR)
    assert 20 < tail < 120                    # expectation about 58 (2 * (1 - Phi(3.4426)) * 1e5)
    assert np.abs(values).max() > KR


# ------------------------------------------------------------------------------------------------------------
# State, copy, pickle
# ------------------------------------------------------------------------------------------------------------


def test_state_round_trip():
    gen = RandomGenerator(12)
    for _ in range(1000):
        gen.next_u32()
    state = gen.get_state()
    assert state.dtype == np.uint32 and state.shape == (625,) and state[624] == 1000 - 624
    ahead = [gen.gaussian() for _ in range(300)]
    other = RandomGenerator(1)
    other.set_state(state)
    assert [other.gaussian() for _ in range(300)] == ahead
    other.set_state(state.tolist())
    assert other.gaussian() == ahead[0]


def test_set_state_rejects_bad_input():
    gen = RandomGenerator(1)
    with pytest.raises(ValueError, match=r"^state must have shape \(625,\), got \(624,\)$"):
        gen.set_state(np.zeros(624, dtype=np.uint32))
    bad = gen.get_state()
    bad[624] = 625
    with pytest.raises(ValueError, match=r"^state position must be in 0\.\.624, got 625$"):
        gen.set_state(bad)


def test_copy_is_independent():
    gen = RandomGenerator(21)
    gen.next_u32()
    twin = gen.copy()
    assert type(twin) is RandomGenerator
    assert [twin.next_u32() for _ in range(10)] == [gen.next_u32() for _ in range(10)]
    twin.next_u32()
    assert not same_position(twin, gen)


@pytest.mark.parametrize("clone", [lambda g: pickle.loads(pickle.dumps(g)), copy.copy, copy.deepcopy])
def test_pickle_and_copy_module(clone):
    gen = RandomGenerator(33)
    for _ in range(650):
        gen.next_u32()
    twin = clone(gen)
    assert twin is not gen and same_position(twin, gen)
    assert [twin.uniform_open(0.0, 1.0) for _ in range(5)] == [gen.uniform_open(0.0, 1.0) for _ in range(5)]


# ------------------------------------------------------------------------------------------------------------
# Hashing (docs/semantics.md §6.6)
# ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, value", [(0, 0), (42, 0), (42, 1), (1, 2), (12345, 678), (MASK64, MASK64), (2**63, 3)])
def test_hash_combine_matches_model(seed, value):
    assert hash_combine(seed, value) == model_hash_combine(seed, value)


@pytest.mark.parametrize("first, second", [(0, 0), (1, 2), (2, 1), (1000, 0), (100021, 7), (2**32 - 1, 2**32 - 2)])
def test_hash_mix_matches_model(first, second):
    expected = model_hash_combine(model_hash_combine(42, first), second) & 0xFFFFFFFF
    assert hash_mix(first, second) == expected
