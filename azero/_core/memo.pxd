# Memo of recent evaluations (docs/semantics.md §10.5): what evaluating a live program produced, per task.
from libc.stdint cimport int32_t, int64_t, uint64_t
from azero._core.types cimport Instruction, Program

# What one evaluation of a live program on one task produced.
cdef struct TaskMemo:
    uint64_t fec_errors_hash     # the FEC pre-run's errors hashed (fec_errors_hashes)
    int64_t fec_steps            # the pre-run's train steps; -1: not known
    int64_t main_train           # the main run's budgeted train examples; -1: not known
    int64_t main_steps           # its train steps
    double main_fitness          # its fitness

# A direct-mapped table from live programs (hash, sizes, instructions) to their TaskMemo per task
# (tasks[slot * num_tasks + i]). A child that equals a recent program once dead code is gone reuses its FEC
# pre-runs, and its main runs when it draws no random numbers.
cdef class ProgramMemo:
    cdef int num_tasks
    cdef int shift                        # slot = hash >> shift
    cdef uint64_t* hashes
    cdef int32_t* sizes                   # 3 per slot; -1: empty slot
    cdef Instruction* code                # MEMO_CODE instructions per slot
    cdef TaskMemo* tasks
    # The first TaskMemo of the slot of `live` (its three functions one after another from live.fn[0], as
    # LiveCode leaves them), claimed and cleared if another program held the slot; NULL if it does not fit.
    cdef TaskMemo* entry(self, const Program* live) noexcept nogil
