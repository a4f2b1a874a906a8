"""Task specs in a config: checking TOML tables field by field into azero.tasks.TaskSpec, and writing them back."""
from __future__ import annotations

import dataclasses
from typing import Any

from azero.config.checks import ConfigError, _array, _check_keys, _choice, _float, _int, _str, _type_name
from azero.tasks import EVAL_TYPES, FEATURE_SIZES, TASK_KINDS, TaskSpec

# Task kinds whose generator supports only one eval type (docs/semantics.md §7.3–7.5).
_KIND_EVAL_TYPE = {
    "scalar_linear_regression": "rms_error",
    "scalar_affine_regression": "rms_error",
    "scalar_2layer_nn_regression": "rms_error",
    "projected_binary_classification": "accuracy",
    "projected_regression": "rms_error",
}
_PROJECTED = "projected_binary_classification"
# Task kinds that read dataset files: a spec without `path` reads them from `dataset_dir`.
_DATASET_KINDS = (_PROJECTED, "projected_regression")

_TASK_KIND_ALIASES = {kind + "_task": kind for kind in TASK_KINDS}  # the reference's oneof field names


def _task_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _seed_list(value: Any, path: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):  # the reference's text format allows `data_seeds: 3`
        value = [value]
    return [_int(seed, f"{path}[{i}]", 0, 2**32 - 1) for i, seed in enumerate(_array(value, path))]


def _pair_list(value: Any, path: str) -> list[tuple[int, int]]:
    pairs = []
    for i, pair in enumerate(_array(value, path)):
        if isinstance(pair, dict):
            pair = [pair.get("positive_class"), pair.get("negative_class")]
        pair = _array(pair, f"{path}[{i}]")
        if len(pair) != 2:
            raise ConfigError(f"{path}[{i}]", f"expected a pair [class, class], got {pair!r}")
        first, second = (_int(c, f"{path}[{i}]", 0, 9) for c in pair)
        pairs.append((first, second))
    return pairs


def _optional_class(value: Any, path: str) -> int | None:
    return None if value is None else _int(value, path, 0, 9)


def _optional_str(value: Any, path: str) -> str | None:
    return None if value is None else _str(value, path)


def _features_size(value: Any, path: str) -> int:
    size = _int(value, path)
    if size not in FEATURE_SIZES:
        raise ConfigError(path, f"must be one of {', '.join(map(str, FEATURE_SIZES))}, got {size}")
    return size


# Checks of the TaskSpec fields we know about; fields azero.tasks may add are passed through unchecked.
_TASK_CHECKS = {
    "kind": lambda v, p: _choice(v, p, TASK_KINDS, _TASK_KIND_ALIASES),
    "features_size": _features_size,
    "num_train_examples": lambda v, p: _int(v, p, 1),
    "num_valid_examples": lambda v, p: _int(v, p, 1),
    "num_tasks": lambda v, p: _int(v, p, 1),
    "eval_type": lambda v, p: None if v is None else _choice(v, p, tuple(EVAL_TYPES)),
    "param_seeds": _seed_list,
    "data_seeds": _seed_list,
    "num_train_epochs": lambda v, p: _int(v, p, 1),
    "increment": lambda v, p: _float(v, p),
    "positive_class": _optional_class,
    "negative_class": _optional_class,
    "dataset_name": _optional_str,
    "path": _optional_str,
    "held_out_pairs": _pair_list,
    "min_supported_data_seed": lambda v, p: _int(v, p, 0),
    "max_supported_data_seed": lambda v, p: _int(v, p, 1),
}


def _task(value: Any, path: str) -> TaskSpec:
    """A TaskSpec from a TOML table or an existing TaskSpec, checked field by field."""
    fields = {f.name: f for f in dataclasses.fields(TaskSpec) if f.init}
    if isinstance(value, TaskSpec):
        data = {name: getattr(value, name) for name in fields}
    elif isinstance(value, dict):
        data = _check_keys(value, path, fields)
        missing = [n for n, f in fields.items() if n not in data and _task_default(f) is dataclasses.MISSING]
        if missing:
            raise ConfigError(f"{path}.{missing[0]}", "missing required field")
    else:
        raise ConfigError(path, f"expected a table, got {_type_name(value)} {value!r}")
    checked: dict[str, Any] = {name: (_TASK_CHECKS[name](v, f"{path}.{name}") if name in _TASK_CHECKS else v)
                               for name, v in data.items()}
    kind, eval_type = checked["kind"], checked.get("eval_type")
    if kind in _KIND_EVAL_TYPE and eval_type not in (None, _KIND_EVAL_TYPE[kind]):
        raise ConfigError(f"{path}.eval_type", f"{kind} tasks support only {_KIND_EVAL_TYPE[kind]!r}, "
                                               f"got {eval_type!r}")
    if kind == "scalar_2layer_nn_regression" and checked["features_size"] < 4:
        raise ConfigError(f"{path}.features_size", "scalar_2layer_nn_regression needs features_size >= 4 "
                                                   "(its teacher zeroes hidden units 0 and 2)")
    if checked["num_train_examples"] * checked.get("num_train_epochs", 1) < 10:
        raise ConfigError(f"{path}.num_train_examples",
                          "the evaluator needs at least 10 train examples over all epochs")
    if kind == _PROJECTED:
        pos, neg = checked.get("positive_class"), checked.get("negative_class")
        if (pos is None) != (neg is None):
            raise ConfigError(f"{path}.{'negative_class' if neg is None else 'positive_class'}",
                              "give both positive_class and negative_class, or neither")
        if pos is not None and pos >= neg:
            raise ConfigError(f"{path}.negative_class", f"must be greater than positive_class ({pos}), got {neg} "
                                                        "(dataset files are named by the smaller class first)")
        lo, hi = checked.get("min_supported_data_seed", 0), checked.get("max_supported_data_seed", 10)
        if hi <= lo:
            raise ConfigError(f"{path}.max_supported_data_seed",
                              f"must be > min_supported_data_seed ({lo}), got {hi}")
    try:
        return TaskSpec(**checked)
    except (TypeError, ValueError) as error:
        raise ConfigError(path, str(error)) from None


def _task_list(value: Any, path: str) -> list[TaskSpec]:
    specs = [_task(item, f"{path}[{i}]") for i, item in enumerate(_array(value, path))]
    if not specs:
        raise ConfigError(path, "needs at least one task spec")
    return specs


def _task_to_dict(spec: TaskSpec, dataset_dir: str | None) -> dict:
    """The fields worth writing: the required ones, then those that differ from TaskSpec's defaults."""
    out = {}
    for field in dataclasses.fields(TaskSpec):
        if not field.init:
            continue
        value = getattr(spec, field.name)
        default = _task_default(field)
        if value is None or (default is not dataclasses.MISSING and value == default
                             and field.name not in ("kind", "eval_type", "features_size", "num_tasks",
                                                    "num_train_examples", "num_valid_examples")):
            continue
        if field.name == "path" and spec.kind in _DATASET_KINDS and value == dataset_dir:
            continue
        if hasattr(value, "tolist"):  # numpy data of a unit_test_fixed task
            value = value.tolist()
        if field.name == "held_out_pairs":
            value = [list(pair) for pair in value]
        out[field.name] = list(value) if isinstance(value, tuple) else value
    return out
