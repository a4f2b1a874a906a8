"""Value checks of the config fields, and `ConfigError`: each check takes a value and its field path and returns
the normalised value or raises a one-line error naming the field."""
from __future__ import annotations

import difflib
import math
from typing import Any

import numpy as np

from azero._core import ops


class ConfigError(ValueError):
    """A configuration problem: one line `[file: ]field: what is wrong`."""

    def __init__(self, field: str, message: str, source: str | None = None):
        self.field = field
        self.message = " ".join(str(message).split())
        self.source = source
        super().__init__(": ".join(part for part in (source, field, self.message) if part))

    def with_source(self, source: str | None) -> ConfigError:
        """The same error, naming the file it came from."""
        return ConfigError(self.field, self.message, source)



def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", tuple: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _int(value: Any, path: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"expected an integer, got {_type_name(value)} {value!r}")
    if lo is not None and value < lo:
        raise ConfigError(path, f"must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(path, f"must be <= {hi}, got {value}")
    return int(value)


MAX_SEED = 2**32 - 1      # seeds are the reference's uint32


def check_seed(value: Any, what: str = "seed", clock: bool = True) -> int:
    """A seed: an integer in 0 .. 2^32 - 1, where 0 means "from the clock" (the config's `random_seed`,
    `--seed` and `Search(seed=...)` alike); ConfigError (one line) for anything else, never a silent wrap.
    `clock=False` (the random-op stream of an evaluation, which must be reproducible) refuses 0."""
    seed = _int(value.item() if isinstance(value, np.integer) else value, what, 0, MAX_SEED)
    if seed == 0 and not clock:
        raise ConfigError(what, f"must be in 1 .. {MAX_SEED} (0 means 'from the clock', which an evaluation "
                                "cannot use)")
    return seed


def _float(value: Any, path: str, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"expected a number, got {_type_name(value)} {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ConfigError(path, "must be a number, got nan")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(path, f"must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(path, f"must be <= {hi}, got {value}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, f"expected true or false, got {_type_name(value)} {value!r}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, f"expected a string, got {_type_name(value)} {value!r}")
    return value


def _choice(value: Any, path: str, choices: tuple[str, ...], aliases: dict[str, str] | None = None) -> str:
    key = _str(value, path).strip().lower()
    key = (aliases or {}).get(key, key)
    if key not in choices:
        raise ConfigError(path, f"unknown value {value!r}{_suggest(key, choices)}; expected one of "
                                f"{', '.join(choices)}")
    return key


def _array(value: Any, path: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(path, f"expected an array, got {_type_name(value)} {value!r}")
    return list(value)


def _suggest(name: str, names) -> str:
    close = difflib.get_close_matches(str(name).lower(), [n.lower() for n in names], n=1, cutoff=0.6)
    if not close:
        return ""
    original = next(n for n in names if n.lower() == close[0])
    return f" (did you mean {original!r}?)"


def _check_keys(data: dict, path: str, known, aliases: dict[str, str] | None = None) -> dict:
    """`data` with aliases renamed; unknown keys raise with the closest known name."""
    out = {}
    for key, value in data.items():
        name = (aliases or {}).get(key, key)
        if name not in known:
            where = f"{path}.{key}" if path else key
            raise ConfigError(where, f"unknown field{_suggest(key, list(known))}")
        if name in out:
            raise ConfigError(f"{path}.{name}" if path else name, "given twice (under two names)")
        out[name] = value
    return out


def _enum_list(value: Any, path: str, convert, what: str, names) -> list[int]:
    codes = []
    for i, item in enumerate(_array(value, path)):
        try:
            codes.append(convert(item))
        except ValueError:
            hint = _suggest(item, names) if isinstance(item, str) else ""
            raise ConfigError(f"{path}[{i}]", f"unknown {what} {item!r}{hint}") from None
    return codes


def _op_list(value: Any, path: str) -> list[int]:
    names = [op.name for op in ops.OPS] + [op.name[:-3] for op in ops.OPS if op.name.endswith("_OP")]
    return _enum_list(value, path, ops.op_code, "op", names)


def _algorithm(value: Any, path: str) -> int:
    try:
        return ops.algorithm_id_code(value)
    except ValueError:
        hint = _suggest(value, ops.ALGORITHM_ID_NAMES) if isinstance(value, str) else ""
        raise ConfigError(path, f"unknown algorithm id {value!r}{hint}; expected one of "
                                f"{', '.join(ops.ALGORITHM_ID_NAMES)}") from None


def _mutation_type(value: Any) -> int:
    if isinstance(value, str) and value.strip().upper().endswith("_MUTATION_TYPE"):
        value = value.strip()[: -len("_MUTATION_TYPE")]
    return ops.mutation_type_code(value)
