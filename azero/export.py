"""Export a program as text or as a standalone Python module that reproduces azero's arithmetic.

`to_python` writes a module (standard library + NumPy, no azero import) with ``setup()``, ``predict(x)`` and
``learn(x, y)`` for one feature size F, and an ``evaluate(...)`` that runs the reference executor's loop
(docs/semantics.md §3) so that its fitness can be checked against ``azero.evaluate``. The arithmetic helpers,
the random stream (only when the program has random ops) and the loop are copied from the source of
`azero.export_runtime`, a plain module that says how exactness is kept; this file writes the program itself.
"""
from __future__ import annotations

import ast
import inspect
import math
import re

import numpy as np

from azero import export_runtime
from azero._core import ops
from azero._version import __version__
from azero.algorithm import Algorithm
from azero.algorithm import format_instruction
from azero.program_analysis import RANDOM_OPS, describe_slots, simplify, slot_name, slot_usage
from azero.tasks import FEATURE_SIZES

__all__ = ["to_text", "to_python"]


def to_text(alg: Algorithm, simplified: bool = False, num_scalars: int = 20, num_vectors: int = 20,
            num_matrices: int = 20) -> str:
    """The readable form of ``alg`` (`Algorithm.to_text`), optionally simplified first (`program_analysis.simplify`)."""
    if simplified:
        alg = simplify(alg, num_scalars, num_vectors, num_matrices)
    return alg.to_text()


# Python expression of each op (docs/semantics.md §2.1), with {o} {a} {b} the operand names; 57/58 are handled apart,
# the entry-by-entry ops below.
_EXPRESSIONS = {
    1: "{a} + {b}",
    2: "{a} - {b}",
    3: "{a} * {b}",
    4: "_div({a}, {b})",
    5: "abs({a})",
    6: "_div(1.0, {a})",
    7: "_sin({a})",
    8: "_cos({a})",
    9: "_tan({a})",
    10: "_asin({a})",
    11: "_acos({a})",
    12: "math.atan({a})",
    13: "_exp({a})",
    14: "_log({a})",
    15: "1.0 if {a} >= 0.0 else 0.0",
    16: "[1.0 if e > 0.0 else 0.0 for e in {a}]",
    17: "[[1.0 if e > 0.0 else 0.0 for e in row] for row in {a}]",
    18: "[e * {a} for e in {b}]",
    19: "[{a}] * F",
    20: "[_div(1.0, e) for e in {a}]",
    21: "_sqrt(_dot({a}, {a}))",
    22: "[abs(e) for e in {a}]",
    27: "_dot({a}, {b})",
    28: "[[a * b for b in {b}] for a in {a}]",
    29: "[[e * {a} for e in row] for row in {b}]",
    30: "[[_div(1.0, e) for e in row] for row in {a}]",
    31: "_matvec({a}, {b})",
    32: "[[e] * F for e in {a}]",
    33: "[list({a}) for _ in range(F)]",
    34: "_mat_norm({a})",
    35: "_column_norms({a})",
    36: "[_sqrt(_dot(row, row)) for row in {a}]",
    37: "[list(column) for column in zip(*{a})]",
    38: "[[abs(e) for e in row] for row in {a}]",
    43: "_matmul({a}, {b})",
    44: "{b} if {b} < {a} else {a}",
    47: "{b} if {a} < {b} else {a}",
    50: "_vec_sum({a}) / F",
    51: "_mat_sum({a}) / (F * F)",
    52: "[_vec_sum(row) / F for row in {a}]",
    53: "[_std(row) for row in {a}]",
    54: "_std({a})",
    55: "_mat_std({a})",
    59: "_RNG.uniform({f0}, {f1})",
    60: "[_RNG.uniform({f0}, {f1}) for _ in range(F)]",
    61: "[[_RNG.uniform({f0}, {f1}) for _ in range(F)] for _ in range(F)]",
    62: "_RNG.gaussian({f0}, {f1})",
    63: "[_RNG.gaussian({f0}, {f1}) for _ in range(F)]",
    64: "[[_RNG.gaussian({f0}, {f1}) for _ in range(F)] for _ in range(F)]",
}
# The entry-by-entry binary ops: an expression of the entries a and b, taken down zip({a}, {b}) for a vector op and
# row by row for a matrix op (the min/max forms follow each op's own comparison, NaN included).
_ENTRYWISE = {
    23: "a + b", 24: "a - b", 25: "a * b", 26: "_div(a, b)", 45: "b if b < a else a", 48: "b if a < b else a",
    39: "a + b", 40: "a - b", 41: "a * b", 42: "_div(a, b)", 46: "a if a < b else b", 49: "a if a > b else b",
}
_ENTRYWISE_FORMS = {
    ops.VECTOR: "[{f} for a, b in zip({{a}}, {{b}})]",
    ops.MATRIX: "[[{f} for a, b in zip(ra, rb)] for ra, rb in zip({{a}}, {{b}})]",
}
_EXPRESSIONS.update({op: _ENTRYWISE_FORMS[ops.OPS[op].out].format(f=f) for op, f in _ENTRYWISE.items()})

_HELPER_CALL = re.compile(r"\b(_[a-z]\w*)\(")


def _literal(x: float) -> str:
    """Python source for a double (NaN and infinities through the math module)."""
    x = float(x)
    if math.isnan(x):
        return "math.nan"
    if math.isinf(x):
        return "math.inf" if x > 0 else "-math.inf"
    return repr(x)


def _fraction_index(F: int, fraction: np.float32) -> int | None:
    """The entry an index fraction selects: trunc(float(F) * f) in float32 (docs/semantics.md §1.4); None when outside
    0..F-1 (the executor then writes nothing)."""
    with np.errstate(all="ignore"):
        x = np.float32(F) * np.float32(fraction)
    if -1.0 < float(x) < F:
        return int(float(x))
    return None


def _statement(record, F: int) -> str:
    """One line of Python for one instruction."""
    op = int(record["op"])
    info = ops.OPS[op]
    names = {}
    for key, field, bank in (("o", "out", info.out), ("a", "in1", info.in1), ("b", "in2", info.in2)):
        if bank:
            names[key] = slot_name((int(bank), int(record[field])))
    if op == ops.SCALAR_CONST_SET_OP:
        return f"{names['o']} = {_literal(record['activation'])}"
    if op == ops.VECTOR_CONST_SET_OP:
        i = _fraction_index(F, record["f0"])
        value = _literal(np.float64(record["f1"]))
        if i is None:
            return f"pass  # {format_instruction(record)}: index outside 0..F-1, writes nothing"
        return f"{names['o']}[{i}] = {value}"
    if op == ops.MATRIX_CONST_SET_OP:
        r, c = _fraction_index(F, record["f0"]), _fraction_index(F, record["f1"])
        value = _literal(np.float64(record["f2"]))
        if r is None or c is None:
            return f"pass  # {format_instruction(record)}: index outside 0..F-1, writes nothing"
        return f"{names['o']}[{r}][{c}] = {value}"
    data = {f"f{k}": _literal(np.float64(record[f"f{k}"])) for k in range(3)}
    return f"{names['o']} = " + _EXPRESSIONS[op].format(**names, **data)


def _assigned_names(function: np.ndarray) -> list[str]:
    """Memory names a function rebinds (entry sets modify a list in place and need no `global`)."""
    names = []
    for record in function:
        op = int(record["op"])
        if ops.OUT_BANK[op] and op not in (ops.VECTOR_CONST_SET_OP, ops.MATRIX_CONST_SET_OP):
            name = slot_name((int(ops.OUT_BANK[op]), int(record["out"])))
            if name not in names:
                names.append(name)
    return names


def _body(function: np.ndarray, F: int, prologue: list[str], extra_globals: list[str]) -> list[str]:
    """Body lines of setup/predict/learn: `global` for the names rebound, the prologue, one line per instruction
    (with the readable form as a comment where the Python differs)."""
    names = list(extra_globals)
    names += [n for n in _assigned_names(function) if n not in names]
    lines = [f"    global {', '.join(names)}"] if names else []
    lines += ["    " + line for line in prologue]
    for record in function:
        code = _statement(record, F)
        readable = format_instruction(record)
        lines.append(f"    {code}" if code == readable or code.startswith("pass") else f"    {code}  # {readable}")
    return lines


def _zero(slot) -> str:
    bank = slot[0]
    return "0.0" if bank == ops.SCALAR else ("[0.0] * F" if bank == ops.VECTOR else "[[0.0] * F for _ in range(F)]")


# The parts of azero.export_runtime an exported module copies: its arithmetic helpers (those the program calls,
# with the helpers they call), its random stream section (programs with random ops) and its training loop
# section. Sections start with a rule line and a title comment.
_RUNTIME_RULE = "# " + "-" * 105 + "\n"


def _runtime_section(title: str) -> str:
    """The runtime's section whose title comment starts with `title`, from its rule line to the next one."""
    for section in inspect.getsource(export_runtime).split(_RUNTIME_RULE)[1:]:
        if section.startswith(f"# {title}"):
            return _RUNTIME_RULE + section.rstrip("\n") + "\n"
    raise LookupError(f"azero/export_runtime.py has no section {title!r}")


def _runtime_helpers() -> tuple[str, dict[str, str]]:
    """The arithmetic section's title lines and the source of each of its functions, in file order."""
    section = _runtime_section("Arithmetic")
    lines = section.splitlines()
    title = "\n".join(line for line in lines if line.startswith("# "))
    return title, {node.name: "\n".join(lines[node.lineno - 1:node.end_lineno]) for node in ast.parse(section).body
                   if isinstance(node, ast.FunctionDef)}


def _rng_source() -> str:
    """The bundled random stream: MT19937 and the Abseil distributions of docs/semantics.md §6."""
    return _runtime_section("Random stream")


def _helper_closure(code: str, helpers: dict[str, str]) -> list[str]:
    """Names of the helpers the code calls, with the helpers they call, in the runtime's order."""
    needed: set[str] = set()
    stack = [name for name in _HELPER_CALL.findall(code) if name in helpers]
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(called for called in _HELPER_CALL.findall(helpers[name]) if called in helpers)
    return [name for name in helpers if name in needed]


def to_python(alg: Algorithm, features_size: int, name: str = "algorithm", *, simplified: bool = True,
              num_scalars: int = 20, num_vectors: int = 20, num_matrices: int = 20) -> str:
    """Source of a standalone Python module running ``alg`` for feature size ``features_size``.

    The module holds the memory as module globals (named like the program: s1, v0, m0, ...; a comment says what
    each one holds), ``reset()``, ``setup()``, ``predict(x) -> s1``, ``learn(x, y)``, ``evaluate(train_x,
    train_y, valid_x, valid_y, eval_type, seed)`` and, when the program has random ops, ``seed(value)`` and a
    bundled random stream. The program is simplified first unless ``simplified=False``.
    """
    F = int(features_size)
    if F not in FEATURE_SIZES:
        raise ValueError(f"features_size must be one of {FEATURE_SIZES}, got {features_size!r}")
    alg.validate(num_scalars, num_vectors, num_matrices)
    if simplified:
        program = simplify(alg, num_scalars, num_vectors, num_matrices)
    else:
        program = Algorithm.from_arrays(*(f[f["op"] != ops.NO_OP] for f in alg.functions))
    has_random = any(np.isin(f["op"], list(RANDOM_OPS)).any() for f in program.functions)
    slots = list(slot_usage(program))
    descriptions = describe_slots(program)
    names = [slot_name(slot) for slot in slots]

    setup_lines = _body(program.setup, F, ["reset()"], [])
    predict_lines = _body(program.predict, F, ["v0 = _features(x)", "s0 = 0.0"], ["v0", "s0"])
    learn_lines = _body(program.learn, F, ["v0 = _features(x)", "s0 = float(y)"], ["v0", "s0"])
    loop = _runtime_section("The executor's loop")
    title, helpers = _runtime_helpers()
    used = _helper_closure("\n".join(setup_lines + predict_lines + learn_lines) + loop, helpers)

    width = max(len(n) for n in names)
    program_text = "\n".join("    " + line for line in program.to_text().splitlines())
    memory_doc = "\n".join(f"    {slot_name(slot):<{width}}  {descriptions[slot]}" for slot in slots)
    removed = sum(alg.sizes) - sum(program.sizes)
    how = (f"simplified: {removed} of {sum(alg.sizes)} instructions removed, none of which could change a "
           "prediction" if simplified else "NO_OPs removed")
    out = [
        f'"""{name}: an azero (AutoML-Zero) program as standalone Python for F = {F} features.',
        "",
        f"The program ({how}):",
        "",
        program_text,
        "",
        "Memory (module globals; it persists between calls exactly as in azero's executor: setup() wipes it once,",
        "predict() and learn() never reset it):",
        "",
        memory_doc,
        "",
        "Use: setup() once, then for each example p = predict(x) and learn(x, y). For \"accuracy\" tasks predict()",
        "returns a logit, and azero's training loop replaces s1 by sigmoid(s1) before learn() (see evaluate()).",
        "evaluate(...) reproduces azero.evaluate's fitness for one task.",
        "",
        f"Generated by azero {__version__}; needs only the standard library and NumPy.",
        '"""',
        "import math",
        "",
        "import numpy as np",
        "",
        f"F = {F}  # features per example",
        "",
        "# Memory",
    ]
    for slot in slots:
        out.append(f"{slot_name(slot)} = {_zero(slot)}  # {descriptions[slot]}")
    out += [
        "",
        "",
        "def reset():",
        '    """Wipe the memory (all zeros), as azero does before Setup."""',
        f"    global {', '.join(names)}",
    ]
    out += [f"    {slot_name(slot)} = {_zero(slot)}" for slot in slots]
    out += [
        "",
        "",
        "def setup():",
        '    """Wipe the memory and run Setup (once per task, before the first example)."""',
        *setup_lines,
        "",
        "",
        "def predict(x):",
        '    """Run Predict on features x; returns s1, the prediction (a logit for accuracy tasks)."""',
        *predict_lines,
        "    return s1",
        "",
        "",
        "def learn(x, y):",
        '    """Run Learn on features x with label y (after predict(x) on the same example)."""',
        *learn_lines,
    ]
    out += ["", "", title.rstrip("\n")]
    for helper in used:
        out += ["", "", helpers[helper]]
    if has_random:
        out += ["", "", _rng_source().rstrip("\n")]
    out += ["", "", loop.rstrip("\n")]
    return "\n".join(out) + "\n"
