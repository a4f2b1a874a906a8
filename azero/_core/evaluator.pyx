"""Evaluator (docs/semantics.md §4 and §5): fitness of one program over a list of tasks, with the FEC and the train budget.

Everything per program runs in `evaluate_program` (nogil, no allocation): the budget check, the FEC pre-run on
its own generator, the cache lookup, the main execution on the caller's generator, and the combination. The
same work is available split: `begin` (what is known per program, once), task ranges and a prefix combination,
for hurdles (azero._core.evolution).

Lanes (issue 10): when Predict and Learn hold no random op, the tasks of an evaluation train side by side in
the lane kernel (azero/_core/lanes.pxi), one task per SIMD lane, with bit-identical results. Every order the
reference observes is kept: Setups run per task in task order on the caller's generator (training then draws
nothing), FEC pre-runs each start from a fresh FEC generator, and FEC lookups and inserts happen in task order
with a placeholder fitness that is filled in once the missed tasks have run (a key holds its task index, so no
task of the evaluation can hit another's placeholder, barring a 64-bit hash collision). The kernel is
compiled for several SIMD levels; the best one this CPU runs is chosen when this module loads (AZERO_SIMD=off|
sse2|avx2|avx512 forces one; "off" evaluates one task at a time).

Every path runs the program without its dead instructions (azero._core.liveness) and FEC evaluators reuse what
recent equal programs produced (azero._core.memo); neither changes any result (docs/semantics.md §10.5).
"""
import importlib
import os

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, free

cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void** memory, size_t alignment, size_t size)

import numpy as np

from azero._core.types cimport (Instruction, Program, TaskData, LaneBatch, LaneKernel, LANE_KERNEL_CAPSULE,
                                MAX_LANES, MAX_RECORDED_ERRORS, NUM_OPS, SETUP, PREDICT, LEARN,
                                SCALAR_UNIFORM_SET, MATRIX_GAUSSIAN_SET)
from azero._core.rng cimport MT19937, mt_seed, RandomGenerator
from azero._core.executor cimport memory_init, memory_free, execute, run_setup, task_data_from, point_program
from azero._core.fec cimport FECache, fec_key, fec_errors_hashes, fec_finish_keys
from azero._core.liveness cimport LiveCode
from azero._core.memo cimport ProgramMemo, TaskMemo

from azero._core.checks import FEATURE_SIZES as _FEATURE_SIZES, check_memory, check_program

cdef enum:
    FEC_SEED = 235732282        # the reference's fixed seed of the FEC generator, re-applied before each pre-run
    MIN_TRAIN_EXAMPLES = 10     # the reference CHECKs MaxTrainExamples >= 10 on every task

_COMBINE = {"mean": COMBINE_MEAN, "median": COMBINE_MEDIAN}


# ---------------------------------------------------------------------------------------------------------
# SIMD level of the lane kernel, chosen at import.

cdef LaneKernel lane_kernel = NULL
# Lanes run for feature sizes from this one up. At F <= 4 the executor's straight-line code for one task was as
# fast as the lanes on the demo (side by side, same build), so the default leaves those sizes to it.
cdef int lane_min_features = 8

cdef extern from *:
    """
    /* 1 if this CPU (and OS) runs the given level: 0 off, 1 SSE2 (the x86-64 baseline), 2 AVX2, 3 AVX-512F. */
    static int azero_cpu_runs(int level) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        if (level == 2) return __builtin_cpu_supports("avx2");
        if (level == 3) return __builtin_cpu_supports("avx512f");
        return 1;
    #else
        return level <= 1;
    #endif
    }
    """
    int azero_cpu_runs(int level) nogil

SIMD_LEVELS = ("off", "sse2", "avx2", "avx512")
_simd_level = "off"


def available_simd_levels() -> tuple:
    """The SIMD levels of the lane kernel this CPU runs, lowest first ("off": one task at a time)."""
    return tuple(name for code, name in enumerate(SIMD_LEVELS) if azero_cpu_runs(code))


def simd_level() -> str:
    """The SIMD level evaluations use now."""
    return _simd_level


def set_simd_level(level: str, min_features_size: int = 8) -> str:
    """Use the lane kernel built for `level` (one of available_simd_levels()) from now on, for tasks with at
    least `min_features_size` features; returns the previous level. Results are identical at every level; only
    the speed differs."""
    global lane_kernel, _simd_level, lane_min_features
    if level not in available_simd_levels():
        raise ValueError(f"SIMD level {level!r} is not available on this CPU; choose one of "
                         f"{', '.join(available_simd_levels())}")
    previous = _simd_level
    lane_min_features = min_features_size
    if level == "off":
        lane_kernel = NULL
    else:
        module = importlib.import_module(f"azero._core.lanes_{level}")
        lane_kernel = <LaneKernel> PyCapsule_GetPointer(module.kernel(), LANE_KERNEL_CAPSULE)
    _simd_level = level
    return previous


def _initial_simd_level() -> str:
    requested = os.environ.get("AZERO_SIMD", "")
    if requested:
        if requested not in available_simd_levels():
            raise ImportError(f"AZERO_SIMD={requested}: not one of the levels this CPU runs "
                              f"({', '.join(available_simd_levels())})")
        return requested
    levels = available_simd_levels()
    return levels[len(levels) - 1]   # the module is compiled without wraparound: no [-1]


set_simd_level(_initial_simd_level())


# ---------------------------------------------------------------------------------------------------------
# Dead code (azero._core.liveness): on by default.

cdef bint eliminate_dead_code = True


def set_dead_code_elimination(enabled: bool) -> bool:
    """Run only the live instructions of a program (default) or all of them; returns the previous setting.
    Results are identical either way; scripts/bench_executor.py turns it off to time every instruction."""
    global eliminate_dead_code
    previous = eliminate_dead_code
    eliminate_dead_code = enabled
    return previous


cdef double* lane_buffer(size_t doubles) noexcept:
    # Lane memory on a cache-line boundary: every cell's lanes (4, 8 or 16 doubles) then start on one, so no
    # vector load or store of the kernel splits a cache line (malloc alone gives 16 bytes, and the speed of the
    # AVX-512 kernel then depended on where the heap happened to put the buffers). NULL if out of memory.
    cdef void* memory = NULL
    if posix_memalign(&memory, 64, doubles * sizeof(double)) != 0:
        return NULL
    return <double*> memory


cdef bint _draws_random(const Program* program, int fn) noexcept nogil:
    # True if component function `fn` holds a random op (59-64: uniform and gaussian sets).
    cdef int32_t i
    cdef int op
    for i in range(program.size[fn]):
        op = program.fn[fn][i].op
        if op >= SCALAR_UNIFORM_SET and op <= MATRIX_GAUSSIAN_SET:
            return True
    return False


cdef double _cost(const Program* program, int fn, const double* op_costs) noexcept nogil:
    # compute_cost.cc: sequential double sum of the per-op costs of one component function.
    cdef double total = 0.0
    cdef int32_t i
    for i in range(program.size[fn]):
        total += op_costs[program.fn[fn][i].op]
    return total


cdef object _evaluate(Evaluator ev, setup, predict, learn, RandomGenerator rng, bint combined):
    # Point a Program at the three functions (arrays from check_program) and evaluate it without the GIL.
    cdef const Instruction[::1] setup_code = setup
    cdef const Instruction[::1] predict_code = predict
    cdef const Instruction[::1] learn_code = learn
    cdef Program program
    cdef int32_t sizes[3]
    cdef double fitness
    point_program(&program, sizes, setup_code, predict_code, learn_code)
    if combined:
        with nogil:
            fitness = ev.evaluate_program(&program, &rng.gen)
        return fitness
    with nogil:
        ev.evaluate_tasks(&program, &rng.gen)
    return np.array(<double[:ev.num_tasks]>ev.task_fitness, dtype=np.float64)


cdef class Evaluator:
    """Fitness of programs over a fixed list of tasks, as the reference's Evaluator computes it (docs/semantics.md §4 and §5).

    ``Evaluator(tasks, *, num_scalars=20, num_vectors=20, num_matrices=20, max_abs_error=100.0, combine="mean",
    fec=None, budget=None, op_costs=None)``; ``fec`` = (num_train_examples, num_valid_examples, cache_size,
    forget_every), ``budget`` = (baseline setup cost, baseline cost per train step, threshold factor) with
    ``op_costs`` the (65,) per-op compute costs. Task objects need the attributes of ``azero.tasks.Task``.
    """

    def __init__(self, tasks, *, int num_scalars=20, int num_vectors=20, int num_matrices=20,
                 double max_abs_error=100.0, str combine="mean", fec=None, budget=None, op_costs=None):
        cdef int i
        cdef TaskData* t
        tasks = list(tasks)
        if self.tasks != NULL:
            raise RuntimeError("Evaluator is already initialised")
        if not tasks:
            raise ValueError("the evaluator needs at least one task")
        if combine not in _COMBINE:
            raise ValueError(f"combine must be one of {sorted(_COMBINE)}, got {combine!r}")
        self.combine = _COMBINE[combine]
        self.max_abs_error = max_abs_error
        self.num_train_steps = 0
        self.num_tasks = len(tasks)
        self.features_size = int(tasks[0].features_size)
        if self.features_size not in _FEATURE_SIZES:
            raise ValueError(f"features_size must be one of {_FEATURE_SIZES}, got {self.features_size}")
        check_memory(num_scalars, num_vectors, num_matrices)

        self.tasks = <TaskData*>malloc(self.num_tasks * sizeof(TaskData))
        self.task_fitness = <double*>malloc(self.num_tasks * sizeof(double))
        self.scratch = <double*>malloc(self.num_tasks * sizeof(double))
        if self.tasks == NULL or self.task_fitness == NULL or self.scratch == NULL:
            raise MemoryError()
        self.task_arrays = []
        for i, task in enumerate(tasks):
            if int(task.features_size) != self.features_size:
                raise ValueError(f"task {i} has features_size {task.features_size}, task 0 has {self.features_size}")
            try:
                self.task_arrays.append(task_data_from(task, &self.tasks[i]))
            except ValueError as error:
                raise ValueError(f"task {i}: {error}") from None
            if self.tasks[i].n_train * self.tasks[i].num_epochs < MIN_TRAIN_EXAMPLES or self.tasks[i].n_valid < 1:
                raise ValueError(f"task {i}: needs >= {MIN_TRAIN_EXAMPLES} train examples and >= 1 valid example")

        if fec is not None:
            fec_num_train, fec_num_valid, cache_size, forget_every = fec
            self.fec_num_train = fec_num_train
            self.fec_num_valid = fec_num_valid
            if not (1 <= self.fec_num_train <= MAX_RECORDED_ERRORS and 1 <= self.fec_num_valid <= MAX_RECORDED_ERRORS):
                raise ValueError(f"FEC example counts must be in 1 .. {MAX_RECORDED_ERRORS}, got {fec[:2]}")
            for i in range(self.num_tasks):
                t = &self.tasks[i]
                if self.fec_num_train > t.n_train * t.num_epochs or self.fec_num_valid > t.n_valid:
                    raise ValueError(f"task {i} has fewer examples than the FEC pre-run uses")
            self.fec = FECache(cache_size, forget_every)
            self.use_fec = True
            mt_seed(&self.fec_seeded, FEC_SEED)
        else:
            self.fec = None
            self.use_fec = False

        if budget is not None:
            if op_costs is None:
                raise ValueError("a train budget needs op_costs")
            costs = np.ascontiguousarray(op_costs, dtype=np.float64)
            if costs.shape != (NUM_OPS,):
                raise ValueError(f"op_costs must have shape ({NUM_OPS},), got {costs.shape}")
            for i in range(<int>NUM_OPS):
                self.op_costs[i] = costs[i]
            baseline_setup_cost, baseline_train_cost, threshold_factor = budget
            self.baseline_setup_cost = baseline_setup_cost
            self.baseline_train_cost = baseline_train_cost
            self.threshold_factor = threshold_factor
            self.use_budget = True
        else:
            self.use_budget = False

        if memory_init(&self.mem, self.features_size, num_scalars, num_vectors, num_matrices) != 0:
            raise MemoryError()
        self.mem_ready = True

        cdef int F = self.features_size
        self.num_cells = num_scalars + num_vectors * F + num_matrices * F * F
        self.lane_cells = lane_buffer(<size_t>self.num_cells * MAX_LANES)
        self.lane_work = lane_buffer(<size_t>(2 * F * F + 2 * F + 8) * MAX_LANES)
        self.task_train = <int64_t*>malloc(self.num_tasks * sizeof(int64_t))
        self.keys = <uint64_t*>malloc(self.num_tasks * sizeof(uint64_t))
        self.indices = <int*>malloc(self.num_tasks * sizeof(int))
        if self.use_fec:
            self.records = <ErrorRecord*>malloc(self.num_tasks * sizeof(ErrorRecord))
        if (self.lane_cells == NULL or self.lane_work == NULL or self.task_train == NULL or self.keys == NULL
                or self.indices == NULL or (self.use_fec and self.records == NULL)):
            raise MemoryError()
        self.live = LiveCode(num_scalars, num_vectors, num_matrices)
        if self.use_fec:
            self.memo = ProgramMemo(self.num_tasks)
            self.errors_hashes = <uint64_t*>malloc(self.num_tasks * sizeof(uint64_t))
            self.hash_records = <const ErrorRecord**>malloc(self.num_tasks * sizeof(ErrorRecord*))
            if self.errors_hashes == NULL or self.hash_records == NULL:
                raise MemoryError()

    def __dealloc__(self):
        if self.mem_ready:
            memory_free(&self.mem)
        free(self.tasks)
        free(self.task_fitness)
        free(self.scratch)
        free(self.lane_cells)
        free(self.lane_work)
        free(self.task_train)
        free(self.records)
        free(self.keys)
        free(self.indices)
        free(self.errors_hashes)
        free(self.hash_records)

    cdef void evaluate_tasks(self, const Program* program, MT19937* rng) noexcept nogil:
        self.begin(program)
        self.evaluate_task_range(rng, 0, self.num_tasks)

    cdef void begin(self, const Program* program) noexcept nogil:
        cdef int i
        cdef const TaskData* t
        cdef int64_t max_train
        cdef double setup_cost = 0.0, train_cost = 0.0, budget
        cdef const Program* live
        if self.use_budget:   # the cost counts every instruction, dead or not
            setup_cost = _cost(program, SETUP, self.op_costs)
            train_cost = _cost(program, PREDICT, self.op_costs) + _cost(program, LEARN, self.op_costs)
        if eliminate_dead_code:
            live = self.live.prune(program)
            if live != NULL:
                program = live
        for i in range(self.num_tasks):
            t = &self.tasks[i]
            max_train = t.n_train * t.num_epochs
            self.task_train[i] = max_train
            if self.use_budget:
                # train_budget.cc: all of MaxTrainExamples if within factor x the baseline's cost, else none.
                budget = <double>max_train
                if not (setup_cost + budget * train_cost
                        <= (self.baseline_setup_cost + budget * self.baseline_train_cost) * self.threshold_factor):
                    self.task_train[i] = 0
        self.program = program
        # Random ops in Predict or Learn interleave their draws with training: one task at a time.
        self.in_lanes = (lane_kernel != NULL and self.features_size >= lane_min_features
                         and not _draws_random(program, PREDICT) and not _draws_random(program, LEARN))
        # A program without random ops never reads the FEC generator: no need to copy its 2.5 kB state.
        self.draws = _draws_random(program, SETUP) or _draws_random(program, PREDICT) or _draws_random(program, LEARN)
        # The same live program always gives the same pre-runs (and main runs, when it draws nothing).
        self.memo_tasks = NULL
        if self.use_fec and not self.in_lanes and program == &self.live.program:
            self.memo_tasks = self.memo.entry(program)

    cdef void evaluate_task_range(self, MT19937* rng, int first, int last) noexcept nogil:
        cdef const Program* program = self.program
        cdef TaskMemo* memo = self.memo_tasks
        cdef bint draws = self.draws
        cdef int i, count
        cdef const TaskData* t
        cdef double fitness
        cdef uint64_t key
        cdef int64_t steps
        if not self.in_lanes:
            if self.use_fec:
                # All pre-runs first (each on a fresh FEC generator, never the search stream; the same live
                # program always gives the same errors and steps, so the memo may hold them), then all keys
                # hashed side by side, then lookup, main run on a miss and insert, task by task.
                for i in range(first, last):
                    self.hash_records[i] = NULL
                    if memo != NULL and memo[i].fec_steps >= 0:
                        self.errors_hashes[i] = memo[i].fec_errors_hash
                        self.num_train_steps += memo[i].fec_steps
                        continue
                    if draws:
                        self.fec_gen = self.fec_seeded
                    steps = self.num_train_steps
                    execute(program, &self.tasks[i], &self.mem, self.fec_num_train, self.fec_num_valid,
                            &self.fec_gen, self.max_abs_error, &self.num_train_steps, &self.records[i])
                    self.hash_records[i] = &self.records[i]
                    if memo != NULL:
                        memo[i].fec_steps = self.num_train_steps - steps
                fec_errors_hashes(self.errors_hashes + first, self.hash_records + first, last - first)
                fec_finish_keys(self.keys + first, self.errors_hashes + first, first, self.task_train + first,
                                last - first)
                for i in range(first, last):
                    if memo != NULL and self.hash_records[i] != NULL:
                        memo[i].fec_errors_hash = self.errors_hashes[i]
                    if not self.fec.c_lookup(self.keys[i], &fitness):
                        # The main run draws from `rng`: reused from the memo only for programs that draw nothing.
                        if memo != NULL and not draws and memo[i].main_train == self.task_train[i]:
                            fitness = memo[i].main_fitness
                            self.num_train_steps += memo[i].main_steps
                        else:
                            t = &self.tasks[i]
                            steps = self.num_train_steps
                            fitness = execute(program, t, &self.mem, self.task_train[i], t.n_valid, rng,
                                              self.max_abs_error, &self.num_train_steps, NULL)
                            if memo != NULL and not draws:
                                memo[i].main_train = self.task_train[i]
                                memo[i].main_steps = self.num_train_steps - steps
                                memo[i].main_fitness = fitness
                        self.fec.c_insert(self.keys[i], fitness)
                    self.task_fitness[i] = fitness
                return
            for i in range(first, last):
                t = &self.tasks[i]
                self.task_fitness[i] = execute(program, t, &self.mem, self.task_train[i], t.n_valid, rng,
                                               self.max_abs_error, &self.num_train_steps, NULL)
            return
        count = 0
        for i in range(first, last):
            self.indices[count] = i
            count += 1
        if self.use_fec:
            # All pre-runs (own generator), then lookups and placeholder inserts in task order, then the missed
            # tasks' main runs, then their fitness into the cache.
            self.run_tasks(program, rng, self.indices, count, True)
            count = 0
            for i in range(first, last):
                key = fec_key(&self.records[i], i, self.task_train[i])
                if self.fec.c_lookup(key, &fitness):
                    self.task_fitness[i] = fitness
                else:
                    self.fec.c_insert(key, 0.0)
                    self.keys[i] = key
                    self.indices[count] = i
                    count += 1
            self.run_tasks(program, rng, self.indices, count, False)
            for i in range(count):
                self.fec.c_set_fitness(self.keys[self.indices[i]], self.task_fitness[self.indices[i]])
        else:
            self.run_tasks(program, rng, self.indices, count, False)

    cdef void run_tasks(self, const Program* program, MT19937* rng, const int* indices, int count,
                        bint fec_prerun) noexcept nogil:
        cdef int j = 0, k, i
        cdef const TaskData* t
        cdef const TaskData* u
        cdef int64_t n_train, n_valid
        # Up to 16 lanes when an op is cheap (F <= 4: the instruction dispatch dominates), else up to 8 (the
        # work per op dominates; 10 tasks run as 8 + 2 in strides 8 + 4 rather than 16).
        cdef int max_lanes = MAX_LANES if self.features_size <= 4 else 8
        while j < count:
            i = indices[j]
            t = &self.tasks[i]
            n_train = self.fec_num_train if fec_prerun else self.task_train[i]
            n_valid = self.fec_num_valid if fec_prerun else t.n_valid
            k = j + 1
            if n_train <= t.n_train:   # lanes train within the first epoch only
                while k < count and k - j < max_lanes:
                    u = &self.tasks[indices[k]]
                    if (u.eval_type != t.eval_type or n_train > u.n_train
                            or (not fec_prerun and (self.task_train[indices[k]] != n_train
                                                    or u.n_valid != n_valid))):
                        break
                    k += 1
            if k - j >= 2:
                self.run_batch(program, rng, indices + j, k - j, n_train, n_valid, fec_prerun)
            elif fec_prerun:
                self.fec_gen = self.fec_seeded
                execute(program, t, &self.mem, self.fec_num_train, self.fec_num_valid,
                        &self.fec_gen, self.max_abs_error, &self.num_train_steps, &self.records[i])
            else:
                self.task_fitness[i] = execute(program, t, &self.mem, n_train, n_valid, rng,
                                               self.max_abs_error, &self.num_train_steps, NULL)
            j = k

    cdef void run_batch(self, const Program* program, MT19937* rng, const int* indices, int count,
                        int64_t num_train, int64_t num_valid, bint fec_prerun) noexcept nogil:
        cdef LaneBatch* b = &self.batch
        cdef int L = 4 if count <= 4 else (8 if count <= 8 else 16)   # the kernel's strides
        cdef int l, c, i
        cdef const double* src = self.mem.scalars   # the memory block: scalars, vector entries, matrix entries
        cdef double* cells = self.lane_cells
        # A Setup without random ops never reads the FEC generator: skip copying its 2.5 kB state per task.
        cdef bint setup_draws = _draws_random(program, SETUP)
        b.features_size = self.features_size
        b.num_lanes = count
        b.stride = L
        b.eval_type = self.tasks[indices[0]].eval_type
        b.num_train = num_train
        b.num_valid = num_valid
        b.max_abs_error = self.max_abs_error
        b.predict = program.fn[PREDICT]
        b.n_predict = program.size[PREDICT]
        b.learn = program.fn[LEARN]
        b.n_learn = program.size[LEARN]
        # Live code knows whether its loop reads the features; other code may read them anywhere.
        b.predict_reads_features = program != &self.live.program or self.live.found.predict_reads_features
        b.learn_reads_features = program != &self.live.program or self.live.found.learn_reads_features
        b.num_scalars = self.mem.num_scalars
        b.num_vectors = self.mem.num_vectors
        b.num_matrices = self.mem.num_matrices
        b.cells = cells
        b.work = self.lane_work
        b.train_steps = 0
        for l in range(count):
            i = indices[l]
            b.task[l] = &self.tasks[i]
            if fec_prerun:
                if setup_draws:
                    self.fec_gen = self.fec_seeded
                run_setup(program, &self.mem, &self.fec_gen)
                self.records[i].n_train = 0
                self.records[i].n_valid = 0
                b.record[l] = &self.records[i]
            else:
                run_setup(program, &self.mem, rng)
                b.record[l] = NULL
            for c in range(self.num_cells):
                cells[c * L + l] = src[c]
        for l in range(count, L):
            b.task[l] = b.task[0]
            b.record[l] = NULL
            for c in range(self.num_cells):
                cells[c * L + l] = cells[c * L]
        lane_kernel(b)
        self.num_train_steps += b.train_steps
        if not fec_prerun:
            for l in range(count):
                self.task_fitness[indices[l]] = b.fitness[l]

    cdef double combine_prefix(self, int n) noexcept nogil:
        cdef int i, j
        cdef double total, x
        if self.combine == COMBINE_MEAN:
            total = 0.0
            for i in range(n):
                total += self.task_fitness[i]
            return total / <double>n
        # MEDIAN: the element nth_element puts at index n / 2, i.e. that index of the sorted fitnesses
        # (fitnesses are never NaN). Insertion sort: n is small and this allocates nothing.
        for i in range(n):
            x = self.task_fitness[i]
            j = i
            while j > 0 and self.scratch[j - 1] > x:
                self.scratch[j] = self.scratch[j - 1]
                j -= 1
            self.scratch[j] = x
        return self.scratch[n // 2]

    cdef double evaluate_program(self, const Program* program, MT19937* rng) noexcept nogil:
        self.begin(program)
        self.evaluate_task_range(rng, 0, self.num_tasks)
        return self.combine_prefix(self.num_tasks)

    def evaluate(self, setup, predict, learn, RandomGenerator rng not None) -> float:
        """Combined fitness of the program (three INSTRUCTION_DTYPE arrays); random ops draw from ``rng``."""
        setup, predict, learn = check_program(setup, predict, learn, self.mem.num_scalars, self.mem.num_vectors,
                                              self.mem.num_matrices)
        return _evaluate(self, setup, predict, learn, rng, True)

    def evaluate_per_task(self, setup, predict, learn, RandomGenerator rng not None) -> np.ndarray:
        """Each task's fitness (float64 array), computed exactly as in ``evaluate`` (same FEC, budget, steps)."""
        setup, predict, learn = check_program(setup, predict, learn, self.mem.num_scalars, self.mem.num_vectors,
                                              self.mem.num_matrices)
        return _evaluate(self, setup, predict, learn, rng, False)
