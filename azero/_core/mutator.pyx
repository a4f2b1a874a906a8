"""Mutator and randomiser of the reference (docs/semantics.md §8.1–8.3, 5.2-5.4), consuming the random stream in its exact order.

Programs are fixed-capacity instruction arrays (``Program`` of types.pxd): an insert shifts the tail right, a remove
shifts it left, so a child is mutated in place with no allocation. The C entry points are ``Mutator.mutate`` and
``Mutator.randomize_program`` (nogil); the ``*_arrays`` methods wrap them for Python callers and tests.
"""
from libc.math cimport exp, expf, log, logf
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memmove, memset

import numpy as np

from azero._core.rng cimport (
    MT19937,
    RandomGenerator,
    gaussian,
    gaussian_float,
    uniform_float,
    uniform_i64,
    uniform_open,
    uniform_prob,
    uniform_u16,
    uniform_u64,
)
from azero._core.types cimport (
    NUM_OPS,
    LEARN,
    MATRIX_CONST_SET,
    MATRIX_GAUSSIAN_SET,
    MATRIX_UNIFORM_SET,
    PREDICT,
    SCALAR_CONST_SET,
    SCALAR_GAUSSIAN_SET,
    SCALAR_UNIFORM_SET,
    SETUP,
    VECTOR_CONST_SET,
    VECTOR_GAUSSIAN_SET,
    VECTOR_UNIFORM_SET,
    Instruction,
    Program,
)

from azero._core import INSTRUCTION_DTYPE
from azero._core.checks import FUNCTION_NAMES, check_addresses, instruction_array

# MutationType values of the reference (docs/semantics.md §8.4), for the C code; Python uses azero.ops (the one table, which
# tests compare with these).
cdef enum:
    MUT_ALTER_PARAM = 0
    MUT_RANDOMIZE_INSTRUCTION = 1
    MUT_RANDOMIZE_COMPONENT_FUNCTION = 2
    MUT_IDENTITY = 3
    MUT_INSERT_INSTRUCTION = 4
    MUT_REMOVE_INSTRUCTION = 5
    MUT_TRADE_INSTRUCTION = 6
    MUT_RANDOMIZE_ALGORITHM = 7


cdef enum:
    CAT_DATA = 0
    CAT_ONE_INPUT = 1
    CAT_TWO_INPUTS = 2
    CAT_NO_OP = 3
    BANK_NONE = 0
    BANK_SCALAR = 1
    BANK_VECTOR = 2
    BANK_MATRIX = 3

# kSignFlipProb of the reference (compared as a double with the float U_prob sample).
cdef double SIGN_FLIP_PROB = 0.1

if sizeof(Instruction) != INSTRUCTION_DTYPE.itemsize:
    raise ImportError("types.pxd Instruction and INSTRUCTION_DTYPE disagree in size")


# ---------------------------------------------------------------------------------------------------------------
# Instruction-level randomisation and alteration (docs/semantics.md §8.1, 2.6)
# ---------------------------------------------------------------------------------------------------------------

cdef inline uint16_t random_address(const MutatorConfig* cfg, uint8_t bank, MT19937* rng,
                                    uint16_t first_scalar_vector) noexcept nogil:
    """Random address in a bank: scalar and vector from `first_scalar_vector`, matrix from 0."""
    if bank == BANK_SCALAR:
        return uniform_u16(rng, first_scalar_vector, cfg.num_scalars)
    if bank == BANK_VECTOR:
        return uniform_u16(rng, first_scalar_vector, cfg.num_vectors)
    return uniform_u16(rng, 0, cfg.num_matrices)


cdef inline uint16_t in_address(const MutatorConfig* cfg, uint8_t bank, MT19937* rng) noexcept nogil:
    """Random input address: scalar 0..S-1, vector 0..V-1, matrix 0..M-1."""
    return random_address(cfg, bank, rng, 0)


cdef inline uint16_t out_address(const MutatorConfig* cfg, uint8_t bank, MT19937* rng) noexcept nogil:
    """Random output address: scalar 1..S-1, vector 1..V-1 (never the label s0 or the features v0), matrix 0..M-1."""
    return random_address(cfg, bank, rng, 1)


cdef inline bint is_gaussian_set(uint8_t op) noexcept nogil:
    return op == SCALAR_GAUSSIAN_SET or op == VECTOR_GAUSSIAN_SET or op == MATRIX_GAUSSIAN_SET


cdef inline bint is_uniform_set(uint8_t op) noexcept nogil:
    return op == SCALAR_UNIFORM_SET or op == VECTOR_UNIFORM_SET or op == MATRIX_UNIFORM_SET


cdef inline void randomize_data(Instruction* ins, MT19937* rng) noexcept nogil:
    """RandomizeData of a data op; the statements run in the reference's draw order."""
    cdef uint8_t op = ins.op
    if op == SCALAR_CONST_SET:
        ins.activation = uniform_open(rng, -1.0, 1.0)
    elif op == VECTOR_CONST_SET:
        ins.f0 = uniform_float(rng, 0.0, 1.0)
        ins.f1 = uniform_float(rng, -1.0, 1.0)
    elif op == MATRIX_CONST_SET:
        ins.f0 = uniform_float(rng, 0.0, 1.0)
        ins.f1 = uniform_float(rng, 0.0, 1.0)
        ins.f2 = uniform_float(rng, -1.0, 1.0)
    elif is_gaussian_set(op):
        ins.f0 = uniform_float(rng, -1.0, 1.0)  # mean
        ins.f1 = uniform_float(rng, 0.0, 1.0)   # stdev
    elif is_uniform_set(op):
        ins.f0 = uniform_float(rng, -1.0, 1.0)  # low, high: not sorted here
        ins.f1 = uniform_float(rng, -1.0, 1.0)


cdef void set_op_and_randomize(const MutatorConfig* cfg, Instruction* ins, uint8_t op, MT19937* rng) noexcept nogil:
    memset(ins, 0, sizeof(Instruction))
    ins.op = op
    cdef uint8_t cat = cfg.category[op]
    if cat == CAT_DATA:
        ins.out = out_address(cfg, cfg.out_bank[op], rng)
        randomize_data(ins, rng)
    elif cat == CAT_ONE_INPUT:
        ins.in1 = in_address(cfg, cfg.in1_bank[op], rng)
        ins.out = out_address(cfg, cfg.out_bank[op], rng)
    elif cat == CAT_TWO_INPUTS:
        ins.in1 = in_address(cfg, cfg.in1_bank[op], rng)
        ins.in2 = in_address(cfg, cfg.in2_bank[op], rng)
        ins.out = out_address(cfg, cfg.out_bank[op], rng)


cdef inline double log_scale_double(double x, MT19937* rng) noexcept nogil:
    """MutateActivationLogScale: multiply |x| by exp(N(0,1)) in double (x = 0 gives -0)."""
    cdef double g = gaussian(rng, 0.0, 1.0)
    if x > 0:
        return exp(log(x) + g)
    return -exp(log(-x) + g)


cdef inline float log_scale_float(float x, MT19937* rng) noexcept nogil:
    """MutateFloatLogScale: as log_scale_double but GaussianFloat, logf/expf and a float addition."""
    cdef float g = gaussian_float(rng, 0.0, 1.0)
    cdef float t
    if x > 0:
        t = logf(x) + g
        return expf(t)
    t = logf(-x) + g
    return -expf(t)


cdef inline double log_scale_or_flip_double(double x, MT19937* rng) noexcept nogil:
    if <double>uniform_prob(rng) < SIGN_FLIP_PROB:
        return -x
    return log_scale_double(x, rng)


cdef inline float log_scale_or_flip_float(float x, MT19937* rng) noexcept nogil:
    if <double>uniform_prob(rng) < SIGN_FLIP_PROB:
        return -x
    return log_scale_float(x, rng)


cdef inline int64_t choice2(MT19937* rng) noexcept nogil:
    return uniform_i64(rng, 0, 2)


cdef inline int64_t choice3(MT19937* rng) noexcept nogil:
    return uniform_i64(rng, 0, 3)


cdef inline void alter_data(Instruction* ins, MT19937* rng) noexcept nogil:
    """AlterData (docs/semantics.md §8.2) of a data op."""
    cdef uint8_t op = ins.op
    cdef float low
    cdef float high
    cdef int64_t c
    if op == SCALAR_CONST_SET:
        ins.activation = log_scale_or_flip_double(ins.activation, rng)
    elif op == VECTOR_CONST_SET:
        if choice2(rng) == 0:
            ins.f0 = uniform_float(rng, 0.0, 1.0)
        else:
            ins.f1 = log_scale_or_flip_float(ins.f1, rng)
    elif op == MATRIX_CONST_SET:
        c = choice3(rng)
        if c == 0:
            ins.f0 = uniform_float(rng, 0.0, 1.0)
        elif c == 1:
            ins.f1 = uniform_float(rng, 0.0, 1.0)
        else:
            ins.f2 = log_scale_or_flip_float(ins.f2, rng)
    elif is_gaussian_set(op):
        if choice2(rng) == 0:
            ins.f0 = log_scale_or_flip_float(ins.f0, rng)
        else:
            ins.f1 = log_scale_float(ins.f1, rng)  # stdev: never flipped
    elif is_uniform_set(op):
        low = ins.f0
        high = ins.f1
        if choice2(rng) == 0:
            low = log_scale_or_flip_float(low, rng)
        else:
            high = log_scale_or_flip_float(high, rng)
        # std::min(low, high) and std::max(low, high): ties and NaN keep `low`.
        ins.f0 = high if high < low else low
        ins.f1 = high if low < high else low


cdef inline void alter_param(const MutatorConfig* cfg, Instruction* ins, MT19937* rng) noexcept nogil:
    """AlterParam (docs/semantics.md §8.2): re-draw one address or alter the data, in place."""
    cdef uint8_t op = ins.op
    cdef uint8_t cat = cfg.category[op]
    cdef int64_t c
    if cat == CAT_DATA:
        if choice2(rng) == 0:
            ins.out = out_address(cfg, cfg.out_bank[op], rng)
        else:
            alter_data(ins, rng)
    elif cat == CAT_ONE_INPUT:
        if choice2(rng) == 0:
            ins.in1 = in_address(cfg, cfg.in1_bank[op], rng)
        else:
            ins.out = out_address(cfg, cfg.out_bank[op], rng)
    elif cat == CAT_TWO_INPUTS:
        c = choice3(rng)
        if c == 0:
            ins.in1 = in_address(cfg, cfg.in1_bank[op], rng)
        elif c == 1:
            ins.in2 = in_address(cfg, cfg.in2_bank[op], rng)
        else:
            ins.out = out_address(cfg, cfg.out_bank[op], rng)


# ---------------------------------------------------------------------------------------------------------------
# Program-level steps (docs/semantics.md §8.5, 5.3)
# ---------------------------------------------------------------------------------------------------------------

cdef inline uint8_t draw_op(const MutatorConfig* cfg, int k, MT19937* rng) noexcept nogil:
    """allowed[U16(0, len(allowed))] for component function k."""
    return cfg.ops[k][uniform_u16(rng, 0, <uint16_t>cfg.num_ops[k])]


cdef inline int draw_component_function(const MutatorConfig* cfg, MT19937* rng) noexcept nogil:
    """Uniform over the functions with a non-empty op list (drawn even when there is only one)."""
    return cfg.cf[uniform_i64(rng, 0, cfg.num_cf)]


cdef inline void randomize_function(const MutatorConfig* cfg, Program* p, int k, MT19937* rng) noexcept nogil:
    """Every instruction of function k replaced by a fresh random one, in position order (size kept)."""
    cdef int32_t i
    cdef Instruction* fn = p.fn[k]
    for i in range(p.size[k]):
        set_op_and_randomize(cfg, &fn[i], draw_op(cfg, k, rng), rng)


cdef inline void insert_unconditionally(const MutatorConfig* cfg, Program* p, int k, uint8_t op,
                                        MT19937* rng) noexcept nogil:
    """Position U16(0, size + 1), then the new instruction's parameters; inserted before that position."""
    cdef int32_t size = p.size[k]
    cdef Instruction* fn = p.fn[k]
    cdef uint16_t pos = uniform_u16(rng, 0, <uint16_t>(size + 1))
    memmove(&fn[pos + 1], &fn[pos], (size - pos) * sizeof(Instruction))
    set_op_and_randomize(cfg, &fn[pos], op, rng)
    p.size[k] = size + 1


cdef inline void remove_unconditionally(Program* p, int k, MT19937* rng) noexcept nogil:
    """Erase position U16(0, size); the freed slot at the end is cleared to a NO_OP."""
    cdef int32_t size = p.size[k]
    cdef Instruction* fn = p.fn[k]
    cdef uint16_t pos = uniform_u16(rng, 0, <uint16_t>size)
    memmove(&fn[pos], &fn[pos + 1], (size - pos - 1) * sizeof(Instruction))
    memset(&fn[size - 1], 0, sizeof(Instruction))
    p.size[k] = size - 1


cdef void randomize_all(const MutatorConfig* cfg, Program* p, MT19937* rng) noexcept nogil:
    cdef int k
    for k in range(3):
        if cfg.num_ops[k] > 0:
            randomize_function(cfg, p, k, rng)


cdef void mutate_once(const MutatorConfig* cfg, Program* p, MT19937* rng) noexcept nogil:
    """MutateImpl (docs/semantics.md §8.4): one action drawn from the allowed list, applied in place."""
    cdef uint8_t action = cfg.actions[uniform_u64(rng, 0, <uint64_t>cfg.num_actions)]
    cdef int k
    cdef int32_t size
    cdef uint16_t pos
    cdef uint8_t op
    if action == MUT_ALTER_PARAM:
        k = draw_component_function(cfg, rng)
        size = p.size[k]
        if size > 0:
            pos = uniform_u16(rng, 0, <uint16_t>size)
            alter_param(cfg, &p.fn[k][pos], rng)
    elif action == MUT_RANDOMIZE_INSTRUCTION:  # CF, position, op, parameters
        k = draw_component_function(cfg, rng)
        size = p.size[k]
        if size > 0:
            pos = uniform_u16(rng, 0, <uint16_t>size)
            op = draw_op(cfg, k, rng)
            set_op_and_randomize(cfg, &p.fn[k][pos], op, rng)
    elif action == MUT_RANDOMIZE_COMPONENT_FUNCTION:
        k = draw_component_function(cfg, rng)
        randomize_function(cfg, p, k, rng)
    elif action == MUT_INSERT_INSTRUCTION:  # CF, size check, op, position, parameters
        k = draw_component_function(cfg, rng)
        if cfg.size_max[k] > 0 and p.size[k] >= cfg.size_max[k] - 1:
            return
        op = draw_op(cfg, k, rng)
        insert_unconditionally(cfg, p, k, op, rng)
    elif action == MUT_REMOVE_INSTRUCTION:
        k = draw_component_function(cfg, rng)
        if p.size[k] <= cfg.size_min[k]:
            return
        remove_unconditionally(p, k, rng)
    elif action == MUT_TRADE_INSTRUCTION:  # CF, op, insert (no size check), remove from the new list
        k = draw_component_function(cfg, rng)
        op = draw_op(cfg, k, rng)
        insert_unconditionally(cfg, p, k, op, rng)
        remove_unconditionally(p, k, rng)
    elif action == MUT_RANDOMIZE_ALGORITHM:
        randomize_all(cfg, p, rng)
    # MUT_IDENTITY: nothing beyond the action draw.


# ---------------------------------------------------------------------------------------------------------------
# Python-facing helpers
# ---------------------------------------------------------------------------------------------------------------

cdef Instruction* _records(object array):
    """Pointer to the first record of a C-contiguous, non-empty INSTRUCTION_DTYPE array (kept alive by the caller)."""
    cdef uint8_t[::1] raw = array.view(np.uint8)
    return <Instruction*>&raw[0]


def _op_table(object values, str name):
    table = np.asarray(values)
    if table.shape != (NUM_OPS,):
        raise ValueError(f"{name} must have {NUM_OPS} entries")
    if np.any(table < 0) or np.any(table > 3):
        raise ValueError(f"{name} entries must be in 0..3")
    return table.astype(np.uint8)


def _op_list(object values, str name):
    ops = [int(v) for v in values]
    if any(v < 0 or v >= NUM_OPS for v in ops):
        raise ValueError(f"{name}: op codes must be in 0..{NUM_OPS - 1}")
    if len(ops) > 65535:
        raise ValueError(f"{name}: more than 65535 entries")
    return ops


def _check_op_table(category, banks):
    """Categories and banks must agree: every real op writes a bank and reads the banks its category names."""
    in1, in2, out = banks
    if category[0] != CAT_NO_OP:
        raise ValueError("op 0 (NO_OP) must have category 3")
    for op in range(1, NUM_OPS):
        cat = int(category[op])
        is_data = SCALAR_CONST_SET <= op <= MATRIX_GAUSSIAN_SET
        if cat == CAT_NO_OP or (cat == CAT_DATA) != is_data:
            raise ValueError(f"op {op}: category {cat} does not match docs/semantics.md §2.1")
        if out[op] == BANK_NONE or (in1[op] != BANK_NONE) != (cat >= 1) or (in2[op] != BANK_NONE) != (cat == 2):
            raise ValueError(f"op {op}: banks do not match category {cat}")


cdef class Mutator:
    """The reference's Mutator plus Randomizer over fixed-capacity programs.

    Mutation types are the ints of docs/semantics.md §8.4 (ALTER_PARAM 0 ... RANDOMIZE_ALGORITHM 7); duplicates weight the
    draw. Op lists are in draw order; an empty list means that component function is never randomised or
    mutated. Op tables are the 65-entry category and bank arrays of docs/semantics.md §2.1 (azero.ops).
    """

    def __cinit__(self):
        self.cfg.actions = NULL

    def __dealloc__(self):
        # actions and the three op lists share one allocation (see __init__).
        free(self.cfg.actions)

    def __init__(self, *, allowed_mutation_types, double mutate_prob, setup_ops, predict_ops, learn_ops,
                 int setup_size_min, int setup_size_max, int predict_size_min, int predict_size_max,
                 int learn_size_min, int learn_size_max, int num_scalars, int num_vectors, int num_matrices,
                 op_category, in1_bank, in2_bank, out_bank):
        actions = [int(a) for a in allowed_mutation_types]
        if not actions:
            raise ValueError("allowed_mutation_types must not be empty")
        if any(a < MUT_ALTER_PARAM or a > MUT_RANDOMIZE_ALGORITHM for a in actions):
            raise ValueError("mutation types must be in 0..7")
        op_lists = [_op_list(setup_ops, "setup_ops"), _op_list(predict_ops, "predict_ops"),
                    _op_list(learn_ops, "learn_ops")]
        mins = [setup_size_min, predict_size_min, learn_size_min]
        maxs = [setup_size_max, predict_size_max, learn_size_max]
        if any(v < 0 or v > 65535 for v in mins + maxs):
            raise ValueError("size bounds must be in 0..65535")
        for counts in ((num_scalars, "num_scalars"), (num_vectors, "num_vectors"), (num_matrices, "num_matrices")):
            if counts[0] < 1 or counts[0] > 65535:
                raise ValueError(f"{counts[1]} must be in 1..65535")
        category = _op_table(op_category, "op_category")
        banks = [_op_table(in1_bank, "in1_bank"), _op_table(in2_bank, "in2_bank"), _op_table(out_bank, "out_bank")]
        _check_op_table(category, banks)
        if not any(op_lists) and any(a not in (MUT_IDENTITY, MUT_RANDOMIZE_ALGORITHM) for a in actions):
            raise ValueError("every op list is empty, but an allowed mutation type needs a component function")
        if MUT_INSERT_INSTRUCTION in actions:
            for ops, size_max, name in zip(op_lists, maxs, ("setup", "predict", "learn")):
                if ops and size_max == 0:
                    raise ValueError(f"INSERT_INSTRUCTION needs {name}_size_max > 0 (0 would grow without bound)")

        cdef int64_t total = len(actions) + sum(len(ops) for ops in op_lists)
        cdef uint8_t* block = <uint8_t*>malloc(total if total > 0 else 1)
        if block == NULL:
            raise MemoryError()
        free(self.cfg.actions)
        self.cfg.actions = block
        self.cfg.num_actions = len(actions)
        cdef int64_t i
        for i in range(len(actions)):
            block[i] = actions[i]
        cdef int64_t offset = len(actions)
        cdef int k
        self.cfg.num_cf = 0
        for k in range(3):
            self.cfg.ops[k] = block + offset
            self.cfg.num_ops[k] = len(op_lists[k])
            for i in range(len(op_lists[k])):
                block[offset + i] = op_lists[k][i]
            offset += len(op_lists[k])
            self.cfg.size_min[k] = mins[k]
            self.cfg.size_max[k] = maxs[k]
            if op_lists[k]:
                self.cfg.cf[self.cfg.num_cf] = k
                self.cfg.num_cf += 1
        self.cfg.mutate_prob = mutate_prob
        self.cfg.num_scalars = num_scalars
        self.cfg.num_vectors = num_vectors
        self.cfg.num_matrices = num_matrices
        for i in range(NUM_OPS):
            self.cfg.category[i] = category[i]
            self.cfg.in1_bank[i] = banks[0][i]
            self.cfg.in2_bank[i] = banks[1][i]
            self.cfg.out_bank[i] = banks[2][i]

    cdef void randomize_program(self, Program* program, MT19937* rng) noexcept nogil:
        randomize_all(&self.cfg, program, rng)

    cdef void mutate(self, Program* program, MT19937* rng, int num_mutations) noexcept nogil:
        cdef int i
        if self.cfg.mutate_prob >= 1.0 or <double>uniform_prob(rng) < self.cfg.mutate_prob:
            for i in range(num_mutations):
                mutate_once(&self.cfg, program, rng)

    def capacity_needed(self, sizes) -> tuple:
        """Per-function capacity that any sequence of mutations starting from `sizes` fits in.

        max(size, size_max) + 1: inserts stop at size_max - 1 and a trade briefly holds one extra instruction.
        """
        return tuple(max(int(sizes[k]), int(self.cfg.size_max[k])) + 1 for k in range(3))

    def _run(self, setup, predict, learn, RandomGenerator rng, int num_mutations, bint randomize):
        memory = (self.cfg.num_scalars, self.cfg.num_vectors, self.cfg.num_matrices)
        arrays = [instruction_array(fn, name) for fn, name in zip((setup, predict, learn), FUNCTION_NAMES)]
        for array, name in zip(arrays, FUNCTION_NAMES):
            check_addresses(array, name, memory)
        caps = self.capacity_needed([a.shape[0] for a in arrays])
        buffers = []
        cdef int32_t sizes[3]
        cdef Program program
        cdef int k
        for k in range(3):
            buf = np.zeros(caps[k], dtype=INSTRUCTION_DTYPE)
            buf[:arrays[k].shape[0]] = arrays[k]
            buffers.append(buf)
            sizes[k] = arrays[k].shape[0]
            program.fn[k] = _records(buf)
            program.capacity[k] = caps[k]
        program.size = sizes
        with nogil:
            if randomize:
                self.randomize_program(&program, &rng.gen)
            else:
                self.mutate(&program, &rng.gen, num_mutations)
        for k in range(3):
            assert 0 <= sizes[k] < program.capacity[k], "program outgrew its capacity"
        # Byte copies: numpy's structured copy leaves the padding bytes undefined; these stay all-zero.
        return tuple(buffers[k].view(np.uint8)[:sizes[k] * sizeof(Instruction)].copy().view(INSTRUCTION_DTYPE)
                     for k in range(3))

    def mutate_arrays(self, setup, predict, learn, RandomGenerator rng, int num_mutations=1) -> tuple:
        """Mutate(num_mutations) of a program given as three INSTRUCTION_DTYPE arrays; returns new arrays."""
        if num_mutations < 0:
            raise ValueError("num_mutations must be >= 0")
        return self._run(setup, predict, learn, rng, num_mutations, False)

    def randomize_arrays(self, setup, predict, learn, RandomGenerator rng) -> tuple:
        """RANDOM_ALGORITHM fill of the three functions (sizes kept, empty op lists untouched); new arrays."""
        return self._run(setup, predict, learn, rng, 0, True)

    def random_instruction(self, int op, RandomGenerator rng):
        """SetOpAndRandomizeParams(op): one INSTRUCTION_DTYPE record with freshly drawn addresses and data."""
        if op < 0 or op >= NUM_OPS:
            raise ValueError(f"op must be in 0..{NUM_OPS - 1}")
        record = np.zeros(1, dtype=INSTRUCTION_DTYPE)
        set_op_and_randomize(&self.cfg, _records(record), <uint8_t>op, &rng.gen)
        return record[0]
