# cython: annotation_typing=False
"""The reference's random stream: MT19937 plus the Abseil 20200923 distributions (docs/semantics.md §6).

Bit-exactness with the reference needs the same generator (std::mt19937, init_genrand seeding), the same
number of 32-bit words per call and the same arithmetic (float paths in float, Abseil's bits-to-real mapping,
its Lemire-style integer rejection and its 128-strip ziggurat). The C functions here are `noexcept nogil` so
that the executor and the search loop can draw without the GIL; `RandomGenerator` is the Python handle.
"""
from importlib.resources import files
from operator import index as as_integer

import numpy as np

from libc.math cimport exp, fabs, isfinite, log, nextafter
from libc.stdint cimport INT32_MIN, INT64_MIN
from libc.string cimport memcpy

cdef extern from *:
    """
    /* High and low 64-bit halves of the 128-bit product a * b (Abseil's wide_multiply<uint64_t>). */
    static inline uint64_t azero_mul64_hi(uint64_t a, uint64_t b, uint64_t* lo) {
        unsigned __int128 p = (unsigned __int128)a * b;
        *lo = (uint64_t)p;
        return (uint64_t)(p >> 64);
    }
    #define AZERO_MANTISSA52 UINT64_C(0x000FFFFFFFFFFFFF)
    #define AZERO_SIGN64 UINT64_C(0x8000000000000000)
    #define AZERO_LOW63 UINT64_C(0x7FFFFFFFFFFFFFFF)
    #define AZERO_KR 3.442619855899
    #define AZERO_KR_INV 0.29047645161474317
    """
    uint64_t azero_mul64_hi(uint64_t a, uint64_t b, uint64_t* lo) noexcept nogil
    int __builtin_clzll(unsigned long long x) noexcept nogil
    const uint64_t MANTISSA52 "AZERO_MANTISSA52"
    const uint64_t SIGN64 "AZERO_SIGN64"
    const uint64_t LOW63 "AZERO_LOW63"
    const double KR "AZERO_KR"              # start of the ziggurat tail (absl gaussian_distribution_base::kR)
    const double KR_INV "AZERO_KR_INV"      # the reference's rounded 1 / kR

# Ziggurat tables zg_.x / zg_.f of absl/random/gaussian_distribution.cc @ 20200923 (129 entries each).
cdef double zg_x[129]
cdef double zg_f[129]


cdef int load_ziggurat_tables() except -1:
    """Fill zg_x / zg_f from the package data file (lines 'x ...' and 'f ...', 129 numbers each)."""
    text = files("azero._core").joinpath("gaussian_ziggurat_tables.txt").read_text(encoding="ascii")
    tables = {}
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] in ("x", "f"):
            tables[fields[0]] = [float(v) for v in fields[1:]]
    if sorted(tables) != ["f", "x"] or len(tables["x"]) != 129 or len(tables["f"]) != 129:
        raise RuntimeError("gaussian_ziggurat_tables.txt must hold lines 'x' and 'f' with 129 numbers each")
    cdef int i
    for i in range(129):
        zg_x[i] = tables["x"][i]
        zg_f[i] = tables["f"][i]
    return 0


load_ziggurat_tables()


# ---------------------------------------------------------------------------------------------------------
# MT19937
# ---------------------------------------------------------------------------------------------------------

cdef void mt_seed(MT19937* g, uint32_t seed) noexcept nogil:
    """init_genrand(seed); the next draw twists first."""
    cdef int i
    g.state[0] = seed
    for i in range(1, 624):
        g.state[i] = 1812433253u * (g.state[i - 1] ^ (g.state[i - 1] >> 30)) + <uint32_t>i
    g.index = 624


cdef void mt_twist(MT19937* g) noexcept nogil:
    """Regenerate the 624 state words (the standard recurrence, split into loops to avoid modulo)."""
    cdef uint32_t* s = g.state
    cdef uint32_t y
    cdef int i
    for i in range(227):
        y = (s[i] & 0x80000000u) | (s[i + 1] & 0x7fffffffu)
        s[i] = s[i + 397] ^ (y >> 1) ^ (0x9908b0dfu if (y & 1u) else 0u)
    for i in range(227, 623):
        y = (s[i] & 0x80000000u) | (s[i + 1] & 0x7fffffffu)
        s[i] = s[i - 227] ^ (y >> 1) ^ (0x9908b0dfu if (y & 1u) else 0u)
    y = (s[623] & 0x80000000u) | (s[0] & 0x7fffffffu)
    s[623] = s[396] ^ (y >> 1) ^ (0x9908b0dfu if (y & 1u) else 0u)
    g.index = 0


# ---------------------------------------------------------------------------------------------------------
# Bits to reals (absl GenerateRealFromBits): the leading one of the 64 bits sets the exponent, the bits below
# it the mantissa (truncated). For a zero input with IncludeZero=false Abseil's count of leading zeros is 64
# and the exponent formula still applies (giving 2^-65, resp. +-2^-64), which is reproduced here.
# ---------------------------------------------------------------------------------------------------------

cdef inline double real_positive(uint64_t bits) noexcept nogil:
    """U(0, 1) without zero: bits / 2^64 truncated to 53 significant bits (GeneratePositiveTag, no zero)."""
    cdef int clz = 64 if bits == 0 else __builtin_clzll(bits)
    cdef uint64_t v
    cdef double r
    bits <<= (clz & 63)
    v = ((<uint64_t>(1022 - clz)) << 52) | ((bits >> 11) & MANTISSA52)
    memcpy(&r, &v, 8)
    return r


cdef inline double real_unit(uint64_t bits) noexcept nogil:
    """[0, 1): like real_positive but 0 maps to 0 (GeneratePositiveTag, IncludeZero)."""
    if bits == 0:
        return 0.0
    return real_positive(bits)


cdef inline double real_signed(uint64_t bits) noexcept nogil:
    """U(-1, 1) without zero: sign from the top bit, magnitude = low 63 bits / 2^63 truncated (GenerateSignedTag)."""
    cdef uint64_t sign = bits & SIGN64
    cdef int clz
    cdef uint64_t v
    cdef double r
    bits &= LOW63
    clz = 64 if bits == 0 else __builtin_clzll(bits)
    bits <<= (clz & 63)
    v = sign | ((<uint64_t>(1023 - clz)) << 52) | ((bits >> 11) & MANTISSA52)
    memcpy(&r, &v, 8)
    return r


cdef inline float real_unit_float(uint64_t bits) noexcept nogil:
    """[0, 1) in float: bits / 2^64 truncated to 24 significant bits, 0 for 0."""
    cdef int clz
    cdef uint32_t v
    cdef float r
    if bits == 0:
        return 0.0
    clz = __builtin_clzll(bits)
    bits <<= clz
    v = ((<uint32_t>(126 - clz)) << 23) | (<uint32_t>(bits >> 40) & 0x007FFFFFu)
    memcpy(&r, &v, 4)
    return r


# ---------------------------------------------------------------------------------------------------------
# Integers: absl::uniform_int_distribution::Generate on the closed range [0, r] (docs/semantics.md §6.3).
# ---------------------------------------------------------------------------------------------------------

cdef inline uint16_t draw_u16(MT19937* g, uint16_t r) noexcept nogil:
    """[0, r] from the low 16 bits of one word per attempt."""
    cdef uint32_t lim = <uint32_t>r + 1
    cdef uint32_t bits = mt_next(g) & 0xFFFFu
    cdef uint32_t product, threshold
    if (r & lim) == 0:               # lim is a power of two (or 2^16)
        return <uint16_t>(bits & r)
    product = bits * lim
    if (product & 0xFFFFu) < lim:
        threshold = (65536u - lim) % lim
        while (product & 0xFFFFu) < threshold:
            bits = mt_next(g) & 0xFFFFu
            product = bits * lim
    return <uint16_t>(product >> 16)


cdef inline uint32_t draw_u32(MT19937* g, uint32_t r) noexcept nogil:
    """[0, r] from one word per attempt."""
    cdef uint32_t lim = r + 1
    cdef uint32_t bits = mt_next(g)
    cdef uint64_t product
    cdef uint32_t threshold
    if (r & lim) == 0:
        return bits & r
    product = <uint64_t>bits * lim
    if <uint32_t>product < lim:
        threshold = (0u - lim) % lim
        while <uint32_t>product < threshold:
            bits = mt_next(g)
            product = <uint64_t>bits * lim
    return <uint32_t>(product >> 32)


cdef inline uint64_t draw_u64(MT19937* g, uint64_t r) noexcept nogil:
    """[0, r] from two words per attempt (first word high)."""
    cdef uint64_t lim = r + 1
    cdef uint64_t bits = mt_next64(g)
    cdef uint64_t low, high, threshold
    if (r & lim) == 0:
        return bits & r
    high = azero_mul64_hi(bits, lim, &low)
    if low < lim:
        threshold = (<uint64_t>0 - lim) % lim
        while low < threshold:
            bits = mt_next64(g)
            high = azero_mul64_hi(bits, lim, &low)
    return high


# absl::Uniform(gen, lo, hi) maps [lo, hi) to the closed [lo, upper] with upper = hi - 1, except that hi is kept
# when it is the type's minimum; the range is then valid iff lo <= upper, otherwise lo is returned undrawn.

cdef uint16_t uniform_u16(MT19937* g, uint16_t lo, uint16_t hi) noexcept nogil:
    cdef uint16_t upper = hi - 1 if hi > 0 else hi
    if lo > upper:
        return lo
    return <uint16_t>(lo + draw_u16(g, <uint16_t>(upper - lo)))


cdef uint32_t uniform_u32(MT19937* g, uint32_t lo, uint32_t hi) noexcept nogil:
    cdef uint32_t upper = hi - 1 if hi > 0 else hi
    if lo > upper:
        return lo
    return lo + draw_u32(g, upper - lo)


cdef uint64_t uniform_u64(MT19937* g, uint64_t lo, uint64_t hi) noexcept nogil:
    cdef uint64_t upper = hi - 1 if hi > 0 else hi
    if lo > upper:
        return lo
    return lo + draw_u64(g, upper - lo)


cdef int32_t uniform_i32(MT19937* g, int32_t lo, int32_t hi) noexcept nogil:
    cdef int32_t upper = hi - 1 if hi > INT32_MIN else hi
    if lo > upper:
        return lo
    return <int32_t>(<uint32_t>lo + draw_u32(g, <uint32_t>upper - <uint32_t>lo))


cdef int64_t uniform_i64(MT19937* g, int64_t lo, int64_t hi) noexcept nogil:
    cdef int64_t upper = hi - 1 if hi > INT64_MIN else hi
    if lo > upper:
        return lo
    return <int64_t>(<uint64_t>lo + draw_u64(g, <uint64_t>upper - <uint64_t>lo))


cdef uint32_t random_seed(MT19937* g) noexcept nogil:
    """absl::Uniform<uint32_t>(IntervalOpen, g, 1, 2^32 - 1), i.e. the closed [2, 2^32 - 2]."""
    return 2u + draw_u32(g, 0xFFFFFFFCu)


# ---------------------------------------------------------------------------------------------------------
# Reals: absl::uniform_real_distribution (docs/semantics.md §6.4). An attempt is redrawn when the result rounds up to hi.
# The ranges are valid (lo <= hi, finite span) whenever the loop is reached, so Abseil's "span not finite"
# acceptance never applies there.
# ---------------------------------------------------------------------------------------------------------

cdef float uniform_float(MT19937* g, float lo, float hi) noexcept nogil:
    cdef float span = hi - lo
    cdef float sample, res
    if not (lo <= hi and isfinite(span)):
        return lo
    while True:
        sample = real_unit_float(mt_next64(g))
        res = lo + sample * span
        if res < hi or span <= 0:
            return res


cdef float uniform_prob(MT19937* g) noexcept nogil:
    return uniform_float(g, 0.0, 1.0)


cdef double uniform_open(MT19937* g, double lo, double hi) noexcept nogil:
    """absl::Uniform<double>(IntervalOpen, g, lo, hi): the closed-open [nextafter(lo, hi), hi)."""
    cdef double a = nextafter(lo, hi)
    cdef double span = hi - a
    cdef double res
    if not (a <= hi and isfinite(span)):
        return lo
    while True:
        res = a + real_unit(mt_next64(g)) * span
        if res < hi or span <= 0:
            return res


# ---------------------------------------------------------------------------------------------------------
# Gaussian: absl::gaussian_distribution (ziggurat, docs/semantics.md §6.5).
# ---------------------------------------------------------------------------------------------------------

cdef double zignor_tail(MT19937* g, bint negative) noexcept nogil:
    """Marsaglia's tail beyond kR (strip 0 outside its rectangle)."""
    cdef double x, y
    while True:
        x = KR_INV * log(real_positive(mt_next64(g)))
        y = -log(real_positive(mt_next64(g)))
        if not ((y + y) < (x * x)):
            break
    return (x - KR) if negative else (KR - x)


cdef double zignor(MT19937* g) noexcept nogil:
    """A standard normal deviate; one 64-bit draw picks both the strip (low 7 bits) and the signed abscissa."""
    cdef uint64_t bits
    cdef int i
    cdef double j, x, v
    while True:
        bits = mt_next64(g)
        i = <int>(bits & 0x7F)
        j = real_signed(bits)
        x = j * zg_x[i]
        if fabs(x) < zg_x[i + 1]:
            return x
        if i == 0:
            return zignor_tail(g, j < 0)
        v = real_positive(mt_next64(g))
        if (zg_f[i + 1] + v * (zg_f[i] - zg_f[i + 1])) < exp(-0.5 * x * x):
            return x


cdef double gaussian(MT19937* g, double mean, double stdev) noexcept nogil:
    return mean + stdev * zignor(g)


cdef float gaussian_float(MT19937* g, float mean, float stdev) noexcept nogil:
    """gaussian_distribution<float>: the deviate is computed in double, cast to float, then scaled in float."""
    cdef float z = <float>zignor(g)
    return mean + stdev * z


# ---------------------------------------------------------------------------------------------------------
# Hashing (docs/semantics.md §6.6): HashCombine on 64-bit unsigned words, HashMix of two numbers from seed 42.
# ---------------------------------------------------------------------------------------------------------

cpdef uint64_t hash_combine(uint64_t seed, uint64_t value) noexcept nogil:
    """HashCombine(seed, value): the reference's 64-bit Jenkins-style mix; returns the new seed."""
    return combine_hash(seed, value)


cpdef uint32_t hash_mix(uint64_t first, uint64_t second) noexcept nogil:
    """HashMix({first, second}) for RandomSeedT: fold both into seed 42, keep the low 32 bits."""
    return <uint32_t>hash_combine(hash_combine(42, first), second)


# ---------------------------------------------------------------------------------------------------------
# Python handle
# ---------------------------------------------------------------------------------------------------------

cdef class RandomGenerator:
    """An MT19937 stream with the reference's distributions; C code draws from it through `&rng.gen`.

    RandomGenerator(seed=5489) equals std::mt19937(seed) (seed taken mod 2^32). Integer ranges are half-open
    [lo, hi); uniform_open is the open (lo, hi) of the reference's uniform random ops.
    """

    def __cinit__(self, seed: int = 5489):
        self.seed(seed)

    def seed(self, s: int = 5489) -> None:
        """Re-seed like std::mt19937::seed(s): init_genrand(s mod 2^32)."""
        mt_seed(&self.gen, <uint32_t>(as_integer(s) % 4294967296))

    def next_u32(self) -> int:
        """One raw 32-bit output."""
        return mt_next(&self.gen)

    def next_u64(self) -> int:
        """Two raw outputs as (first << 32) + second."""
        return mt_next64(&self.gen)

    def uniform_u16(self, uint16_t lo, uint16_t hi) -> int:
        return uniform_u16(&self.gen, lo, hi)

    def uniform_u32(self, uint32_t lo, uint32_t hi) -> int:
        return uniform_u32(&self.gen, lo, hi)

    def uniform_u64(self, uint64_t lo, uint64_t hi) -> int:
        return uniform_u64(&self.gen, lo, hi)

    def uniform_i32(self, int32_t lo, int32_t hi) -> int:
        return uniform_i32(&self.gen, lo, hi)

    def uniform_i64(self, int64_t lo, int64_t hi) -> int:
        return uniform_i64(&self.gen, lo, hi)

    def uniform_float(self, float lo, float hi) -> float:
        """Float in [lo, hi) computed in float32 (arguments are rounded to float32 first)."""
        return uniform_float(&self.gen, lo, hi)

    def uniform_prob(self) -> float:
        return uniform_prob(&self.gen)

    def uniform_open(self, double lo, double hi) -> float:
        return uniform_open(&self.gen, lo, hi)

    def gaussian(self, double mean=0.0, double stdev=1.0) -> float:
        return gaussian(&self.gen, mean, stdev)

    def gaussian_float(self, float mean=0.0, float stdev=1.0) -> float:
        return gaussian_float(&self.gen, mean, stdev)

    def gaussian_array(self, Py_ssize_t n, double mean=0.0, double stdev=1.0) -> np.ndarray:
        """n successive gaussian(mean, stdev) draws as a float64 array."""
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        out = np.empty(n, dtype=np.float64)
        cdef double[::1] view = out
        cdef Py_ssize_t i
        with nogil:
            for i in range(n):
                view[i] = gaussian(&self.gen, mean, stdev)
        return out

    def random_seed(self) -> int:
        """UniformRandomSeed(): uniform on [2, 2^32 - 2], one word per attempt."""
        return random_seed(&self.gen)

    def get_state(self) -> np.ndarray:
        """The 624 state words followed by the position (0..624), as uint32 (625,)."""
        out = np.empty(625, dtype=np.uint32)
        cdef uint32_t[::1] view = out
        cdef int i
        for i in range(624):
            view[i] = self.gen.state[i]
        view[624] = <uint32_t>self.gen.index
        return out

    def set_state(self, state) -> None:
        """Restore a state produced by get_state()."""
        arr = np.ascontiguousarray(state, dtype=np.uint32)
        if arr.shape != (625,):
            raise ValueError(f"state must have shape (625,), got {arr.shape}")
        cdef uint32_t[::1] view = arr
        if view[624] > 624:
            raise ValueError(f"state position must be in 0..624, got {view[624]}")
        cdef int i
        for i in range(624):
            self.gen.state[i] = view[i]
        self.gen.index = <int>view[624]

    def copy(self) -> RandomGenerator:
        """An independent generator at the same position of the same stream."""
        cdef RandomGenerator other = RandomGenerator.__new__(RandomGenerator)
        other.gen = self.gen
        return other

    def __reduce__(self):
        return (RandomGenerator, (), self.get_state())

    def __setstate__(self, state) -> None:
        self.set_state(state)
