"""Shipped search configurations, one TOML file each (the reference's scripts, docs/semantics.md §9.9 and §12.6).

`load("demo")` returns the SearchConfig of ``demo.toml`` beside this file; `names()` lists what is shipped.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from azero.config import ConfigError, SearchConfig

_FOLDER = Path(__file__).resolve().parent


def names() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(p.stem for p in _FOLDER.glob("*.toml"))


def path(name: str) -> Path:
    """The TOML file of preset `name`; ConfigError listing the available names if there is none."""
    available = names()
    if name not in available:
        raise ConfigError("preset", f"unknown preset {name!r}; available: {', '.join(available)}")
    return _FOLDER / f"{name}.toml"


def load(name: str, **overrides: Any) -> SearchConfig:
    """The SearchConfig of preset `name`; `overrides` replace top-level fields before validation."""
    return SearchConfig.from_toml(path(name), **overrides)
