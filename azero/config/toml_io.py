"""Config TOML in and out: read a file or text into plain data (errors name the file), write plain data with
tomli-w."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from azero.config.checks import ConfigError


def read_toml(path_or_text: str | os.PathLike) -> tuple[dict[str, Any], str | None]:
    """The data of a TOML file (a path) or of TOML text (a string with a newline or '=' that is no file), and the
    file name (None for text). Unreadable files and invalid TOML raise ConfigError naming the file."""
    source = None
    if isinstance(path_or_text, os.PathLike) or (
            "\n" not in path_or_text and (os.path.exists(path_or_text) or path_or_text.endswith(".toml"))):
        source = os.fspath(path_or_text)
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError("", f"cannot read: {error.strerror or error}", source) from None
    else:
        text = path_or_text
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("", f"invalid TOML: {error}", source) from None


def write_toml(data: dict[str, Any]) -> str:
    """TOML text of plain data (tables, arrays of tables, strings, numbers, booleans and arrays of those)."""
    return tomli_w.dumps(data)
