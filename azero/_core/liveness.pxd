# Dead code (docs/semantics.md §10.5): the instructions of a program whose results can never be observed.
from libc.stdint cimport int32_t
from azero._core.types cimport Instruction, Program

# What the analysis found besides the keep flags: whether Predict and Learn read the features (vector 0) before
# writing them, i.e. whether the training loop must copy them in.
cdef struct Liveness:
    bint predict_reads_features
    bint learn_reads_features

# The live code of the program last given to prune(): its instructions that can change a result, Setup then
# Predict then Learn in one array, as a Program. One per evaluator (it owns the buffers).
cdef class LiveCode:
    cdef Program program                 # fn[k] points into `code`, size at `sizes`
    cdef int32_t sizes[3]
    cdef Liveness found
    cdef Instruction* code
    cdef char* flags                     # 3 liveness flags per memory address, then one keep flag per instruction
    cdef int32_t capacity                # instructions `code` and the keep flags hold
    cdef int num_scalars
    cdef int num_vectors
    cdef int num_addresses
    # Fill `program` with the live instructions of `source` (whose addresses fit the memory) and return it; NULL
    # if the buffers cannot grow. Live instructions are copied field by field onto zeros, so two programs with
    # the same live code compare equal byte for byte.
    cdef const Program* prune(self, const Program* source) noexcept nogil
