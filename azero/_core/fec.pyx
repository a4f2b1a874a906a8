"""Functional-equivalence cache (docs/semantics.md §5) and the reference's FEC key hash.

The key is the reference's own 64-bit hash (not a tuple of doubles), so that cache collisions, and hence the
search trajectory, match the reference bit for bit. The cache is an LRU map over preallocated slots: lookup,
insert and erase are O(1) and allocate nothing.
"""
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

import numpy as np

from azero._core.rng cimport combine_hash
from azero._core.types cimport ErrorRecord, MAX_RECORDED_ERRORS

# libstdc++ _Hash_bytes (64-bit size_t variant, from MurmurHashUnaligned2) constants and std::hash's seed.
cdef uint64_t MURMUR_MUL = 0xc6a4a7935bd1e995ULL
cdef uint64_t STD_HASH_SEED = 0xc70f6907ULL
# Fibonacci hashing multiplier (2^64 / golden ratio) that spreads keys over the open-addressing table.
cdef uint64_t FIB_MUL = 0x9e3779b97f4a7c15ULL


cdef inline uint64_t _shift_mix(uint64_t v) noexcept nogil:
    return v ^ (v >> 47)


cdef inline uint64_t _bucket(uint64_t key, int shift) noexcept nogil:
    return (key * FIB_MUL) >> shift


cdef uint64_t std_hash_double(double x) noexcept nogil:
    # std::hash<double> maps both zeros to 0; any other value hashes its 8 bytes (little-endian word) with
    # _Hash_bytes(ptr, 8, 0xc70f6907): one full 8-byte block, no tail, then the final mix.
    cdef uint64_t bits
    cdef uint64_t h
    if x == 0.0:
        return 0
    memcpy(&bits, &x, 8)
    h = STD_HASH_SEED ^ (<uint64_t>8 * MURMUR_MUL)
    h ^= _shift_mix(bits * MURMUR_MUL) * MURMUR_MUL
    h *= MURMUR_MUL
    h = _shift_mix(h) * MURMUR_MUL
    return _shift_mix(h)


cdef uint64_t fec_errors_hash(const ErrorRecord* record) noexcept nogil:
    cdef uint64_t seed = 42
    cdef int i
    for i in range(record.n_train):
        seed = combine_hash(seed, std_hash_double(record.train[i]))
    for i in range(record.n_valid):
        seed = combine_hash(seed, std_hash_double(record.valid[i]))
    return seed


cdef uint64_t fec_finish_key(uint64_t errors_hash, int64_t task_index, int64_t num_train) noexcept nogil:
    return combine_hash(combine_hash(errors_hash, <uint64_t>task_index), <uint64_t>num_train)


cdef uint64_t fec_key(const ErrorRecord* record, int64_t task_index, int64_t num_train) noexcept nogil:
    return fec_finish_key(fec_errors_hash(record), task_index, num_train)


cdef extern from *:
    """
    #include <string.h>
    /* Four HashCombine chains side by side (rng.pxd's rounds, lane by lane, in GCC vector extensions):
       chain l folds values[4 * j + l], j = 0 .. n - 1, into seeds[l]. Integer arithmetic only, so every build
       gives the same values; an AVX2 clone (one register for the four lanes instead of two SSE2 registers) is
       picked when the library loads, where the CPU has it. */
    typedef uint64_t azero_u64x4 __attribute__((vector_size(32)));
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    __attribute__((target_clones("avx2", "default")))
    #endif
    static void azero_combine_chains4(uint64_t* seeds, const uint64_t* values, int n) {
        azero_u64x4 seed, a, b, c;
        const azero_u64x4 golden = {AZERO_HASH_COMBINE_GOLDEN, AZERO_HASH_COMBINE_GOLDEN,
                                    AZERO_HASH_COMBINE_GOLDEN, AZERO_HASH_COMBINE_GOLDEN};
        int j;
        memcpy(&seed, seeds, sizeof seed);
        for (j = 0; j < n; j++) {
            a = golden;
            b = seed;
            memcpy(&c, values + 4 * j, sizeof c);
            AZERO_HASH_COMBINE_ROUNDS(a, b, c);
            seed = c;
        }
        memcpy(seeds, &seed, sizeof seed);
    }
    """
    void combine_chains4 "azero_combine_chains4"(uint64_t* seeds, const uint64_t* values, int n) noexcept nogil


cdef void fec_errors_hashes(uint64_t* hashes, const ErrorRecord* const* records, int count) noexcept nogil:
    # The records (NULL entries skipped) in groups of CHAIN_WIDTH: every error hashed into values[4 * j + lane],
    # the chains' common length side by side, then each chain's remaining values alone. A last group that is
    # not full idles its spare lanes.
    cdef uint64_t values[(2 * MAX_RECORDED_ERRORS) * CHAIN_WIDTH]
    cdef uint64_t seeds[CHAIN_WIDTH]
    cdef int lengths[CHAIN_WIDTH]
    cdef int owner[CHAIN_WIDTH]
    cdef int c = 0
    cdef int lane, used, j, n, common
    cdef const ErrorRecord* r
    while c < count:
        used = 0
        common = 2 * MAX_RECORDED_ERRORS
        while used < CHAIN_WIDTH and c < count:
            r = records[c]
            if r != NULL:
                n = 0
                for j in range(r.n_train):
                    values[4 * n + used] = std_hash_double(r.train[j])
                    n += 1
                for j in range(r.n_valid):
                    values[4 * n + used] = std_hash_double(r.valid[j])
                    n += 1
                lengths[used] = n
                owner[used] = c
                if n < common:
                    common = n
                used += 1
            c += 1
        if used == 0:
            break
        for lane in range(CHAIN_WIDTH):
            seeds[lane] = 42
            if lane >= used:
                for j in range(common):
                    values[4 * j + lane] = 0
        combine_chains4(seeds, values, common)
        for lane in range(used):
            for j in range(common, lengths[lane]):
                seeds[lane] = combine_hash(seeds[lane], values[4 * j + lane])
            hashes[owner[lane]] = seeds[lane]


cdef void fec_finish_keys(uint64_t* keys, const uint64_t* hashes, int64_t first_index, const int64_t* num_train,
                          int count) noexcept nogil:
    cdef uint64_t values[2 * CHAIN_WIDTH]
    cdef uint64_t seeds[CHAIN_WIDTH]
    cdef int first, lane, c
    for first in range(0, count, 4):   # CHAIN_WIDTH
        for lane in range(CHAIN_WIDTH):
            c = first + lane
            if c < count:
                seeds[lane] = hashes[c]
                values[lane] = <uint64_t>(first_index + c)
                values[CHAIN_WIDTH + lane] = <uint64_t>num_train[c]
            else:
                seeds[lane] = 0
                values[lane] = 0
                values[CHAIN_WIDTH + lane] = 0
        combine_chains4(seeds, values, 2)
        for lane in range(CHAIN_WIDTH):
            if first + lane < count:
                keys[first + lane] = seeds[lane]


def hash_double(double x) -> int:
    """libstdc++ ``std::hash<double>`` of ``x`` (as used by the reference's FEC hash)."""
    return std_hash_double(x)


def fec_hash(train_errors, valid_errors, int64_t task_index, int64_t num_train) -> int:
    """The reference's FEC key of recorded errors (at most 100 of each), a task index and a train count."""
    cdef ErrorRecord record
    cdef int i
    cdef double[::1] train = np.ascontiguousarray(train_errors, dtype=np.float64).reshape(-1)
    cdef double[::1] valid = np.ascontiguousarray(valid_errors, dtype=np.float64).reshape(-1)
    if train.shape[0] > MAX_RECORDED_ERRORS or valid.shape[0] > MAX_RECORDED_ERRORS:
        raise ValueError(f"at most {MAX_RECORDED_ERRORS} train and valid errors are recorded")
    record.n_train = <int>train.shape[0]
    record.n_valid = <int>valid.shape[0]
    for i in range(record.n_train):
        record.train[i] = train[i]
    for i in range(record.n_valid):
        record.valid[i] = valid[i]
    return fec_key(&record, task_index, num_train)


cdef class FECache:
    """LRU cache: FEC key (uint64) -> (fitness, count), with the reference's hit/forget/evict rules.

    ``FECache(cache_size=100000, forget_every=100)``; ``forget_every=0`` never forgets. From Python,
    ``lookup(key)`` returns the cached fitness or None (a hit counts and may forget the entry), ``insert(key,
    fitness)`` adds a fresh entry, ``get_state()``/``set_state()`` save and restore the entries in LRU order.
    """

    def __cinit__(self, int64_t cache_size=100000, int64_t forget_every=100):
        cdef int64_t table_size = 4
        cdef int bits = 2
        # The reference's FECCache checks: cache_size > 1, forget_every == 0 or > 1.
        if cache_size <= 1 or cache_size >= (1 << 29):
            raise ValueError(f"cache_size must be in 2 .. 2**29 - 1, got {cache_size}")
        if forget_every < 0 or forget_every == 1:
            raise ValueError(f"forget_every must be 0 (never) or > 1, got {forget_every}")
        self.capacity = cache_size
        self.forget_every = forget_every
        self.num_slots = <int32_t>(cache_size + 1)
        while table_size < 2 * <int64_t>self.num_slots:
            table_size *= 2
            bits += 1
        self.table_mask = <uint64_t>(table_size - 1)
        self.table_shift = 64 - bits
        self.keys = <uint64_t*>malloc(self.num_slots * sizeof(uint64_t))
        self.fitness = <double*>malloc(self.num_slots * sizeof(double))
        self.counts = <int64_t*>malloc(self.num_slots * sizeof(int64_t))
        self.prev = <int32_t*>malloc(self.num_slots * sizeof(int32_t))
        self.next = <int32_t*>malloc(self.num_slots * sizeof(int32_t))
        self.table = <int32_t*>malloc(table_size * sizeof(int32_t))
        if (self.keys == NULL or self.fitness == NULL or self.counts == NULL or self.prev == NULL
                or self.next == NULL or self.table == NULL):
            raise MemoryError()
        self._clear()

    def __dealloc__(self):
        free(self.keys)
        free(self.fitness)
        free(self.counts)
        free(self.prev)
        free(self.next)
        free(self.table)

    cdef void _clear(self) noexcept nogil:
        cdef int32_t s
        cdef uint64_t i
        for i in range(self.table_mask + 1):
            self.table[i] = 0
        for s in range(self.num_slots):
            self.next[s] = s + 1 if s + 1 < self.num_slots else -1
        self.free_head = 0
        self.head = -1
        self.tail = -1
        self.size = 0

    cdef int64_t _find(self, uint64_t key) noexcept nogil:
        # Table position holding `key`, or -1.
        cdef uint64_t pos = _bucket(key, self.table_shift)
        cdef int32_t s
        while True:
            s = self.table[pos]
            if s == 0:
                return -1
            if self.keys[s - 1] == key:
                return <int64_t>pos
            pos = (pos + 1) & self.table_mask

    cdef void _unlink(self, int32_t slot) noexcept nogil:
        cdef int32_t p = self.prev[slot]
        cdef int32_t n = self.next[slot]
        if p >= 0:
            self.next[p] = n
        else:
            self.head = n
        if n >= 0:
            self.prev[n] = p
        else:
            self.tail = p

    cdef void _push_front(self, int32_t slot) noexcept nogil:
        self.prev[slot] = -1
        self.next[slot] = self.head
        if self.head >= 0:
            self.prev[self.head] = slot
        else:
            self.tail = slot
        self.head = slot

    cdef void _erase_at(self, int64_t pos) noexcept nogil:
        # Remove the entry at table position `pos`: free its slot, then close the probe-sequence gap by
        # shifting later entries back (no tombstones, so lookups stay short).
        cdef int32_t slot = self.table[pos] - 1
        cdef uint64_t hole = <uint64_t>pos
        cdef uint64_t j = <uint64_t>pos
        cdef uint64_t home
        cdef int32_t s
        cdef bint stays
        self._unlink(slot)
        self.next[slot] = self.free_head
        self.free_head = slot
        self.size -= 1
        while True:
            j = (j + 1) & self.table_mask
            s = self.table[j]
            if s == 0:
                break
            home = _bucket(self.keys[s - 1], self.table_shift)
            # The entry at j may move into the hole unless its home lies cyclically in (hole, j].
            if hole <= j:
                stays = hole < home and home <= j
            else:
                stays = hole < home or home <= j
            if not stays:
                self.table[hole] = s
                hole = j
        self.table[hole] = 0

    cdef void _put(self, uint64_t key, double fitness, int64_t count) noexcept nogil:
        cdef int64_t pos = self._find(key)
        cdef int32_t slot
        cdef uint64_t p
        if pos >= 0:
            # Same as the reference's erase-then-insert of an existing key.
            slot = self.table[pos] - 1
            self._unlink(slot)
        else:
            slot = self.free_head
            self.free_head = self.next[slot]
            self.keys[slot] = key
            p = _bucket(key, self.table_shift)
            while self.table[p] != 0:
                p = (p + 1) & self.table_mask
            self.table[p] = slot + 1
            self.size += 1
        self.fitness[slot] = fitness
        self.counts[slot] = count
        self._push_front(slot)
        while self.size > self.capacity:
            self._erase_at(self._find(self.keys[self.tail]))

    cdef bint c_lookup(self, uint64_t key, double* fitness) noexcept nogil:
        cdef int64_t pos = self._find(key)
        cdef int32_t slot
        if pos < 0:
            self.misses += 1
            return False
        self.hits += 1
        slot = self.table[pos] - 1
        fitness[0] = self.fitness[slot]
        self.counts[slot] += 1
        if self.forget_every != 0 and self.counts[slot] >= self.forget_every:
            self._erase_at(pos)
        else:
            self._unlink(slot)
            self._push_front(slot)
        return True

    cdef void c_insert(self, uint64_t key, double fitness) noexcept nogil:
        self._put(key, fitness, 1)

    cdef void c_set_fitness(self, uint64_t key, double fitness) noexcept nogil:
        cdef int64_t pos = self._find(key)
        if pos >= 0:
            self.fitness[self.table[pos] - 1] = fitness

    def lookup(self, uint64_t key):
        """Cached fitness of ``key`` (a hit: count += 1, may forget the entry), or None on a miss."""
        cdef double fitness
        if self.c_lookup(key, &fitness):
            return fitness
        return None

    def insert(self, uint64_t key, double fitness) -> None:
        """Store ``fitness`` for ``key`` with count 1 as the most recent entry; evict beyond the capacity."""
        self.c_insert(key, fitness)

    def __len__(self) -> int:
        return self.size

    def get_state(self):
        """(keys uint64, fitness float64, counts int64), most recently used first."""
        keys = np.empty(self.size, dtype=np.uint64)
        fitness = np.empty(self.size, dtype=np.float64)
        counts = np.empty(self.size, dtype=np.int64)
        cdef uint64_t[::1] k = keys
        cdef double[::1] f = fitness
        cdef int64_t[::1] c = counts
        cdef int32_t slot = self.head
        cdef int64_t i = 0
        while slot >= 0:
            k[i] = self.keys[slot]
            f[i] = self.fitness[slot]
            c[i] = self.counts[slot]
            slot = self.next[slot]
            i += 1
        return keys, fitness, counts

    def set_state(self, keys, fitness, counts) -> None:
        """Replace the entries by ``get_state()`` output (most recent first), rebuilding the same LRU order."""
        cdef uint64_t[::1] k = np.ascontiguousarray(keys, dtype=np.uint64).reshape(-1)
        cdef double[::1] f = np.ascontiguousarray(fitness, dtype=np.float64).reshape(-1)
        cdef int64_t[::1] c = np.ascontiguousarray(counts, dtype=np.int64).reshape(-1)
        cdef Py_ssize_t n = k.shape[0]
        cdef Py_ssize_t i
        if f.shape[0] != n or c.shape[0] != n:
            raise ValueError("keys, fitness and counts must have the same length")
        if n > self.capacity:
            raise ValueError(f"{n} entries exceed the cache size {self.capacity}")
        for i in range(n):
            if c[i] < 1 or (self.forget_every != 0 and c[i] >= self.forget_every):
                raise ValueError(f"count {c[i]} out of range for forget_every={self.forget_every}")
        self._clear()
        for i in range(n - 1, -1, -1):
            self._put(k[i], f[i], c[i])
        if self.size != n:
            self._clear()
            raise ValueError("duplicate keys in the cache state")
