# Executor: Setup, then Predict-before-Learn training and validation of one program on one task (docs/semantics.md §3).
from libc.stdint cimport int32_t, int64_t
from azero._core.types cimport Instruction, Program, TaskData, Memory, ErrorRecord
from azero._core.rng cimport MT19937

# Allocate/free a memory of the given sizes (scalars, vectors, matrices of F entries).
cdef int memory_init(Memory* mem, int features_size, int num_scalars, int num_vectors, int num_matrices) noexcept nogil
cdef void memory_free(Memory* mem) noexcept nogil

# Fitness of one program on one task. Wipes `mem`, runs Setup with `rng`, trains on
# min(num_all_train_examples, n_train * num_epochs) examples and validates on min(num_valid_examples, n_valid).
# Adds every train step (including the one that stops early) to train_steps[0] (train_steps may be NULL). If
# `record` is not NULL the first epoch's train errors and the validation errors are recorded (both counts must
# be <= 100; further errors are dropped). No checks: task.features_size must be one of 2, 4, 8, 16, 32 and equal
# mem.features_size, every address must fit `mem` (azero._core.checks), and epoch 0 is taken to be the identity
# order (epoch_orders is read only for epochs >= 1).
cdef double execute(const Program* program, const TaskData* task, Memory* mem,
                    int64_t num_all_train_examples, int64_t num_valid_examples,
                    MT19937* rng, double max_abs_error,
                    int64_t* train_steps, ErrorRecord* record) noexcept nogil

# Wipe `mem` and run the program's Setup on it with `rng`: execute()'s first step (the lane kernel trains
# from here).
cdef void run_setup(const Program* program, Memory* mem, MT19937* rng) noexcept nogil

# Run n instructions on `mem` (the instruction loop of execute(), without wipe or training).
cdef void run_instructions(const Instruction* code, int32_t n, Memory* mem, MT19937* rng) noexcept nogil

# Fill `out` from a Python task object (duck-typed Task attributes, validated); returns the typed views that
# back the pointers, which the caller must keep alive while `out` is used.
cdef object task_data_from(object task, TaskData* out)
cdef inline const Instruction* first_instruction(const Instruction[::1] code) noexcept:
    """The address of code[0] for a kernel; NULL for an empty function (the kernels read none of it)."""
    return &code[0] if code.shape[0] else NULL

# Point `program` at three instruction views, with their lengths in `sizes` (also the capacities; the caller
# keeps the views alive while `program` is used).
cdef void point_program(Program* program, int32_t* sizes, const Instruction[::1] setup,
                        const Instruction[::1] predict, const Instruction[::1] learn) noexcept
# Point `mem` at three checked float64 banks (S,), (V, F), (M, F, F) (no copy; the caller keeps them alive).
cdef void point_memory(Memory* mem, int features_size, double[::1] scalars, double[:, ::1] vectors,
                       double[:, :, ::1] matrices) noexcept
