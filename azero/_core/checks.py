"""The checks every entry into compiled code goes through: instruction arrays, memory sizes, feature sizes.

Compiled code trusts its input (an address outside memory is an out-of-bounds write), so each Python-facing
entry point — `Algorithm`, `azero.evaluate`, `Evaluator.evaluate`/`evaluate_per_task`, the mutator, a
population restored from a checkpoint — calls these functions first. They are the one place where the rules
live; a problem raises `ProgramError` (a ValueError; `InstructionTypeError` for wrong array types, also a
TypeError) with a one-line message. The op table they read is `azero._core.ops` (a leaf module: numpy only).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from azero._core import ops
from azero._core import INSTRUCTION_DTYPE

FEATURE_SIZES = (2, 4, 8, 16, 32)     # the feature sizes the executor is compiled for
MAX_FUNCTION_SIZE = 65535             # instructions per component function (16-bit positions in the mutator)
MAX_MEMORY = 65536                    # addresses are 16-bit
FUNCTION_NAMES = ("Setup", "Predict", "Learn")   # component functions in storage order
_BANK_NOUNS = {ops.SCALAR: "scalars", ops.VECTOR: "vectors", ops.MATRIX: "matrices"}
_FIELDS = ("in1", "in2", "out")
_BANKS = (ops.IN1_BANK, ops.IN2_BANK, ops.OUT_BANK)


class ProgramError(ValueError):
    """A program text or instruction array that is not a valid algorithm; the message names where and what."""


class InstructionTypeError(ProgramError, TypeError):
    """An object that is not an array of instruction records (wrong dtype or shape)."""


def check_features_size(features_size, what: str = "features_size") -> int:
    """The feature size as an int; ValueError unless it is one the executor is compiled for."""
    if isinstance(features_size, (bool, np.bool_)) or not isinstance(features_size, (int, np.integer)) \
            or int(features_size) not in FEATURE_SIZES:
        raise ValueError(f"{what} must be one of {FEATURE_SIZES}, got {features_size!r}")
    return int(features_size)


def check_memory(num_scalars, num_vectors, num_matrices) -> tuple[int, int, int]:
    """Memory sizes as ints: at least 2 scalars (label, prediction) and 1 vector (features), at most 65536."""
    sizes = []
    for value, name, least in ((num_scalars, "num_scalars", 2), (num_vectors, "num_vectors", 1),
                               (num_matrices, "num_matrices", 0)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                or not least <= int(value) <= MAX_MEMORY:
            raise ValueError(f"{name} must be an integer in {least} .. {MAX_MEMORY}, got {value!r}")
        sizes.append(int(value))
    return sizes[0], sizes[1], sizes[2]


def instruction_array(array, name: str) -> np.ndarray:
    """`array` as a 1-d C-contiguous INSTRUCTION_DTYPE array (no copy when it already is one) with valid ops."""
    if not isinstance(array, np.ndarray) or array.dtype != INSTRUCTION_DTYPE or array.ndim != 1:
        what = (f"{array.dtype} array of shape {array.shape}" if isinstance(array, np.ndarray)
                else type(array).__name__)
        raise InstructionTypeError(f"{name}: expected a 1-d array of INSTRUCTION_DTYPE records, got {what}")
    if len(array) > MAX_FUNCTION_SIZE:
        raise ProgramError(f"{name}: {len(array)} instructions (at most {MAX_FUNCTION_SIZE})")
    array = np.ascontiguousarray(array)
    bad = np.flatnonzero(array["op"] >= ops.NUM_OPS)
    if len(bad):
        i = int(bad[0])
        raise ProgramError(f"{name} instruction {i}: invalid op code {int(array['op'][i])} "
                           f"(op codes are 0..{ops.NUM_OPS - 1})")
    return array


def check_addresses(array: np.ndarray, name: str, memory: tuple[int, int, int],
                    describe: Callable[[np.void], str] | None = None) -> None:
    """ProgramError naming the first instruction of `array` (valid ops) that uses an address outside `memory`
    ((scalars, vectors, matrices)); `describe` renders the instruction for the message."""
    if not len(array):
        return
    limits = np.array([0, *memory], dtype=np.int64)
    codes = array["op"]
    for field, banks in zip(_FIELDS, _BANKS):
        bank = banks[codes]
        bad = np.flatnonzero((bank > 0) & (array[field] >= limits[bank]))
        if len(bad):
            i = int(bad[0])
            b = int(bank[i])
            shown = f" ({describe(array[i])})" if describe is not None else ""
            raise ProgramError(f"{name} instruction {i}{shown}: address '{ops.BANK_LETTERS[b]}"
                               f"{int(array[field][i])}' out of range (memory has {int(limits[b])} "
                               f"{_BANK_NOUNS[b]})")


def check_program(setup, predict, learn, num_scalars, num_vectors, num_matrices) -> tuple:
    """The three component functions as arrays the executor can run on this memory; ProgramError otherwise."""
    memory = check_memory(num_scalars, num_vectors, num_matrices)
    arrays = []
    for array, name in zip((setup, predict, learn), FUNCTION_NAMES):
        array = instruction_array(array, name)
        check_addresses(array, name, memory)
        arrays.append(array)
    return tuple(arrays)


def check_population(programs: np.ndarray, sizes: np.ndarray, fitness: np.ndarray,
                     capacities: tuple[int, int, int], memory: tuple[int, int, int]) -> None:
    """A population about to be restored: program rows (P, sum(capacities)) of valid instructions, sizes
    (P, 3) within the capacities, fitness (P,); the used part of every row checked like `check_program`."""
    row_length = sum(capacities)
    if not isinstance(programs, np.ndarray) or programs.dtype != INSTRUCTION_DTYPE or programs.ndim != 2 \
            or programs.shape[1] != row_length:
        raise InstructionTypeError(f"population programs: expected INSTRUCTION_DTYPE rows of {row_length}")
    population = programs.shape[0]
    if not isinstance(sizes, np.ndarray) or sizes.shape != (population, 3) or sizes.dtype.kind not in "iu":
        raise ProgramError(f"population sizes: expected integers of shape ({population}, 3)")
    if not isinstance(fitness, np.ndarray) or fitness.shape != (population,) or fitness.dtype.kind != "f":
        raise ProgramError(f"population fitness: expected floats of shape ({population},)")
    instruction_array(programs.reshape(-1), "population programs")
    offset = 0
    for k, (capacity, name) in enumerate(zip(capacities, FUNCTION_NAMES)):
        column = sizes[:, k]
        if population and (column.min() < 0 or column.max() > capacity - 1):
            raise ProgramError(f"sizes of component {k} ({name}) must be in 0 .. {capacity - 1}")
        used = np.arange(capacity)[None, :] < column[:, None]
        block = programs[:, offset:offset + capacity][used]
        instruction_array(block, f"population {name}")
        check_addresses(block, f"population {name}", memory)
        offset += capacity
