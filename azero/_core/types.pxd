# Shared C types of the compiled core: the instruction record, programs, tasks and memory.
# The instruction layout equals azero.algorithm.INSTRUCTION_DTYPE (numpy, align=True): 32 bytes.
from libc.stdint cimport uint8_t, uint16_t, int32_t, int64_t

cdef struct Instruction:
    uint8_t op
    uint16_t in1
    uint16_t in2
    uint16_t out
    double activation
    float f0
    float f1
    float f2

# Component functions, in the order they are stored and randomised.
cdef enum:
    SETUP = 0
    PREDICT = 1
    LEARN = 2

cdef struct Program:
    # fn[k] points at component function k's instructions; size[k] points at its length (stored by the owner,
    # e.g. one row of a population's sizes array); capacity[k] is how many instructions fit at fn[k].
    Instruction* fn[3]
    int32_t* size
    int32_t capacity[3]

# Eval types, with the reference's enum values.
cdef enum:
    EVAL_RMS_ERROR = 1
    EVAL_ACCURACY = 4

cdef struct TaskData:
    int features_size
    int eval_type
    int64_t n_train                  # unique train examples (one epoch)
    int64_t n_valid
    int64_t num_epochs
    const double* train_features     # n_train x F, row-major
    const double* train_labels
    const double* valid_features     # n_valid x F, row-major
    const double* valid_labels
    const int64_t* epoch_orders      # num_epochs x n_train; epoch 0 is the identity

cdef struct Memory:
    int features_size
    int num_scalars
    int num_vectors
    int num_matrices
    double* scalars                  # num_scalars
    double* vectors                  # num_vectors x F
    double* matrices                 # num_matrices x F x F, each row-major

# Errors recorded by an FEC pre-run (at most 100 each, docs/semantics.md §3.7).
cdef enum:
    MAX_RECORDED_ERRORS = 100

cdef struct ErrorRecord:
    double train[100]
    int n_train
    double valid[100]
    int n_valid

# A batch of tasks that run one program side by side, one task per SIMD lane (azero/_core/lanes.pxi). The
# evaluator fills everything but the outputs; the lane kernel trains and validates all lanes in lock step.
cdef enum:
    MAX_LANES = 16               # tasks per batch; the stride (lanes in memory) never exceeds it

cdef struct LaneBatch:
    int features_size
    int num_lanes                # tasks in the batch, 1 .. MAX_LANES
    int stride                   # lanes in memory: 4, 8 or 16; lanes num_lanes .. stride - 1 repeat lane 0
    int eval_type                # the same for every lane
    int64_t num_train            # train steps of every lane, all within the first epoch (<= each n_train)
    int64_t num_valid            # validation examples of every lane (<= each n_valid)
    double max_abs_error
    const Instruction* predict   # Predict and Learn hold no random op
    int32_t n_predict
    const Instruction* learn
    int32_t n_learn
    bint predict_reads_features  # False: Predict never reads v0 before writing it (no need to copy features in)
    bint learn_reads_features    # the same for Learn
    const TaskData* task[16]     # per lane, padding lanes included
    ErrorRecord* record[16]      # per lane; NULL: no recording
    int num_scalars
    int num_vectors
    int num_matrices
    double* cells                # memory after Setup: cell c of lane l at cells[c * stride + l] (cells in
                                 # Memory order: scalars, vector entries, matrix entries)
    double* work                 # scratch: at least (2 * F * F + 2 * F + 8) * stride doubles
    double fitness[16]           # out: per lane, execute()'s result
    int64_t train_steps          # out: executed train steps are added here

# The lane kernel: each lanes_<level> module hands its own to the evaluator in a PyCapsule of this name.
ctypedef void (*LaneKernel)(LaneBatch* batch) noexcept nogil
cdef extern from *:
    """
    #define AZERO_LANE_KERNEL_CAPSULE "azero._core.LaneKernel"
    """
    const char* LANE_KERNEL_CAPSULE "AZERO_LANE_KERNEL_CAPSULE"

# Op codes (docs/semantics.md §2.1). The Python op table in azero/ops.py is the one source of names, banks, costs and text
# forms; tests check that it agrees with these codes.
cdef enum Op:
    NO_OP = 0
    SCALAR_SUM = 1
    SCALAR_DIFF = 2
    SCALAR_PRODUCT = 3
    SCALAR_DIVISION = 4
    SCALAR_ABS = 5
    SCALAR_RECIPROCAL = 6
    SCALAR_SIN = 7
    SCALAR_COS = 8
    SCALAR_TAN = 9
    SCALAR_ARCSIN = 10
    SCALAR_ARCCOS = 11
    SCALAR_ARCTAN = 12
    SCALAR_EXP = 13
    SCALAR_LOG = 14
    SCALAR_HEAVYSIDE = 15
    VECTOR_HEAVYSIDE = 16
    MATRIX_HEAVYSIDE = 17
    SCALAR_VECTOR_PRODUCT = 18
    SCALAR_BROADCAST = 19
    VECTOR_RECIPROCAL = 20
    VECTOR_NORM = 21
    VECTOR_ABS = 22
    VECTOR_SUM = 23
    VECTOR_DIFF = 24
    VECTOR_PRODUCT = 25
    VECTOR_DIVISION = 26
    VECTOR_INNER_PRODUCT = 27
    VECTOR_OUTER_PRODUCT = 28
    SCALAR_MATRIX_PRODUCT = 29
    MATRIX_RECIPROCAL = 30
    MATRIX_VECTOR_PRODUCT = 31
    VECTOR_COLUMN_BROADCAST = 32
    VECTOR_ROW_BROADCAST = 33
    MATRIX_NORM = 34
    MATRIX_COLUMN_NORM = 35
    MATRIX_ROW_NORM = 36
    MATRIX_TRANSPOSE = 37
    MATRIX_ABS = 38
    MATRIX_SUM = 39
    MATRIX_DIFF = 40
    MATRIX_PRODUCT = 41
    MATRIX_DIVISION = 42
    MATRIX_MATRIX_PRODUCT = 43
    SCALAR_MIN = 44
    VECTOR_MIN = 45
    MATRIX_MIN = 46
    SCALAR_MAX = 47
    VECTOR_MAX = 48
    MATRIX_MAX = 49
    VECTOR_MEAN = 50
    MATRIX_MEAN = 51
    MATRIX_ROW_MEAN = 52
    MATRIX_ROW_ST_DEV = 53
    VECTOR_ST_DEV = 54
    MATRIX_ST_DEV = 55
    SCALAR_CONST_SET = 56
    VECTOR_CONST_SET = 57
    MATRIX_CONST_SET = 58
    SCALAR_UNIFORM_SET = 59
    VECTOR_UNIFORM_SET = 60
    MATRIX_UNIFORM_SET = 61
    SCALAR_GAUSSIAN_SET = 62
    VECTOR_GAUSSIAN_SET = 63
    MATRIX_GAUSSIAN_SET = 64
    NUM_OPS = 65
