"""Compiled core (Cython, nogil): RNG, executor, evaluator + FEC, mutator, evolution loop.

Everything that runs per instruction or per individual lives here; the Python layer above calls it once per
batch. This file holds only the numpy twin of the C ``Instruction`` struct of ``types.pxd``.
"""
import numpy as np

# One instruction (docs/semantics.md §1.3); the same layout as the C struct ``Instruction`` (32 bytes with alignment).
INSTRUCTION_DTYPE = np.dtype(
    [
        ("op", np.uint8),
        ("in1", np.uint16),
        ("in2", np.uint16),
        ("out", np.uint16),
        ("activation", np.float64),
        ("f0", np.float32),
        ("f1", np.float32),
        ("f2", np.float32),
    ],
    align=True,
)
