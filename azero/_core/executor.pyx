# cython: language_level=3
"""Executor: runs one program on one task, bit-exact with the reference (docs/semantics.md §2 and 3).

The instruction loop is one ``switch`` on the op inside a ``nogil`` loop. It is written once with a fused
"dimension tag" type: Cython emits one C function per feature size F in {2, 4, 8, 16, 32}, in which F is a
compile-time constant, so every per-element loop has a fixed trip count that gcc unrolls. The reduction orders
(P, L, T, S0, G of docs/semantics.md §2.4) are written out per F; F = 2 and F = 4 use straight-line code.
"""
import time
from collections import namedtuple

import numpy as np

from libc.math cimport sin, cos, tan, asin, acos, atan, exp, log, sqrt, fabs, isnan, isinf, INFINITY
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

from azero._core.types cimport (
    Instruction, Program, TaskData, Memory, ErrorRecord, SETUP, PREDICT, LEARN,
    EVAL_RMS_ERROR, EVAL_ACCURACY, MAX_RECORDED_ERRORS, NUM_OPS,
    NO_OP, SCALAR_SUM, SCALAR_DIFF, SCALAR_PRODUCT, SCALAR_DIVISION, SCALAR_ABS, SCALAR_RECIPROCAL,
    SCALAR_SIN, SCALAR_COS, SCALAR_TAN, SCALAR_ARCSIN, SCALAR_ARCCOS, SCALAR_ARCTAN, SCALAR_EXP, SCALAR_LOG,
    SCALAR_HEAVYSIDE, VECTOR_HEAVYSIDE, MATRIX_HEAVYSIDE, SCALAR_VECTOR_PRODUCT, SCALAR_BROADCAST,
    VECTOR_RECIPROCAL, VECTOR_NORM, VECTOR_ABS, VECTOR_SUM, VECTOR_DIFF, VECTOR_PRODUCT, VECTOR_DIVISION,
    VECTOR_INNER_PRODUCT, VECTOR_OUTER_PRODUCT, SCALAR_MATRIX_PRODUCT, MATRIX_RECIPROCAL,
    MATRIX_VECTOR_PRODUCT, VECTOR_COLUMN_BROADCAST, VECTOR_ROW_BROADCAST, MATRIX_NORM, MATRIX_COLUMN_NORM,
    MATRIX_ROW_NORM, MATRIX_TRANSPOSE, MATRIX_ABS, MATRIX_SUM, MATRIX_DIFF, MATRIX_PRODUCT, MATRIX_DIVISION,
    MATRIX_MATRIX_PRODUCT, SCALAR_MIN, VECTOR_MIN, MATRIX_MIN, SCALAR_MAX, VECTOR_MAX, MATRIX_MAX,
    VECTOR_MEAN, MATRIX_MEAN, MATRIX_ROW_MEAN, MATRIX_ROW_ST_DEV, VECTOR_ST_DEV, MATRIX_ST_DEV,
    SCALAR_CONST_SET, VECTOR_CONST_SET, MATRIX_CONST_SET, SCALAR_UNIFORM_SET, VECTOR_UNIFORM_SET,
    MATRIX_UNIFORM_SET, SCALAR_GAUSSIAN_SET, VECTOR_GAUSSIAN_SET, MATRIX_GAUSSIAN_SET,
)
from azero._core.rng cimport MT19937, RandomGenerator, gaussian, uniform_open

from azero._core import INSTRUCTION_DTYPE
from azero._core.checks import FEATURE_SIZES, check_addresses, instruction_array

# -2/pi as the reference's double literal (FlipAndSquash, docs/semantics.md §3.5).
cdef double FLIP_SQUASH_C = -0.63661977236758138243



# ---------------------------------------------------------------------------------------------------------
# Dimension tags: one empty struct per feature size; a fused type over them specialises the kernels per F.
cdef struct Dim2:
    char unused
cdef struct Dim4:
    char unused
cdef struct Dim8:
    char unused
cdef struct Dim16:
    char unused
cdef struct Dim32:
    char unused

ctypedef fused Dim:
    Dim2
    Dim4
    Dim8
    Dim16
    Dim32


cdef inline int dim_size(Dim* dim) noexcept nogil:
    """The feature size F of a dimension tag (a compile-time constant in each specialisation)."""
    if Dim is Dim2:
        return 2
    elif Dim is Dim4:
        return 4
    elif Dim is Dim8:
        return 8
    elif Dim is Dim16:
        return 16
    else:
        return 32


# ---------------------------------------------------------------------------------------------------------
# Reduction orders (docs/semantics.md §2.4). All n below are powers of two; every product is rounded on its own.

cdef inline double pair_tree(double* t, int n) noexcept nogil:
    """P: lane-wise recursive halving over the n/2 pairs, then lane0 + lane1. Overwrites t."""
    cdef int c = n >> 1
    cdef int k
    while c > 1:
        c >>= 1
        for k in range(c):
            t[2 * k] = t[4 * k] + t[4 * k + 2]
            t[2 * k + 1] = t[4 * k + 1] + t[4 * k + 3]
    return t[0] + t[1]


cdef inline double scalar_tree(double* t, int n) noexcept nogil:
    """T: recursive halving on scalars. Overwrites t."""
    cdef int c = n
    cdef int k
    while c > 1:
        c >>= 1
        for k in range(c):
            t[k] = t[2 * k] + t[2 * k + 1]
    return t[0]


cdef inline double two_acc(const double* x, int n, bint square) noexcept nogil:
    """L: two packet accumulators (A over pairs 0, 2, 4, ..., B over pairs 1, 3, ...), A + B, lane0 + lane1.
    n is a multiple of 4 here, so no pair is left over."""
    cdef double a0, a1, b0, b1
    cdef int i
    if square:
        a0 = x[0] * x[0]; a1 = x[1] * x[1]; b0 = x[2] * x[2]; b1 = x[3] * x[3]
        for i in range(4, n, 4):
            a0 = a0 + x[i] * x[i]
            a1 = a1 + x[i + 1] * x[i + 1]
            b0 = b0 + x[i + 2] * x[i + 2]
            b1 = b1 + x[i + 3] * x[i + 3]
    else:
        a0 = x[0]; a1 = x[1]; b0 = x[2]; b1 = x[3]
        for i in range(4, n, 4):
            a0 = a0 + x[i]
            a1 = a1 + x[i + 1]
            b0 = b0 + x[i + 2]
            b1 = b1 + x[i + 3]
    return (a0 + b0) + (a1 + b1)


cdef inline double vec_sum(const double* a, int F) noexcept nogil:
    """R_vec (P) of a_i."""
    cdef double t[32]
    cdef int i
    if F == 2:
        return a[0] + a[1]
    if F == 4:
        return (a[0] + a[2]) + (a[1] + a[3])
    for i in range(F):
        t[i] = a[i]
    return pair_tree(t, F)


cdef inline double vec_dot(const double* a, const double* b, int F) noexcept nogil:
    """R_vec (P) of a_i * b_i."""
    cdef double t[32]
    cdef int i
    if F == 2:
        return a[0] * b[0] + a[1] * b[1]
    if F == 4:
        return (a[0] * b[0] + a[2] * b[2]) + (a[1] * b[1] + a[3] * b[3])
    for i in range(F):
        t[i] = a[i] * b[i]
    return pair_tree(t, F)


cdef inline double mat_sum(const double* a, int F) noexcept nogil:
    """R_mat of the F*F entries, row-major: P for F <= 8, L above."""
    cdef double t[64]
    cdef int i
    if F > 8:
        return two_acc(a, F * F, False)
    for i in range(F * F):
        t[i] = a[i]
    return pair_tree(t, F * F)


cdef inline double mat_sumsq(const double* a, int F, bint packet_tree) noexcept nogil:
    """Sum of squares of the F*F entries, row-major: P if packet_tree (R_mat for F <= 8, R_msq for F <= 4),
    else L."""
    cdef double t[64]
    cdef int i
    if not packet_tree:
        return two_acc(a, F * F, True)
    for i in range(F * F):
        t[i] = a[i] * a[i]
    return pair_tree(t, F * F)


cdef inline double col_sumsq(const double* a, int j, int F) noexcept nogil:
    """R_col (T) of the squares of column j, top to bottom."""
    cdef double t[32]
    cdef int i
    for i in range(F):
        t[i] = a[i * F + j] * a[i * F + j]
    return scalar_tree(t, F)


cdef inline double mv_row(const double* row, const double* b, int F) noexcept nogil:
    """R_mv: P for F <= 4, else G (two sequential lanes from +0)."""
    cdef double lane0, lane1
    cdef int k
    if F <= 4:
        return vec_dot(row, b, F)
    lane0 = 0.0
    lane1 = 0.0
    for k in range(0, F, 2):
        lane0 = lane0 + row[k] * b[k]
        lane1 = lane1 + row[k + 1] * b[k + 1]
    return lane0 + lane1


cdef inline double mm_entry(const double* a, const double* b, int i, int j, int F) noexcept nogil:
    """R_mm of sum_k a_ik * b_kj: T for F <= 4, else S0 (sequential from +0)."""
    cdef double acc
    cdef int k
    if F == 2:
        return a[i * 2] * b[j] + a[i * 2 + 1] * b[2 + j]
    if F == 4:
        return ((a[i * 4] * b[j] + a[i * 4 + 1] * b[4 + j])
                + (a[i * 4 + 2] * b[8 + j] + a[i * 4 + 3] * b[12 + j]))
    acc = 0.0
    for k in range(F):
        acc = acc + a[i * F + k] * b[k * F + j]
    return acc


cdef inline bint fraction_index(int F, float f, int* idx) noexcept nogil:
    """Index fraction -> index: (int) trunc((float) F * f) in float arithmetic (docs/semantics.md §1.4). Returns False when
    the index is outside 0..F-1 (the reference would write out of bounds; we write nothing)."""
    cdef float x = (<float> F) * f
    if x > -1.0 and x < F:
        idx[0] = <int> x
        return True
    return False


# ---------------------------------------------------------------------------------------------------------
# The instruction loop.

# A training or validation loop run inside the instruction loop (interpret), so that a train step costs no
# function call: when Predict or Learn ends, next_segment does what train() and validate() did between them.
cdef enum:
    LOOP_TRAIN = 1
    LOOP_VALIDATE = 2

cdef struct StepLoop:
    int mode
    const TaskData* task
    const int64_t* order         # training: the epoch's order of examples, NULL for the identity (epoch 0)
    int64_t count                # steps / validation examples to run (>= 1)
    int64_t index                # the current one
    const Instruction* predict
    int32_t n_predict
    const Instruction* learn
    int32_t n_learn
    bint learning                # training: Learn is running (else Predict)
    bint accuracy
    double max_abs_error
    ErrorRecord* record
    const double* features       # training: the current example
    double label
    double loss                  # validation: the running sum
    bint stopped                 # out: an error was NaN or too large at `index`


cdef inline void load_train_example(StepLoop* loop, int F, double* s, double* v) noexcept nogil:
    cdef int64_t example = loop.order[loop.index] if loop.order != NULL else loop.index
    loop.features = loop.task.train_features + example * F
    loop.label = loop.task.train_labels[example]
    memcpy(v, loop.features, F * sizeof(double))
    s[0] = 0.0


cdef inline bint next_segment(StepLoop* loop, int F, double* s, double* v, const Instruction** code,
                              int32_t* n) noexcept nogil:
    """Between two segments of a loop (docs/semantics.md §3.4, 3.5): returns False when the loop is done or
    stopped, else points code/n at the next segment."""
    cdef double err, label, e, p
    if loop.mode == LOOP_TRAIN:
        if not loop.learning:   # Predict of step `index` ended
            if loop.accuracy:
                s[1] = sigmoid(s[1])
            err = fabs(loop.label - s[1])
            if not (err <= loop.max_abs_error):   # NaN or too large; the stopping step counts
                loop.stopped = True
                return False
            if loop.record != NULL and loop.record.n_train < MAX_RECORDED_ERRORS:
                loop.record.train[loop.record.n_train] = err
                loop.record.n_train += 1
            memcpy(v, loop.features, F * sizeof(double))
            s[0] = loop.label
            loop.learning = True
            code[0] = loop.learn
            n[0] = loop.n_learn
            return True
        loop.index += 1   # Learn ended
        if loop.index == loop.count:
            return False
        load_train_example(loop, F, s, v)
        loop.learning = False
        code[0] = loop.predict
        n[0] = loop.n_predict
        return True
    # Validation: Predict of example `index` ended.
    label = loop.task.valid_labels[loop.index]
    if loop.accuracy:
        p = sigmoid(s[1])
        if p > 1.0 or p < 0.0:
            e = INFINITY
        elif (label > 0.5) == (p > 0.5):
            e = 0.0
        else:
            e = 1.0
        loop.loss += e
    else:
        e = label - s[1]
        loop.loss += e * e
    e = fabs(e)
    if not (e <= loop.max_abs_error):   # NaN or too large
        loop.stopped = True
        return False
    if loop.record != NULL and loop.record.n_valid < MAX_RECORDED_ERRORS:
        loop.record.valid[loop.record.n_valid] = e
        loop.record.n_valid += 1
    loop.index += 1
    if loop.index == loop.count:
        return False
    memcpy(v, loop.task.valid_features + loop.index * F, F * sizeof(double))
    s[0] = 0.0
    return True


cdef inline void run_code(Dim* dim, const Instruction* code, int32_t n, double* s, double* v, double* m,
                          MT19937* rng) noexcept nogil:
    """Run n instructions on the memory banks s, v (F entries each), m (F*F entries each)."""
    interpret(dim, code, n, s, v, m, rng, NULL)


cdef void interpret(Dim* dim, const Instruction* code, int32_t n, double* s, double* v, double* m,
                    MT19937* rng, StepLoop* loop) noexcept nogil:
    """Run n instructions on the memory banks s, v (F entries each), m (F*F entries each); then, with a
    loop, its next segments until it is done."""
    cdef int F = dim_size(dim)
    cdef int FF = F * F
    cdef const Instruction* ins
    cdef const double* a
    cdef const double* b
    cdef double* o
    cdef double x, y, mu
    cdef double lo, hi
    cdef int32_t k
    cdef int i, j, r, c
    cdef int op
    cdef double tmp[1024]
    cdef double t4[4]
    while True:
        for k in range(n):
            ins = &code[k]
            op = ins.op
            if op == NO_OP:
                pass
            elif op == SCALAR_SUM:
                s[ins.out] = s[ins.in1] + s[ins.in2]
            elif op == SCALAR_DIFF:
                s[ins.out] = s[ins.in1] - s[ins.in2]
            elif op == SCALAR_PRODUCT:
                s[ins.out] = s[ins.in1] * s[ins.in2]
            elif op == SCALAR_DIVISION:
                s[ins.out] = s[ins.in1] / s[ins.in2]
            elif op == SCALAR_ABS:
                s[ins.out] = fabs(s[ins.in1])
            elif op == SCALAR_RECIPROCAL:
                s[ins.out] = 1.0 / s[ins.in1]
            elif op == SCALAR_SIN:
                s[ins.out] = sin(s[ins.in1])
            elif op == SCALAR_COS:
                s[ins.out] = cos(s[ins.in1])
            elif op == SCALAR_TAN:
                s[ins.out] = tan(s[ins.in1])
            elif op == SCALAR_ARCSIN:
                s[ins.out] = asin(s[ins.in1])
            elif op == SCALAR_ARCCOS:
                s[ins.out] = acos(s[ins.in1])
            elif op == SCALAR_ARCTAN:
                s[ins.out] = atan(s[ins.in1])
            elif op == SCALAR_EXP:
                s[ins.out] = exp(s[ins.in1])
            elif op == SCALAR_LOG:
                s[ins.out] = log(s[ins.in1])
            elif op == SCALAR_HEAVYSIDE:
                s[ins.out] = 1.0 if s[ins.in1] >= 0.0 else 0.0
            elif op == VECTOR_HEAVYSIDE:
                a = v + ins.in1 * F
                o = v + ins.out * F
                for i in range(F):
                    o[i] = 1.0 if a[i] > 0.0 else 0.0
            elif op == MATRIX_HEAVYSIDE:
                a = m + ins.in1 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = 1.0 if a[i] > 0.0 else 0.0
            elif op == SCALAR_VECTOR_PRODUCT:
                x = s[ins.in1]
                b = v + ins.in2 * F
                o = v + ins.out * F
                if F <= 4:   # all loads before the stores (out may be in2): gcc pairs the lanes
                    for i in range(F):
                        t4[i] = b[i] * x
                    for i in range(F):
                        o[i] = t4[i]
                else:
                    for i in range(F):
                        o[i] = b[i] * x
            elif op == SCALAR_BROADCAST:
                x = s[ins.in1]
                o = v + ins.out * F
                for i in range(F):
                    o[i] = x
            elif op == VECTOR_RECIPROCAL:
                a = v + ins.in1 * F
                o = v + ins.out * F
                for i in range(F):
                    o[i] = 1.0 / a[i]
            elif op == VECTOR_NORM:
                a = v + ins.in1 * F
                s[ins.out] = sqrt(vec_dot(a, a, F))
            elif op == VECTOR_ABS:
                a = v + ins.in1 * F
                o = v + ins.out * F
                for i in range(F):
                    o[i] = fabs(a[i])
            elif op == VECTOR_SUM:
                a = v + ins.in1 * F
                b = v + ins.in2 * F
                o = v + ins.out * F
                if F <= 4:
                    for i in range(F):
                        t4[i] = a[i] + b[i]
                    for i in range(F):
                        o[i] = t4[i]
                else:
                    for i in range(F):
                        o[i] = a[i] + b[i]
            elif op == VECTOR_DIFF:
                a = v + ins.in1 * F
                b = v + ins.in2 * F
                o = v + ins.out * F
                if F <= 4:
                    for i in range(F):
                        t4[i] = a[i] - b[i]
                    for i in range(F):
                        o[i] = t4[i]
                else:
                    for i in range(F):
                        o[i] = a[i] - b[i]
            elif op == VECTOR_PRODUCT:
                a = v + ins.in1 * F
                b = v + ins.in2 * F
                o = v + ins.out * F
                if F <= 4:
                    for i in range(F):
                        t4[i] = a[i] * b[i]
                    for i in range(F):
                        o[i] = t4[i]
                else:
                    for i in range(F):
                        o[i] = a[i] * b[i]
            elif op == VECTOR_DIVISION:
                a = v + ins.in1 * F
                b = v + ins.in2 * F
                o = v + ins.out * F
                if F <= 4:
                    for i in range(F):
                        t4[i] = a[i] / b[i]
                    for i in range(F):
                        o[i] = t4[i]
                else:
                    for i in range(F):
                        o[i] = a[i] / b[i]
            elif op == VECTOR_INNER_PRODUCT:
                s[ins.out] = vec_dot(v + ins.in1 * F, v + ins.in2 * F, F)
            elif op == VECTOR_OUTER_PRODUCT:
                # Inputs copied to tmp first: gcc then knows the output cannot alias them and vectorises the rows.
                memcpy(tmp, v + ins.in1 * F, F * sizeof(double))
                memcpy(tmp + F, v + ins.in2 * F, F * sizeof(double))
                o = m + ins.out * FF
                for i in range(F):
                    x = tmp[i]
                    for j in range(F):
                        o[i * F + j] = x * tmp[F + j]
            elif op == SCALAR_MATRIX_PRODUCT:
                x = s[ins.in1]
                b = m + ins.in2 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = b[i] * x
            elif op == MATRIX_RECIPROCAL:
                a = m + ins.in1 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = 1.0 / a[i]
            elif op == MATRIX_VECTOR_PRODUCT:
                a = m + ins.in1 * FF
                b = v + ins.in2 * F
                for i in range(F):
                    tmp[i] = mv_row(a + i * F, b, F)
                memcpy(v + ins.out * F, tmp, F * sizeof(double))   # via tmp: out may alias in2
            elif op == VECTOR_COLUMN_BROADCAST:
                a = v + ins.in1 * F
                o = m + ins.out * FF
                for i in range(F):
                    for j in range(F):
                        o[i * F + j] = a[i]
            elif op == VECTOR_ROW_BROADCAST:
                a = v + ins.in1 * F
                o = m + ins.out * FF
                for i in range(F):
                    for j in range(F):
                        o[i * F + j] = a[j]
            elif op == MATRIX_NORM:
                s[ins.out] = sqrt(mat_sumsq(m + ins.in1 * FF, F, F <= 8))
            elif op == MATRIX_COLUMN_NORM:
                a = m + ins.in1 * FF
                o = v + ins.out * F
                for j in range(F):
                    o[j] = sqrt(col_sumsq(a, j, F))
            elif op == MATRIX_ROW_NORM:
                a = m + ins.in1 * FF
                o = v + ins.out * F
                for i in range(F):
                    o[i] = sqrt(vec_dot(a + i * F, a + i * F, F))
            elif op == MATRIX_TRANSPOSE:
                a = m + ins.in1 * FF
                o = m + ins.out * FF
                if a == o:
                    for i in range(F):
                        for j in range(i + 1, F):
                            x = o[i * F + j]
                            o[i * F + j] = o[j * F + i]
                            o[j * F + i] = x
                else:
                    for i in range(F):
                        for j in range(F):
                            o[i * F + j] = a[j * F + i]
            elif op == MATRIX_ABS:
                a = m + ins.in1 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = fabs(a[i])
            elif op == MATRIX_SUM:
                a = m + ins.in1 * FF
                b = m + ins.in2 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = a[i] + b[i]
            elif op == MATRIX_DIFF:
                a = m + ins.in1 * FF
                b = m + ins.in2 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = a[i] - b[i]
            elif op == MATRIX_PRODUCT:
                a = m + ins.in1 * FF
                b = m + ins.in2 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = a[i] * b[i]
            elif op == MATRIX_DIVISION:
                a = m + ins.in1 * FF
                b = m + ins.in2 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = a[i] / b[i]
            elif op == MATRIX_MATRIX_PRODUCT:
                a = m + ins.in1 * FF
                b = m + ins.in2 * FF
                for i in range(F):
                    for j in range(F):
                        tmp[i * F + j] = mm_entry(a, b, i, j, F)
                memcpy(m + ins.out * FF, tmp, FF * sizeof(double))  # via tmp: out may alias an input
            elif op == SCALAR_MIN:
                x = s[ins.in1]
                y = s[ins.in2]
                s[ins.out] = y if y < x else x
            elif op == VECTOR_MIN:
                a = v + ins.in1 * F
                b = v + ins.in2 * F
                o = v + ins.out * F
                for i in range(F):
                    x = a[i]
                    y = b[i]
                    o[i] = y if y < x else x
            elif op == MATRIX_MIN:
                a = m + ins.in1 * FF
                b = m + ins.in2 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    x = a[i]
                    y = b[i]
                    o[i] = x if x < y else y
            elif op == SCALAR_MAX:
                x = s[ins.in1]
                y = s[ins.in2]
                s[ins.out] = y if x < y else x
            elif op == VECTOR_MAX:
                a = v + ins.in1 * F
                b = v + ins.in2 * F
                o = v + ins.out * F
                for i in range(F):
                    x = a[i]
                    y = b[i]
                    o[i] = y if x < y else x
            elif op == MATRIX_MAX:
                a = m + ins.in1 * FF
                b = m + ins.in2 * FF
                o = m + ins.out * FF
                for i in range(FF):
                    x = a[i]
                    y = b[i]
                    o[i] = x if x > y else y
            elif op == VECTOR_MEAN:
                s[ins.out] = vec_sum(v + ins.in1 * F, F) / F
            elif op == MATRIX_MEAN:
                s[ins.out] = mat_sum(m + ins.in1 * FF, F) / FF
            elif op == MATRIX_ROW_MEAN:
                a = m + ins.in1 * FF
                o = v + ins.out * F
                for i in range(F):
                    o[i] = vec_sum(a + i * F, F) / F
            elif op == MATRIX_ROW_ST_DEV:
                a = m + ins.in1 * FF
                o = v + ins.out * F
                for i in range(F):
                    mu = vec_sum(a + i * F, F) / F
                    o[i] = sqrt(vec_dot(a + i * F, a + i * F, F) / F - mu * mu)
            elif op == VECTOR_ST_DEV:
                a = v + ins.in1 * F
                mu = vec_sum(a, F) / F
                s[ins.out] = sqrt(vec_dot(a, a, F) / F - mu * mu)
            elif op == MATRIX_ST_DEV:
                a = m + ins.in1 * FF
                mu = mat_sum(a, F) / FF
                s[ins.out] = sqrt(mat_sumsq(a, F, F <= 4) / FF - mu * mu)
            elif op == SCALAR_CONST_SET:
                s[ins.out] = ins.activation
            elif op == VECTOR_CONST_SET:
                if fraction_index(F, ins.f0, &i):
                    v[ins.out * F + i] = <double> ins.f1
            elif op == MATRIX_CONST_SET:
                if fraction_index(F, ins.f0, &r) and fraction_index(F, ins.f1, &c):
                    m[ins.out * FF + r * F + c] = <double> ins.f2
            elif op == SCALAR_UNIFORM_SET:
                s[ins.out] = uniform_open(rng, <double> ins.f0, <double> ins.f1)
            elif op == VECTOR_UNIFORM_SET:
                lo = <double> ins.f0
                hi = <double> ins.f1
                o = v + ins.out * F
                for i in range(F):
                    o[i] = uniform_open(rng, lo, hi)
            elif op == MATRIX_UNIFORM_SET:
                lo = <double> ins.f0
                hi = <double> ins.f1
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = uniform_open(rng, lo, hi)
            elif op == SCALAR_GAUSSIAN_SET:
                s[ins.out] = gaussian(rng, <double> ins.f0, <double> ins.f1)
            elif op == VECTOR_GAUSSIAN_SET:
                lo = <double> ins.f0
                hi = <double> ins.f1
                o = v + ins.out * F
                for i in range(F):
                    o[i] = gaussian(rng, lo, hi)
            elif op == MATRIX_GAUSSIAN_SET:
                lo = <double> ins.f0
                hi = <double> ins.f1
                o = m + ins.out * FF
                for i in range(FF):
                    o[i] = gaussian(rng, lo, hi)
        if loop == NULL or not next_segment(loop, F, s, v, &code, &n):
            return


# ---------------------------------------------------------------------------------------------------------
# Training, validation and the epoch loop (docs/semantics.md §3.3–3.5).

cdef inline double sigmoid(double x) noexcept nogil:
    return 1.0 / (1.0 + exp(-x))


cdef inline double flip_and_squash(double x) noexcept nogil:
    if isnan(x) or isinf(x):
        return 0.0
    return 1.0 + FLIP_SQUASH_C * atan(x)


cdef inline void run_loop(Dim* dim, StepLoop* loop, int mode, const Program* program, const TaskData* task,
                          Memory* mem, const int64_t* order, int64_t count, MT19937* rng, double max_abs_error,
                          ErrorRecord* record) noexcept nogil:
    """Run a training loop (LOOP_TRAIN: `count` steps over the examples in `order`, NULL for the identity) or a
    validation loop (LOOP_VALIDATE: the first `count` examples), count >= 1: load the first example and run
    Predict; interpret does the rest. The outcome is in loop.stopped, loop.index and loop.loss."""
    cdef int F = dim_size(dim)
    loop.mode = mode
    loop.task = task
    loop.count = count
    loop.index = 0
    loop.predict = program.fn[PREDICT]
    loop.n_predict = program.size[PREDICT]
    loop.accuracy = task.eval_type == EVAL_ACCURACY
    loop.max_abs_error = max_abs_error
    loop.record = record
    loop.stopped = False
    if mode == LOOP_TRAIN:   # (the fields only one mode reads are set for it alone: fewer stores per evaluation)
        loop.order = order
        loop.learn = program.fn[LEARN]
        loop.n_learn = program.size[LEARN]
        loop.learning = False
        load_train_example(loop, F, mem.scalars, mem.vectors)
    else:
        loop.loss = 0.0
        memcpy(mem.vectors, task.valid_features, F * sizeof(double))
        mem.scalars[0] = 0.0
    interpret(dim, loop.predict, loop.n_predict, mem.scalars, mem.vectors, mem.matrices, rng, loop)


cdef bint train(Dim* dim, const Program* program, const TaskData* task, Memory* mem, int64_t epoch,
                int64_t steps, MT19937* rng, double max_abs_error, int64_t* train_steps,
                ErrorRecord* record) noexcept nogil:
    """Run `steps` train examples of `epoch` from position 0: Predict, check the error, Learn.
    Returns False when an error is NaN or above max_abs_error."""
    cdef const int64_t* order
    cdef StepLoop loop
    if steps == 0:
        return True
    order = task.epoch_orders + epoch * task.n_train if epoch > 0 else NULL
    run_loop(dim, &loop, LOOP_TRAIN, program, task, mem, order, steps, rng, max_abs_error, record)
    if loop.stopped:
        train_steps[0] += loop.index + 1
        return False
    train_steps[0] += steps
    return True


cdef double validate(Dim* dim, const Program* program, const TaskData* task, Memory* mem,
                     int64_t num_valid_examples, MT19937* rng, double max_abs_error,
                     ErrorRecord* record) noexcept nogil:
    """Predict on the first min(num_valid_examples, n_valid) validation examples; the fitness of docs/semantics.md §3.5."""
    cdef int64_t n = num_valid_examples if num_valid_examples < task.n_valid else task.n_valid
    cdef double loss = 0.0
    cdef StepLoop loop
    if n > 0:
        run_loop(dim, &loop, LOOP_VALIDATE, program, task, mem, NULL, n, rng, max_abs_error, record)
        if loop.stopped:
            return 0.0
        loss = loop.loss
    loss /= task.n_valid
    if task.eval_type == EVAL_ACCURACY:
        return 1.0 - loss
    return flip_and_squash(sqrt(loss))


cdef double execute_dim(Dim* dim, const Program* program, const TaskData* task, Memory* mem,
                        int64_t num_all_train_examples, int64_t num_valid_examples,
                        MT19937* rng, double max_abs_error,
                        int64_t* train_steps, ErrorRecord* record) noexcept nogil:
    """execute() for one feature size."""
    cdef int64_t per_epoch = task.n_train
    cdef int64_t n = task.n_train * task.num_epochs
    cdef int64_t remaining, steps
    cdef int64_t epoch = 0
    cdef int64_t unused_steps = 0
    cdef double best = 0.0
    cdef double fitness
    if train_steps == NULL:
        train_steps = &unused_steps
    if num_all_train_examples < n:
        n = num_all_train_examples
    memset(mem.scalars, 0, mem.num_scalars * sizeof(double))
    memset(mem.vectors, 0, mem.num_vectors * mem.features_size * sizeof(double))
    memset(mem.matrices, 0, mem.num_matrices * mem.features_size * mem.features_size * sizeof(double))
    if record != NULL:
        record.n_train = 0
        record.n_valid = 0
    run_code(dim, program.fn[SETUP], program.size[SETUP], mem.scalars, mem.vectors, mem.matrices, rng)
    remaining = n
    while remaining > 0:
        steps = per_epoch if per_epoch < remaining else remaining
        if not train(dim, program, task, mem, epoch, steps, rng, max_abs_error, train_steps, record):
            if remaining == n:
                return 0.0
            break
        remaining -= per_epoch
        fitness = validate(dim, program, task, mem, num_valid_examples, rng, max_abs_error, record)
        if best < fitness:
            best = fitness
        record = NULL   # only the first epoch's errors are recorded
        epoch += 1
    return best


cdef double execute(const Program* program, const TaskData* task, Memory* mem,
                    int64_t num_all_train_examples, int64_t num_valid_examples,
                    MT19937* rng, double max_abs_error,
                    int64_t* train_steps, ErrorRecord* record) noexcept nogil:
    cdef int F = task.features_size
    if F == 4:
        return execute_dim(<Dim4*> NULL, program, task, mem, num_all_train_examples, num_valid_examples,
                           rng, max_abs_error, train_steps, record)
    if F == 2:
        return execute_dim(<Dim2*> NULL, program, task, mem, num_all_train_examples, num_valid_examples,
                           rng, max_abs_error, train_steps, record)
    if F == 8:
        return execute_dim(<Dim8*> NULL, program, task, mem, num_all_train_examples, num_valid_examples,
                           rng, max_abs_error, train_steps, record)
    if F == 16:
        return execute_dim(<Dim16*> NULL, program, task, mem, num_all_train_examples, num_valid_examples,
                           rng, max_abs_error, train_steps, record)
    return execute_dim(<Dim32*> NULL, program, task, mem, num_all_train_examples, num_valid_examples,
                       rng, max_abs_error, train_steps, record)


cdef void run_instructions(const Instruction* code, int32_t n, Memory* mem, MT19937* rng) noexcept nogil:
    cdef int F = mem.features_size
    if F == 4:
        run_code(<Dim4*> NULL, code, n, mem.scalars, mem.vectors, mem.matrices, rng)
    elif F == 2:
        run_code(<Dim2*> NULL, code, n, mem.scalars, mem.vectors, mem.matrices, rng)
    elif F == 8:
        run_code(<Dim8*> NULL, code, n, mem.scalars, mem.vectors, mem.matrices, rng)
    elif F == 16:
        run_code(<Dim16*> NULL, code, n, mem.scalars, mem.vectors, mem.matrices, rng)
    else:
        run_code(<Dim32*> NULL, code, n, mem.scalars, mem.vectors, mem.matrices, rng)


cdef void run_setup(const Program* program, Memory* mem, MT19937* rng) noexcept nogil:
    memset(mem.scalars, 0, mem.num_scalars * sizeof(double))
    memset(mem.vectors, 0, mem.num_vectors * mem.features_size * sizeof(double))
    memset(mem.matrices, 0, mem.num_matrices * mem.features_size * mem.features_size * sizeof(double))
    run_instructions(program.fn[SETUP], program.size[SETUP], mem, rng)


cdef int memory_init(Memory* mem, int features_size, int num_scalars, int num_vectors,
                     int num_matrices) noexcept nogil:
    """One allocation holding the three banks back to back. Returns 0, or -1 if out of memory."""
    cdef size_t n_s = num_scalars
    cdef size_t n_v = <size_t> num_vectors * features_size
    cdef size_t n_m = <size_t> num_matrices * features_size * features_size
    cdef double* block = <double*> malloc((n_s + n_v + n_m + 1) * sizeof(double))   # +1: never malloc(0)
    mem.features_size = features_size
    mem.num_scalars = num_scalars
    mem.num_vectors = num_vectors
    mem.num_matrices = num_matrices
    mem.scalars = block
    mem.vectors = block + n_s if block != NULL else NULL
    mem.matrices = block + n_s + n_v if block != NULL else NULL
    if block == NULL:
        return -1
    memset(block, 0, (n_s + n_v + n_m) * sizeof(double))
    return 0


cdef void memory_free(Memory* mem) noexcept nogil:
    free(mem.scalars)
    mem.scalars = NULL
    mem.vectors = NULL
    mem.matrices = NULL


# ---------------------------------------------------------------------------------------------------------
# Python entry points (tests, benchmarks, one-off evaluations).


ExecutionResult = namedtuple(
    "ExecutionResult",
    ["fitness", "train_steps", "scalars", "vectors", "matrices", "train_errors", "valid_errors"],
)
ExecutionResult.__doc__ = """Outcome of run_executor: fitness, executed train steps, final memory banks
(scalars (S,), vectors (V, F), matrices (M, F, F)) and the recorded first-epoch errors (None unless record)."""


def _instructions(code, int num_scalars, int num_vectors, int num_matrices, str name):
    """A C-contiguous INSTRUCTION_DTYPE array whose ops and addresses are valid for the given memory."""
    arr = instruction_array(code, name)
    check_addresses(arr, name, (num_scalars, num_vectors, num_matrices))
    return arr


cdef object task_data_from(object task, TaskData* out):
    """Fill `out` from a Python task (duck-typed Task attributes); returns the typed views its pointers point
    into, which must stay alive (an empty view leaves its pointer NULL: the kernels read no example there)."""
    cdef int F = int(task.features_size)
    if F not in FEATURE_SIZES:
        raise ValueError(f"features_size must be one of {FEATURE_SIZES}, got {F}")
    train_x = np.ascontiguousarray(task.train_features, dtype=np.float64)
    train_y = np.ascontiguousarray(task.train_labels, dtype=np.float64)
    valid_x = np.ascontiguousarray(task.valid_features, dtype=np.float64)
    valid_y = np.ascontiguousarray(task.valid_labels, dtype=np.float64)
    orders = np.ascontiguousarray(task.epoch_orders, dtype=np.int64)
    n_train = train_y.shape[0]
    n_valid = valid_y.shape[0]
    num_epochs = int(task.num_epochs)
    if train_x.shape != (n_train, F) or valid_x.shape != (n_valid, F):
        raise ValueError(f"features must have shapes (n, {F}); got {train_x.shape} and {valid_x.shape}")
    if num_epochs < 1 or orders.shape != (num_epochs, n_train):
        raise ValueError(f"epoch_orders must have shape (num_epochs={num_epochs}, {n_train}), got {orders.shape}")
    if n_train and not np.array_equal(orders[0], np.arange(n_train)):
        raise ValueError("epoch_orders[0] must be the identity order")
    if orders.size and (orders.min() < 0 or orders.max() >= n_train):
        raise ValueError("epoch_orders holds an index outside the train examples")
    code = int(task.eval_type_code)
    if code not in (EVAL_RMS_ERROR, EVAL_ACCURACY):
        raise ValueError(f"eval_type_code must be {EVAL_RMS_ERROR} or {EVAL_ACCURACY}, got {code}")
    cdef const double[:, ::1] train_x_view = train_x
    cdef const double[::1] train_y_view = train_y
    cdef const double[:, ::1] valid_x_view = valid_x
    cdef const double[::1] valid_y_view = valid_y
    cdef const int64_t[:, ::1] orders_view = orders
    out.features_size = F
    out.eval_type = code
    out.n_train = n_train
    out.n_valid = n_valid
    out.num_epochs = num_epochs
    out.train_features = &train_x_view[0, 0] if n_train else NULL
    out.train_labels = &train_y_view[0] if n_train else NULL
    out.valid_features = &valid_x_view[0, 0] if n_valid else NULL
    out.valid_labels = &valid_y_view[0] if n_valid else NULL
    out.epoch_orders = &orders_view[0, 0] if n_train else NULL
    return (train_x_view, train_y_view, valid_x_view, valid_y_view, orders_view)


cdef void point_program(Program* program, int32_t* sizes, const Instruction[::1] setup,
                        const Instruction[::1] predict, const Instruction[::1] learn) noexcept:
    cdef int k
    program.fn[SETUP] = <Instruction*> first_instruction(setup)
    program.fn[PREDICT] = <Instruction*> first_instruction(predict)
    program.fn[LEARN] = <Instruction*> first_instruction(learn)
    sizes[SETUP], sizes[PREDICT], sizes[LEARN] = setup.shape[0], predict.shape[0], learn.shape[0]
    program.size = sizes
    for k in range(3):
        program.capacity[k] = sizes[k]


cdef object prepare(setup, predict, learn, task, int num_scalars, int num_vectors, int num_matrices,
                    Program* program, int32_t* sizes, TaskData* data):
    """Fill `program` (with `sizes`) and `data` from Python objects; returns the typed views they point into."""
    if num_scalars < 2 or num_vectors < 1 or num_matrices < 0:
        raise ValueError("memory needs at least 2 scalars (label, prediction) and 1 vector (features)")
    task_views = task_data_from(task, data)
    cdef const Instruction[::1] setup_code = _instructions(setup, num_scalars, num_vectors, num_matrices, "setup")
    cdef const Instruction[::1] predict_code = _instructions(predict, num_scalars, num_vectors, num_matrices,
                                                             "predict")
    cdef const Instruction[::1] learn_code = _instructions(learn, num_scalars, num_vectors, num_matrices, "learn")
    point_program(program, sizes, setup_code, predict_code, learn_code)
    return task_views, setup_code, predict_code, learn_code


def run_executor(setup, predict, learn, task, num_train_examples: int, num_valid_examples: int,
                 RandomGenerator rng, double max_abs_error=100.0, int num_scalars=20, int num_vectors=20,
                 int num_matrices=20, bint record=False):
    """Evaluate one program (three INSTRUCTION_DTYPE arrays) on one task, as the reference's Executor does.

    Random ops draw from `rng` (advanced in place). Returns an ExecutionResult; with record=True it holds the
    first epoch's train errors and the first validation's errors (each at most 100 long)."""
    cdef Program program
    cdef int32_t sizes[3]
    cdef TaskData data
    keep = prepare(setup, predict, learn, task, num_scalars, num_vectors, num_matrices, &program, sizes, &data)
    cdef int64_t n_train = num_train_examples
    cdef int64_t n_valid = num_valid_examples
    if n_train < 0 or n_valid < 0:
        raise ValueError("the numbers of train and validation examples must be >= 0")
    if record and (min(n_train, data.n_train) > MAX_RECORDED_ERRORS
                   or min(n_valid, data.n_valid) > MAX_RECORDED_ERRORS):
        raise ValueError(f"recording errors needs at most {MAX_RECORDED_ERRORS} train and valid examples")
    cdef Memory mem
    if memory_init(&mem, data.features_size, num_scalars, num_vectors, num_matrices) != 0:
        raise MemoryError()
    cdef ErrorRecord errors
    cdef int64_t steps = 0
    cdef double fitness
    cdef int k
    try:
        with nogil:
            fitness = execute(&program, &data, &mem, n_train, n_valid, &rng.gen, max_abs_error, &steps,
                              &errors if record else NULL)
        F = data.features_size
        scalars = np.array(<double[:num_scalars]> mem.scalars)
        vectors = np.array(<double[:num_vectors * F]> mem.vectors).reshape(num_vectors, F)
        matrices = (np.array(<double[:num_matrices * F * F]> mem.matrices).reshape(num_matrices, F, F)
                    if num_matrices > 0 else np.zeros((0, F, F)))
    finally:
        memory_free(&mem)
    train_errors = [errors.train[k] for k in range(errors.n_train)] if record else None
    valid_errors = [errors.valid[k] for k in range(errors.n_valid)] if record else None
    return ExecutionResult(fitness, steps, scalars, vectors, matrices, train_errors, valid_errors)


def time_executor(setup, predict, learn, task, num_train_examples: int, num_valid_examples: int,
                  RandomGenerator rng, int repeats, double max_abs_error=100.0, int num_scalars=20,
                  int num_vectors=20, int num_matrices=20):
    """Benchmark helper: run the evaluation of run_executor `repeats` times back to back in C (one memory).
    Returns (seconds, fitness of the last run, train steps of all runs)."""
    cdef Program program
    cdef int32_t sizes[3]
    cdef TaskData data
    keep = prepare(setup, predict, learn, task, num_scalars, num_vectors, num_matrices, &program, sizes, &data)
    cdef Memory mem
    if memory_init(&mem, data.features_size, num_scalars, num_vectors, num_matrices) != 0:
        raise MemoryError()
    cdef int64_t n_train = num_train_examples
    cdef int64_t n_valid = num_valid_examples
    cdef int64_t steps = 0
    cdef double fitness = 0.0
    cdef int k
    start = time.perf_counter()
    with nogil:
        for k in range(repeats):
            fitness = execute(&program, &data, &mem, n_train, n_valid, &rng.gen, max_abs_error, &steps, NULL)
    seconds = time.perf_counter() - start
    memory_free(&mem)
    return seconds, fitness, steps


cdef void point_memory(Memory* mem, int features_size, double[::1] scalars, double[:, ::1] vectors,
                       double[:, :, ::1] matrices) noexcept:
    # An empty bank is NULL: checked instructions address none of its cells.
    mem.features_size = features_size
    mem.num_scalars = scalars.shape[0]
    mem.num_vectors = vectors.shape[0]
    mem.num_matrices = matrices.shape[0]
    mem.scalars = &scalars[0] if mem.num_scalars else NULL
    mem.vectors = &vectors[0, 0] if mem.num_vectors else NULL
    mem.matrices = &matrices[0, 0, 0] if mem.num_matrices else NULL


def execute_ops(instructions, int features_size, scalars, vectors, matrices, RandomGenerator rng) -> None:
    """Run INSTRUCTION_DTYPE instructions in order on the given float64 C-contiguous memory arrays, in place:
    scalars (S,), vectors (V, F) and matrices (M, F, F). Random ops draw from `rng`."""
    if features_size not in FEATURE_SIZES:
        raise ValueError(f"features_size must be one of {FEATURE_SIZES}, got {features_size}")
    F = features_size
    for arr, name, tail in ((scalars, "scalars", ()), (vectors, "vectors", (F,)), (matrices, "matrices", (F, F))):
        if (not isinstance(arr, np.ndarray) or arr.dtype != np.float64 or not arr.flags.c_contiguous
                or not arr.flags.writeable or arr.shape[1:] != tail or arr.ndim != 1 + len(tail)):
            raise TypeError(f"{name} must be a writable C-contiguous float64 array of shape (n, *{tail})")
    cdef const Instruction[::1] code = _instructions(instructions, scalars.shape[0], vectors.shape[0],
                                                     matrices.shape[0], "instructions")
    cdef Memory mem
    point_memory(&mem, F, scalars, vectors, matrices)
    cdef const Instruction* ptr = first_instruction(code)
    cdef int32_t n = <int32_t> code.shape[0]
    with nogil:
        run_instructions(ptr, n, &mem, &rng.gen)
