# cython: language_level=3
"""Dead instructions of Predict and Learn: the ones whose results no later instruction, and no error, reads.

During training the executor runs Predict, reads the prediction s1, then runs Learn, over and over; validation
runs Predict and reads s1. Before every Predict it writes the features into v0 and 0 into s0, before every Learn
the features into v0 and the label into s0. Nothing else observes the memory. So an instruction whose output
is overwritten before it is read (following the code around that loop) changes no prediction, no error and no
fitness, and can be skipped: the lane kernel then computes exactly what it computed before, only less of it.
Evolved programs are mostly such instructions (about 75% of Predict and Learn on basic_nonlinear).

The analysis is a backward liveness fixed point over memory addresses (a whole scalar, vector or matrix is one
address): live after Predict = {s1} + what Learn or the next Predict read before writing, s0 and v0 excluded
(the loop rewrites them); live after Learn = what the next Predict reads, s0 and v0 excluded. Both sets only
grow from empty, so the iteration ends. An instruction is kept if it writes a live address, and then it makes
its inputs live and, unless it writes a single entry (ops 57 and 58, which may also write nothing), its output
dead. Random ops (59-64) are always kept: they advance the random stream.
"""
from libc.stdint cimport int32_t, uint8_t
from libc.string cimport memcmp, memcpy, memset

import numpy as np

from azero._core import ops
from azero._core.types cimport (Instruction, NUM_OPS, VECTOR_CONST_SET, MATRIX_CONST_SET, SCALAR_UNIFORM_SET,
                                MATRIX_GAUSSIAN_SET)
from azero._core.checks import check_addresses, check_memory, instruction_array

# Bank of each operand per op (azero.ops: 0 none, 1 scalar, 2 vector, 3 matrix), copied from the op table.
cdef uint8_t IN1_BANK[NUM_OPS]
cdef uint8_t IN2_BANK[NUM_OPS]
cdef uint8_t OUT_BANK[NUM_OPS]
for _op in range(NUM_OPS):
    IN1_BANK[_op] = ops.IN1_BANK[_op]
    IN2_BANK[_op] = ops.IN2_BANK[_op]
    OUT_BANK[_op] = ops.OUT_BANK[_op]


cdef inline int address_cell(int bank, int address, int num_scalars, int num_vectors) noexcept nogil:
    """One index per memory address: scalars (bank 1), then vectors (2), then matrices (3)."""
    if bank == 1:
        return address
    if bank == 2:
        return num_scalars + address
    return num_scalars + num_vectors + address


cdef void backward(const Instruction* code, int32_t n, char* live, char* keep, int num_scalars,
                   int num_vectors) noexcept nogil:
    """`live` holds the addresses live after the last instruction; on return, those live before the first.
    keep[k] = 1 for each instruction k that must run."""
    cdef int32_t k
    cdef int op, out
    for k in range(n - 1, -1, -1):
        op = code[k].op
        keep[k] = 0
        if OUT_BANK[op] == 0:   # NO_OP
            continue
        out = address_cell(OUT_BANK[op], code[k].out, num_scalars, num_vectors)
        if not live[out] and not (SCALAR_UNIFORM_SET <= op <= MATRIX_GAUSSIAN_SET):
            continue
        keep[k] = 1
        if op != VECTOR_CONST_SET and op != MATRIX_CONST_SET:
            live[out] = 0
        if IN1_BANK[op] != 0:
            live[address_cell(IN1_BANK[op], code[k].in1, num_scalars, num_vectors)] = 1
        if IN2_BANK[op] != 0:
            live[address_cell(IN2_BANK[op], code[k].in2, num_scalars, num_vectors)] = 1


cdef size_t prune_scratch_size(int32_t n_predict, int32_t n_learn, int num_scalars, int num_vectors,
                               int num_matrices) noexcept nogil:
    return 3 * <size_t>(num_scalars + num_vectors + num_matrices) + n_predict + n_learn


cdef Liveness analyse(const Instruction* predict, int32_t n_predict, const Instruction* learn, int32_t n_learn,
                      int num_scalars, int num_vectors, int num_matrices, char* scratch) noexcept nogil:
    """The fixed point; leaves the keep flags of Predict then Learn at scratch + 3 * cells."""
    cdef int cells = num_scalars + num_vectors + num_matrices
    cdef char* predict_in = scratch              # live before Predict
    cdef char* learn_in = scratch + cells        # live before Learn
    cdef char* work = scratch + 2 * cells
    cdef char* keep = scratch + 3 * cells
    cdef int features = num_scalars              # v0
    cdef int c
    cdef bint changed = True
    cdef Liveness result
    memset(scratch, 0, 2 * cells)
    while changed:
        for c in range(cells):
            work[c] = predict_in[c] | learn_in[c]
        work[0] = 0
        work[features] = 0
        work[1] = 1
        backward(predict, n_predict, work, keep, num_scalars, num_vectors)
        changed = memcmp(work, predict_in, cells) != 0
        memcpy(predict_in, work, cells)
        work[0] = 0
        work[features] = 0
        backward(learn, n_learn, work, keep + n_predict, num_scalars, num_vectors)
        changed = changed or memcmp(work, learn_in, cells) != 0
        memcpy(learn_in, work, cells)
    result.n_predict = 0
    result.n_learn = 0
    for c in range(n_predict):
        result.n_predict += keep[c]
    for c in range(n_learn):
        result.n_learn += keep[n_predict + c]
    result.predict_reads_features = predict_in[features]
    result.learn_reads_features = learn_in[features]
    return result


cdef Liveness prune_dead(const Instruction* predict, int32_t n_predict, const Instruction* learn,
                         int32_t n_learn, int num_scalars, int num_vectors, int num_matrices, char* scratch,
                         Instruction* out) noexcept nogil:
    cdef Liveness result = analyse(predict, n_predict, learn, n_learn, num_scalars, num_vectors, num_matrices,
                                   scratch)
    cdef const char* keep = scratch + 3 * (num_scalars + num_vectors + num_matrices)
    cdef int32_t k
    cdef int32_t j = 0
    for k in range(n_predict):
        if keep[k]:
            out[j] = predict[k]
            j += 1
    for k in range(n_learn):
        if keep[n_predict + k]:
            out[j] = learn[k]
            j += 1
    return result


cdef const Instruction* instructions_of(const unsigned char[::1] raw) noexcept:
    return <const Instruction*> &raw[0] if raw.shape[0] else NULL


def live_instructions(predict, learn, num_scalars: int, num_vectors: int, num_matrices: int) -> tuple:
    """(keep Predict, keep Learn, Predict reads the features, Learn reads the features): boolean masks of the
    instructions the lane kernel runs (the others cannot change any result), and whether the training loop
    must copy the features in before Predict and before Learn."""
    cdef int S, V, M
    sizes = S, V, M = check_memory(num_scalars, num_vectors, num_matrices)
    predict = instruction_array(predict, "predict")
    learn = instruction_array(learn, "learn")
    check_addresses(predict, "predict", sizes)
    check_addresses(learn, "learn", sizes)
    cdef int32_t n_predict = predict.shape[0]
    cdef int32_t n_learn = learn.shape[0]
    scratch = np.zeros(prune_scratch_size(n_predict, n_learn, S, V, M), np.int8)
    cdef char[::1] scratch_view = scratch
    cdef Liveness result = analyse(instructions_of(predict.view(np.uint8)), n_predict,
                                   instructions_of(learn.view(np.uint8)), n_learn, S, V, M,
                                   &scratch_view[0])
    keep = scratch[3 * (S + V + M):].astype(bool)
    return keep[:n_predict], keep[n_predict:], bool(result.predict_reads_features), bool(result.learn_reads_features)
