"""Random programs over all 65 ops, shared by the simplify and export tests."""
import numpy as np

from azero._core import ops
from azero._core import INSTRUCTION_DTYPE
from azero.algorithm import Algorithm


def random_program(rng: np.random.Generator, S: int, V: int, M: int, max_sizes=(6, 8, 10),
                   focus: float = 0.4) -> Algorithm:
    """Random ops (matrix ops only when M > 0), addresses anywhere in memory (with probability `focus` among the
    first three, so that programs share slots), data fields including out-of-range index fractions and
    unordered uniform bounds."""
    allowed = [op for op in range(ops.NUM_OPS)
               if M > 0 or ops.MATRIX not in (ops.IN1_BANK[op], ops.IN2_BANK[op], ops.OUT_BANK[op])]
    functions = []
    for max_size in max_sizes:
        function = np.zeros(rng.integers(0, max_size + 1), dtype=INSTRUCTION_DTYPE)
        for i in range(len(function)):
            op = int(rng.choice(allowed))
            fields = {"op": op}
            for field, banks in (("in1", ops.IN1_BANK), ("in2", ops.IN2_BANK), ("out", ops.OUT_BANK)):
                if banks[op]:
                    limit = (0, S, V, M)[banks[op]]
                    fields[field] = rng.integers(0, min(limit, 3) if rng.random() < focus else limit)
            if op == ops.SCALAR_CONST_SET_OP:
                fields["activation"] = rng.normal()
            elif op == ops.VECTOR_CONST_SET_OP:
                fields.update(f0=rng.uniform(-0.2, 1.2), f1=rng.normal())
            elif op == ops.MATRIX_CONST_SET_OP:
                fields.update(f0=rng.uniform(-0.1, 1.1), f1=rng.uniform(0, 1), f2=rng.normal())
            elif op in (59, 60, 61):
                fields.update(f0=rng.uniform(-1, 1), f1=rng.uniform(-1, 1))
            elif op in (62, 63, 64):
                fields.update(f0=rng.uniform(-1, 1), f1=rng.uniform(0, 1))
            for name, value in fields.items():
                function[i][name] = value
        functions.append(function)
    return Algorithm.from_arrays(*functions)
