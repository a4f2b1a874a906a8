# cython: language_level=3
"""Dead code (docs/semantics.md §10.5): the instructions whose results can never be observed.

An execution runs Setup once, then Predict and Learn over and over (train steps, epochs), then Predict alone
(validation). Before every Predict it writes 0 into s0 and the features into v0, before every Learn the label
into s0 and the features into v0, and after every Predict it reads the prediction s1. Nothing else observes the
memory. So an instruction whose output is overwritten before anything reads it changes no prediction, no error,
no train-step count and no fitness, and the evaluator runs the program without it (evolved programs are mostly
such instructions: about 75% of Predict and Learn on basic_nonlinear).

The analysis is a backward liveness fixed point over memory addresses (a whole scalar, vector or matrix is one
address): live after Predict = {s1} + what Learn or the next Predict read before writing, s0 and v0 excluded
(the loop rewrites them); live after Learn = what the next Predict reads, s0 and v0 excluded; live after Setup
= what the first Predict reads. The sets only grow from empty, so the iteration ends. An instruction is kept if
it writes a live address; it then makes its inputs live and, unless it writes a single entry (ops 57 and 58,
which may also write nothing), its output dead. Random ops (59-64) are always kept: they advance the stream.
"""
from libc.stdint cimport int32_t, uint8_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset

import numpy as np

from azero._core import ops
from azero._core.types cimport (Instruction, Program, NUM_OPS, SETUP, PREDICT, LEARN, VECTOR_CONST_SET,
                                MATRIX_CONST_SET, SCALAR_UNIFORM_SET, MATRIX_GAUSSIAN_SET)
from azero._core.checks import check_addresses, check_memory, instruction_array

cdef enum:
    INITIAL_CAPACITY = 64   # instructions; the buffers grow for longer programs

# Bank of each operand per op (0 none, 1 scalar, 2 vector, 3 matrix), copied from the op table.
cdef uint8_t IN1_BANK[NUM_OPS]
cdef uint8_t IN2_BANK[NUM_OPS]
cdef uint8_t OUT_BANK[NUM_OPS]
for _op in range(NUM_OPS):
    IN1_BANK[_op] = ops.IN1_BANK[_op]
    IN2_BANK[_op] = ops.IN2_BANK[_op]
    OUT_BANK[_op] = ops.OUT_BANK[_op]


cdef inline int address_index(int bank, int address, int num_scalars, int num_vectors) noexcept nogil:
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
        out = address_index(OUT_BANK[op], code[k].out, num_scalars, num_vectors)
        if not live[out] and not (SCALAR_UNIFORM_SET <= op <= MATRIX_GAUSSIAN_SET):
            continue
        keep[k] = 1
        if op != VECTOR_CONST_SET and op != MATRIX_CONST_SET:
            live[out] = 0
        if IN1_BANK[op] != 0:
            live[address_index(IN1_BANK[op], code[k].in1, num_scalars, num_vectors)] = 1
        if IN2_BANK[op] != 0:
            live[address_index(IN2_BANK[op], code[k].in2, num_scalars, num_vectors)] = 1


cdef inline void rewritten_by_the_loop(char* live, int num_scalars) noexcept nogil:
    live[0] = 0              # s0: 0 before Predict, the label before Learn
    live[num_scalars] = 0    # v0: the features


cdef Liveness analyse(const Instruction* const* code, const int32_t* sizes, int num_scalars, int num_vectors,
                      int num_addresses, char* flags) noexcept nogil:
    """The fixed point over code[SETUP], code[PREDICT], code[LEARN]. `flags` holds 3 * num_addresses chars of
    work space, then receives one keep flag per instruction: Setup's, then Predict's, then Learn's."""
    cdef char* predict_in = flags                      # live before Predict
    cdef char* learn_in = flags + num_addresses        # live before Learn
    cdef char* work = flags + 2 * num_addresses
    cdef char* keep = flags + 3 * num_addresses
    cdef char* keep_predict = keep + sizes[SETUP]
    cdef char* keep_learn = keep_predict + sizes[PREDICT]
    cdef int c
    cdef bint changed = True
    cdef Liveness found
    memset(flags, 0, 2 * num_addresses)
    while changed:
        for c in range(num_addresses):
            work[c] = predict_in[c] | learn_in[c]
        rewritten_by_the_loop(work, num_scalars)
        work[1] = 1          # s1: the prediction
        backward(code[PREDICT], sizes[PREDICT], work, keep_predict, num_scalars, num_vectors)
        changed = memcmp(work, predict_in, num_addresses) != 0
        memcpy(predict_in, work, num_addresses)
        rewritten_by_the_loop(work, num_scalars)
        backward(code[LEARN], sizes[LEARN], work, keep_learn, num_scalars, num_vectors)
        changed = changed or memcmp(work, learn_in, num_addresses) != 0
        memcpy(learn_in, work, num_addresses)
    memcpy(work, predict_in, num_addresses)
    rewritten_by_the_loop(work, num_scalars)
    backward(code[SETUP], sizes[SETUP], work, keep, num_scalars, num_vectors)
    found.predict_reads_features = predict_in[num_scalars]
    found.learn_reads_features = learn_in[num_scalars]
    return found


cdef class LiveCode:
    """Buffers for the live code of one program at a time, for a memory of the given sizes."""

    def __cinit__(self, int num_scalars, int num_vectors, int num_matrices):
        check_memory(num_scalars, num_vectors, num_matrices)
        self.num_scalars = num_scalars
        self.num_vectors = num_vectors
        self.num_addresses = num_scalars + num_vectors + num_matrices
        self.program.size = self.sizes
        self.capacity = INITIAL_CAPACITY
        self.code = <Instruction*> malloc(INITIAL_CAPACITY * sizeof(Instruction))
        self.flags = <char*> malloc(3 * <size_t>self.num_addresses + INITIAL_CAPACITY)
        if self.code == NULL or self.flags == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.code)
        free(self.flags)

    cdef const Program* prune(self, const Program* source) noexcept nogil:
        cdef int32_t total = source.size[SETUP] + source.size[PREDICT] + source.size[LEARN]
        cdef void* grown
        cdef const char* keep
        cdef Instruction* target
        cdef const Instruction* instruction
        cdef int32_t count = 0, start, k
        cdef int fn
        if total > self.capacity:
            grown = realloc(self.code, total * sizeof(Instruction))
            if grown == NULL:
                return NULL
            self.code = <Instruction*> grown
            grown = realloc(self.flags, 3 * <size_t>self.num_addresses + total)
            if grown == NULL:
                return NULL
            self.flags = <char*> grown
            self.capacity = total
        self.found = analyse(<const Instruction* const*> source.fn, source.size, self.num_scalars,
                             self.num_vectors, self.num_addresses, self.flags)
        keep = self.flags + 3 * self.num_addresses
        for fn in range(3):
            start = count
            for k in range(source.size[fn]):
                if keep[k]:
                    instruction = &source.fn[fn][k]
                    target = &self.code[count]
                    memset(target, 0, sizeof(Instruction))   # padding bytes too
                    target.op = instruction.op
                    target.in1 = instruction.in1
                    target.in2 = instruction.in2
                    target.out = instruction.out
                    target.activation = instruction.activation
                    target.f0 = instruction.f0
                    target.f1 = instruction.f1
                    target.f2 = instruction.f2
                    count += 1
            keep += source.size[fn]
            self.program.fn[fn] = self.code + start
            self.sizes[fn] = count - start
            self.program.capacity[fn] = count - start
        return &self.program


cdef const Instruction* instructions_of(const unsigned char[::1] raw) noexcept:
    return <const Instruction*> &raw[0] if raw.shape[0] else NULL


def live_instructions(predict, learn, num_scalars: int, num_vectors: int, num_matrices: int) -> tuple:
    """(keep Predict, keep Learn, Predict reads the features, Learn reads the features): boolean masks of the
    Predict and Learn instructions an evaluation runs (the others cannot change any result), and whether the
    training loop must copy the features in before Predict and before Learn."""
    cdef int S, V, M
    sizes = S, V, M = check_memory(num_scalars, num_vectors, num_matrices)
    predict = instruction_array(predict, "predict")
    learn = instruction_array(learn, "learn")
    check_addresses(predict, "predict", sizes)
    check_addresses(learn, "learn", sizes)
    cdef const Instruction* code[3]
    cdef int32_t code_sizes[3]
    code[SETUP] = NULL
    code[PREDICT] = instructions_of(predict.view(np.uint8))
    code[LEARN] = instructions_of(learn.view(np.uint8))
    code_sizes[SETUP] = 0
    code_sizes[PREDICT] = predict.shape[0]
    code_sizes[LEARN] = learn.shape[0]
    flags = np.zeros(3 * (S + V + M) + predict.shape[0] + learn.shape[0], np.int8)
    cdef char[::1] flags_view = flags
    cdef Liveness found = analyse(code, code_sizes, S, V, S + V + M, &flags_view[0])
    keep = flags[3 * (S + V + M):].astype(bool)
    return (keep[:predict.shape[0]], keep[predict.shape[0]:], bool(found.predict_reads_features),
            bool(found.learn_reads_features))
