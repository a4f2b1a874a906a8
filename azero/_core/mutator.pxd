# Mutator and randomiser (docs/semantics.md §8.1–8.3, 5.2-5.4) over fixed-capacity programs, in the reference's RNG order.
from libc.stdint cimport uint8_t, uint16_t, int32_t, int64_t
from azero._core.types cimport Program, Instruction
from azero._core.rng cimport MT19937

# Everything the mutation code reads, as one plain C struct (filled once by the Mutator constructor).
cdef struct MutatorConfig:
    int64_t num_actions            # length of the allowed mutation-type list (duplicates weight the draw)
    uint8_t* actions               # mutation type codes, ALTER_PARAM 0 .. RANDOMIZE_ALGORITHM 7
    double mutate_prob
    uint8_t* ops[3]                # allowed op codes of SETUP, PREDICT, LEARN, in the given order
    int32_t num_ops[3]             # 0 = that component function is never randomised or mutated
    int32_t size_min[3]            # REMOVE skips when size <= size_min
    int32_t size_max[3]            # INSERT skips when size >= size_max - 1; 0 = no limit (as in the reference)
    int32_t num_cf                 # component functions with a non-empty op list ...
    int32_t cf[3]                  # ... in SETUP, PREDICT, LEARN order (the CF draw indexes this)
    uint16_t num_scalars
    uint16_t num_vectors
    uint16_t num_matrices
    uint8_t category[65]           # 0 data op, 1 one input, 2 two inputs, 3 NO_OP
    uint8_t in1_bank[65]           # 0 none, 1 scalar, 2 vector, 3 matrix
    uint8_t in2_bank[65]
    uint8_t out_bank[65]

# SetOpAndRandomizeParams (docs/semantics.md §8.1): clear `ins`, set `op`, then draw its addresses and data.
cdef void set_op_and_randomize(const MutatorConfig* cfg, Instruction* ins, uint8_t op, MT19937* rng) noexcept nogil

cdef class Mutator:
    cdef MutatorConfig cfg
    # Fill every instruction of every component function whose allowed-op list is non-empty with a fresh
    # random instruction (RANDOM_ALGORITHM / RANDOMIZE_ALGORITHM), keeping the sizes.
    cdef void randomize_program(self, Program* program, MT19937* rng) noexcept nogil
    # Mutate(num_mutations, program): the mutate_prob draw, then num_mutations MutateImpl steps in place.
    # Needs capacity[k] >= max(size[k], size_max[k]) + 1 (see Mutator.capacity_needed).
    cdef void mutate(self, Program* program, MT19937* rng, int num_mutations) noexcept nogil
