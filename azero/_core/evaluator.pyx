"""Evaluator (SPEC 4.1-4.3): fitness of one program over a list of tasks, with the FEC and the train budget.

Everything per program runs in `evaluate_program` (nogil, no allocation): the budget check, the FEC pre-run on
its own generator, the cache lookup, the main execution on the caller's generator, and the combination. The
same work is available split into task ranges and a prefix combination, for hurdles (azero._core.evolution).
"""
from libc.stdint cimport int32_t, int64_t, uint64_t, uintptr_t
from libc.stdlib cimport malloc, free

import numpy as np

from azero._core.types cimport (Instruction, Program, TaskData,
                                MAX_RECORDED_ERRORS, NUM_OPS, SETUP, PREDICT, LEARN)
from azero._core.rng cimport MT19937, mt_seed, RandomGenerator
from azero._core.executor cimport memory_init, memory_free, execute, task_data_from
from azero._core.fec cimport FECache, fec_key

from azero._core import INSTRUCTION_DTYPE
from azero._core.checks import FEATURE_SIZES as _FEATURE_SIZES, check_memory, check_program

cdef enum:
    FEC_SEED = 235732282        # the reference's fixed seed of the FEC generator, re-applied before each pre-run
    MIN_TRAIN_EXAMPLES = 10     # the reference CHECKs MaxTrainExamples >= 10 on every task

_COMBINE = {"mean": COMBINE_MEAN, "median": COMBINE_MEDIAN}


cdef double _cost(const Program* program, int fn, const double* op_costs) noexcept nogil:
    # compute_cost.cc: sequential double sum of the per-op costs of one component function.
    cdef double total = 0.0
    cdef int32_t i
    for i in range(program.size[fn]):
        total += op_costs[program.fn[fn][i].op]
    return total


cdef object _evaluate(Evaluator ev, setup, predict, learn, RandomGenerator rng, bint combined):
    # Point a Program at the three arrays (no copy when already contiguous) and evaluate it without the GIL.
    cdef Program program
    cdef int32_t sizes[3]
    cdef double fitness
    cdef int k
    arrays = []
    for k, fn in enumerate((setup, predict, learn)):
        arr = np.ascontiguousarray(fn)
        if arr.dtype != INSTRUCTION_DTYPE or arr.ndim != 1:
            raise TypeError("component functions must be 1-d arrays of INSTRUCTION_DTYPE")
        if arr.size and int(arr["op"].max()) >= NUM_OPS:
            raise ValueError(f"op codes must be < {NUM_OPS}")
        arrays.append(arr)
        program.fn[k] = <Instruction*><uintptr_t>arr.ctypes.data
        sizes[k] = <int32_t>arr.shape[0]
        program.capacity[k] = sizes[k]
    program.size = sizes
    if combined:
        with nogil:
            fitness = ev.evaluate_program(&program, &rng.gen)
        return fitness
    with nogil:
        ev.evaluate_tasks(&program, &rng.gen)
    return np.array(<double[:ev.num_tasks]>ev.task_fitness, dtype=np.float64)


cdef class Evaluator:
    """Fitness of programs over a fixed list of tasks, as the reference's Evaluator computes it (SPEC 4).

    ``Evaluator(tasks, *, num_scalars=20, num_vectors=20, num_matrices=20, max_abs_error=100.0, combine="mean",
    fec=None, budget=None, op_costs=None)``; ``fec`` = (num_train_examples, num_valid_examples, cache_size,
    forget_every), ``budget`` = (baseline setup cost, baseline cost per train step, threshold factor) with
    ``op_costs`` the (65,) per-op compute costs. Task objects need the attributes of ``azero.tasks.Task``.
    """

    def __cinit__(self):
        self.tasks = NULL
        self.task_fitness = NULL
        self.scratch = NULL
        self.mem_ready = False

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

    def __dealloc__(self):
        if self.mem_ready:
            memory_free(&self.mem)
        free(self.tasks)
        free(self.task_fitness)
        free(self.scratch)

    cdef void evaluate_tasks(self, const Program* program, MT19937* rng) noexcept nogil:
        self.evaluate_task_range(program, rng, 0, self.num_tasks)

    cdef void evaluate_task_range(self, const Program* program, MT19937* rng, int first, int last) noexcept nogil:
        cdef int i
        cdef const TaskData* t
        cdef int64_t max_train, n_train
        cdef double setup_cost = 0.0, train_cost = 0.0, budget, fitness
        cdef uint64_t key
        if self.use_budget:
            setup_cost = _cost(program, SETUP, self.op_costs)
            train_cost = _cost(program, PREDICT, self.op_costs) + _cost(program, LEARN, self.op_costs)
        for i in range(first, last):
            t = &self.tasks[i]
            max_train = t.n_train * t.num_epochs
            n_train = max_train
            if self.use_budget:
                # train_budget.cc: all of MaxTrainExamples if within factor x the baseline's cost, else none.
                budget = <double>max_train
                if not (setup_cost + budget * train_cost
                        <= (self.baseline_setup_cost + budget * self.baseline_train_cost) * self.threshold_factor):
                    n_train = 0
            if self.use_fec:
                self.fec_gen = self.fec_seeded
                self.record.n_train = 0
                self.record.n_valid = 0
                execute(program, t, &self.mem, self.fec_num_train, self.fec_num_valid, &self.fec_gen,
                        self.max_abs_error, &self.num_train_steps, &self.record)
                key = fec_key(&self.record, i, n_train)
                if not self.fec.c_lookup(key, &fitness):
                    fitness = execute(program, t, &self.mem, n_train, t.n_valid, rng, self.max_abs_error,
                                      &self.num_train_steps, NULL)
                    self.fec.c_insert(key, fitness)
            else:
                fitness = execute(program, t, &self.mem, n_train, t.n_valid, rng, self.max_abs_error,
                                  &self.num_train_steps, NULL)
            self.task_fitness[i] = fitness

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
        self.evaluate_task_range(program, rng, 0, self.num_tasks)
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
