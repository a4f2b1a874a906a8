"""Op table, Algorithm arrays, the readable text form (parse / print round trip) and hand-designed models."""
import re
from decimal import Decimal, getcontext
from pathlib import Path

import numpy as np
import pytest

from azero import algorithms
from azero._core import ops
from azero.algorithm import INSTRUCTION_DTYPE, Algorithm, ProgramError

# Readable forms copied from the docs/semantics.md §2.1 table ("so"/"sa"/"sb" = output/in1/in2 with their bank letter).
SPEC_FORMS = {
    0: "NoOp()",
    1: "so = sa + sb",
    2: "so = sa - sb",
    3: "so = sa * sb",
    4: "so = sa / sb",
    5: "so = abs(sa)",
    6: "so = 1 / sa",
    7: "so = sin(sa)",
    8: "so = cos(sa)",
    9: "so = tan(sa)",
    10: "so = arcsin(sa)",
    11: "so = arccos(sa)",
    12: "so = arctan(sa)",
    13: "so = exp(sa)",
    14: "so = log(sa)",
    15: "so = heaviside(sa, 1.0)",
    16: "vo = heaviside(va, 1.0)",
    17: "mo = heaviside(ma, 1.0)",
    18: "vo = sa * vb",
    19: "vo = bcast(sa)",
    20: "vo = 1 / va",
    21: "so = norm(va)",
    22: "vo = abs(va)",
    23: "vo = va + vb",
    24: "vo = va - vb",
    25: "vo = va * vb",
    26: "vo = va / vb",
    27: "so = dot(va, vb)",
    28: "mo = outer(va, vb)",
    29: "mo = sa * mb",
    30: "mo = 1 / ma",
    31: "vo = dot(ma, vb)",
    32: "mo = bcast(va, axis=0)",
    33: "mo = bcast(va, axis=1)",
    34: "so = norm(ma)",
    35: "vo = norm(ma, axis=0)",
    36: "vo = norm(ma, axis=1)",
    37: "mo = transpose(ma)",
    38: "mo = abs(ma)",
    39: "mo = ma + mb",
    40: "mo = ma - mb",
    41: "mo = ma * mb",
    42: "mo = ma / mb",
    43: "mo = matmul(ma, mb)",
    44: "so = minimum(sa, sb)",
    45: "vo = minimum(va, vb)",
    46: "mo = minimum(ma, mb)",
    47: "so = maximum(sa, sb)",
    48: "vo = maximum(va, vb)",
    49: "mo = maximum(ma, mb)",
    50: "so = mean(va)",
    51: "so = mean(ma)",
    52: "vo = mean(ma, axis=1)",
    53: "vo = std(ma, axis=1)",
    54: "so = std(va)",
    55: "so = std(ma)",
    56: "so = <activation>",
    57: "vo[<f0>] = <f1>",
    58: "mo[<f0>, <f1>] = <f2>",
    59: "so = uniform(<f0>, <f1>)",
    60: "vo = uniform(<f0>, <f1>, n_features)",
    61: "mo = uniform(<f0>, <f1>, (n_features, n_features))",
    62: "so = gaussian(<f0>, <f1>)",
    63: "vo = gaussian(<f0>, <f1>, n_features)",
    64: "mo = gaussian(<f0>, <f1>, (n_features, n_features))",
}
SPEC_COSTS = {0: 3013921, 1: 4703759, 18: 3705015, 31: 9310002, 43: 14516296, 56: 3691108, 64: 277690384}
BANK = {"s": ops.SCALAR, "v": ops.VECTOR, "m": ops.MATRIX}


def _instance(code: int, out=3, in1=1, in2=2, act="0.25", f0="0.5", f1="-0.75", f2="1e-05") -> str:
    """The readable form (docs/semantics.md §2.1) of an op with concrete addresses and numbers."""
    form = SPEC_FORMS[code]
    form = re.sub(r"\b([smv])([oab])\b", lambda m: m.group(1) + str({"o": out, "a": in1, "b": in2}[m.group(2)]), form)
    return form.replace("<activation>", act).replace("<f0>", f0).replace("<f1>", f1).replace("<f2>", f2)


def _program(setup=(), predict=(), learn=()) -> str:
    lines = ["def Setup():", *("  " + x for x in setup), "def Predict():", *("  " + x for x in predict)]
    lines += ["def Learn():", *("  " + x for x in learn)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------- ops


def test_op_table_arrays_have_one_entry_per_op():
    for arr in (ops.OP_CATEGORY, ops.IN1_BANK, ops.IN2_BANK, ops.OUT_BANK):
        assert arr.dtype == np.uint8 and arr.shape == (65,)
    assert ops.OP_COST.dtype == np.float64 and ops.OP_COST.shape == (65,)
    assert [op.code for op in ops.OPS] == list(range(65))
    for code, cost in SPEC_COSTS.items():
        assert ops.OP_COST[code] == cost


def test_op_banks_agree_with_spec_forms():
    for code, form in SPEC_FORMS.items():
        by_role = {role: BANK[letter] for letter, role in re.findall(r"\b([smv])([oab])\b", form)}
        assert ops.OUT_BANK[code] == by_role.get("o", 0), code
        assert ops.IN1_BANK[code] == by_role.get("a", 0), code
        assert ops.IN2_BANK[code] == by_role.get("b", 0), code
        expected_category = 3 if code == 0 else 0 if "a" not in by_role else 2 if "b" in by_role else 1
        assert ops.OP_CATEGORY[code] == expected_category, code
    assert [int(ops.OUT_BANK[c]) for c in range(56, 65)] == [1, 2, 3, 1, 2, 3, 1, 2, 3]


def test_op_names_and_codes_match_types_pxd():
    pxd = (Path(__file__).resolve().parents[1] / "azero" / "_core" / "types.pxd").read_text()
    enum = dict(re.findall(r"^\s+([A-Z_]+) = (\d+)$", pxd.split("cdef enum Op:")[1], flags=re.M))
    for op in ops.OPS:
        short = op.name if op.name == "NO_OP" else op.name[:-3]
        assert int(enum[short]) == op.code
    assert int(enum["NUM_OPS"]) == ops.NUM_OPS == 65


def test_op_code_lookup_accepts_names_with_and_without_suffix():
    assert ops.op_code("SCALAR_SUM_OP") == 1
    assert ops.op_code("SCALAR_SUM") == 1
    assert ops.op_code("scalar_sum_op") == 1
    assert ops.op_code("NO_OP") == 0
    assert ops.op_code("MATRIX_GAUSSIAN_SET") == 64
    assert ops.op_code(27) == 27
    assert ops.op_code(np.uint8(18)) == 18
    assert ops.op_code("31") == 31
    assert ops.op_name(43) == "MATRIX_MATRIX_PRODUCT_OP"
    assert ops.op_info("VECTOR_INNER_PRODUCT").template == "{o} = dot({a}, {b})"
    assert ops.op_codes(["SCALAR_CONST_SET_OP", "VECTOR_INNER_PRODUCT_OP", 2]) == [56, 27, 2]
    assert ops.SCALAR_VECTOR_PRODUCT_OP == 18 and ops.NO_OP == 0


@pytest.mark.parametrize("bad", ["SCALAR_SUMM", "", "65", 65, -1, 2.0, None])
def test_op_code_rejects_unknown_ops(bad):
    with pytest.raises(ValueError, match="unknown op"):
        ops.op_code(bad)


def test_op_code_error_names_the_op():
    with pytest.raises(ValueError, match="'VECTOR_FOO_OP'"):
        ops.op_code("VECTOR_FOO_OP")


def test_enum_constants():
    assert [ops.ALTER_PARAM, ops.RANDOMIZE_INSTRUCTION, ops.RANDOMIZE_COMPONENT_FUNCTION, ops.IDENTITY] == [0, 1, 2, 3]
    assert [ops.INSERT_INSTRUCTION, ops.REMOVE_INSTRUCTION, ops.TRADE_INSTRUCTION] == [4, 5, 6]
    assert ops.RANDOMIZE_ALGORITHM == 7
    assert ops.mutation_type_code("trade_instruction") == 6
    assert [ops.NO_OP_ALGORITHM, ops.RANDOM_ALGORITHM, ops.LINEAR_ALGORITHM] == [0, 1, 2]
    assert ops.NEURAL_NET_ALGORITHM == 3 and ops.INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM == 4
    assert ops.algorithm_id_code("LINEAR") == 2 and ops.algorithm_id_code("NEURAL_NET_ALGORITHM") == 3
    with pytest.raises(ValueError, match="unknown mutation type"):
        ops.mutation_type_code("SWAP")
    with pytest.raises(ValueError, match="unknown algorithm id"):
        ops.algorithm_id_code(5)


# ----------------------------------------------------------------------------------------------- text: each op


@pytest.mark.parametrize("code", range(65))
def test_every_op_prints_and_parses_its_spec_form(code):
    line = _instance(code)
    alg = Algorithm.from_text(_program(learn=[line]))
    rec = alg.learn[0]
    assert int(rec["op"]) == code
    info = ops.OPS[code]
    assert int(rec["out"]) == (3 if info.out else 0)
    assert int(rec["in1"]) == (1 if info.in1 else 0)
    assert int(rec["in2"]) == (2 if info.in2 else 0)
    assert rec["activation"] == (0.25 if code == 56 else 0.0)
    n_float = {57: 2, 58: 3}.get(code, 2 if code >= 59 else 0)
    expected_floats = [np.float32(0.5), np.float32(-0.75), np.float32(1e-05)][:n_float] + [0.0] * (3 - n_float)
    assert [rec["f0"], rec["f1"], rec["f2"]] == expected_floats
    assert alg.to_text().splitlines()[-1] == "  " + line


def test_ambiguous_operators_are_decided_by_operand_banks():
    text = _program(
        learn=[
            "s3 = s1 * s2",
            "v3 = s1 * v2",
            "v3 = v1 * v2",
            "m3 = s1 * m2",
            "m3 = m1 * m2",
            "s3 = dot(v1, v2)",
            "v3 = dot(m1, v2)",
            "s3 = 1 / s1",
            "v3 = 1 / v1",
            "m3 = 1 / m1",
            "s3 = abs(s1)",
            "v3 = abs(v1)",
            "m3 = abs(m1)",
            "s3 = norm(v1)",
            "s3 = norm(m1)",
            "v3 = norm(m1, axis=0)",
            "v3 = norm(m1, axis=1)",
            "s3 = mean(v1)",
            "s3 = mean(m1)",
            "v3 = mean(m1, axis=1)",
            "s3 = std(v1)",
            "s3 = std(m1)",
            "v3 = std(m1, axis=1)",
            "v3 = bcast(s1)",
            "m3 = bcast(v1, axis=0)",
            "m3 = bcast(v1, axis=1)",
            "s3 = minimum(s1, s2)",
            "v3 = maximum(v1, v2)",
            "m3 = minimum(m1, m2)",
            "s3 = uniform(0.5, 1)",
            "v3 = uniform(0.5, 1, n_features)",
            "m3 = uniform(0.5, 1, (n_features, n_features))",
            "s3 = gaussian(0, 1)",
            "v3 = gaussian(0, 1, n_features)",
            "m3 = gaussian(0, 1, (n_features, n_features))",
            "s3 = heaviside(s1, 1.0)",
            "v3 = heaviside(v1, 1.0)",
            "m3 = heaviside(m1, 1.0)",
        ]
    )
    codes = Algorithm.from_text(text).learn["op"].tolist()
    assert codes == [3, 18, 25, 29, 41, 27, 31, 6, 20, 30, 5, 22, 38, 21, 34, 35, 36, 50, 51, 52, 54, 55, 53, 19,
                     32, 33, 44, 48, 46, 59, 60, 61, 62, 63, 64, 15, 16, 17]


def test_parser_accepts_free_spacing_comments_blank_lines_and_any_def_order():
    text = """
# a comment
def Learn():
    s3=s0-s1

  # indented comment
def Setup():
v2[ -0.5 ]=+2
def Predict():
  m1 [0.25,0.75] = -1E-3
"""
    alg = Algorithm.from_text(text)
    assert alg.sizes == (1, 1, 1)
    assert alg.learn[0].tolist() == (2, 0, 1, 3, 0.0, 0.0, 0.0, 0.0)
    assert alg.setup[0].tolist() == (57, 0, 0, 2, 0.0, -0.5, 2.0, 0.0)
    assert alg.predict[0]["f2"] == np.float32(-1e-3)


def test_missing_and_empty_functions_are_empty():
    alg = Algorithm.from_text("def Predict():\n  s1 = dot(v1, v0)\n")
    assert alg.sizes == (0, 1, 0)
    assert alg.to_text() == "def Setup():\ndef Predict():\n  s1 = dot(v1, v0)\ndef Learn():\n"
    assert Algorithm.from_text("") == Algorithm.empty()


def test_reference_six_digit_printout_parses():
    # The reference prints numbers with a default C++ stream (6 significant digits).
    printed_setup = [
        "s2 = 0.001",
        "s4 = 1e-05",
        "s5 = -1.5e+10",
        "v2[0.375] = -0.5",
        "m0 = gaussian(0, 0.1, (n_features, n_features))",
        "s3 = uniform(-0.927918, 0.136985)",
        "m1[0.887417, 0.428576] = 0.774632",
    ]
    alg = Algorithm.from_text(_program(printed_setup, LINEAR_PREDICT, LINEAR_LEARN))
    setup = alg.setup
    assert setup["activation"][:3].tolist() == [0.001, 1e-05, -1.5e10]
    assert setup[3].tolist() == (57, 0, 0, 2, 0.0, 0.375, -0.5, 0.0)
    assert setup["f1"][4] == np.float32(0.1) and setup["f0"][4] == 0.0
    assert setup["f0"][5] == np.float32(-0.927918) and setup["f1"][5] == np.float32(0.136985)
    assert [setup["f0"][6], setup["f1"][6], setup["f2"][6]] == [
        np.float32(0.887417),
        np.float32(0.428576),
        np.float32(0.774632),
    ]
    assert alg.learn["op"].tolist() == [2, 3, 18, 23]
    assert Algorithm.from_text(alg.to_text()) == alg


def test_float32_parse_is_correctly_rounded_at_double_rounding_midpoints():
    # m is the midpoint of 1.0 and the next float32; decimals just above / below m are exactly m as doubles,
    # so converting through a double would round both to 1.0 (ties to even).
    getcontext().prec = 80
    lower, upper = np.float32(1.0), np.nextafter(np.float32(1.0), np.float32(2.0))
    midpoint = (Decimal(float(lower)) + Decimal(float(upper))) / 2
    tiny = Decimal(2) ** -90
    assert float(str(midpoint + tiny)) == float(midpoint) == float(str(midpoint - tiny))
    for decimal, expected in ((midpoint + tiny, upper), (midpoint - tiny, lower), (midpoint, lower)):
        alg = Algorithm.from_text(_program(setup=[f"v1[{decimal}] = -{decimal}"]))
        assert alg.setup["f0"][0] == expected and alg.setup["f1"][0] == -expected
    # the same at the top of the float32 range: just below the overflow midpoint rounds to FLT_MAX
    flt_max = np.finfo(np.float32).max
    overflow_mid = (Decimal(float(flt_max)) + Decimal(2) ** 128) / 2
    alg = Algorithm.from_text(_program(setup=[f"v1[{overflow_mid - tiny}] = 0"]))
    assert alg.setup["f0"][0] == flt_max
    with pytest.raises(ProgramError, match="out of float32 range"):
        Algorithm.from_text(_program(setup=[f"v1[{overflow_mid}] = 0"]))


# ------------------------------------------------------------------------------------------ text: round trip


def _random_bits_float32(rng, n):
    x = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32).view(np.float32).copy()
    x[np.isnan(x)] = np.float32("nan")
    return x


def _random_bits_float64(rng, n):
    x = rng.integers(0, 2**64, size=n, dtype=np.uint64).view(np.float64).copy()
    x[np.isnan(x)] = np.nan
    return x


SPECIAL_DOUBLES = np.array(
    [0.0, -0.0, 1e-40, -1e-40, 3.4e38, 1e300, -1e300, 5e-324, 1.7976931348623157e308, np.inf, -np.inf, 0.1, 1 / 3]
    + [np.nan, -np.nan]
)
with np.errstate(over="ignore"):
    SPECIAL_FLOATS = np.array(
        [0.0, -0.0, 1e-40, -1e-40, 3.4e38, -3.4028235e38, 1e-45, 1e300, -1e300, np.inf, 0.1, 1 / 3, np.nan, -np.nan]
    ).astype(np.float32)


def _random_function(rng, n, sizes):
    """n random instructions over all ops; unused fields 0, as the reference keeps them."""
    recs = np.zeros(n, dtype=INSTRUCTION_DTYPE)
    codes = rng.integers(0, 65, size=n)
    recs["op"] = codes
    limits = np.array([1, *sizes])
    for field, banks in (("in1", ops.IN1_BANK), ("in2", ops.IN2_BANK), ("out", ops.OUT_BANK)):
        bank = banks[codes]
        recs[field] = np.where(bank > 0, (rng.random(n) * limits[bank]).astype(np.int64), 0)

    def doubles(k):
        pick = rng.integers(0, 3, size=k)
        return np.where(pick == 0, SPECIAL_DOUBLES[rng.integers(0, len(SPECIAL_DOUBLES), k)],
                        np.where(pick == 1, _random_bits_float64(rng, k), rng.normal(size=k)))

    def floats(k):
        pick = rng.integers(0, 3, size=k)
        return np.where(pick == 0, SPECIAL_FLOATS[rng.integers(0, len(SPECIAL_FLOATS), k)],
                        np.where(pick == 1, _random_bits_float32(rng, k), rng.normal(size=k).astype(np.float32)))

    recs["activation"] = np.where(ops.USES_ACTIVATION[codes], doubles(n), 0.0)
    for k in range(3):
        recs[f"f{k}"] = np.where(ops.NUM_FLOAT_FIELDS[codes] > k, floats(n), np.float32(0))
    return recs


def test_thousands_of_random_algorithms_round_trip_exactly():
    rng = np.random.default_rng(12345)
    for _ in range(3000):
        sizes = tuple(int(x) for x in rng.choice([1, 2, 5, 20, 300, 65536], size=3))
        funcs = [_random_function(rng, int(rng.integers(0, 12)), sizes) for _ in range(3)]
        alg = Algorithm.from_arrays(*funcs)
        text = alg.to_text()
        back = Algorithm.from_text(text, *sizes)
        assert back == alg, text
        assert back.to_text() == text


def test_round_trip_keeps_negative_zero_and_nan_signs_bit_for_bit():
    text = _program(setup=["s1 = -0.0", "s2 = nan", "s3 = -nan", "v1[-0.0] = -nan", "s4 = -inf", "s5 = 5e-324"])
    alg = Algorithm.from_text(text)
    act = alg.setup["activation"]
    assert np.signbit(act[0]) and act[0] == 0.0
    assert np.isnan(act[1]) and not np.signbit(act[1]) and np.isnan(act[2]) and np.signbit(act[2])
    assert np.signbit(alg.setup["f0"][3]) and np.signbit(alg.setup["f1"][3]) and np.isnan(alg.setup["f1"][3])
    assert act[4] == -np.inf and act[5] == 5e-324
    assert alg.to_text() == text


# -------------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text, line, token",
    [
        ("s1 = s0 + s1\n", 1, "s1 = s0 + s1"),  # instruction before any def
        ("def Setup():\n  v1 = s0 + s1\n", 2, "v1"),  # wrong output bank
        ("def Setup():\n  s1 = s0 + v1\n", 2, "v1"),  # wrong input bank
        ("def Setup():\n  m1 = v0 * m1\n", 2, "v0"),  # SCALAR_MATRIX_PRODUCT takes a scalar first
        ("def Setup():\n  v1 = dot(v0, m1)\n", 2, "v0"),  # MATRIX_VECTOR_PRODUCT takes the matrix first
        ("def Setup():\n\n  s20 = s0 + s1\n", 3, "s20"),  # address beyond the memory size
        ("def Predict():\n  v1 = v0 + v7\n", 2, "v7"),  # beyond num_vectors=5 below
        ("def Learn():\n  m0 = transpose(m3)\n", 2, "m3"),  # beyond num_matrices=3 below
        ("def Setup():\n  s1 = 0.1.2\n", 2, "0.1.2"),  # malformed number
        ("def Setup():\n  s1 = 1e\n", 2, "1e"),
        ("def Setup():\n  v1[0.5] = 1e39\n", 2, "1e39"),  # beyond float32
        ("def Setup():\n  s1 = 1e999\n", 2, "1e999"),  # beyond double
        ("def Setup():\n  s1 = foo(s0)\n", 2, "foo"),  # unknown op
        ("def Setup():\n  s1 = sin(s0, s1)\n", 2, "s1 = sin(s0, s1)"),  # unknown form
        ("def Setup():\n  s1 = s0 $ s1\n", 2, "$"),
        ("def Setup():\n  s1 = 2 / s0\n", 2, "2"),
        ("def Setup():\n  s1 = heaviside(s0, 0.5)\n", 2, "0.5"),
        ("def Setup():\n  v1 = norm(m1, axis=2)\n", 2, "2"),
        ("def Setup():\n  1 = s1\n", 2, "1"),
        ("def Setup():\ndef Train():\n", 2, "Train"),  # unknown def
        ("def Setup():\ndef Setup():\n", 2, "Setup"),  # duplicate def
        ("def Setup()\n", 1, "def Setup()"),  # malformed def
    ],
)
def test_program_errors_name_line_and_token(text, line, token):
    with pytest.raises(ProgramError) as info:
        Algorithm.from_text(text, num_scalars=20, num_vectors=5, num_matrices=3)
    message = str(info.value)
    assert message.startswith(f"line {line}:")
    assert f"'{token}'" in message
    assert isinstance(info.value, ValueError)


def test_wrong_bank_message_lists_the_accepted_forms():
    with pytest.raises(ProgramError, match=r"SCALAR_SUM_OP: s = s \+ s; VECTOR_SUM_OP: v = v \+ v"):
        Algorithm.from_text("def Setup():\n  v1 = s0 + s1\n")


# ------------------------------------------------------------------------------------------------ the class


def test_from_arrays_copies_and_validates():
    src = np.zeros(2, dtype=INSTRUCTION_DTYPE)
    src["op"] = [56, 1]
    src["activation"][0] = 0.5
    alg = Algorithm.from_arrays(src, None, src[:0])
    src["op"][1] = 2
    assert alg.setup["op"].tolist() == [56, 1] and alg.sizes == (2, 0, 0)
    assert alg.setup.flags.c_contiguous and alg.setup.dtype == INSTRUCTION_DTYPE
    packed = np.zeros(1, dtype=[(name, INSTRUCTION_DTYPE[name]) for name in INSTRUCTION_DTYPE.names])
    packed["op"] = 27
    assert Algorithm.from_arrays(packed, packed, packed).predict["op"][0] == 27
    bad = np.zeros(1, dtype=INSTRUCTION_DTYPE)
    bad["op"] = 65
    with pytest.raises(ProgramError, match="invalid op code 65"):
        Algorithm.from_arrays(bad, None, None)
    with pytest.raises(ProgramError, match="structured array"):
        Algorithm.from_arrays(np.zeros(3), None, None)


def test_equality_is_exact_and_copy_is_independent():
    a = Algorithm.from_text(_program(setup=["s1 = 0.0"], learn=["s3 = s0 - s1"]))
    b = a.copy()
    assert a == b and a is not b
    b.setup["activation"][0] = -0.0
    assert a != b  # -0.0 differs from 0.0 bit for bit
    b.setup["activation"][0] = 0.0
    assert a == b
    b.learn["in2"][0] = 2
    assert a != b and a.learn["in2"][0] == 1
    assert a != Algorithm.from_text(_program(setup=["s1 = 0.0"]))
    assert a != "not an algorithm"
    assert Algorithm.empty() == Algorithm()
    with pytest.raises(TypeError, match="^unhashable type: 'Algorithm'$"):
        hash(a)


def test_repr_and_sizes():
    alg = algorithms.neural_net()
    assert alg.sizes == (3, 5, 11)
    assert repr(alg) == "<Algorithm setup=3 predict=5 learn=11 instructions>"
    assert str(alg) == alg.to_text()


def test_validate_checks_addresses_against_memory():
    alg = algorithms.neural_net()
    alg.validate(5, 9, 2)
    with pytest.raises(ProgramError, match=r"Predict instruction 2 \(v4 = maximum\(v3, v5\)\): address 'v5'"):
        alg.validate(5, 5, 2)
    with pytest.raises(ProgramError, match="address 'm1'"):
        alg.validate(5, 9, 1)


def test_from_instructions_builds_records():
    alg = Algorithm.from_instructions(setup=[(56, 0, 0, 2, 0.5, 0, 0, 0)])
    assert alg.setup[0].tolist() == (56, 0, 0, 2, 0.5, 0.0, 0.0, 0.0)
    assert alg.sizes == (1, 0, 0)


# ------------------------------------------------------------------------------------ hand-designed models

LINEAR_PREDICT = ["s1 = dot(v1, v0)"]
LINEAR_LEARN = ["s3 = s0 - s1", "s3 = s2 * s3", "v2 = s3 * v0", "v1 = v1 + v2"]
LINEAR_TEXT = _program(["s2 = 0.01"], LINEAR_PREDICT, LINEAR_LEARN)

NEURAL_NET_SETUP = [
    "v2 = gaussian(0.0, 0.1, n_features)",
    "m0 = gaussian(0.0, 0.1, (n_features, n_features))",
    "s3 = 0.01",
]
NEURAL_NET_PREDICT = ["v3 = dot(m0, v0)", "v3 = v3 + v1", "v4 = maximum(v3, v5)", "s1 = dot(v4, v2)", "s1 = s1 + s2"]
NEURAL_NET_LEARN = [
    "s4 = s0 - s1",
    "s4 = s3 * s4",
    "s2 = s2 + s4",
    "v6 = s4 * v4",
    "v2 = v2 + v6",
    "v7 = s4 * v2",
    "v8 = heaviside(v3, 1.0)",
    "v7 = v8 * v7",
    "v1 = v1 + v7",
    "m1 = outer(v7, v0)",
    "m0 = m0 + m1",
]


def test_linear_model():
    assert algorithms.linear().to_text() == LINEAR_TEXT
    assert algorithms.linear(0.5).setup["activation"][0] == 0.5


def test_neural_net_model_stores_scales_as_float32():
    alg = algorithms.neural_net()
    assert alg.to_text() == _program(NEURAL_NET_SETUP, NEURAL_NET_PREDICT, NEURAL_NET_LEARN)
    custom = algorithms.neural_net(learning_rate=0.03, first_init_scale=0.145231, final_init_scale=0.2)
    assert custom.setup["f1"].tolist()[:2] == [float(np.float32(0.2)), float(np.float32(0.145231))]
    assert float(custom.setup["f1"][0]) == 0.20000000298023224
    assert custom.setup["activation"][2] == 0.03


def test_unit_test_neural_net():
    alg = algorithms.unit_test_neural_net_no_bias_no_gradient(0.0)
    assert alg.to_text() == _program(
        ["s2 = 0.0"],
        ["v2 = dot(m0, v0)", "v3 = maximum(v2, v4)", "s1 = dot(v3, v1)"],
        ["s3 = s0 - s1", "s3 = s2 * s3", "v5 = s3 * v3", "v1 = v1 + v5", "v6 = s3 * v1", "v7 = heaviside(v2, 1.0)",
         "v6 = v7 * v6", "m1 = outer(v6, v0)", "m0 = m0 + m1"],
    )


def test_pad_appends_no_ops_and_never_truncates():
    padded = algorithms.pad(algorithms.linear(), 3, 1, 6)
    assert padded.sizes == (3, 1, 6)
    assert padded.setup["op"].tolist() == [56, 0, 0] and padded.learn["op"].tolist() == [2, 3, 18, 23, 0, 0]
    assert padded.to_text().count("NoOp()") == 4
    no_ops = padded.setup[1:]
    assert all(r.tolist() == (0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0) for r in no_ops)
    assert algorithms.no_op(2, 0, 1).sizes == (2, 0, 1)
    assert (algorithms.no_op(2, 0, 1).setup["op"] == 0).all()


def test_by_id_reproduces_model_by_id():
    assert algorithms.by_id(ops.NO_OP_ALGORITHM, (1, 2, 3)) == algorithms.no_op(1, 2, 3)
    assert algorithms.by_id("LINEAR_ALGORITHM", (1, 1, 4)) == algorithms.linear()
    assert algorithms.by_id(ops.LINEAR_ALGORITHM, (2, 3, 5)).sizes == (2, 3, 5)
    assert algorithms.by_id(ops.NEURAL_NET_ALGORITHM, (0, 0, 0)) == algorithms.neural_net()
    assert algorithms.by_id(ops.NEURAL_NET_ALGORITHM, (4, 6, 12)).sizes == (4, 6, 12)
    with pytest.raises(ValueError, match="RANDOM_ALGORITHM"):
        algorithms.by_id(ops.RANDOM_ALGORITHM, (1, 1, 1))


def test_damaged_neural_net_drops_two_setup_instructions_after_padding():
    damaged = algorithms.by_id(ops.INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM, (2, 5, 11))
    assert damaged.sizes == (1, 5, 11)  # not padded back to 2
    assert damaged.to_text() == _program(["s3 = 0.01"], NEURAL_NET_PREDICT, NEURAL_NET_LEARN)
    assert algorithms.by_id(ops.INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM, (5, 5, 11)).setup["op"].tolist() == [
        56,
        0,
        0,
    ]
