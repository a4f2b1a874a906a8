# Regularized evolution (docs/semantics.md §9.2–9.4) over a fixed-capacity population; whole generations run in one nogil call.
from libc.stdint cimport int32_t, int64_t
from azero._core.types cimport Instruction, Program
from azero._core.evaluator cimport Evaluator
from azero._core.mutator cimport Mutator
from azero._core.rng cimport RandomGenerator

cdef class RegularizedEvolution:
    cdef Evaluator evaluator
    cdef Mutator mutator
    cdef RandomGenerator rng
    cdef readonly int population_size
    cdef readonly int tournament_size
    cdef int32_t capacity[3]
    cdef int32_t offset[3]
    cdef readonly int row_length
    cdef readonly bint random_search
    cdef readonly object programs          # (P, row_length) INSTRUCTION_DTYPE
    cdef readonly object sizes             # (P, 3) int32
    cdef readonly object fitness           # (P,) float64
    cdef readonly object template          # (row_length,) INSTRUCTION_DTYPE: the initial model
    cdef int32_t template_sizes[3]
    cdef bint randomize_init
    cdef Instruction* programs_ptr
    cdef Instruction* template_ptr
    cdef int32_t* sizes_ptr
    cdef double* fitness_ptr
    cdef readonly int64_t num_individuals
    cdef readonly double best_ever_fitness
    # Improvements of the best-ever fitness found by the last call (at most P entries).
    cdef readonly object improved_individuals   # (P,) int64
    cdef readonly object improved_fitness       # (P,) float64
    cdef readonly object improved_programs      # (P, row_length) INSTRUCTION_DTYPE
    cdef readonly object improved_sizes         # (P, 3) int32
    cdef readonly int num_improved
    cdef int64_t* improved_individuals_ptr
    cdef double* improved_fitness_ptr
    cdef Instruction* improved_programs_ptr
    cdef int32_t* improved_sizes_ptr

    # Hurdles (off unless configured): a child's partial fitness over tasks [0, hurdle_tasks) must reach
    # `hurdle` for the other tasks to be evaluated (Init children always are); a rejected child leaves its slot
    # to the member it would have replaced, which kept_row/kept_sizes hold while the child is built. `hurdle`
    # is the hurdle_percentile-th percentile of the ring of the last hurdle_window partial fitnesses, -inf until
    # the ring is full, recomputed (sorting a copy into the scratch array) whenever the write position is a
    # multiple of hurdle_period = max(1, window // 10).
    cdef readonly bint use_hurdles
    cdef readonly double hurdle_percentile
    cdef readonly int hurdle_window
    cdef readonly int hurdle_tasks
    cdef int hurdle_period
    cdef object hurdle_ring_array          # (window,) float64; slot `hurdle_position` is written next
    cdef object hurdle_scratch_array       # (window,) float64
    cdef double* hurdle_ring
    cdef double* hurdle_scratch
    cdef int hurdle_fill                   # entries in the ring (<= window)
    cdef int hurdle_position
    cdef readonly double hurdle
    cdef readonly int64_t hurdle_rejections
    cdef object kept_array                 # (row_length,) INSTRUCTION_DTYPE
    cdef Instruction* kept_row
    cdef int32_t kept_sizes[3]

    cdef void _program(self, int slot, Program* program) noexcept nogil
    cdef void _reset_to_template(self, int slot) noexcept nogil
    cdef bint _evaluate_slot(self, int slot, bint may_reject) noexcept nogil
    cdef void _keep_member(self, int slot) noexcept nogil
    cdef void _restore_member(self, int slot) noexcept nogil
    cdef void _push_partial(self, double partial) noexcept nogil
    cdef int _tournament(self) noexcept nogil
