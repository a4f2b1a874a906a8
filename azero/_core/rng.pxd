# The reference's random stream: std::mt19937 and the Abseil 20200923 distributions (docs/semantics.md §6).
# Every function consumes exactly the 32-bit words the reference consumes for the same call.
from libc.stdint cimport uint16_t, uint32_t, uint64_t, int32_t, int64_t

cdef struct MT19937:
    uint32_t state[624]
    int index                      # next word to temper; 624 means "twist before the next draw"

cdef void mt_seed(MT19937* g, uint32_t seed) noexcept nogil
cdef void mt_twist(MT19937* g) noexcept nogil       # regenerate all 624 state words, index = 0


cdef inline uint32_t mt_next(MT19937* g) noexcept nogil:
    """Next 32-bit output (inline: the per-word cost is a load and the tempering; twist every 624 words)."""
    cdef uint32_t y
    if g.index >= 624:
        mt_twist(g)
    y = g.state[g.index]
    g.index += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c5680u
    y ^= (y << 15) & 0xefc60000u
    y ^= y >> 18
    return y


cdef inline uint64_t mt_next64(MT19937* g) noexcept nogil:
    """(w1 << 32) + w2: the first word is the high half (Abseil's 64-bit request on a 32-bit engine)."""
    cdef uint64_t high = mt_next(g)
    return (high << 32) + mt_next(g)


# Integers on the half-open range [lo, hi); an empty range returns lo without drawing.
# (Abseil quirk kept: hi == lo == the type's minimum is not "empty" - it draws one attempt and returns lo.)
cdef uint16_t uniform_u16(MT19937* g, uint16_t lo, uint16_t hi) noexcept nogil
cdef uint32_t uniform_u32(MT19937* g, uint32_t lo, uint32_t hi) noexcept nogil
cdef uint64_t uniform_u64(MT19937* g, uint64_t lo, uint64_t hi) noexcept nogil
cdef int32_t uniform_i32(MT19937* g, int32_t lo, int32_t hi) noexcept nogil
cdef int64_t uniform_i64(MT19937* g, int64_t lo, int64_t hi) noexcept nogil

cdef float uniform_float(MT19937* g, float lo, float hi) noexcept nogil     # [lo, hi), float arithmetic
cdef float uniform_prob(MT19937* g) noexcept nogil                         # uniform_float(0, 1)
cdef double uniform_open(MT19937* g, double lo, double hi) noexcept nogil  # (lo, hi); invalid range -> lo
cdef double gaussian(MT19937* g, double mean, double stdev) noexcept nogil
cdef float gaussian_float(MT19937* g, float mean, float stdev) noexcept nogil
cdef uint32_t random_seed(MT19937* g) noexcept nogil                       # UniformRandomSeed: [2, 2^32 - 2]

# cpdef (not cdef) so that the module also exports them to Python under the same names.
cpdef uint64_t hash_combine(uint64_t seed, uint64_t value) noexcept nogil  # docs/semantics.md §6.6


cdef extern from *:
    """
    /* HashCombine's twelve mixing rounds (docs/semantics.md section 6.6, the reference's 64-bit Jenkins-style
       mix) on lvalues a, b, c of one unsigned 64-bit type: uint64_t here, a GCC vector of them in fec.pyx's
       four-lane chains. One macro, so that both use the same rounds and both stay inlined. */
    #define AZERO_HASH_COMBINE_ROUNDS(a, b, c) do { \\
        a -= b; a -= c; a ^= c >> 43;  b -= c; b -= a; b ^= a << 9;   c -= a; c -= b; c ^= b >> 8;  \\
        a -= b; a -= c; a ^= c >> 38;  b -= c; b -= a; b ^= a << 23;  c -= a; c -= b; c ^= b >> 5;  \\
        a -= b; a -= c; a ^= c >> 35;  b -= c; b -= a; b ^= a << 49;  c -= a; c -= b; c ^= b >> 11; \\
        a -= b; a -= c; a ^= c >> 12;  b -= c; b -= a; b ^= a << 18;  c -= a; c -= b; c ^= b >> 22; \\
    } while (0)
    #define AZERO_HASH_COMBINE_GOLDEN 0x9e3779b9u
    /* Inline, because the FEC calls it 20 times per lookup (a call into another module cost ~10% of the demo). */
    static inline uint64_t azero_combine_hash(uint64_t seed, uint64_t value) {
        uint64_t a = AZERO_HASH_COMBINE_GOLDEN, b = seed, c = value;
        AZERO_HASH_COMBINE_ROUNDS(a, b, c);
        return c;
    }
    """
    # HashCombine(seed, value), docs/semantics.md §6.6: the new seed.
    uint64_t combine_hash "azero_combine_hash"(uint64_t seed, uint64_t value) noexcept nogil


cpdef uint32_t hash_mix(uint64_t first, uint64_t second) noexcept nogil    # HashMix([first, second]), low 32 bits

cdef class RandomGenerator:
    cdef MT19937 gen
