# Evaluator (docs/semantics.md §4 and §5): fitness of a program over a list of tasks, with optional FEC and train budget.
from libc.stdint cimport int64_t, uint64_t
from azero._core.types cimport Program, TaskData, Memory, ErrorRecord, LaneBatch, NUM_OPS
from azero._core.rng cimport MT19937
from azero._core.fec cimport FECache
from azero._core.liveness cimport LiveCode
from azero._core.memo cimport ProgramMemo, TaskMemo

# Fitness combination modes, with the reference's enum values.
cdef enum:
    COMBINE_MEAN = 1
    COMBINE_MEDIAN = 3

cdef class Evaluator:
    cdef public int64_t num_train_steps     # all executed train steps so far, FEC pre-runs included
    cdef readonly int num_tasks
    cdef readonly int features_size
    cdef readonly FECache fec               # None without FEC
    cdef int combine
    cdef double max_abs_error
    cdef object task_arrays                 # keeps the arrays that `tasks` points into alive
    cdef TaskData* tasks                    # num_tasks entries, in task-index order
    cdef double* task_fitness               # per-task fitness of the last evaluation
    cdef double* scratch                    # work array for the median
    cdef Memory mem                         # one memory, wiped by every execution
    cdef bint mem_ready
    # FEC: pre-run sizes, the generator right after seeding with 235732282 (copied before every pre-run instead
    # of re-seeding) and the pre-run's generator (recorded errors: `records` below).
    cdef bint use_fec
    cdef int64_t fec_num_train
    cdef int64_t fec_num_valid
    cdef MT19937 fec_seeded
    cdef MT19937 fec_gen
    # Lanes (issue 10): the batch handed to the lane kernel, its memory (MAX_LANES lanes of every memory
    # cell) and scratch; per task: the train examples of the running evaluation, the FEC pre-run's recorded
    # errors and key; a list of task indices. See evaluate_task_range.
    cdef LaneBatch batch
    cdef double* lane_cells
    cdef double* lane_work
    cdef int num_cells
    cdef int64_t* task_train
    cdef ErrorRecord* records
    cdef uint64_t* keys
    cdef int* indices
    # The live code of the program being evaluated (what every path runs, unless dead-code elimination is off)
    # and, for FEC evaluators, the memo of recent live programs (None without FEC).
    cdef LiveCode live
    cdef ProgramMemo memo
    # Set by begin(): the program to run (its live code, or itself), whether its tasks train in the lanes,
    # whether it draws random numbers, its memo entry (NULL: none).
    cdef const Program* program
    cdef bint in_lanes
    cdef bint draws
    cdef TaskMemo* memo_tasks
    cdef uint64_t* errors_hashes          # per task: its pre-run's errors hashed (FEC evaluators)
    cdef const ErrorRecord** hash_records # per task: the record to hash, or NULL (hash known from the memo)
    # Train budget (docs/semantics.md §4.3).
    cdef bint use_budget
    cdef double baseline_setup_cost
    cdef double baseline_train_cost         # per train step: cost(predict) + cost(learn)
    cdef double threshold_factor
    cdef double op_costs[NUM_OPS]
    # Combined fitness over all tasks; random ops of main (non-FEC) executions draw from `rng`.
    # = begin(program), evaluate_task_range(0, num_tasks), then combine_prefix(num_tasks).
    cdef double evaluate_program(self, const Program* program, MT19937* rng) noexcept nogil
    # Fills task_fitness[0 .. num_tasks - 1].
    cdef void evaluate_tasks(self, const Program* program, MT19937* rng) noexcept nogil
    # Make `program` the one evaluate_task_range runs: what is known per program (each task's budgeted train
    # examples, the live code, the path, the memo entry) is worked out here once.
    cdef void begin(self, const Program* program) noexcept nogil
    # Fills task_fitness[first .. last - 1] for the program of the last begin(), tasks in index order, with the
    # FEC, budget and step count of a full evaluation: ranges [0, k) then [k, num_tasks) consume the streams
    # exactly as one evaluate_tasks call (hurdles evaluate a prefix first and the rest only if it passes).
    cdef void evaluate_task_range(self, MT19937* rng, int first, int last) noexcept nogil
    # Run the given tasks (indices, in order) as execute() would, one after another: Setup draws from `rng`
    # (FEC pre-runs: from a fresh copy of the FEC generator per task, with errors recorded into records[i]);
    # consecutive tasks that fit one lane batch train together. Fills task_fitness[i] of main runs.
    cdef void run_tasks(self, const Program* program, MT19937* rng, const int* indices, int count,
                        bint fec_prerun) noexcept nogil
    cdef void run_batch(self, const Program* program, MT19937* rng, const int* indices, int count,
                        int64_t num_train, int64_t num_valid, bint fec_prerun) noexcept nogil
    # The configured combination (mean / median) of task_fitness[0 .. n - 1], 1 <= n <= num_tasks.
    cdef double combine_prefix(self, int n) noexcept nogil
