"""Regularized evolution (docs/semantics.md §9.2–9.4): population init, tournaments, mutation, evaluation, aging by round robin.

The population is three numpy arrays (programs, sizes, fitness) that the Python layer may read and write in
place between calls (progress, migration, checkpoints; `restore` sets the counters after a write). A child is a
row copy of its tournament winner mutated in place, so a generation allocates nothing.

Hurdles (the paper's "Full" method, not in the reference; off unless configured) evaluate a child on the first
search tasks, and on the rest only if that partial fitness reaches a percentile of the recent partial fitnesses.
A rejected child never enters the population: its slot keeps the member the child would have replaced. Init
children are never rejected, so every member carries its whole T_search fitness (docs/semantics.md §10.1).
"""
from libc.stdint cimport int32_t, int64_t
from libc.math cimport sqrt, floor, INFINITY
from libc.stdlib cimport qsort
from libc.string cimport memcpy
import numpy as np

from azero._core import INSTRUCTION_DTYPE
from azero._core.checks import check_population, check_program
from azero._core.types cimport Instruction, Program, SETUP, PREDICT, LEARN, NUM_OPS
from azero._core.rng cimport uniform_u32


cdef int _compare_doubles(const void* a, const void* b) noexcept nogil:
    cdef double x = (<const double*> a)[0]
    cdef double y = (<const double*> b)[0]
    return (x > y) - (x < y)


cdef double _percentile_of_sorted(const double* values, int n, double percentile) noexcept nogil:
    # numpy.percentile's default "linear" method with numpy's arithmetic: virtual index (n - 1) * q, then its
    # lerp (a + d * g below g = 0.5, b - d * (1 - g) from 0.5 on), the last value when the index is >= n - 1.
    cdef double index = (n - 1) * (percentile / 100.0)
    cdef double below, gamma, a, b, diff
    cdef int i
    if index >= n - 1:
        return values[n - 1]
    below = floor(index)
    i = <int> below
    gamma = index - below
    a = values[i]
    b = values[i + 1]
    diff = b - a
    if gamma >= 0.5:
        return b - diff * (1.0 - gamma)
    return a + diff * gamma


def linear_percentile(values, double percentile) -> float:
    """The hurdle's percentile of ``values`` (as numpy.percentile(values, percentile) computes it)."""
    arr = np.array(values, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not 0.0 <= percentile <= 100.0:
        raise ValueError("need at least one value and a percentile in [0, 100]")
    cdef double[::1] data = arr
    cdef int n = <int> data.shape[0]
    qsort(&data[0], n, sizeof(double), _compare_doubles)
    return _percentile_of_sorted(&data[0], n, percentile)


cdef class RegularizedEvolution:
    """One island's population of programs, evolved by the reference's regularized evolution.

    ``initial`` is the (setup, predict, learn) triple every slot starts from (the hand-designed or no-op model,
    padded); with ``randomize_initial`` each slot is then re-randomised (RANDOM_ALGORITHM). ``capacities`` are
    the room per component function (at least the largest size a mutation can produce, plus one).
    With ``random_search`` every new individual is a fresh random program instead of a mutated winner.
    ``hurdles`` = (percentile, window, tasks) turns hurdles on (every evaluation, Init included, goes through
    them); None (default) changes nothing, not even the random stream.
    """

    def __init__(self, Evaluator evaluator, Mutator mutator, RandomGenerator rng, int population_size,
                 int tournament_size, initial, capacities, bint randomize_initial=False,
                 bint random_search=False, hurdles=None):
        # Typed views of the arrays below: the kernels keep raw pointers into them (the arrays are attributes).
        cdef double[::1] ring, scratch, fitness, improved_fitness
        cdef int32_t[:, ::1] sizes, improved_sizes
        cdef int64_t[::1] improved_individuals
        cdef Instruction[::1] template, kept
        cdef Instruction[:, ::1] programs, improved_programs
        if population_size < 1 or tournament_size < 1:
            raise ValueError("population_size and tournament_size must be >= 1")
        self.use_hurdles = hurdles is not None
        self.hurdle = -INFINITY
        self.hurdle_rejections = 0
        if self.use_hurdles:
            percentile, window, tasks = hurdles
            if not 0.0 <= percentile <= 100.0:
                raise ValueError(f"hurdle percentile must be in [0, 100], got {percentile}")
            if window < 1:
                raise ValueError(f"hurdle window must be >= 1, got {window}")
            if not 1 <= tasks < evaluator.num_tasks:
                raise ValueError(f"hurdle tasks must be in 1 .. {evaluator.num_tasks - 1} (the evaluator has "
                                 f"{evaluator.num_tasks} tasks), got {tasks}")
            self.hurdle_percentile = percentile
            self.hurdle_window = window
            self.hurdle_tasks = tasks
            self.hurdle_period = max(1, self.hurdle_window // 10)
            self.hurdle_ring_array = ring = np.zeros(self.hurdle_window, dtype=np.float64)
            self.hurdle_scratch_array = scratch = np.zeros(self.hurdle_window, dtype=np.float64)
            self.hurdle_ring = &ring[0]   # window >= 1
            self.hurdle_scratch = &scratch[0]
            self.hurdle_fill = 0
            self.hurdle_position = 0
        self.evaluator = evaluator
        self.mutator = mutator
        self.rng = rng
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.randomize_init = randomize_initial
        self.random_search = random_search
        cdef int k
        initial = check_program(initial[0], initial[1], initial[2], evaluator.mem.num_scalars,
                                evaluator.mem.num_vectors, evaluator.mem.num_matrices)
        offset = 0
        for k in range(3):
            if len(initial[k]) > capacities[k]:
                raise ValueError(f"initial component {k} has {len(initial[k])} instructions > capacity {capacities[k]}")
            self.capacity[k] = capacities[k]
            self.offset[k] = offset
            offset += capacities[k]
        self.row_length = offset
        self.template = np.zeros(self.row_length, dtype=INSTRUCTION_DTYPE)
        for k in range(3):
            self.template[self.offset[k]:self.offset[k] + len(initial[k])] = np.asarray(initial[k], dtype=INSTRUCTION_DTYPE)
            self.template_sizes[k] = len(initial[k])
        self.programs = programs = np.zeros((population_size, self.row_length), dtype=INSTRUCTION_DTYPE)
        self.sizes = sizes = np.zeros((population_size, 3), dtype=np.int32)
        self.fitness = fitness = np.zeros(population_size, dtype=np.float64)
        self.improved_individuals = improved_individuals = np.zeros(population_size, dtype=np.int64)
        self.improved_fitness = improved_fitness = np.zeros(population_size, dtype=np.float64)
        self.improved_programs = improved_programs = np.zeros((population_size, self.row_length),
                                                              dtype=INSTRUCTION_DTYPE)
        self.improved_sizes = improved_sizes = np.zeros((population_size, 3), dtype=np.int32)
        template = self.template
        # population_size >= 1; rows of zero capacity (row_length 0) hold no instruction to point at.
        self.template_ptr = &template[0] if self.row_length else NULL
        self.programs_ptr = &programs[0, 0] if self.row_length else NULL
        self.improved_programs_ptr = &improved_programs[0, 0] if self.row_length else NULL
        self.sizes_ptr = &sizes[0, 0]
        self.fitness_ptr = &fitness[0]
        self.improved_individuals_ptr = &improved_individuals[0]
        self.improved_fitness_ptr = &improved_fitness[0]
        self.improved_sizes_ptr = &improved_sizes[0, 0]
        self.kept_array = kept = np.zeros(self.row_length, dtype=INSTRUCTION_DTYPE)
        self.kept_row = &kept[0] if self.row_length else NULL
        self.num_individuals = 0
        self.num_improved = 0
        self.best_ever_fitness = -np.inf

    cdef void _program(self, int slot, Program* program) noexcept nogil:
        cdef Instruction* row = self.programs_ptr + <int64_t> slot * self.row_length
        cdef int k
        for k in range(3):
            program.fn[k] = row + self.offset[k]
            program.capacity[k] = self.capacity[k]
        program.size = self.sizes_ptr + 3 * slot

    cdef void _reset_to_template(self, int slot) noexcept nogil:
        memcpy(self.programs_ptr + <int64_t> slot * self.row_length, self.template_ptr, self.row_length * sizeof(Instruction))
        memcpy(self.sizes_ptr + 3 * slot, self.template_sizes, 3 * sizeof(int32_t))

    cdef bint _evaluate_slot(self, int slot, bint may_reject) noexcept nogil:
        # Evaluates the program in `slot` and records its fitness. With hurdles: the first tasks, then the others
        # only if the partial fitness reaches the hurdle, so a passing child gets exactly the fitness (and
        # consumes exactly the stream) of an evaluation without hurdles. Returns False, recording nothing, when
        # the hurdle rejects the program (never unless `may_reject`).
        cdef Program program
        cdef double fitness, partial
        cdef bint rejected
        self._program(slot, &program)
        self.num_individuals += 1
        if self.use_hurdles:
            self.evaluator.begin(&program)
            self.evaluator.evaluate_task_range(&self.rng.gen, 0, self.hurdle_tasks)
            partial = self.evaluator.combine_prefix(self.hurdle_tasks)
            rejected = may_reject and not partial >= self.hurdle    # against the hurdle before this partial
            self._push_partial(partial)
            if rejected:
                self.hurdle_rejections += 1
                return False
            self.evaluator.evaluate_task_range(&self.rng.gen, self.hurdle_tasks, self.evaluator.num_tasks)
            fitness = self.evaluator.combine_prefix(self.evaluator.num_tasks)
        else:
            fitness = self.evaluator.evaluate_program(&program, &self.rng.gen)
        self.fitness_ptr[slot] = fitness
        if fitness > self.best_ever_fitness:
            self.best_ever_fitness = fitness
            if self.num_improved < self.population_size:
                self.improved_individuals_ptr[self.num_improved] = self.num_individuals
                self.improved_fitness_ptr[self.num_improved] = fitness
                memcpy(self.improved_programs_ptr + <int64_t> self.num_improved * self.row_length,
                       program.fn[0], self.row_length * sizeof(Instruction))
                memcpy(self.improved_sizes_ptr + 3 * self.num_improved, program.size, 3 * sizeof(int32_t))
                self.num_improved += 1
        return True

    cdef void _keep_member(self, int slot) noexcept nogil:
        # Saves the member of `slot` before a child is built there, for _restore_member if the child is rejected.
        memcpy(self.kept_row, self.programs_ptr + <int64_t> slot * self.row_length, self.row_length * sizeof(Instruction))
        memcpy(self.kept_sizes, self.sizes_ptr + 3 * slot, 3 * sizeof(int32_t))

    cdef void _restore_member(self, int slot) noexcept nogil:
        memcpy(self.programs_ptr + <int64_t> slot * self.row_length, self.kept_row, self.row_length * sizeof(Instruction))
        memcpy(self.sizes_ptr + 3 * slot, self.kept_sizes, 3 * sizeof(int32_t))

    cdef void _push_partial(self, double partial) noexcept nogil:
        self.hurdle_ring[self.hurdle_position] = partial
        self.hurdle_position += 1
        if self.hurdle_position == self.hurdle_window:
            self.hurdle_position = 0
        if self.hurdle_fill < self.hurdle_window:
            self.hurdle_fill += 1
        if self.hurdle_fill == self.hurdle_window and self.hurdle_position % self.hurdle_period == 0:
            memcpy(self.hurdle_scratch, self.hurdle_ring, self.hurdle_window * sizeof(double))
            qsort(self.hurdle_scratch, self.hurdle_window, sizeof(double), _compare_doubles)
            self.hurdle = _percentile_of_sorted(self.hurdle_scratch, self.hurdle_window, self.hurdle_percentile)

    cdef int _tournament(self) noexcept nogil:
        cdef int best = -1
        cdef int t, index
        cdef double best_fitness = 0.0
        for t in range(self.tournament_size):
            index = uniform_u32(&self.rng.gen, 0, self.population_size)
            if best == -1 or self.fitness_ptr[index] > best_fitness:
                best = index
                best_fitness = self.fitness_ptr[index]
        return best

    def init_population(self) -> int:
        """Fill every slot with the initial model (randomised if asked), Mutate(0) it and evaluate it.

        Returns the train steps used.
        """
        cdef int64_t start_steps = self.evaluator.num_train_steps
        cdef int slot
        cdef Program program
        self.num_improved = 0
        with nogil:
            for slot in range(self.population_size):
                self._reset_to_template(slot)
                self._program(slot, &program)
                if self.randomize_init:
                    self.mutator.randomize_program(&program, &self.rng.gen)
                self.mutator.mutate(&program, &self.rng.gen, 0)
                self._evaluate_slot(slot, False)
        return self.evaluator.num_train_steps - start_steps

    def run_generation(self) -> int:
        """One sweep over slots 0..P-1: tournament winner copied into the slot, mutated, evaluated.

        Returns the train steps used (FEC pre-runs included).
        """
        cdef int64_t start_steps = self.evaluator.num_train_steps
        cdef int slot, winner
        cdef Program program
        self.num_improved = 0
        with nogil:
            for slot in range(self.population_size):
                if self.use_hurdles:
                    self._keep_member(slot)
                if self.random_search:
                    self._reset_to_template(slot)
                    self._program(slot, &program)
                    self.mutator.randomize_program(&program, &self.rng.gen)
                else:
                    winner = self._tournament()
                    if winner != slot:
                        memcpy(self.programs_ptr + <int64_t> slot * self.row_length,
                               self.programs_ptr + <int64_t> winner * self.row_length,
                               self.row_length * sizeof(Instruction))
                        memcpy(self.sizes_ptr + 3 * slot, self.sizes_ptr + 3 * winner, 3 * sizeof(int32_t))
                    self._program(slot, &program)
                    self.mutator.mutate(&program, &self.rng.gen, 1)
                if not self._evaluate_slot(slot, True):
                    self._restore_member(slot)
        return self.evaluator.num_train_steps - start_steps

    def stats(self):
        """(mean, stdev, best fitness, best slot) with the reference's arithmetic (docs/semantics.md §9.2–9.4)."""
        cdef double total = 0.0, total_squares = 0.0, best = -1.0, f, mean, var
        cdef int index, best_index = -1
        for index in range(self.population_size):
            f = self.fitness_ptr[index]
            if best_index == -1 or f > best:
                best_index = index
                best = f
            total += f
            total_squares += f * f
        mean = total / self.population_size
        var = total_squares / self.population_size - mean * mean
        if var < 0.0:
            var = 0.0
        return mean, sqrt(var), best, best_index

    def restore(self, int64_t num_individuals, double best_ever_fitness, int64_t hurdle_rejections=0) -> None:
        """Set the counters after programs/sizes/fitness were written in place (checkpoint resume).

        The generator, the evaluator (train steps, FEC) and the hurdle state are restored on their own objects.
        Checks the population as every entry into compiled code does (azero._core.checks): sizes within the
        capacities, valid ops, addresses inside the evaluator's memory.
        """
        if num_individuals < 0 or hurdle_rejections < 0:
            raise ValueError("counters must be >= 0")
        check_population(self.programs, self.sizes, self.fitness, self.capacities,
                         (self.evaluator.mem.num_scalars, self.evaluator.mem.num_vectors,
                          self.evaluator.mem.num_matrices))
        self.num_individuals = num_individuals
        self.best_ever_fitness = best_ever_fitness
        self.hurdle_rejections = hurdle_rejections
        self.num_improved = 0

    def hurdle_state(self):
        """(ring copy, fill, position, hurdle) for a checkpoint; None without hurdles."""
        if not self.use_hurdles:
            return None
        return self.hurdle_ring_array.copy(), self.hurdle_fill, self.hurdle_position, self.hurdle

    def set_hurdle_state(self, ring, int fill, int position, double hurdle) -> None:
        """Restore what ``hurdle_state`` returned."""
        if not self.use_hurdles:
            raise ValueError("this evolution has no hurdles")
        arr = np.asarray(ring, dtype=np.float64)
        if arr.shape != (self.hurdle_window,):
            raise ValueError(f"the ring must have shape ({self.hurdle_window},), got {arr.shape}")
        if not 0 <= fill <= self.hurdle_window or not 0 <= position < self.hurdle_window:
            raise ValueError("fill must be in 0 .. window and position in 0 .. window - 1")
        if fill < self.hurdle_window and position != fill:
            raise ValueError("a ring that is not full is written from slot 0: position must equal fill")
        self.hurdle_ring_array[:] = arr
        self.hurdle_fill = fill
        self.hurdle_position = position
        self.hurdle = hurdle

    @property
    def capacities(self) -> tuple:
        """Room per component function (setup, predict, learn) in a program row."""
        return tuple(self.capacity[k] for k in range(3))

    @property
    def offsets(self) -> tuple:
        """Where setup, predict and learn start in a program row."""
        return tuple(self.offset[k] for k in range(3))

    def individual(self, int slot):
        """(setup, predict, learn) copies of the program in ``slot``."""
        row = self.programs[slot]
        return tuple(row[self.offset[k]:self.offset[k] + self.sizes[slot, k]].copy() for k in range(3))
