"""The op table of docs/semantics.md §2.1: one row per op code, plus the reference's enum constants.

This module is the single Python source of op names, parameter categories, operand banks, readable-form
templates and compute costs; the compiled core uses the same codes (``azero/_core/types.pxd``) and the numpy
arrays below give it the table without any Python call per instruction.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

# Banks of an operand: none, scalar, vector, matrix.
NONE, SCALAR, VECTOR, MATRIX = 0, 1, 2, 3
BANK_LETTERS = {SCALAR: "s", VECTOR: "v", MATRIX: "m"}

# Parameter categories (docs/semantics.md §8.1): data op (no inputs), one input, two inputs, NO_OP.
CAT_DATA, CAT_ONE_INPUT, CAT_TWO_INPUTS, CAT_NO_OP = 0, 1, 2, 3

NUM_OPS = 65

# Mutation types (reference enum MutationType, docs/semantics.md §8.4).
ALTER_PARAM = 0
RANDOMIZE_INSTRUCTION = 1
RANDOMIZE_COMPONENT_FUNCTION = 2
IDENTITY = 3
INSERT_INSTRUCTION = 4
REMOVE_INSTRUCTION = 5
TRADE_INSTRUCTION = 6
RANDOMIZE_ALGORITHM = 7
MUTATION_TYPE_NAMES = (
    "ALTER_PARAM",
    "RANDOMIZE_INSTRUCTION",
    "RANDOMIZE_COMPONENT_FUNCTION",
    "IDENTITY",
    "INSERT_INSTRUCTION",
    "REMOVE_INSTRUCTION",
    "TRADE_INSTRUCTION",
    "RANDOMIZE_ALGORITHM",
)

# Hand-designed initial algorithms (reference enum HardcodedAlgorithmID, docs/semantics.md §8.5).
NO_OP_ALGORITHM = 0
RANDOM_ALGORITHM = 1
LINEAR_ALGORITHM = 2
NEURAL_NET_ALGORITHM = 3
INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM = 4
ALGORITHM_ID_NAMES = (
    "NO_OP_ALGORITHM",
    "RANDOM_ALGORITHM",
    "LINEAR_ALGORITHM",
    "NEURAL_NET_ALGORITHM",
    "INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM",
)


class OpInfo(NamedTuple):
    """One row of the op table.

    ``template`` is the readable form (without the two leading spaces), a ``str.format`` pattern with fields
    ``o``, ``a``, ``b`` (addresses rendered with their bank letter, e.g. ``s3``) and ``act``, ``f0``, ``f1``,
    ``f2`` (the data fields, rendered as numbers).
    """

    code: int
    name: str  # the reference's enum name, e.g. "SCALAR_SUM_OP"
    category: int
    in1: int  # bank of in1
    in2: int  # bank of in2
    out: int  # bank of out
    template: str
    cost: float


_S, _V, _M, _N = SCALAR, VECTOR, MATRIX, NONE
_ROWS = (
    (0, "NO_OP", CAT_NO_OP, _N, _N, _N, "NoOp()", 3013921),
    (1, "SCALAR_SUM", CAT_TWO_INPUTS, _S, _S, _S, "{o} = {a} + {b}", 4703759),
    (2, "SCALAR_DIFF", CAT_TWO_INPUTS, _S, _S, _S, "{o} = {a} - {b}", 5102027),
    (3, "SCALAR_PRODUCT", CAT_TWO_INPUTS, _S, _S, _S, "{o} = {a} * {b}", 4418347),
    (4, "SCALAR_DIVISION", CAT_TWO_INPUTS, _S, _S, _S, "{o} = {a} / {b}", 3963916),
    (5, "SCALAR_ABS", CAT_ONE_INPUT, _S, _N, _S, "{o} = abs({a})", 3684352),
    (6, "SCALAR_RECIPROCAL", CAT_ONE_INPUT, _S, _N, _S, "{o} = 1 / {a}", 4212086),
    (7, "SCALAR_SIN", CAT_ONE_INPUT, _S, _N, _S, "{o} = sin({a})", 7538523),
    (8, "SCALAR_COS", CAT_ONE_INPUT, _S, _N, _S, "{o} = cos({a})", 7452807),
    (9, "SCALAR_TAN", CAT_ONE_INPUT, _S, _N, _S, "{o} = tan({a})", 7583203),
    (10, "SCALAR_ARCSIN", CAT_ONE_INPUT, _S, _N, _S, "{o} = arcsin({a})", 9145616),
    (11, "SCALAR_ARCCOS", CAT_ONE_INPUT, _S, _N, _S, "{o} = arccos({a})", 7673039),
    (12, "SCALAR_ARCTAN", CAT_ONE_INPUT, _S, _N, _S, "{o} = arctan({a})", 9273978),
    (13, "SCALAR_EXP", CAT_ONE_INPUT, _S, _N, _S, "{o} = exp({a})", 11755929),
    (14, "SCALAR_LOG", CAT_ONE_INPUT, _S, _N, _S, "{o} = log({a})", 11627725),
    (15, "SCALAR_HEAVYSIDE", CAT_ONE_INPUT, _S, _N, _S, "{o} = heaviside({a}, 1.0)", 4057075),
    (16, "VECTOR_HEAVYSIDE", CAT_ONE_INPUT, _V, _N, _V, "{o} = heaviside({a}, 1.0)", 3965743),
    (17, "MATRIX_HEAVYSIDE", CAT_ONE_INPUT, _M, _N, _M, "{o} = heaviside({a}, 1.0)", 6728311),
    (18, "SCALAR_VECTOR_PRODUCT", CAT_TWO_INPUTS, _S, _V, _V, "{o} = {a} * {b}", 3705015),
    (19, "SCALAR_BROADCAST", CAT_ONE_INPUT, _S, _N, _V, "{o} = bcast({a})", 4165814),
    (20, "VECTOR_RECIPROCAL", CAT_ONE_INPUT, _V, _N, _V, "{o} = 1 / {a}", 6311851),
    (21, "VECTOR_NORM", CAT_ONE_INPUT, _V, _N, _S, "{o} = norm({a})", 4810562),
    (22, "VECTOR_ABS", CAT_ONE_INPUT, _V, _N, _V, "{o} = abs({a})", 3713533),
    (23, "VECTOR_SUM", CAT_TWO_INPUTS, _V, _V, _V, "{o} = {a} + {b}", 4701519),
    (24, "VECTOR_DIFF", CAT_TWO_INPUTS, _V, _V, _V, "{o} = {a} - {b}", 4165747),
    (25, "VECTOR_PRODUCT", CAT_TWO_INPUTS, _V, _V, _V, "{o} = {a} * {b}", 4504555),
    (26, "VECTOR_DIVISION", CAT_TWO_INPUTS, _V, _V, _V, "{o} = {a} / {b}", 4556237),
    (27, "VECTOR_INNER_PRODUCT", CAT_TWO_INPUTS, _V, _V, _S, "{o} = dot({a}, {b})", 4294617),
    (28, "VECTOR_OUTER_PRODUCT", CAT_TWO_INPUTS, _V, _V, _M, "{o} = outer({a}, {b})", 9833707),
    (29, "SCALAR_MATRIX_PRODUCT", CAT_TWO_INPUTS, _S, _M, _M, "{o} = {a} * {b}", 5986302),
    (30, "MATRIX_RECIPROCAL", CAT_ONE_INPUT, _M, _N, _M, "{o} = 1 / {a}", 24336141),
    (31, "MATRIX_VECTOR_PRODUCT", CAT_TWO_INPUTS, _M, _V, _V, "{o} = dot({a}, {b})", 9310002),
    (32, "VECTOR_COLUMN_BROADCAST", CAT_ONE_INPUT, _V, _N, _M, "{o} = bcast({a}, axis=0)", 10993088),
    (33, "VECTOR_ROW_BROADCAST", CAT_ONE_INPUT, _V, _N, _M, "{o} = bcast({a}, axis=1)", 11087322),
    (34, "MATRIX_NORM", CAT_ONE_INPUT, _M, _N, _S, "{o} = norm({a})", 6422746),
    (35, "MATRIX_COLUMN_NORM", CAT_ONE_INPUT, _M, _N, _V, "{o} = norm({a}, axis=0)", 6682187),
    (36, "MATRIX_ROW_NORM", CAT_ONE_INPUT, _M, _N, _V, "{o} = norm({a}, axis=1)", 13351123),
    (37, "MATRIX_TRANSPOSE", CAT_ONE_INPUT, _M, _N, _M, "{o} = transpose({a})", 9394756),
    (38, "MATRIX_ABS", CAT_ONE_INPUT, _M, _N, _M, "{o} = abs({a})", 4630926),
    (39, "MATRIX_SUM", CAT_TWO_INPUTS, _M, _M, _M, "{o} = {a} + {b}", 5579381),
    (40, "MATRIX_DIFF", CAT_TWO_INPUTS, _M, _M, _M, "{o} = {a} - {b}", 5429452),
    (41, "MATRIX_PRODUCT", CAT_TWO_INPUTS, _M, _M, _M, "{o} = {a} * {b}", 5475227),
    (42, "MATRIX_DIVISION", CAT_TWO_INPUTS, _M, _M, _M, "{o} = {a} / {b}", 18234378),
    (43, "MATRIX_MATRIX_PRODUCT", CAT_TWO_INPUTS, _M, _M, _M, "{o} = matmul({a}, {b})", 14516296),
    (44, "SCALAR_MIN", CAT_TWO_INPUTS, _S, _S, _S, "{o} = minimum({a}, {b})", 3677265),
    (45, "VECTOR_MIN", CAT_TWO_INPUTS, _V, _V, _V, "{o} = minimum({a}, {b})", 3989956),
    (46, "MATRIX_MIN", CAT_TWO_INPUTS, _M, _M, _M, "{o} = minimum({a}, {b})", 5457728),
    (47, "SCALAR_MAX", CAT_TWO_INPUTS, _S, _S, _S, "{o} = maximum({a}, {b})", 4573695),
    (48, "VECTOR_MAX", CAT_TWO_INPUTS, _V, _V, _V, "{o} = maximum({a}, {b})", 3974229),
    (49, "MATRIX_MAX", CAT_TWO_INPUTS, _M, _M, _M, "{o} = maximum({a}, {b})", 5840952),
    (50, "VECTOR_MEAN", CAT_ONE_INPUT, _V, _N, _S, "{o} = mean({a})", 4280443),
    (51, "MATRIX_MEAN", CAT_ONE_INPUT, _M, _N, _S, "{o} = mean({a})", 4595196),
    (52, "MATRIX_ROW_MEAN", CAT_ONE_INPUT, _M, _N, _V, "{o} = mean({a}, axis=1)", 9763956),
    (53, "MATRIX_ROW_ST_DEV", CAT_ONE_INPUT, _M, _N, _V, "{o} = std({a}, axis=1)", 16766477),
    (54, "VECTOR_ST_DEV", CAT_ONE_INPUT, _V, _N, _S, "{o} = std({a})", 5585730),
    (55, "MATRIX_ST_DEV", CAT_ONE_INPUT, _M, _N, _S, "{o} = std({a})", 10640216),
    (56, "SCALAR_CONST_SET", CAT_DATA, _N, _N, _S, "{o} = {act}", 3691108),
    (57, "VECTOR_CONST_SET", CAT_DATA, _N, _N, _V, "{o}[{f0}] = {f1}", 3991421),
    (58, "MATRIX_CONST_SET", CAT_DATA, _N, _N, _M, "{o}[{f0}, {f1}] = {f2}", 3693035),
    (59, "SCALAR_UNIFORM_SET", CAT_DATA, _N, _N, _S, "{o} = uniform({f0}, {f1})", 26610704),
    (60, "VECTOR_UNIFORM_SET", CAT_DATA, _N, _N, _V, "{o} = uniform({f0}, {f1}, n_features)", 57817372),
    (61, "MATRIX_UNIFORM_SET", CAT_DATA, _N, _N, _M, "{o} = uniform({f0}, {f1}, (n_features, n_features))", 208339446),
    (62, "SCALAR_GAUSSIAN_SET", CAT_DATA, _N, _N, _S, "{o} = gaussian({f0}, {f1})", 20775635),
    (63, "VECTOR_GAUSSIAN_SET", CAT_DATA, _N, _N, _V, "{o} = gaussian({f0}, {f1}, n_features)", 77483018),
    (64, "MATRIX_GAUSSIAN_SET", CAT_DATA, _N, _N, _M, "{o} = gaussian({f0}, {f1}, (n_features, n_features))", 277690384),
)

OPS: tuple[OpInfo, ...] = tuple(
    OpInfo(code, name if name == "NO_OP" else name + "_OP", cat, i1, i2, o, template, float(cost))
    for code, name, cat, i1, i2, o, template, cost in _ROWS
)
assert [op.code for op in OPS] == list(range(NUM_OPS))

# Arrays indexed by op code, for compiled code and vectorised checks.
OP_CATEGORY = np.array([op.category for op in OPS], dtype=np.uint8)
IN1_BANK = np.array([op.in1 for op in OPS], dtype=np.uint8)
IN2_BANK = np.array([op.in2 for op in OPS], dtype=np.uint8)
OUT_BANK = np.array([op.out for op in OPS], dtype=np.uint8)
OP_COST = np.array([op.cost for op in OPS], dtype=np.float64)

# Which data fields each op uses (docs/semantics.md §1.3 table); all other data fields are 0.
USES_ACTIVATION = np.zeros(NUM_OPS, dtype=bool)
USES_ACTIVATION[56] = True
NUM_FLOAT_FIELDS = np.zeros(NUM_OPS, dtype=np.uint8)  # f0..f(k-1) are used
NUM_FLOAT_FIELDS[57] = 2
NUM_FLOAT_FIELDS[58] = 3
NUM_FLOAT_FIELDS[59:65] = 2

for _op in OPS:
    globals()[_op.name] = _op.code  # module constants SCALAR_SUM_OP = 1, ...
del _op
if TYPE_CHECKING:

    def __getattr__(name: str) -> int:
        """Tells type checkers that the op constants set through globals() above are ints."""

_BY_NAME: dict[str, int] = {}
for _op in OPS:
    _BY_NAME[_op.name] = _op.code
    if _op.name.endswith("_OP") and _op.name != "NO_OP":
        _BY_NAME[_op.name[:-3]] = _op.code
del _op


def op_code(name_or_code: str | int) -> int:
    """Op code of a reference enum name ("SCALAR_SUM_OP" or "SCALAR_SUM", any case) or of an integer code.

    Raises ValueError naming the op when it is unknown or out of range.
    """
    if isinstance(name_or_code, str):
        key = name_or_code.strip().upper()
        if key in _BY_NAME:
            return _BY_NAME[key]
        if key.isdigit():
            return op_code(int(key))
        raise ValueError(f"unknown op {name_or_code!r} (expected a name such as 'SCALAR_SUM_OP' or a code 0..64)")
    if isinstance(name_or_code, (bool, np.bool_)) or not isinstance(name_or_code, (int, np.integer)):
        raise ValueError(f"unknown op {name_or_code!r} (expected an op name or an integer code 0..64)")
    code = int(name_or_code)
    if not 0 <= code < NUM_OPS:
        raise ValueError(f"unknown op code {code} (valid codes are 0..64)")
    return code


def op_info(name_or_code: str | int) -> OpInfo:
    """The table row of an op given by name or code."""
    return OPS[op_code(name_or_code)]


def op_name(code: int) -> str:
    """The reference enum name of an op code, e.g. 1 -> "SCALAR_SUM_OP"."""
    return OPS[op_code(code)].name


def op_codes(names_or_codes) -> list[int]:
    """Op codes of a sequence of names or codes, in the given order (duplicates kept)."""
    return [op_code(x) for x in names_or_codes]


def mutation_type_code(name_or_code: str | int) -> int:
    """Code of a mutation type given by name ("ALTER_PARAM", any case) or code 0..7."""
    return _enum_code(name_or_code, MUTATION_TYPE_NAMES, "mutation type")


def algorithm_id_code(name_or_code: str | int) -> int:
    """Code of a hardcoded algorithm id given by name ("LINEAR_ALGORITHM" or "LINEAR", any case) or code 0..4."""
    return _enum_code(name_or_code, ALGORITHM_ID_NAMES, "algorithm id", suffix="_ALGORITHM")


def _enum_code(name_or_code: str | int, names: tuple[str, ...], what: str, suffix: str = "") -> int:
    if isinstance(name_or_code, str):
        key = name_or_code.strip().upper()
        for code, name in enumerate(names):
            if key == name or (suffix and key + suffix == name):
                return code
        raise ValueError(f"unknown {what} {name_or_code!r} (expected one of {', '.join(names)})")
    if isinstance(name_or_code, (bool, np.bool_)) or not isinstance(name_or_code, (int, np.integer)):
        raise ValueError(f"unknown {what} {name_or_code!r}")
    if not 0 <= int(name_or_code) < len(names):
        raise ValueError(f"unknown {what} code {int(name_or_code)} (valid codes are 0..{len(names) - 1})")
    return int(name_or_code)
