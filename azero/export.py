"""Export a program as text or as a standalone Python module that reproduces azero's arithmetic.

`to_python` writes a module (standard library + NumPy, no azero import) with ``setup()``, ``predict(x)`` and
``learn(x, y)`` for one feature size F, and an ``evaluate(...)`` that runs the reference executor's loop
(docs/semantics.md §3) so that its fitness can be checked against ``azero.evaluate``. Exactness is kept where Python allows:
plain float arithmetic (IEEE double, no FMA), the reduction orders of docs/semantics.md §2.4 written out as small helpers,
libm through the ``math`` module (wrapped to give IEEE results where ``math`` raises), the reference's
min/max/heaviside rules, and — only when the program has random ops — a bundled pure-Python MT19937 with the
Abseil uniform and Gaussian (ziggurat) distributions.
"""
from __future__ import annotations

import math
import re
from importlib.resources import files

import numpy as np

import azero
from azero import ops
from azero.algorithm import Algorithm
from azero.algorithm import format_instruction
from azero.analysis import RANDOM_OPS, describe_slots, simplify, slot_name, slot_usage
from azero.tasks import FEATURE_SIZES

__all__ = ["to_text", "to_python"]


def to_text(alg: Algorithm, simplified: bool = False, num_scalars: int = 20, num_vectors: int = 20,
            num_matrices: int = 20) -> str:
    """The readable form of ``alg`` (`Algorithm.to_text`), optionally simplified first (`analysis.simplify`)."""
    if simplified:
        alg = simplify(alg, num_scalars, num_vectors, num_matrices)
    return alg.to_text()


# ----------------------------------------------------------------------------------------------------------
# Helper functions of the generated module. Each entry: name -> (source, names of helpers it calls).
# The reduction helpers are chosen per feature size (docs/semantics.md §2.4; same code paths as azero/_core/executor.pyx).

def _helpers(F: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    matrix_sum_order = "_two_accumulators" if F > 8 else "_pair_tree"
    norm_order = "_pair_tree" if F <= 8 else "_two_accumulators"
    std_order = "_pair_tree" if F <= 4 else "_two_accumulators"
    matvec: tuple[str, tuple[str, ...]]
    matmul: tuple[str, tuple[str, ...]]
    if F <= 4:
        matvec = ('def _matvec(m, v):\n'
                  '    """Matrix times vector; each output is a dot product in the packet order."""\n'
                  '    return [_dot(row, v) for row in m]\n', ("_dot",))
        matmul = ('def _matmul(a, b):\n'
                  '    """Matrix product; each entry sums its F products by recursive halving."""\n'
                  '    return [[_scalar_tree([row[k] * b[k][j] for k in range(F)]) for j in range(F)] for row in a]\n',
                  ("_scalar_tree",))
    else:
        matvec = ('def _matvec(m, v):\n'
                  '    """Matrix times vector; each output sums even and odd terms in two lanes from +0.0."""\n'
                  '    out = []\n'
                  '    for row in m:\n'
                  '        lane0 = lane1 = 0.0\n'
                  '        for k in range(0, F, 2):\n'
                  '            lane0 = lane0 + row[k] * v[k]\n'
                  '            lane1 = lane1 + row[k + 1] * v[k + 1]\n'
                  '        out.append(lane0 + lane1)\n'
                  '    return out\n', ())
        matmul = ('def _matmul(a, b):\n'
                  '    """Matrix product; each entry sums its F products in order, starting from +0.0."""\n'
                  '    out = []\n'
                  '    for row in a:\n'
                  '        out_row = []\n'
                  '        for j in range(F):\n'
                  '            total = 0.0\n'
                  '            for k in range(F):\n'
                  '                total = total + row[k] * b[k][j]\n'
                  '            out_row.append(total)\n'
                  '        out.append(out_row)\n'
                  '    return out\n', ())
    return {
        "_div": ('def _div(a, b):\n'
                 '    """a / b with IEEE results for b = +-0 (Python raises ZeroDivisionError there)."""\n'
                 '    if b == 0.0:\n'
                 '        if a != a or a == 0.0:\n'
                 '            return math.nan\n'
                 '        return math.copysign(math.inf, a) * math.copysign(1.0, b)\n'
                 '    return a / b\n', ()),
        "_sin": ('def _sin(x):\n'
                 '    return math.sin(x) if math.isfinite(x) else math.nan\n', ()),
        "_cos": ('def _cos(x):\n'
                 '    return math.cos(x) if math.isfinite(x) else math.nan\n', ()),
        "_tan": ('def _tan(x):\n'
                 '    return math.tan(x) if math.isfinite(x) else math.nan\n', ()),
        "_asin": ('def _asin(x):\n'
                  '    return math.asin(x) if -1.0 <= x <= 1.0 else math.nan\n', ()),
        "_acos": ('def _acos(x):\n'
                  '    return math.acos(x) if -1.0 <= x <= 1.0 else math.nan\n', ()),
        "_exp": ('def _exp(x):\n'
                 '    try:\n'
                 '        return math.exp(x)\n'
                 '    except OverflowError:\n'
                 '        return math.inf\n', ()),
        "_log": ('def _log(x):\n'
                 '    if x > 0.0:\n'
                 '        return math.log(x)\n'
                 '    return -math.inf if x == 0.0 else math.nan\n', ()),
        "_sqrt": ('def _sqrt(x):\n'
                  '    return math.sqrt(x) if x >= 0.0 else math.nan\n', ()),
        "_pair_tree": ('def _pair_tree(terms):\n'
                       '    """Sum in Eigen\'s packet order: consecutive pairs added lane-wise by recursive halving,\n'
                       '    then the two lanes."""\n'
                       '    t = list(terms)\n'
                       '    while len(t) > 2:\n'
                       '        t = [t[i + j] + t[i + j + 2] for i in range(0, len(t), 4) for j in (0, 1)]\n'
                       '    return t[0] + t[1]\n', ()),
        "_scalar_tree": ('def _scalar_tree(terms):\n'
                         '    """Sum by recursive halving: (t0 + t1) + (t2 + t3), ..."""\n'
                         '    t = list(terms)\n'
                         '    while len(t) > 1:\n'
                         '        t = [t[i] + t[i + 1] for i in range(0, len(t), 2)]\n'
                         '    return t[0]\n', ()),
        "_two_accumulators": ('def _two_accumulators(t):\n'
                              '    """Eigen\'s unrolled sum: two packet accumulators over alternate pairs."""\n'
                              '    a0, a1, b0, b1 = t[0], t[1], t[2], t[3]\n'
                              '    for i in range(4, len(t), 4):\n'
                              '        a0 = a0 + t[i]\n'
                              '        a1 = a1 + t[i + 1]\n'
                              '        b0 = b0 + t[i + 2]\n'
                              '        b1 = b1 + t[i + 3]\n'
                              '    return (a0 + b0) + (a1 + b1)\n', ()),
        "_dot": ('def _dot(a, b):\n'
                 '    return _pair_tree([x * y for x, y in zip(a, b)])\n', ("_pair_tree",)),
        "_vec_sum": ('def _vec_sum(a):\n'
                     '    return _pair_tree(a)\n', ("_pair_tree",)),
        "_std": ('def _std(a):\n'
                 '    """Standard deviation of a vector (or matrix row): sqrt(mean of squares - mean^2)."""\n'
                 '    mu = _vec_sum(a) / F\n'
                 '    return _sqrt(_dot(a, a) / F - mu * mu)\n', ("_vec_sum", "_dot", "_sqrt")),
        "_mat_sum": ('def _mat_sum(m):\n'
                     '    """Sum of the entries in row-major order."""\n'
                     f'    return {matrix_sum_order}([x for row in m for x in row])\n', (matrix_sum_order,)),
        "_mat_norm": ('def _mat_norm(m):\n'
                      '    """Frobenius norm."""\n'
                      f'    return _sqrt({norm_order}([x * x for row in m for x in row]))\n',
                      (norm_order, "_sqrt")),
        "_mat_std": ('def _mat_std(m):\n'
                     '    """Standard deviation of all entries."""\n'
                     '    mu = _mat_sum(m) / (F * F)\n'
                     f'    return _sqrt({std_order}([x * x for row in m for x in row]) / (F * F) - mu * mu)\n',
                     ("_mat_sum", std_order, "_sqrt")),
        "_column_norms": ('def _column_norms(m):\n'
                          '    """Norm of each column, squares summed top to bottom by recursive halving."""\n'
                          '    return [_sqrt(_scalar_tree([row[j] * row[j] for row in m])) for j in range(F)]\n',
                          ("_scalar_tree", "_sqrt")),
        "_matvec": matvec,
        "_matmul": matmul,
    }


# Python expression of each op (docs/semantics.md §2.1), with {o} {a} {b} the operand names; 57/58 are handled apart.
_ELEMENTWISE_V = "[{f} for a, b in zip({{a}}, {{b}})]"
_ELEMENTWISE_M = "[[{f} for a, b in zip(ra, rb)] for ra, rb in zip({{a}}, {{b}})]"
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
    23: _ELEMENTWISE_V.format(f="a + b"),
    24: _ELEMENTWISE_V.format(f="a - b"),
    25: _ELEMENTWISE_V.format(f="a * b"),
    26: _ELEMENTWISE_V.format(f="_div(a, b)"),
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
    39: _ELEMENTWISE_M.format(f="a + b"),
    40: _ELEMENTWISE_M.format(f="a - b"),
    41: _ELEMENTWISE_M.format(f="a * b"),
    42: _ELEMENTWISE_M.format(f="_div(a, b)"),
    43: "_matmul({a}, {b})",
    44: "{b} if {b} < {a} else {a}",
    45: _ELEMENTWISE_V.format(f="b if b < a else a"),
    46: _ELEMENTWISE_M.format(f="a if a < b else b"),
    47: "{b} if {a} < {b} else {a}",
    48: _ELEMENTWISE_V.format(f="b if a < b else a"),
    49: _ELEMENTWISE_M.format(f="a if a > b else b"),
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


def _rng_source() -> str:
    """The bundled random stream: MT19937 and the Abseil distributions of docs/semantics.md §6, with the ziggurat
    tables of azero's data file."""
    text = files("azero._core").joinpath("gaussian_ziggurat_tables.txt").read_text(encoding="ascii")
    tables = {}
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] in ("x", "f"):
            tables[fields[0]] = [repr(float(v)) for v in fields[1:]]

    def table(values: list[str]) -> str:
        rows = [", ".join(values[i:i + 4]) for i in range(0, len(values), 4)]
        return "(\n" + "".join(f"    {row},\n" for row in rows) + ")"

    return _RNG_TEMPLATE.replace("@ZG_X@", table(tables["x"])).replace("@ZG_F@", table(tables["f"]))


_RNG_TEMPLATE = '''
# ---------------------------------------------------------------------------------------------------------
# Random stream of the random ops: std::mt19937 with the Abseil (20200923) distributions the reference uses.

# Ziggurat tables of absl::gaussian_distribution (129 strip edges x and densities f = exp(-x^2 / 2)).
_ZG_X = @ZG_X@
_ZG_F = @ZG_F@
_KR = 3.442619855899  # start of the Gaussian tail (= _ZG_X[1])
_KR_INV = 0.29047645161474317  # the reference's 1 / kR


def _top53(bits):
    """bits truncated to its 53 leading significant bits, as a float (exact)."""
    drop = bits.bit_length() - 53
    return float(bits >> drop << drop) if drop > 0 else float(bits)


def _unit(bits):
    """[0, 1) from 64 random bits: bits / 2^64, truncated to 53 significant bits."""
    return math.ldexp(_top53(bits), -64)


def _positive(bits):
    """(0, 1) from 64 random bits: like _unit, but 0 bits give 2^-65."""
    return _unit(bits) if bits else 2.0 ** -65


def _signed(bits):
    """(-1, 1) from 64 random bits: sign from the top bit, magnitude from the low 63 bits (0 gives 2^-64)."""
    magnitude = bits & 0x7FFFFFFFFFFFFFFF
    value = math.ldexp(_top53(magnitude), -63) if magnitude else 2.0 ** -64
    return -value if bits >> 63 else value


class Random:
    """std::mt19937 (seeded like init_genrand) with absl's open-interval uniform and ziggurat Gaussian."""

    def __init__(self, seed=5489):
        self.seed(seed)

    def seed(self, seed):
        state = [seed % 2**32]
        for i in range(1, 624):
            state.append((1812433253 * (state[-1] ^ (state[-1] >> 30)) + i) & 0xFFFFFFFF)
        self.state = state
        self.index = 624

    def _twist(self):
        s = self.state
        for i in range(624):
            y = (s[i] & 0x80000000) | (s[(i + 1) % 624] & 0x7FFFFFFF)
            s[i] = s[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
        self.index = 0

    def next32(self):
        if self.index >= 624:
            self._twist()
        y = self.state[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        return y ^ (y >> 18)

    def next64(self):
        """Two words, the first one high."""
        high = self.next32()
        return (high << 32) | self.next32()

    def uniform(self, lo, hi):
        """absl::Uniform<double>(IntervalOpen, lo, hi); an invalid range returns lo without drawing."""
        a = math.nextafter(lo, hi)
        span = hi - a
        if not (a <= hi and math.isfinite(span)):
            return lo
        while True:
            value = a + _unit(self.next64()) * span
            if value < hi or span <= 0:
                return value

    def gaussian(self, mean, stdev):
        """mean + stdev * a standard normal deviate from absl's ziggurat."""
        return mean + stdev * self._normal()

    def _normal(self):
        while True:
            bits = self.next64()
            i = bits & 0x7F
            j = _signed(bits)
            x = j * _ZG_X[i]
            if abs(x) < _ZG_X[i + 1]:
                return x
            if i == 0:
                return self._tail(j < 0)
            v = _positive(self.next64())
            if _ZG_F[i + 1] + v * (_ZG_F[i] - _ZG_F[i + 1]) < math.exp(-0.5 * x * x):
                return x

    def _tail(self, negative):
        while True:
            x = _KR_INV * math.log(_positive(self.next64()))
            y = -math.log(_positive(self.next64()))
            if not (y + y < x * x):
                return x - _KR if negative else _KR - x


_RNG = Random()


def seed(value):
    """Re-seed the random ops' stream (azero.evaluate uses one MT19937(seed) stream for all its tasks)."""
    _RNG.seed(value)
'''

_EVALUATE_TEMPLATE = '''
# ---------------------------------------------------------------------------------------------------------
# The executor's loop (docs/semantics.md §3): how azero trains, validates and scores the program on one task.

_FLIP_SQUASH = -0.63661977236758138243  # -2/pi as the reference's double literal


def _sigmoid(x):
    return 1.0 / (1.0 + _exp(-x))


def _validate(valid_x, valid_y, n, accuracy, max_abs_error):
    """Predict the first n validation examples (memory keeps changing); the fitness of the losses."""
    loss = 0.0
    for k in range(n):
        predict(valid_x[k])
        label = valid_y[k]
        if accuracy:
            p = _sigmoid(s1)
            if p > 1.0 or p < 0.0:
                error = math.inf
            else:
                error = 0.0 if (label > 0.5) == (p > 0.5) else 1.0
            loss += error
        else:
            error = label - s1
            loss += error * error
        if not abs(error) <= max_abs_error:
            return 0.0
    loss = _div(loss, float(len(valid_y)))  # always the full validation size
    if accuracy:
        return 1.0 - loss
    rms = _sqrt(loss)
    return 0.0 if math.isnan(rms) or math.isinf(rms) else 1.0 + _FLIP_SQUASH * math.atan(rms)


def evaluate(train_x, train_y, valid_x, valid_y, eval_type="rms_error", seed=10000, *, max_abs_error=100.0,
             num_train_examples=None, num_valid_examples=None, epoch_orders=None):
    """Fitness of the program on one task, computed as azero.evaluate computes it.

    setup() on wiped memory, then per epoch: for each train example predict() (for "accuracy" s1 becomes
    sigmoid(s1)), stop if |label - s1| is NaN or > max_abs_error, learn(); then predict() every validation
    example. Returns the best epoch's fitness: 1 - 2/pi * atan(RMS error) for "rms_error", the fraction of
    correct classes for "accuracy"; 0.0 if training fails in the first epoch. `seed` seeds the random ops'
    stream (None continues it, as azero does from one task to the next). `epoch_orders` lists the example
    order of each epoch (default one epoch in order; azero's Task.epoch_orders gives its shuffles).
    """
    global s1
    if eval_type not in ("rms_error", "accuracy"):
        raise ValueError(f"eval_type must be 'rms_error' or 'accuracy', got {eval_type!r}")
    accuracy = eval_type == "accuracy"
    train_x = np.asarray(train_x, dtype=np.float64).tolist()
    train_y = np.asarray(train_y, dtype=np.float64).tolist()
    valid_x = np.asarray(valid_x, dtype=np.float64).tolist()
    valid_y = np.asarray(valid_y, dtype=np.float64).tolist()
    per_epoch = len(train_y)
    orders = [range(per_epoch)] if epoch_orders is None else [[int(k) for k in order] for order in epoch_orders]
    total = per_epoch * len(orders)
    if num_train_examples is not None:
        total = min(total, num_train_examples)
    n_valid = len(valid_y) if num_valid_examples is None else min(num_valid_examples, len(valid_y))
@SEED@
    setup()
    remaining, best, epoch = total, 0.0, 0
    while remaining > 0:
        trained = True
        for k in orders[epoch][:min(per_epoch, remaining)]:
            predict(train_x[k])
            if accuracy:
                s1 = _sigmoid(s1)
            if not abs(train_y[k] - s1) <= max_abs_error:
                trained = False
                break
            learn(train_x[k], train_y[k])
        if not trained:
            return 0.0 if remaining == total else best
        remaining -= per_epoch
        best = max(best, _validate(valid_x, valid_y, n_valid, accuracy, max_abs_error))
        epoch += 1
    return best
'''


def _helper_closure(code: str, helpers: dict) -> list[str]:
    """Names of the helpers the code calls, with their dependencies, in a stable order."""
    needed: set[str] = set()
    stack = [name for name in _HELPER_CALL.findall(code) if name in helpers]
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(helpers[name][1])
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
    code = "\n".join(setup_lines + predict_lines + learn_lines) + _EVALUATE_TEMPLATE
    helpers = _helpers(F)
    used = _helper_closure(code, helpers)

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
        f"Generated by azero {azero.__version__}; needs only the standard library and NumPy.",
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
        "def _features(x):",
        "    v = [float(t) for t in x]",
        "    if len(v) != F:",
        '        raise ValueError(f"expected {F} features, got {len(v)}")',
        "    return v",
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
    if used:
        out += ["", "", "# " + "-" * 105,
                "# Arithmetic as azero's executor does it (IEEE results, the reference's summation orders)."]
        for helper in used:
            out += ["", "", helpers[helper][0].rstrip("\n")]
    if has_random:
        out += ["", _rng_source().rstrip("\n")]
    seed_lines = ("    if seed is not None:\n        _RNG.seed(seed)" if has_random
                  else "    # (the program has no random ops, so `seed` changes nothing)")
    out += ["", _EVALUATE_TEMPLATE.replace("@SEED@", seed_lines).rstrip("\n")]
    return "\n".join(out) + "\n"
