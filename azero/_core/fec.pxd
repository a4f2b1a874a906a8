# Functional-equivalence cache (docs/semantics.md §5): LRU map from the reference's 64-bit error hash to a fitness.
from libc.stdint cimport int32_t, int64_t, uint64_t
from azero._core.types cimport ErrorRecord

# libstdc++ std::hash<double>: 0 for +-0.0, else the 64-bit Murmur byte hash of the 8 bytes (seed 0xc70f6907).
cdef uint64_t std_hash_double(double x) noexcept nogil

# The reference's key: HashCombine from seed 42 over std::hash<double> of each train error, each valid error,
# then the task index and the budgeted train-example count.
cdef uint64_t fec_key(const ErrorRecord* record, int64_t task_index, int64_t num_train) noexcept nogil
# fec_key in two steps: the hash of the recorded errors, then the task index and train count folded in.
cdef uint64_t fec_errors_hash(const ErrorRecord* record) noexcept nogil
cdef uint64_t fec_finish_key(uint64_t errors_hash, int64_t task_index, int64_t num_train) noexcept nogil
# Several tasks' keys at once (HashCombine chains side by side, CHAIN_WIDTH at a time; same values as above):
# hashes[c] = fec_errors_hash(records[c]) for each c < count whose records[c] is not NULL (others unchanged);
# keys[c] = fec_finish_key(hashes[c], first_index + c, num_train[c]).
cdef enum:
    CHAIN_WIDTH = 4
cdef void fec_errors_hashes(uint64_t* hashes, const ErrorRecord* const* records, int count) noexcept nogil
cdef void fec_finish_keys(uint64_t* keys, const uint64_t* hashes, int64_t first_index, const int64_t* num_train,
                          int count) noexcept nogil

cdef class FECache:
    cdef readonly int64_t capacity        # cache_size
    cdef readonly int64_t forget_every    # 0 = never
    cdef public int64_t hits
    cdef public int64_t misses
    # Implementation: capacity + 1 preallocated entry slots (an insert may exceed the capacity by one before
    # evicting), an intrusive doubly linked LRU list over the slots (head = most recent), a free-slot list
    # threaded through `next`, and an open-addressing (linear probing, backward-shift erase) table of slot + 1
    # (0 = empty) with a power-of-two size at least twice the slot count.
    cdef int64_t size
    cdef int32_t num_slots
    cdef uint64_t* keys
    cdef double* fitness
    cdef int64_t* counts
    cdef int32_t* prev
    cdef int32_t* next
    cdef int32_t head
    cdef int32_t tail
    cdef int32_t free_head
    cdef int32_t* table
    cdef uint64_t table_mask
    cdef int table_shift
    # C-level API (named c_* because the Python methods lookup/insert wrap them; Cython cannot give a cdef and
    # a def method the same name).
    # Hit: count += 1, entry becomes most recent, erased when count >= forget_every; returns True and the
    # cached fitness. Miss: returns False (counted in misses).
    cdef bint c_lookup(self, uint64_t key, double* fitness) noexcept nogil
    # New entry with count 1 at the most-recent end; evicts least-recent entries while size > capacity.
    cdef void c_insert(self, uint64_t key, double fitness) noexcept nogil
    # Replace the fitness of `key` if it is cached; nothing else changes (no count, no LRU move). A batched
    # evaluation inserts a placeholder in the reference's order and sets the value once the task has run.
    cdef void c_set_fitness(self, uint64_t key, double fitness) noexcept nogil
    cdef int64_t _find(self, uint64_t key) noexcept nogil
    cdef void _put(self, uint64_t key, double fitness, int64_t count) noexcept nogil
    cdef void _unlink(self, int32_t slot) noexcept nogil
    cdef void _push_front(self, int32_t slot) noexcept nogil
    cdef void _erase_at(self, int64_t pos) noexcept nogil
    cdef void _clear(self) noexcept nogil
