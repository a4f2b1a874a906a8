# Lane kernel: the training and validation of one program on up to MAX_LANES tasks at once (issue 10).
#
# Included by the thin modules lanes_sse2.pyx, lanes_avx2.pyx and lanes_avx512.pyx, which setup.py compiles with
# different instruction-set flags (never FMA contraction, never fast-math); azero._core.evaluator picks one when
# it loads. Every lane computes exactly the scalar sequence of azero._core.executor for its own task: the memory
# holds cell c of lane l at cells[c * L + l] (L = the batch's stride), each op does the executor's arithmetic
# with the same reduction order in every lane, and only the lane index is vectorised. Results are therefore
# bit-identical to the one-task executor, whatever the vector width.
#
# The batch arrives with Setup already run per task (by the executor, in task order, so the random stream is
# the reference's); Predict and Learn must hold no random op (the evaluator falls back to one task at a time
# otherwise) and come without their dead instructions (azero._core.liveness), with flags saying whether they
# read the features. Lanes stop independently (early stop masks); stopped lanes keep computing, unobserved.
from libc.math cimport sin, cos, tan, asin, acos, atan, exp, log, sqrt, fabs, isnan, isinf, INFINITY
from cpython.pycapsule cimport PyCapsule_New
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memcpy

from azero._core.types cimport (
    Instruction, TaskData, ErrorRecord, LaneBatch, LaneKernel, LANE_KERNEL_CAPSULE, MAX_LANES, EVAL_ACCURACY,
    MAX_RECORDED_ERRORS,
    NO_OP, SCALAR_SUM, SCALAR_DIFF, SCALAR_PRODUCT, SCALAR_DIVISION, SCALAR_ABS, SCALAR_RECIPROCAL,
    SCALAR_SIN, SCALAR_COS, SCALAR_TAN, SCALAR_ARCSIN, SCALAR_ARCCOS, SCALAR_ARCTAN, SCALAR_EXP, SCALAR_LOG,
    SCALAR_HEAVYSIDE, VECTOR_HEAVYSIDE, MATRIX_HEAVYSIDE, SCALAR_VECTOR_PRODUCT, SCALAR_BROADCAST,
    VECTOR_RECIPROCAL, VECTOR_NORM, VECTOR_ABS, VECTOR_SUM, VECTOR_DIFF, VECTOR_PRODUCT, VECTOR_DIVISION,
    VECTOR_INNER_PRODUCT, VECTOR_OUTER_PRODUCT, SCALAR_MATRIX_PRODUCT, MATRIX_RECIPROCAL,
    MATRIX_VECTOR_PRODUCT, VECTOR_COLUMN_BROADCAST, VECTOR_ROW_BROADCAST, MATRIX_NORM, MATRIX_COLUMN_NORM,
    MATRIX_ROW_NORM, MATRIX_TRANSPOSE, MATRIX_ABS, MATRIX_SUM, MATRIX_DIFF, MATRIX_PRODUCT, MATRIX_DIVISION,
    MATRIX_MATRIX_PRODUCT, SCALAR_MIN, VECTOR_MIN, MATRIX_MIN, SCALAR_MAX, VECTOR_MAX, MATRIX_MAX,
    VECTOR_MEAN, MATRIX_MEAN, MATRIX_ROW_MEAN, MATRIX_ROW_ST_DEV, VECTOR_ST_DEV, MATRIX_ST_DEV,
    SCALAR_CONST_SET, VECTOR_CONST_SET, MATRIX_CONST_SET,
)

# -2/pi as the reference's double literal (FlipAndSquash, docs/semantics.md §3.5); the executor's constant.
cdef double LANE_FLIP_SQUASH_C = -0.63661977236758138243


# Dimension tags, as in the executor: one C specialisation per feature size, with F a compile-time constant.
cdef struct LDim2:
    char unused
cdef struct LDim4:
    char unused
cdef struct LDim8:
    char unused
cdef struct LDim16:
    char unused
cdef struct LDim32:
    char unused

ctypedef fused LDim:
    LDim2
    LDim4
    LDim8
    LDim16
    LDim32


# Lane-count tags: the batch's stride L (lanes in memory) is 4, 8 or 16, also a compile-time constant in each
# specialisation, so every loop over the lanes has a fixed trip count (no remainder loops).
cdef struct Lanes4:
    char unused
cdef struct Lanes8:
    char unused
cdef struct Lanes16:
    char unused

ctypedef fused Lanes:
    Lanes4
    Lanes8
    Lanes16


cdef inline int lanes_size(Lanes* lanes) noexcept nogil:
    if Lanes is Lanes4:
        return 4
    elif Lanes is Lanes8:
        return 8
    else:
        return 16


cdef inline int ldim_size(LDim* dim) noexcept nogil:
    if LDim is LDim2:
        return 2
    elif LDim is LDim4:
        return 4
    elif LDim is LDim8:
        return 8
    elif LDim is LDim16:
        return 16
    else:
        return 32


# ---------------------------------------------------------------------------------------------------------
# Lane vectors: L doubles, one per lane. An array of n "entries" is n lane vectors back to back.

cdef inline void lv_add(double* o, const double* a, const double* b, int L) noexcept nogil:
    cdef int l
    for l in range(L):
        o[l] = a[l] + b[l]


cdef inline void lv_mul(double* o, const double* a, const double* b, int L) noexcept nogil:
    cdef int l
    for l in range(L):
        o[l] = a[l] * b[l]


cdef extern from *:
    """
    /* P (executor.pair_tree) on each lane of n entries; overwrites t. Written in C to be always inlined: as an
       inline hint, GCC's choice to call it instead changed from build to build with unrelated edits to this
       module, and the call cost the AVX-512 kernel a quarter of its speed on some programs. */
    static inline __attribute__((always_inline)) void
    azero_lv_pair_tree(double *t, int n, int L, double *out) {
        int c = n >> 1, k, l;
        while (c > 1) {
            c >>= 1;
            for (k = 0; k < c; k++) {
                for (l = 0; l < L; l++) t[2 * k * L + l] = t[4 * k * L + l] + t[(4 * k + 2) * L + l];
                for (l = 0; l < L; l++) t[(2 * k + 1) * L + l] = t[(4 * k + 1) * L + l] + t[(4 * k + 3) * L + l];
            }
        }
        for (l = 0; l < L; l++) out[l] = t[l] + t[L + l];
    }
    """
    void lv_pair_tree "azero_lv_pair_tree"(double* t, int n, int L, double* out) noexcept nogil


cdef inline void lv_scalar_tree(double* t, int n, int L, double* out) noexcept nogil:
    """T (executor.scalar_tree) on each lane. Overwrites t."""
    cdef int c = n
    cdef int k
    while c > 1:
        c >>= 1
        for k in range(c):
            lv_add(t + k * L, t + 2 * k * L, t + (2 * k + 1) * L, L)
    memcpy(out, t, L * sizeof(double))


cdef inline void lv_two_acc(const double* x, int n, bint square, int L, double* acc, double* out) noexcept nogil:
    """L (executor.two_acc) on each lane; acc holds 4 lane vectors of scratch."""
    cdef double* a0 = acc
    cdef double* a1 = acc + L
    cdef double* b0 = acc + 2 * L
    cdef double* b1 = acc + 3 * L
    cdef const double* p
    cdef int i, l
    if square:
        for l in range(4 * L):
            acc[l] = x[l] * x[l]
        for i in range(4, n, 4):
            p = x + i * L
            for l in range(4 * L):
                acc[l] = acc[l] + p[l] * p[l]
    else:
        memcpy(acc, x, 4 * L * sizeof(double))
        for i in range(4, n, 4):
            p = x + i * L
            for l in range(4 * L):
                acc[l] = acc[l] + p[l]
    for l in range(L):
        out[l] = (a0[l] + b0[l]) + (a1[l] + b1[l])


cdef inline void lv_vec_sum(const double* a, int F, int L, double* t, double* out) noexcept nogil:
    """R_vec (P) of a_i per lane."""
    cdef int l
    if F == 2:
        lv_add(out, a, a + L, L)
    elif F == 4:
        for l in range(L):
            out[l] = (a[l] + a[2 * L + l]) + (a[L + l] + a[3 * L + l])
    else:
        memcpy(t, a, F * L * sizeof(double))
        lv_pair_tree(t, F, L, out)


cdef inline void lv_vec_dot(const double* a, const double* b, int F, int L, double* t, double* out) noexcept nogil:
    """R_vec (P) of a_i * b_i per lane."""
    cdef int l
    if F == 2:
        for l in range(L):
            out[l] = a[l] * b[l] + a[L + l] * b[L + l]
    elif F == 4:
        for l in range(L):
            out[l] = ((a[l] * b[l] + a[2 * L + l] * b[2 * L + l])
                      + (a[L + l] * b[L + l] + a[3 * L + l] * b[3 * L + l]))
    else:
        lv_mul(t, a, b, F * L)
        lv_pair_tree(t, F, L, out)


cdef inline void lv_mat_sum(const double* a, int F, int L, double* t, double* out) noexcept nogil:
    """R_mat of the F*F entries: P for F <= 8, L above."""
    if F > 8:
        lv_two_acc(a, F * F, False, L, t, out)
    else:
        memcpy(t, a, F * F * L * sizeof(double))
        lv_pair_tree(t, F * F, L, out)


cdef inline void lv_mat_sumsq(const double* a, int F, bint packet_tree, int L, double* t,
                              double* out) noexcept nogil:
    """Sum of squares of the F*F entries: P if packet_tree, else L."""
    if not packet_tree:
        lv_two_acc(a, F * F, True, L, t, out)
    else:
        lv_mul(t, a, a, F * F * L)
        lv_pair_tree(t, F * F, L, out)


cdef inline void lv_mv(const double* a, const double* b, int F, int L, double* t, double* out) noexcept nogil:
    """MATRIX_VECTOR_PRODUCT into out (F entries, must not alias a or b): R_mv per row."""
    cdef int i, k, l
    cdef const double* row
    cdef double* o
    cdef double lane0, lane1
    if F <= 4:
        for i in range(F):
            lv_vec_dot(a + i * F * L, b, F, L, t, out + i * L)
        return
    for i in range(F):
        row = a + i * F * L
        o = out + i * L
        for l in range(L):
            lane0 = 0.0
            lane1 = 0.0
            for k in range(0, F, 2):
                lane0 = lane0 + row[k * L + l] * b[k * L + l]
                lane1 = lane1 + row[(k + 1) * L + l] * b[(k + 1) * L + l]
            o[l] = lane0 + lane1


cdef inline void lv_mm(const double* a, const double* b, int F, int L, double* out) noexcept nogil:
    """MATRIX_MATRIX_PRODUCT into out (must not alias a or b): R_mm per entry (T for F <= 4, else S0)."""
    cdef int i, j, k, l
    cdef double acc[MAX_LANES]
    cdef double* o
    for i in range(F):
        for j in range(F):
            o = out + (i * F + j) * L
            if F == 2:
                for l in range(L):
                    o[l] = a[(i * 2) * L + l] * b[j * L + l] + a[(i * 2 + 1) * L + l] * b[(2 + j) * L + l]
            elif F == 4:
                for l in range(L):
                    o[l] = ((a[(i * 4) * L + l] * b[j * L + l] + a[(i * 4 + 1) * L + l] * b[(4 + j) * L + l])
                            + (a[(i * 4 + 2) * L + l] * b[(8 + j) * L + l]
                               + a[(i * 4 + 3) * L + l] * b[(12 + j) * L + l]))
            else:
                # Every lane sums from +0 over k in order; the lane loop innermost vectorises.
                for l in range(L):
                    acc[l] = 0.0
                for k in range(F):
                    for l in range(L):
                        acc[l] = acc[l] + a[(i * F + k) * L + l] * b[(k * F + j) * L + l]
                for l in range(L):
                    o[l] = acc[l]


cdef inline bint lane_fraction_index(int F, float f, int* idx) noexcept nogil:
    """executor.fraction_index: (int) trunc((float) F * f) in float arithmetic; False outside 0..F-1."""
    cdef float x = (<float> F) * f
    if x > -1.0 and x < F:
        idx[0] = <int> x
        return True
    return False


# ---------------------------------------------------------------------------------------------------------
# The instruction loop over lanes.

cdef void lane_code(LDim* dim, Lanes* lanes, const Instruction* code, int32_t n, double* s, double* v, double* m,
                    double* t) noexcept nogil:
    """Run n instructions (no random op) on lane memory (L lanes): scalar slot a at s + a*L, vector slot a at
    v + a*F*L, matrix slot a at m + a*F*F*L; t is scratch of at least F*F*L + 4*L doubles."""
    cdef int F = ldim_size(dim)
    cdef int L = lanes_size(lanes)
    cdef int FF = F * F
    cdef int FL = F * L
    cdef int FFL = FF * L
    cdef const Instruction* ins
    cdef const double* a
    cdef const double* b
    cdef double* o
    cdef double x, y, mu, value
    cdef int32_t k
    cdef int i, j, l, r, c, op
    cdef double va[32 * MAX_LANES]
    cdef double vb[32 * MAX_LANES]
    cdef double sc[MAX_LANES]
    for k in range(n):
        ins = &code[k]
        op = ins.op
        if op == NO_OP:
            pass
        elif op == SCALAR_SUM:
            lv_add(s + ins.out * L, s + ins.in1 * L, s + ins.in2 * L, L)
        elif op == SCALAR_DIFF:
            a = s + ins.in1 * L
            b = s + ins.in2 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = a[l] - b[l]
        elif op == SCALAR_PRODUCT:
            lv_mul(s + ins.out * L, s + ins.in1 * L, s + ins.in2 * L, L)
        elif op == SCALAR_DIVISION:
            a = s + ins.in1 * L
            b = s + ins.in2 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = a[l] / b[l]
        elif op == SCALAR_ABS:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = fabs(a[l])
        elif op == SCALAR_RECIPROCAL:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = 1.0 / a[l]
        elif op == SCALAR_SIN:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = sin(a[l])
        elif op == SCALAR_COS:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = cos(a[l])
        elif op == SCALAR_TAN:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = tan(a[l])
        elif op == SCALAR_ARCSIN:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = asin(a[l])
        elif op == SCALAR_ARCCOS:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = acos(a[l])
        elif op == SCALAR_ARCTAN:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = atan(a[l])
        elif op == SCALAR_EXP:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = exp(a[l])
        elif op == SCALAR_LOG:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = log(a[l])
        elif op == SCALAR_HEAVYSIDE:
            a = s + ins.in1 * L
            o = s + ins.out * L
            for l in range(L):
                o[l] = 1.0 if a[l] >= 0.0 else 0.0
        elif op == VECTOR_HEAVYSIDE:
            a = v + ins.in1 * FL
            o = v + ins.out * FL
            for i in range(FL):
                o[i] = 1.0 if a[i] > 0.0 else 0.0
        elif op == MATRIX_HEAVYSIDE:
            a = m + ins.in1 * FFL
            o = m + ins.out * FFL
            for i in range(FFL):
                o[i] = 1.0 if a[i] > 0.0 else 0.0
        elif op == SCALAR_VECTOR_PRODUCT:
            # The scalar lanes copied to a local first: gcc then knows the output cannot alias them.
            memcpy(sc, s + ins.in1 * L, L * sizeof(double))
            b = v + ins.in2 * FL
            o = v + ins.out * FL
            for i in range(F):
                for l in range(L):
                    o[i * L + l] = b[i * L + l] * sc[l]
        elif op == SCALAR_BROADCAST:
            memcpy(sc, s + ins.in1 * L, L * sizeof(double))
            o = v + ins.out * FL
            for i in range(F):
                for l in range(L):
                    o[i * L + l] = sc[l]
        elif op == VECTOR_RECIPROCAL:
            a = v + ins.in1 * FL
            o = v + ins.out * FL
            for i in range(FL):
                o[i] = 1.0 / a[i]
        elif op == VECTOR_NORM:
            lv_vec_dot(v + ins.in1 * FL, v + ins.in1 * FL, F, L, t, t + FL)
            o = s + ins.out * L
            for l in range(L):
                o[l] = sqrt(t[FL + l])
        elif op == VECTOR_ABS:
            a = v + ins.in1 * FL
            o = v + ins.out * FL
            for i in range(FL):
                o[i] = fabs(a[i])
        elif op == VECTOR_SUM:
            lv_add(v + ins.out * FL, v + ins.in1 * FL, v + ins.in2 * FL, FL)
        elif op == VECTOR_DIFF:
            a = v + ins.in1 * FL
            b = v + ins.in2 * FL
            o = v + ins.out * FL
            for i in range(FL):
                o[i] = a[i] - b[i]
        elif op == VECTOR_PRODUCT:
            lv_mul(v + ins.out * FL, v + ins.in1 * FL, v + ins.in2 * FL, FL)
        elif op == VECTOR_DIVISION:
            a = v + ins.in1 * FL
            b = v + ins.in2 * FL
            o = v + ins.out * FL
            for i in range(FL):
                o[i] = a[i] / b[i]
        elif op == VECTOR_INNER_PRODUCT:
            lv_vec_dot(v + ins.in1 * FL, v + ins.in2 * FL, F, L, t, s + ins.out * L)
        elif op == VECTOR_OUTER_PRODUCT:
            # Inputs copied to locals first: gcc then knows the output cannot alias them (no runtime checks).
            memcpy(va, v + ins.in1 * FL, FL * sizeof(double))
            memcpy(vb, v + ins.in2 * FL, FL * sizeof(double))
            o = m + ins.out * FFL
            for i in range(F):
                for j in range(F):
                    for l in range(L):
                        o[(i * F + j) * L + l] = va[i * L + l] * vb[j * L + l]
        elif op == SCALAR_MATRIX_PRODUCT:
            memcpy(sc, s + ins.in1 * L, L * sizeof(double))
            b = m + ins.in2 * FFL
            o = m + ins.out * FFL
            for i in range(FF):
                for l in range(L):
                    o[i * L + l] = b[i * L + l] * sc[l]
        elif op == MATRIX_RECIPROCAL:
            a = m + ins.in1 * FFL
            o = m + ins.out * FFL
            for i in range(FFL):
                o[i] = 1.0 / a[i]
        elif op == MATRIX_VECTOR_PRODUCT:
            # via locals: out may alias in2, and gcc needs no runtime alias checks
            memcpy(vb, v + ins.in2 * FL, FL * sizeof(double))
            lv_mv(m + ins.in1 * FFL, vb, F, L, t, va)
            memcpy(v + ins.out * FL, va, FL * sizeof(double))
        elif op == VECTOR_COLUMN_BROADCAST:
            memcpy(va, v + ins.in1 * FL, FL * sizeof(double))
            o = m + ins.out * FFL
            for i in range(F):
                for j in range(F):
                    for l in range(L):
                        o[(i * F + j) * L + l] = va[i * L + l]
        elif op == VECTOR_ROW_BROADCAST:
            memcpy(va, v + ins.in1 * FL, FL * sizeof(double))
            o = m + ins.out * FFL
            for i in range(F):
                for j in range(FL):
                    o[i * FL + j] = va[j]
        elif op == MATRIX_NORM:
            lv_mat_sumsq(m + ins.in1 * FFL, F, F <= 8, L, t, t + FFL)
            o = s + ins.out * L
            for l in range(L):
                o[l] = sqrt(t[FFL + l])
        elif op == MATRIX_COLUMN_NORM:
            a = m + ins.in1 * FFL
            o = v + ins.out * FL
            for j in range(F):
                for i in range(F):
                    lv_mul(t + i * L, a + (i * F + j) * L, a + (i * F + j) * L, L)
                lv_scalar_tree(t, F, L, t + FL)
                for l in range(L):
                    o[j * L + l] = sqrt(t[FL + l])
        elif op == MATRIX_ROW_NORM:
            a = m + ins.in1 * FFL
            o = v + ins.out * FL
            for i in range(F):
                lv_vec_dot(a + i * FL, a + i * FL, F, L, t, t + FL)
                for l in range(L):
                    o[i * L + l] = sqrt(t[FL + l])
        elif op == MATRIX_TRANSPOSE:
            a = m + ins.in1 * FFL
            o = m + ins.out * FFL
            if a == o:
                for i in range(F):
                    for j in range(i + 1, F):
                        for l in range(L):
                            x = o[(i * F + j) * L + l]
                            o[(i * F + j) * L + l] = o[(j * F + i) * L + l]
                            o[(j * F + i) * L + l] = x
            else:
                for i in range(F):
                    for j in range(F):
                        memcpy(o + (i * F + j) * L, a + (j * F + i) * L, L * sizeof(double))
        elif op == MATRIX_ABS:
            a = m + ins.in1 * FFL
            o = m + ins.out * FFL
            for i in range(FFL):
                o[i] = fabs(a[i])
        elif op == MATRIX_SUM:
            lv_add(m + ins.out * FFL, m + ins.in1 * FFL, m + ins.in2 * FFL, FFL)
        elif op == MATRIX_DIFF:
            a = m + ins.in1 * FFL
            b = m + ins.in2 * FFL
            o = m + ins.out * FFL
            for i in range(FFL):
                o[i] = a[i] - b[i]
        elif op == MATRIX_PRODUCT:
            lv_mul(m + ins.out * FFL, m + ins.in1 * FFL, m + ins.in2 * FFL, FFL)
        elif op == MATRIX_DIVISION:
            a = m + ins.in1 * FFL
            b = m + ins.in2 * FFL
            o = m + ins.out * FFL
            for i in range(FFL):
                o[i] = a[i] / b[i]
        elif op == MATRIX_MATRIX_PRODUCT:
            # via t: out may alias an input
            lv_mm(m + ins.in1 * FFL, m + ins.in2 * FFL, F, L, t)
            memcpy(m + ins.out * FFL, t, FFL * sizeof(double))
        elif op == SCALAR_MIN:
            a = s + ins.in1 * L
            b = s + ins.in2 * L
            o = s + ins.out * L
            for l in range(L):
                x = a[l]
                y = b[l]
                o[l] = y if y < x else x
        elif op == VECTOR_MIN:
            a = v + ins.in1 * FL
            b = v + ins.in2 * FL
            o = v + ins.out * FL
            for i in range(FL):
                x = a[i]
                y = b[i]
                o[i] = y if y < x else x
        elif op == MATRIX_MIN:
            a = m + ins.in1 * FFL
            b = m + ins.in2 * FFL
            o = m + ins.out * FFL
            for i in range(FFL):
                x = a[i]
                y = b[i]
                o[i] = x if x < y else y
        elif op == SCALAR_MAX:
            a = s + ins.in1 * L
            b = s + ins.in2 * L
            o = s + ins.out * L
            for l in range(L):
                x = a[l]
                y = b[l]
                o[l] = y if x < y else x
        elif op == VECTOR_MAX:
            a = v + ins.in1 * FL
            b = v + ins.in2 * FL
            o = v + ins.out * FL
            for i in range(FL):
                x = a[i]
                y = b[i]
                o[i] = y if x < y else x
        elif op == MATRIX_MAX:
            a = m + ins.in1 * FFL
            b = m + ins.in2 * FFL
            o = m + ins.out * FFL
            for i in range(FFL):
                x = a[i]
                y = b[i]
                o[i] = x if x > y else y
        elif op == VECTOR_MEAN:
            lv_vec_sum(v + ins.in1 * FL, F, L, t, t + FL)
            o = s + ins.out * L
            for l in range(L):
                o[l] = t[FL + l] / F
        elif op == MATRIX_MEAN:
            lv_mat_sum(m + ins.in1 * FFL, F, L, t, t + FFL)
            o = s + ins.out * L
            for l in range(L):
                o[l] = t[FFL + l] / FF
        elif op == MATRIX_ROW_MEAN:
            a = m + ins.in1 * FFL
            o = v + ins.out * FL
            for i in range(F):
                lv_vec_sum(a + i * FL, F, L, t, t + FL)
                for l in range(L):
                    o[i * L + l] = t[FL + l] / F
        elif op == MATRIX_ROW_ST_DEV:
            a = m + ins.in1 * FFL
            o = v + ins.out * FL
            for i in range(F):
                lv_vec_sum(a + i * FL, F, L, t, t + FL)
                lv_vec_dot(a + i * FL, a + i * FL, F, L, t, t + FL + L)
                for l in range(L):
                    mu = t[FL + l] / F
                    o[i * L + l] = sqrt(t[FL + L + l] / F - mu * mu)
        elif op == VECTOR_ST_DEV:
            a = v + ins.in1 * FL
            lv_vec_sum(a, F, L, t, t + FL)
            lv_vec_dot(a, a, F, L, t, t + FL + L)
            o = s + ins.out * L
            for l in range(L):
                mu = t[FL + l] / F
                o[l] = sqrt(t[FL + L + l] / F - mu * mu)
        elif op == MATRIX_ST_DEV:
            a = m + ins.in1 * FFL
            lv_mat_sum(a, F, L, t, t + FFL)
            lv_mat_sumsq(a, F, F <= 4, L, t, t + FFL + L)
            o = s + ins.out * L
            for l in range(L):
                mu = t[FFL + l] / FF
                o[l] = sqrt(t[FFL + L + l] / FF - mu * mu)
        elif op == SCALAR_CONST_SET:
            value = ins.activation
            o = s + ins.out * L
            for l in range(L):
                o[l] = value
        elif op == VECTOR_CONST_SET:
            if lane_fraction_index(F, ins.f0, &i):
                value = <double> ins.f1
                o = v + ins.out * FL + i * L
                for l in range(L):
                    o[l] = value
        elif op == MATRIX_CONST_SET:
            if lane_fraction_index(F, ins.f0, &r) and lane_fraction_index(F, ins.f1, &c):
                value = <double> ins.f2
                o = m + ins.out * FFL + (r * F + c) * L
                for l in range(L):
                    o[l] = value


# ---------------------------------------------------------------------------------------------------------
# Training and validation of a batch (executor.train / validate / execute_dim for one epoch, per lane).

cdef inline double lane_sigmoid(double x) noexcept nogil:
    return 1.0 / (1.0 + exp(-x))


cdef inline double lane_flip_and_squash(double x) noexcept nogil:
    if isnan(x) or isinf(x):
        return 0.0
    return 1.0 + LANE_FLIP_SQUASH_C * atan(x)


# The bank each op writes (docs/semantics.md §2.1): 0 none, 1 scalar, 2 vector, 3 matrix; op k at index k.
cdef const char* LANE_OUT_BANK = b"0111111111" b"1111112322" b"2122222133" b"3233122333" b"3333123123" b"1122111231" b"23123"


cdef bint writes_features(const Instruction* code, int32_t n) noexcept nogil:
    """True if an instruction writes vector 0 (the features): only then must Learn's features be copied again."""
    cdef int32_t k
    for k in range(n):
        if LANE_OUT_BANK[code[k].op] == c'2' and code[k].out == 0:
            return True
    return False


cdef extern from *:
    """
    #if defined(__SSE2__)
    #include <immintrin.h>
    #endif
    /* x[i * L + l] = rows[l][offset + i] for i < F, l < L: the features of one example of every lane, transposed
       into lane vectors. Pure data movement (bit-exact at every level): 8 x 8 blocks with AVX-512F, 4 x 4 with
       AVX, 2 x 2 with SSE2, one by one elsewhere (F >= 2 and L >= 4 are powers of two). */
    static void azero_gather_features(const double** rows, long long offset, int F, int L, double* x) {
        int i, l, k;
    #if defined(__AVX512F__)
        if (F >= 8 && L >= 8) {
            for (l = 0; l < L; l += 8) {
                for (i = 0; i < F; i += 8) {
                    __m512d r[8], t[8], u[4], w[4];
                    for (k = 0; k < 8; k++) r[k] = _mm512_loadu_pd(rows[l + k] + offset + i);
                    for (k = 0; k < 4; k++) {
                        t[2 * k] = _mm512_unpacklo_pd(r[2 * k], r[2 * k + 1]);
                        t[2 * k + 1] = _mm512_unpackhi_pd(r[2 * k], r[2 * k + 1]);
                    }
                    /* t[2k] holds columns 0, 2, 4, 6 of rows 2k, 2k+1; t[2k+1] columns 1, 3, 5, 7. */
                    for (k = 0; k < 2; k++) {
                        u[0] = _mm512_shuffle_f64x2(t[k], t[k + 2], 0x88);
                        u[1] = _mm512_shuffle_f64x2(t[k + 4], t[k + 6], 0x88);
                        u[2] = _mm512_shuffle_f64x2(t[k], t[k + 2], 0xDD);
                        u[3] = _mm512_shuffle_f64x2(t[k + 4], t[k + 6], 0xDD);
                        w[0] = _mm512_shuffle_f64x2(u[0], u[1], 0x88);   /* column k */
                        w[1] = _mm512_shuffle_f64x2(u[2], u[3], 0x88);   /* column k + 2 */
                        w[2] = _mm512_shuffle_f64x2(u[0], u[1], 0xDD);   /* column k + 4 */
                        w[3] = _mm512_shuffle_f64x2(u[2], u[3], 0xDD);   /* column k + 6 */
                        _mm512_storeu_pd(x + (i + k) * L + l, w[0]);
                        _mm512_storeu_pd(x + (i + k + 2) * L + l, w[1]);
                        _mm512_storeu_pd(x + (i + k + 4) * L + l, w[2]);
                        _mm512_storeu_pd(x + (i + k + 6) * L + l, w[3]);
                    }
                }
            }
            return;
        }
    #endif
    #if defined(__AVX__)
        if (F >= 4) {
            for (l = 0; l < L; l += 4) {
                for (i = 0; i < F; i += 4) {
                    __m256d r0 = _mm256_loadu_pd(rows[l] + offset + i);
                    __m256d r1 = _mm256_loadu_pd(rows[l + 1] + offset + i);
                    __m256d r2 = _mm256_loadu_pd(rows[l + 2] + offset + i);
                    __m256d r3 = _mm256_loadu_pd(rows[l + 3] + offset + i);
                    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
                    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
                    _mm256_storeu_pd(x + i * L + l, _mm256_permute2f128_pd(t0, t2, 0x20));
                    _mm256_storeu_pd(x + (i + 1) * L + l, _mm256_permute2f128_pd(t1, t3, 0x20));
                    _mm256_storeu_pd(x + (i + 2) * L + l, _mm256_permute2f128_pd(t0, t2, 0x31));
                    _mm256_storeu_pd(x + (i + 3) * L + l, _mm256_permute2f128_pd(t1, t3, 0x31));
                }
            }
            return;
        }
    #endif
    #if defined(__SSE2__)
        for (l = 0; l < L; l += 2) {
            for (i = 0; i < F; i += 2) {
                __m128d r0 = _mm_loadu_pd(rows[l] + offset + i);
                __m128d r1 = _mm_loadu_pd(rows[l + 1] + offset + i);
                _mm_storeu_pd(x + i * L + l, _mm_unpacklo_pd(r0, r1));
                _mm_storeu_pd(x + (i + 1) * L + l, _mm_unpackhi_pd(r0, r1));
            }
        }
    #else
        for (l = 0; l < L; l++)
            for (i = 0; i < F; i++)
                x[i * L + l] = rows[l][offset + i];
    #endif
    }
    """
    void azero_gather_features(const double** rows, long long offset, int F, int L, double* x) nogil


cdef inline void gather_features(const double** features, int64_t example, int F, int L,
                                 double* x) noexcept nogil:
    """x[i * L + l] = feature i of `example` in lane l's feature rows."""
    azero_gather_features(features, example * F, F, L, x)


cdef void lane_run(LDim* dim, Lanes* lanes, LaneBatch* batch) noexcept nogil:
    cdef int F = ldim_size(dim)
    cdef int L = lanes_size(lanes)
    cdef int D = batch.num_lanes
    cdef int FL = F * L
    cdef double* s = batch.cells
    cdef double* v = s + batch.num_scalars * L
    cdef double* m = v + batch.num_vectors * FL
    cdef double* labels = batch.work                 # L labels of the current example
    cdef double* t = labels + L                      # op scratch
    cdef const Instruction* predict = batch.predict
    cdef const Instruction* learn = batch.learn
    cdef int32_t n_predict = batch.n_predict
    cdef int32_t n_learn = batch.n_learn
    cdef bint accuracy = batch.eval_type == EVAL_ACCURACY
    cdef double max_abs_error = batch.max_abs_error
    cdef int64_t n = batch.num_train
    cdef int64_t step, k
    cdef int l, bad, alive_count = D
    cdef bint recording = False
    cdef char alive[MAX_LANES]                       # padding lanes (D and up) count as stopped
    cdef double loss[MAX_LANES]
    cdef double errors[MAX_LANES]
    cdef const double* train_features[MAX_LANES]
    cdef const double* train_labels[MAX_LANES]
    cdef const double* valid_features[MAX_LANES]
    cdef const double* valid_labels[MAX_LANES]
    cdef double err, e, p, abs_e, fitness
    cdef ErrorRecord* record
    # The features go straight into vector 0 when Predict reads them; Learn needs them copied in (again) only if
    # it reads them and Predict did not, or overwrote them.
    cdef bint feed_predict = batch.predict_reads_features
    cdef bint feed_learn = batch.learn_reads_features and (not feed_predict or writes_features(predict, n_predict))
    for l in range(L):
        alive[l] = l < D
        loss[l] = 0.0
        train_features[l] = batch.task[l].train_features
        train_labels[l] = batch.task[l].train_labels
        valid_features[l] = batch.task[l].valid_features
        valid_labels[l] = batch.task[l].valid_labels
    for l in range(D):
        batch.fitness[l] = 0.0
        recording = recording or batch.record[l] != NULL
    if n <= 0:
        return
    # Training (executor.train, epoch 0). Each step checks every lane's error at once; the per-lane work
    # (stopping a lane, recording errors for the FEC) runs only when a lane stops or errors are recorded.
    for step in range(n):
        for l in range(L):
            labels[l] = train_labels[l][step]
        if feed_predict:
            gather_features(train_features, step, F, L, v)
        for l in range(L):
            s[l] = 0.0
        if n_predict:
            lane_code(dim, lanes, predict, n_predict, s, v, m, t)
        if accuracy:
            for l in range(L):
                s[L + l] = lane_sigmoid(s[L + l])
        bad = 0
        for l in range(L):
            errors[l] = fabs(labels[l] - s[L + l])
            bad |= alive[l] & (not (errors[l] <= max_abs_error))   # NaN or too large
        if bad or recording:
            for l in range(D):
                if not alive[l]:
                    continue
                err = errors[l]
                if not (err <= max_abs_error):   # the stopping step counts
                    alive[l] = 0
                    alive_count -= 1
                    batch.train_steps += step + 1
                    continue
                record = batch.record[l]
                if record != NULL and record.n_train < MAX_RECORDED_ERRORS:
                    record.train[record.n_train] = err
                    record.n_train += 1
            if alive_count == 0:
                return
        if feed_learn:
            gather_features(train_features, step, F, L, v)
        memcpy(s, labels, L * sizeof(double))
        if n_learn:
            lane_code(dim, lanes, learn, n_learn, s, v, m, t)
    batch.train_steps += n * alive_count
    # Validation (executor.validate). For RMS error without recording, every lane's squared error is summed at
    # once (a stopped lane's sum is never read).
    for k in range(batch.num_valid):
        for l in range(L):
            labels[l] = valid_labels[l][k]
        if feed_predict:
            gather_features(valid_features, k, F, L, v)
        for l in range(L):
            s[l] = 0.0
        if n_predict:
            lane_code(dim, lanes, predict, n_predict, s, v, m, t)
        if not (accuracy or recording):
            bad = 0
            for l in range(L):
                e = labels[l] - s[L + l]
                loss[l] += e * e
                bad |= alive[l] & (not (fabs(e) <= max_abs_error))
            if bad:
                for l in range(D):
                    if alive[l] and not (fabs(labels[l] - s[L + l]) <= max_abs_error):   # fitness 0
                        alive[l] = 0
                        alive_count -= 1
                if alive_count == 0:
                    return
            continue
        for l in range(D):
            if not alive[l]:
                continue
            if accuracy:
                p = lane_sigmoid(s[L + l])
                if p > 1.0 or p < 0.0:
                    e = INFINITY
                elif (labels[l] > 0.5) == (p > 0.5):
                    e = 0.0
                else:
                    e = 1.0
                loss[l] += e
            else:
                e = labels[l] - s[L + l]
                loss[l] += e * e
            abs_e = fabs(e)
            if not (abs_e <= max_abs_error):   # NaN or too large: fitness 0
                alive[l] = 0
                alive_count -= 1
                continue
            record = batch.record[l]
            if record != NULL and record.n_valid < MAX_RECORDED_ERRORS:
                record.valid[record.n_valid] = abs_e
                record.n_valid += 1
        if alive_count == 0:
            return
    for l in range(D):
        if not alive[l]:
            continue
        loss[l] /= batch.task[l].n_valid
        if accuracy:
            fitness = 1.0 - loss[l]
        else:
            fitness = lane_flip_and_squash(sqrt(loss[l]))
        batch.fitness[l] = fitness if 0.0 < fitness else 0.0   # execute_dim's best over the one epoch


cdef void run_lanes(LDim* dim, LaneBatch* batch) noexcept nogil:
    if batch.stride == 4:
        lane_run(dim, <Lanes4*> NULL, batch)
    elif batch.stride == 8:
        lane_run(dim, <Lanes8*> NULL, batch)
    else:
        lane_run(dim, <Lanes16*> NULL, batch)


cdef void run_lane_batch(LaneBatch* batch) noexcept nogil:
    """Train and validate the batch's lanes (stride 4, 8 or 16); fills batch.fitness[0 .. num_lanes - 1], adds
    to train_steps."""
    cdef int F = batch.features_size
    if F == 4:
        run_lanes(<LDim4*> NULL, batch)
    elif F == 2:
        run_lanes(<LDim2*> NULL, batch)
    elif F == 8:
        run_lanes(<LDim8*> NULL, batch)
    elif F == 16:
        run_lanes(<LDim16*> NULL, batch)
    else:
        run_lanes(<LDim32*> NULL, batch)


def kernel() -> object:
    """This module's run_lane_batch as a PyCapsule named LANE_KERNEL_CAPSULE (types.pxd), for the evaluator."""
    cdef LaneKernel typed = run_lane_batch   # fails to compile unless the signature is the evaluator's
    return PyCapsule_New(<void*> typed, LANE_KERNEL_CAPSULE, NULL)
