# cython: language_level=3
"""Memo of recent evaluations (docs/semantics.md §10.5).

The same live program always gives the same FEC pre-run (its own fresh generator) and, when it draws nothing,
the same main run; only the cache lookups and inserts depend on history, and the evaluator still does those. So
an evaluator keeps what recent programs produced and reuses it for a child equal to one of them once its dead
code is gone, which is common: most mutations touch dead instructions.
"""
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy

from azero._core.types cimport Instruction, Program, SETUP, PREDICT, LEARN

cdef enum:
    MEMO_CODE = 32              # live instructions a slot holds (longer programs are not memoised)
    MEMO_TASK_ENTRIES = 40960   # slots x tasks: about 1.6 MB of TaskMemo, plus 1 kB of code per slot
    MEMO_MAX_SLOTS = 4096
    MEMO_MIN_SLOTS = 64


cdef class ProgramMemo:
    """A memo for evaluations over `num_tasks` tasks, as many slots as fit the size limit."""

    def __cinit__(self, int num_tasks):
        cdef int64_t slots = MEMO_MAX_SLOTS
        cdef int64_t i
        if num_tasks < 1:
            raise ValueError(f"num_tasks must be >= 1, got {num_tasks}")
        self.num_tasks = num_tasks
        self.shift = 64 - 12   # log2(MEMO_MAX_SLOTS) = 12
        while slots > MEMO_MIN_SLOTS and slots * num_tasks > MEMO_TASK_ENTRIES:
            slots //= 2
            self.shift += 1
        self.hashes = <uint64_t*>malloc(slots * sizeof(uint64_t))
        self.sizes = <int32_t*>malloc(3 * slots * sizeof(int32_t))
        self.code = <Instruction*>malloc(<size_t>slots * MEMO_CODE * sizeof(Instruction))
        self.tasks = <TaskMemo*>malloc(<size_t>slots * num_tasks * sizeof(TaskMemo))
        if self.hashes == NULL or self.sizes == NULL or self.code == NULL or self.tasks == NULL:
            raise MemoryError()
        for i in range(3 * slots):
            self.sizes[i] = -1

    def __dealloc__(self):
        free(self.hashes)
        free(self.sizes)
        free(self.code)
        free(self.tasks)

    cdef TaskMemo* entry(self, const Program* live) noexcept nogil:
        cdef const int32_t* live_sizes = live.size
        cdef int32_t total = live_sizes[SETUP] + live_sizes[PREDICT] + live_sizes[LEARN]
        cdef const Instruction* code = live.fn[SETUP]
        cdef const uint64_t* words = <const uint64_t*>code
        cdef int num_words = total * <int>(sizeof(Instruction) // 8)
        cdef uint64_t h = 0x243f6a8885a308d3ULL
        cdef int k, fn, i
        cdef size_t slot
        cdef int32_t* slot_sizes
        cdef TaskMemo* found
        if total > MEMO_CODE:
            return NULL
        for k in range(num_words):
            h = (h ^ words[k]) * 0x9e3779b97f4a7c15ULL
            h ^= h >> 29
        for fn in range(3):
            h = (h ^ <uint64_t>live_sizes[fn]) * 0x9e3779b97f4a7c15ULL
            h ^= h >> 29
        slot = <size_t>(h >> self.shift)
        slot_sizes = self.sizes + 3 * slot
        found = self.tasks + slot * self.num_tasks
        if (self.hashes[slot] == h and slot_sizes[SETUP] == live_sizes[SETUP]
                and slot_sizes[PREDICT] == live_sizes[PREDICT] and slot_sizes[LEARN] == live_sizes[LEARN]
                and memcmp(self.code + slot * MEMO_CODE, code, total * sizeof(Instruction)) == 0):
            return found
        self.hashes[slot] = h
        for fn in range(3):
            slot_sizes[fn] = live_sizes[fn]
        memcpy(self.code + slot * MEMO_CODE, code, total * sizeof(Instruction))
        for i in range(self.num_tasks):
            found[i].fec_steps = -1
            found[i].main_train = -1
        return found
