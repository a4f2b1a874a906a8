"""Regularized evolution (SPEC 5.5): population init, tournaments, mutation, evaluation, aging by round robin.

The population is three numpy arrays (programs, sizes, fitness) that the Python layer may read between calls
(progress, migration, checkpoints). A child is a row copy of its tournament winner mutated in place, so a
generation allocates nothing.
"""
from libc.stdint cimport int32_t, int64_t
from libc.math cimport sqrt
from libc.string cimport memcpy
cimport numpy as cnp
import numpy as np

from azero._core import INSTRUCTION_DTYPE
from azero._core.types cimport Instruction, Program, SETUP, PREDICT, LEARN
from azero._core.rng cimport uniform_u32

cnp.import_array()


cdef class RegularizedEvolution:
    """One island's population of programs, evolved by the reference's regularized evolution.

    ``initial`` is the (setup, predict, learn) triple every slot starts from (the hand-designed or no-op model,
    padded); with ``randomize_initial`` each slot is then re-randomised (RANDOM_ALGORITHM). ``capacities`` are
    the room per component function (at least the largest size a mutation can produce, plus one).
    With ``random_search`` every new individual is a fresh random program instead of a mutated winner.
    """

    def __init__(self, Evaluator evaluator, Mutator mutator, RandomGenerator rng, int population_size,
                 int tournament_size, initial, capacities, bint randomize_initial=False,
                 bint random_search=False):
        if population_size < 1 or tournament_size < 1:
            raise ValueError("population_size and tournament_size must be >= 1")
        self.evaluator = evaluator
        self.mutator = mutator
        self.rng = rng
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.randomize_init = randomize_initial
        self.random_search = random_search
        cdef int k
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
        self.template_ptr = <Instruction*> cnp.PyArray_DATA(self.template)
        self.programs = np.zeros((population_size, self.row_length), dtype=INSTRUCTION_DTYPE)
        self.sizes = np.zeros((population_size, 3), dtype=np.int32)
        self.fitness = np.zeros(population_size, dtype=np.float64)
        self.programs_ptr = <Instruction*> cnp.PyArray_DATA(self.programs)
        self.sizes_ptr = <int32_t*> cnp.PyArray_DATA(self.sizes)
        self.fitness_ptr = <double*> cnp.PyArray_DATA(self.fitness)
        self.improved_individuals = np.zeros(population_size, dtype=np.int64)
        self.improved_fitness = np.zeros(population_size, dtype=np.float64)
        self.improved_programs = np.zeros((population_size, self.row_length), dtype=INSTRUCTION_DTYPE)
        self.improved_sizes = np.zeros((population_size, 3), dtype=np.int32)
        self.improved_individuals_ptr = <int64_t*> cnp.PyArray_DATA(self.improved_individuals)
        self.improved_fitness_ptr = <double*> cnp.PyArray_DATA(self.improved_fitness)
        self.improved_programs_ptr = <Instruction*> cnp.PyArray_DATA(self.improved_programs)
        self.improved_sizes_ptr = <int32_t*> cnp.PyArray_DATA(self.improved_sizes)
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

    cdef void _evaluate_slot(self, int slot) noexcept nogil:
        cdef Program program
        self._program(slot, &program)
        self.num_individuals += 1
        cdef double fitness = self.evaluator.evaluate_program(&program, &self.rng.gen)
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
                self._evaluate_slot(slot)
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
                self._evaluate_slot(slot)
        return self.evaluator.num_train_steps - start_steps

    def stats(self):
        """(mean, stdev, best fitness, best slot) with the reference's arithmetic (SPEC 5.5)."""
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

    def individual(self, int slot):
        """(setup, predict, learn) copies of the program in ``slot``."""
        row = self.programs[slot]
        return tuple(row[self.offset[k]:self.offset[k] + self.sizes[slot, k]].copy() for k in range(3))
