"""Algorithms as instruction arrays, and their readable text form (docs/semantics.md §1.3, §1.4, §2.1).

An :class:`Algorithm` holds three numpy arrays of :data:`INSTRUCTION_DTYPE` records (Setup, Predict, Learn),
the same records the compiled core executes. The text form is the reference's readable form::

    def Setup():
      s2 = 0.01
    def Predict():
      s1 = dot(v1, v0)
    def Learn():
      s3 = s0 - s1
      ...

:meth:`Algorithm.to_text` prints numbers so that :meth:`Algorithm.from_text` gives back the identical records
(activation data with ``repr`` of the double, float data with the shortest text that round-trips the float32);
the parser also reads the reference's own 6-significant-digit printout.
"""
from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Iterable, NoReturn, Sequence

import numpy as np

from azero._core import ops
from azero._core import INSTRUCTION_DTYPE
from azero._core.checks import FUNCTION_NAMES, ProgramError, check_addresses, check_memory, instruction_array

__all__ = ["INSTRUCTION_DTYPE", "ProgramError", "Algorithm", "FUNCTION_NAMES"]

_FIELDS = ("op", "in1", "in2", "out", "activation", "f0", "f1", "f2")
# Unsigned views used to compare fields bit for bit (so -0.0 != 0.0 and identical NaNs are equal).
_BIT_VIEWS = {"activation": np.uint64, "f0": np.uint32, "f1": np.uint32, "f2": np.uint32}


# ----------------------------------------------------------------------------------------------------------
# Number formatting and parsing


def _format_double(x: float) -> str:
    """Shortest text that parses back to the same double (``repr``), with the sign of NaN kept."""
    x = float(x)
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return repr(x)


def _format_float32(x: np.float32) -> str:
    """Shortest text that parses back to the same float32, with the sign of NaN kept."""
    if np.isnan(x):
        return "-nan" if np.signbit(x) else "nan"
    return str(np.float32(x))


_FLT_MAX = float(np.finfo(np.float32).max)
_FLOAT32_OVERFLOW = 2.0**128  # where the next float32 magnitude above FLT_MAX would be


def _next_float32_up(x: float) -> float:
    """The float32 magnitude just above the float32 magnitude ``x`` (2**128 above FLT_MAX)."""
    with np.errstate(over="ignore"):
        up = float(np.nextafter(np.float32(x), np.float32(np.inf)))
    return _FLOAT32_OVERFLOW if math.isinf(up) else up


def _parse_float32(text: str) -> np.float32 | None:
    """The float32 nearest to the decimal ``text`` (ties to even), or None if a finite decimal overflows.

    Rounding to double first and then to float32 is correct unless the double lands exactly on the midpoint of
    two adjacent float32 values (a double rounding); that rare case is decided with exact rational arithmetic.
    """
    d = float(text)
    if not math.isfinite(d):
        return np.float32(d) if math.isnan(d) or _is_literal_infinity(text) else None
    magnitude = abs(d)
    with np.errstate(over="ignore"):
        nearest = float(np.float32(magnitude))
    if nearest != magnitude:
        if nearest < magnitude:
            lower, upper = nearest, _next_float32_up(nearest)
        elif math.isinf(nearest):
            lower, upper = _FLT_MAX, _FLOAT32_OVERFLOW
        else:
            lower, upper = float(np.nextafter(np.float32(nearest), np.float32(0))), nearest
        midpoint = (lower + upper) / 2.0
        if magnitude == midpoint:
            exact = abs(Fraction(text))
            if exact != midpoint:
                nearest = upper if exact > midpoint else lower
        if nearest >= _FLOAT32_OVERFLOW:
            return None
    return np.float32(math.copysign(nearest, d))


def _is_literal_infinity(text: str) -> bool:
    return text.lstrip("+-").lower() in ("inf", "infinity")


# ----------------------------------------------------------------------------------------------------------
# Lexer: a line becomes tokens (kind, text, value); kinds: addr, num, name, punct.

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>[0-9.](?:[eE][-+]|[\w.])*)|(?P<name>[A-Za-z_]\w*)|(?P<punct>[-+*/=(),\[\]])|(?P<place>\{\w+\}))"
)
_NUMBER_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\Z")
_ADDRESS_RE = re.compile(r"([smv])(\d+)\Z")
_SPECIAL_NUMBERS = ("inf", "infinity", "nan")
_BANK_OF_LETTER = {"s": ops.SCALAR, "v": ops.VECTOR, "m": ops.MATRIX}
_BANK_NOUN = {ops.SCALAR: "scalar", ops.VECTOR: "vector", ops.MATRIX: "matrix"}


class _LexError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# A token: kind, text and value (the text; (bank, address) for an address).
_Token = tuple[str, str, "str | tuple[int, int]"]


def _lex(line: str, allow_placeholders: bool = False) -> list[_Token]:
    """Tokens of one instruction line. Signs directly before a number that starts an operand are merged into it."""
    tokens: list[_Token] = []
    pos, end = 0, len(line)
    while True:
        while pos < end and line[pos].isspace():
            pos += 1
        if pos >= end:
            break
        m = _TOKEN_RE.match(line, pos)
        kind = m.lastgroup if m else None
        if m is None or kind is None or (kind == "place" and not allow_placeholders):
            raise _LexError(f"unexpected character {line[pos]!r}")
        pos = m.end()
        text = m.group(kind)
        if kind == "num":
            if not _NUMBER_RE.match(text):
                raise _LexError(f"malformed number {text!r}")
            value: str | tuple[int, int] = text
        elif kind == "name":
            am = _ADDRESS_RE.match(text)
            if am:
                kind, value = "addr", (_BANK_OF_LETTER[am.group(1)], int(am.group(2)))
            elif text.lower() in _SPECIAL_NUMBERS:
                kind, value = "num", text
            else:
                value = text
        else:
            value = text
        if (
            kind == "num"
            and tokens
            and tokens[-1][0] == "punct"
            and tokens[-1][1] in "+-"
            and (len(tokens) == 1 or (tokens[-2][0] == "punct" and tokens[-2][1] in "=(,["))
        ):
            sign = tokens.pop()[1]
            text = sign + text
            value = text
        tokens.append((kind, text, value))
    return tokens


def _shape(tokens: Sequence[_Token]) -> tuple[str, ...]:
    """The form of an instruction: addresses become their bank ('$s', '$v', '$m'), numbers '#', except the
    values of ``axis=``, which stay literal because they select the op."""
    key = []
    for i, (kind, text, value) in enumerate(tokens):
        if kind == "addr" and isinstance(value, tuple):
            key.append("$" + "?svm"[value[0]])
        elif kind == "num" or kind == "place":
            if i >= 2 and tokens[i - 1][1] == "=" and tokens[i - 2][1] == "axis" and kind == "num":
                key.append("axis:" + text)
            else:
                key.append("#")
        else:
            key.append(text)
    return tuple(key)


def _bankless(shape: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("$?" if part.startswith("$") else part for part in shape)


class _Form:
    """How the tokens of one op's readable form map to instruction fields."""

    __slots__ = ("op", "numbers", "shape")

    def __init__(self, op: int, numbers: list[str | float], shape: tuple[str, ...]):
        self.op = op
        self.numbers = numbers  # per number token: a data field name, or the fixed value it must have
        self.shape = shape


def _build_forms() -> tuple[dict[tuple[str, ...], _Form], dict[tuple[str, ...], list[_Form]]]:
    forms: dict[tuple[str, ...], _Form] = {}
    by_bankless: dict[tuple[str, ...], list[_Form]] = {}
    for info in ops.OPS:
        letters = {"o": info.out, "a": info.in1, "b": info.in2}
        text = info.template.format(
            **{k: "?svm"[bank] + "0" for k, bank in letters.items() if bank},
            act="{act}",
            f0="{f0}",
            f1="{f1}",
            f2="{f2}",
        )
        tokens = _lex(text, allow_placeholders=True)
        numbers: list[str | float] = []
        for i, (kind, tok, _) in enumerate(tokens):
            if kind == "place":
                numbers.append(tok[1:-1])
            elif kind == "num" and not (i >= 2 and tokens[i - 2][1] == "axis"):
                numbers.append(float(tok))
        shape = _shape(tokens)
        assert shape not in forms, f"ambiguous readable form for {info.name}"
        form = _Form(info.code, numbers, shape)
        forms[shape] = form
        by_bankless.setdefault(_bankless(shape), []).append(form)
    return forms, by_bankless


_FORMS, _FORMS_BANKLESS = _build_forms()
_KNOWN_NAMES = {part for shape in _FORMS for part in shape if part.isidentifier()}


def _readable_form(form: _Form) -> str:
    """The op's form with bank letters for operands, e.g. 'v = s * v', for error messages."""
    info = ops.OPS[form.op]
    return info.template.format(
        **{k: "?svm"[bank] for k, bank in (("o", info.out), ("a", info.in1), ("b", info.in2)) if bank},
        act="<number>",
        f0="<number>",
        f1="<number>",
        f2="<number>",
    )


def _parse_instruction(
    line: str, lineno: int, sizes: tuple[int, int, int]
) -> tuple[int, int, int, int, float, float, float, float]:
    """Fields (op, in1, in2, out, activation, f0, f1, f2) of one instruction line."""
    where = f"line {lineno}"
    stripped = line.strip()
    try:
        tokens = _lex(stripped)
    except _LexError as e:
        raise ProgramError(f"{where}: {e.message} in {stripped!r}") from None
    shape = _shape(tokens)
    form = _FORMS.get(shape)
    if form is None:
        _raise_unknown_form(stripped, tokens, shape, where)

    addresses = {"in1": 0, "in2": 0, "out": 0}
    data = {"act": 0.0, "f0": 0.0, "f1": 0.0, "f2": 0.0}
    address_fields = iter(("out", "in1", "in2"))
    numbers = iter(form.numbers)
    for i, (kind, text, value) in enumerate(tokens):
        if kind == "addr" and isinstance(value, tuple):
            bank, address = value
            limit = sizes[bank - 1]
            if address >= limit:
                raise ProgramError(
                    f"{where}: address {text!r} out of range (memory has {limit} {_BANK_NOUN[bank]}s) in {stripped!r}"
                )
            addresses[next(address_fields)] = address
        elif kind == "num" and not shape[i].startswith("axis:"):
            slot = next(numbers)
            if isinstance(slot, float):
                if float(text) != slot:
                    raise ProgramError(f"{where}: expected {slot:g} instead of {text!r} in {stripped!r}")
            elif slot == "act":
                v = float(text)
                if math.isinf(v) and not _is_literal_infinity(text):
                    raise ProgramError(f"{where}: number {text!r} is out of double range in {stripped!r}")
                data["act"] = v
            else:
                f = _parse_float32(text)
                if f is None:
                    raise ProgramError(f"{where}: number {text!r} is out of float32 range in {stripped!r}")
                data[slot] = float(f)
    return (
        form.op,
        addresses["in1"],
        addresses["in2"],
        addresses["out"],
        data["act"],
        data["f0"],
        data["f1"],
        data["f2"],
    )


def _raise_unknown_form(stripped: str, tokens, shape: tuple[str, ...], where: str) -> NoReturn:
    """Raise the most specific ProgramError for a line whose form matches no op."""
    candidates = _FORMS_BANKLESS.get(_bankless(shape))
    if candidates:
        # Same form with other banks: name the first operand whose bank differs from the closest op.
        address_positions = [i for i, part in enumerate(shape) if part.startswith("$")]

        def mismatches(form: _Form) -> list[int]:
            return [i for i in address_positions if form.shape[i] != shape[i]]

        # fewest differing operands; on a tie, prefer the op that writes the bank the line writes
        best = min(candidates, key=lambda form: (len(mismatches(form)), form.shape[0] != shape[0]))
        bad = tokens[mismatches(best)[0]][1]
        accepted = "; ".join(f"{ops.OPS[f.op].name}: {_readable_form(f)}" for f in candidates)
        raise ProgramError(f"{where}: operand {bad!r} has the wrong bank in {stripped!r} (this form takes {accepted})")
    for i, (kind, text, _) in enumerate(tokens):
        if kind == "name" and text not in _KNOWN_NAMES:
            raise ProgramError(f"{where}: unknown op or name {text!r} in {stripped!r}")
        if shape[i].startswith("axis:") and shape[i] not in ("axis:0", "axis:1"):
            raise ProgramError(f"{where}: axis must be 0 or 1, not {text!r}, in {stripped!r}")
    if not tokens or tokens[0][0] != "addr" and tokens[0][1] != "NoOp":
        first = tokens[0][1] if tokens else stripped
        raise ProgramError(f"{where}: expected an assignment to an address such as 's1 = ...', got {first!r}")
    raise ProgramError(f"{where}: unrecognised instruction {stripped!r}")


_DEF_RE = re.compile(r"def\s+(\w+)\s*\(\s*\)\s*:\s*\Z")


def _parse_program(text: str, sizes: tuple[int, int, int]) -> list[list[tuple]]:
    functions: list[list[tuple] | None] = [None, None, None]
    current: list[tuple] | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("def") and (len(stripped) == 3 or not (stripped[3].isalnum() or stripped[3] == "_")):
            m = _DEF_RE.match(stripped)
            if m is None:
                raise ProgramError(f"line {lineno}: malformed def {stripped!r} (expected e.g. 'def Setup():')")
            name = m.group(1)
            if name not in FUNCTION_NAMES:
                raise ProgramError(
                    f"line {lineno}: unknown def {name!r} (expected {', '.join(FUNCTION_NAMES)})"
                )
            index = FUNCTION_NAMES.index(name)
            if functions[index] is not None:
                raise ProgramError(f"line {lineno}: duplicate def {name!r}")
            current = functions[index] = []
            continue
        if current is None:
            raise ProgramError(f"line {lineno}: instruction {stripped!r} before any def")
        current.append(_parse_instruction(stripped, lineno, sizes))
    return [f if f is not None else [] for f in functions]


# ----------------------------------------------------------------------------------------------------------
# Text output


def format_instruction(record) -> str:
    op = int(record["op"])
    if op >= ops.NUM_OPS:
        raise ProgramError(f"op code {op} is not a valid op (0..{ops.NUM_OPS - 1})")
    info = ops.OPS[op]
    values = {}
    if info.out:
        values["o"] = "?svm"[info.out] + str(int(record["out"]))
    if info.in1:
        values["a"] = "?svm"[info.in1] + str(int(record["in1"]))
    if info.in2:
        values["b"] = "?svm"[info.in2] + str(int(record["in2"]))
    if ops.USES_ACTIVATION[op]:
        values["act"] = _format_double(record["activation"])
    for k in range(ops.NUM_FLOAT_FIELDS[op]):
        values[f"f{k}"] = _format_float32(record[f"f{k}"])
    return info.template.format(**values)


# ----------------------------------------------------------------------------------------------------------


def _as_instructions(array, what: str) -> np.ndarray:
    """A fresh, C-contiguous INSTRUCTION_DTYPE array (padding bytes zero) with the records of ``array``.

    Any structured dtype with the instruction's field names is accepted if every value fits its field (an op
    code, an address that is a 16-bit integer, finite-or-not float data); ProgramError otherwise."""
    if array is None:
        return np.zeros(0, dtype=INSTRUCTION_DTYPE)
    src = np.asarray(array)
    if src.dtype.names is None:
        if src.size == 0 and src.ndim == 1:
            return np.zeros(0, dtype=INSTRUCTION_DTYPE)
        raise ProgramError(f"{what}: expected a structured array of instructions, got dtype {src.dtype}")
    if src.ndim != 1:
        raise ProgramError(f"{what}: expected a 1-d array of instructions, got shape {src.shape}")
    missing = [name for name in _FIELDS if name not in src.dtype.names]
    if missing:
        raise ProgramError(f"{what}: instruction array lacks fields {missing}")
    out = np.zeros(len(src), dtype=INSTRUCTION_DTYPE)
    for name in _FIELDS:
        column, target = src[name], INSTRUCTION_DTYPE[name]
        if target.kind == "u":
            if column.dtype.kind not in "iu" or (len(column) and (column.min() < 0 or
                                                                  column.max() > np.iinfo(target).max)):
                raise ProgramError(f"{what}: field {name!r} must hold integers in 0 .. {np.iinfo(target).max}"
                                   f" (got {column.dtype})")
        elif column.dtype.kind not in "iuf":
            raise ProgramError(f"{what}: field {name!r} must hold numbers, got {column.dtype}")
        with np.errstate(over="ignore"):
            out[name] = column
    return instruction_array(out, what)


def _records(instructions: Iterable[tuple]) -> np.ndarray:
    rows = list(instructions)
    out = np.zeros(len(rows), dtype=INSTRUCTION_DTYPE)
    if rows:
        out[:] = rows
    return out


class Algorithm:
    """Three component functions (Setup, Predict, Learn), each a 1-d array of INSTRUCTION_DTYPE records."""

    __slots__ = ("setup", "predict", "learn")
    __hash__ = None  # type: ignore[assignment]  # unhashable (mutable arrays), as list is

    def __init__(self, setup=None, predict=None, learn=None):
        self.setup = _as_instructions(setup, "setup")
        self.predict = _as_instructions(predict, "predict")
        self.learn = _as_instructions(learn, "learn")

    @classmethod
    def empty(cls) -> "Algorithm":
        """An algorithm whose three functions have no instructions."""
        return cls()

    @classmethod
    def from_arrays(cls, setup, predict, learn) -> "Algorithm":
        """An algorithm with copies of three instruction arrays (any structured dtype with the same field names)."""
        return cls(setup, predict, learn)

    @classmethod
    def from_instructions(
        cls, setup: Iterable[tuple] = (), predict: Iterable[tuple] = (), learn: Iterable[tuple] = ()
    ) -> "Algorithm":
        """An algorithm from (op, in1, in2, out, activation, f0, f1, f2) tuples (op given by code)."""
        return cls(_records(setup), _records(predict), _records(learn))

    @classmethod
    def from_text(
        cls, text: str, num_scalars: int = 20, num_vectors: int = 20, num_matrices: int = 20
    ) -> "Algorithm":
        """Parse the readable form; addresses must be below the given memory sizes.

        Raises ProgramError naming the line number and the offending token.
        """
        sizes = (int(num_scalars), int(num_vectors), int(num_matrices))
        setup, predict, learn = _parse_program(text, sizes)
        return cls(_records(setup), _records(predict), _records(learn))

    @classmethod
    def from_file(
        cls, path: str | os.PathLike, num_scalars: int = 20, num_vectors: int = 20, num_matrices: int = 20
    ) -> "Algorithm":
        """Parse a program file in the readable form. ProgramError (one line) names the file, and the line:
        a file that is not UTF-8 text, or that holds no `def` at all (an empty file is no program)."""
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProgramError(f"{path}: not a program text file (byte {error.start} is not UTF-8)") from None
        if "\0" in text:
            raise ProgramError(f"{path}: not a program text file (it holds NUL bytes)")
        try:
            functions = _parse_program(text, (int(num_scalars), int(num_vectors), int(num_matrices)))
        except ProgramError as error:
            raise ProgramError(f"{path}: {error}") from None
        if not any(_DEF_RE.match(line.strip()) for line in text.splitlines()):
            raise ProgramError(f"{path}: no program (expected 'def Setup():', 'def Predict():' and 'def Learn():')")
        return cls(*(_records(f) for f in functions))

    def to_text(self) -> str:
        """The readable form (one line per instruction, two-space indent) that parses back to this algorithm.

        Fields an op does not use (e.g. activation of a SCALAR_SUM_OP) are not printed; NaN payloads are not kept.
        """
        lines = []
        for name, function in zip(FUNCTION_NAMES, self.functions):
            lines.append(f"def {name}():")
            lines.extend("  " + format_instruction(record) for record in function)
        return "\n".join(lines) + "\n"

    @property
    def functions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(setup, predict, learn)."""
        return (self.setup, self.predict, self.learn)

    @property
    def sizes(self) -> tuple[int, int, int]:
        """Number of instructions in (setup, predict, learn)."""
        return (len(self.setup), len(self.predict), len(self.learn))

    def copy(self) -> "Algorithm":
        """An independent copy (the arrays are copied)."""
        new = Algorithm.__new__(Algorithm)
        new.setup = self.setup.copy()
        new.predict = self.predict.copy()
        new.learn = self.learn.copy()
        return new

    def validate(self, num_scalars: int = 20, num_vectors: int = 20, num_matrices: int = 20) -> None:
        """Raise ProgramError if an op code is invalid or an address used by an op is outside the memory."""
        memory = check_memory(num_scalars, num_vectors, num_matrices)
        for name, function in zip(FUNCTION_NAMES, self.functions):
            check_addresses(instruction_array(function, name), name, memory, describe=format_instruction)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Algorithm):
            return NotImplemented
        return all(_same_records(a, b) for a, b in zip(self.functions, other.functions))

    def __repr__(self) -> str:
        s, p, l = self.sizes
        return f"<Algorithm setup={s} predict={p} learn={l} instructions>"

    def __str__(self) -> str:
        return self.to_text()


def _same_records(a: np.ndarray, b: np.ndarray) -> bool:
    """Exact equality of every field (floats compared bit for bit)."""
    if len(a) != len(b):
        return False
    for name in _FIELDS:
        x, y = a[name], b[name]
        view = _BIT_VIEWS.get(name)
        if view is not None:
            x, y = x.view(view), y.view(view)
        if not np.array_equal(x, y):
            return False
    return True
