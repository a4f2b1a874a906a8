# Dead instructions of Predict and Learn (issue 10): which ones can be skipped without changing any result.
from libc.stdint cimport int32_t
from azero._core.types cimport Instruction

# What prune_dead found: the kept instructions' counts and whether each function reads the features (vector 0)
# before writing it, i.e. whether the training loop must copy them in.
cdef struct Liveness:
    int32_t n_predict
    int32_t n_learn
    bint predict_reads_features
    bint learn_reads_features

# Copy into `out` the instructions of Predict (first) and Learn (after them) whose results can be observed,
# in order; return the counts. `out` holds n_predict + n_learn instructions, `scratch` prune_scratch_size()
# chars. Every address must fit the memory (the callers check programs first).
cdef Liveness prune_dead(const Instruction* predict, int32_t n_predict, const Instruction* learn,
                         int32_t n_learn, int num_scalars, int num_vectors, int num_matrices, char* scratch,
                         Instruction* out) noexcept nogil

# Chars of scratch prune_dead needs.
cdef size_t prune_scratch_size(int32_t n_predict, int32_t n_learn, int num_scalars, int num_vectors,
                               int num_matrices) noexcept nogil
