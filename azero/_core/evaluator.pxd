# Evaluator (docs/semantics.md §4 and §5): fitness of a program over a list of tasks, with optional FEC and train budget.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from azero._core.types cimport Instruction, Program, TaskData, Memory, ErrorRecord, LaneBatch, NUM_OPS
from azero._core.rng cimport MT19937
from azero._core.fec cimport FECache

# Fitness combination modes, with the reference's enum values.
cdef enum:
    COMBINE_MEAN = 1
    COMBINE_MEDIAN = 3

# What one evaluation of a (live) program on one task produced, kept by the evaluator's memo.
cdef struct TaskMemo:
    uint64_t fec_errors_hash     # the FEC pre-run's errors hashed (fec_errors_hash)
    int64_t fec_steps            # the pre-run's train steps; -1: not known
    int64_t main_train           # the main run's budgeted train examples; -1: not known
    int64_t main_steps           # its train steps
    double main_fitness          # its fitness

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
    # The program the lanes run: Setup as given, Predict and Learn without their dead instructions
    # (azero._core.liveness), which live in lane_code; prune_scratch is the analysis' work space.
    cdef Program lane_program
    cdef int32_t lane_sizes[3]
    cdef Instruction* lane_code
    cdef int32_t lane_code_capacity
    cdef char* prune_scratch
    cdef size_t prune_scratch_capacity
    cdef bint predict_reads_features
    cdef bint learn_reads_features
    cdef double* lane_cells
    cdef double* lane_work
    cdef int num_cells
    cdef int64_t* task_train
    cdef ErrorRecord* records
    cdef uint64_t* keys
    cdef int* indices
    # Live code (see live_program): the live instructions of the program being evaluated, Setup then Predict
    # then Learn, with a keep flag per instruction; liveness flags per memory object (scalars, vectors,
    # matrices), for the instructions being scanned and for the live-in sets of Predict and Learn.
    cdef Program live
    cdef int32_t live_sizes[3]
    cdef Instruction* live_code
    cdef uint8_t* live_keep
    cdef int32_t live_capacity
    cdef int num_objects
    cdef uint8_t* live_now
    cdef uint8_t* live_in_predict
    cdef uint8_t* live_in_learn
    # Memo (FEC evaluators): a direct-mapped table from live programs (hash, sizes, instructions) to what their
    # evaluations produced per task (memo_tasks[slot * num_tasks + i]). A program evaluated again (a child
    # that equals a recent program once dead code is gone) reuses its pre-runs, and its main runs when it
    # draws no random numbers; FEC lookups and inserts still happen as before.
    cdef uint64_t* errors_hashes          # per task: its pre-run's errors hashed (FEC evaluators)
    cdef const ErrorRecord** hash_records # per task: the record to hash, or NULL (hash known from the memo)
    cdef int memo_shift
    cdef uint64_t* memo_hash
    cdef int32_t* memo_sizes              # 3 per slot; -1: empty slot
    cdef Instruction* memo_code           # MEMO_CODE instructions per slot
    cdef TaskMemo* memo_tasks
    # Train budget (docs/semantics.md §4.3).
    cdef bint use_budget
    cdef double baseline_setup_cost
    cdef double baseline_train_cost         # per train step: cost(predict) + cost(learn)
    cdef double threshold_factor
    cdef double op_costs[NUM_OPS]
    # Combined fitness over all tasks; random ops of main (non-FEC) executions draw from `rng`.
    # = evaluate_task_range(0, num_tasks) then combine_prefix(num_tasks).
    cdef double evaluate_program(self, const Program* program, MT19937* rng) noexcept nogil
    # Fills task_fitness[0 .. num_tasks - 1].
    cdef void evaluate_tasks(self, const Program* program, MT19937* rng) noexcept nogil
    # Fills task_fitness[first .. last - 1], tasks in index order, with the FEC, budget and step count of a full
    # evaluation: ranges [0, k) then [k, num_tasks) consume the streams exactly as one evaluate_tasks call
    # (hurdles evaluate a prefix first and the rest only if it passes).
    cdef void evaluate_task_range(self, const Program* program, MT19937* rng, int first, int last) noexcept nogil
    # Run the given tasks (indices, in order) as execute() would, one after another: Setup draws from `rng`
    # (FEC pre-runs: from a fresh copy of the FEC generator per task, with errors recorded into records[i]);
    # consecutive tasks that fit one lane batch train together. Fills task_fitness[i] of main runs.
    # Point lane_program at `program` with dead Predict and Learn instructions removed (or at `program` itself
    # if the buffers cannot grow).
    cdef void prune_for_lanes(self, const Program* program) noexcept nogil
    cdef void run_tasks(self, const Program* program, MT19937* rng, const int* indices, int count,
                        bint fec_prerun) noexcept nogil
    cdef void run_batch(self, const Program* program, MT19937* rng, const int* indices, int count,
                        int64_t num_train, int64_t num_valid, bint fec_prerun) noexcept nogil
    # `program` without the instructions whose results never reach a prediction (or NULL when out of memory).
    cdef const Program* live_program(self, const Program* program) noexcept nogil
    # The memo entry (first TaskMemo of its slot) of the live program in self.live, claimed for it if another
    # program held the slot; NULL if the program does not fit a slot.
    cdef TaskMemo* memo_entry(self) noexcept nogil
    # The configured combination (mean / median) of task_fitness[0 .. n - 1], 1 <= n <= num_tasks.
    cdef double combine_prefix(self, int n) noexcept nogil
