"""Program analysis: which instructions can affect a prediction, and what each memory slot holds.

`simplify` removes the instructions that cannot change any prediction (dead code under the executor's memory
persistence, docs/semantics.md §1.2 and §3); `export` and the run reports build on it. Pure functions of a
program: no run, no plotting.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from azero._core import ops
from azero.algorithm import FUNCTION_NAMES, Algorithm

__all__ = ["simplify", "slot_usage", "slot_name", "describe_slots", "memory_needed", "RANDOM_OPS"]

# Random ops (59-64): they draw from the evaluation's random stream.
RANDOM_OPS = frozenset(range(ops.SCALAR_UNIFORM_SET_OP, ops.MATRIX_GAUSSIAN_SET_OP + 1))
# Ops that write one entry of their output and keep the rest (so they do not kill the previous value).
PARTIAL_WRITE_OPS = frozenset((ops.VECTOR_CONST_SET_OP, ops.MATRIX_CONST_SET_OP))

Slot = tuple[int, int]  # (bank, address), bank as in azero._core.ops (1 scalar, 2 vector, 3 matrix)

LABEL: Slot = (ops.SCALAR, 0)
PREDICTION: Slot = (ops.SCALAR, 1)
FEATURES: Slot = (ops.VECTOR, 0)
# Slots the executor overwrites before every Predict and every Learn: s0 (0.0 / the label) and v0 (features).
_ENVIRONMENT_WRITES = frozenset((LABEL, FEATURES))


def _reads(record) -> list[Slot]:
    """Slots an instruction reads."""
    op = int(record["op"])
    used = []
    if ops.IN1_BANK[op]:
        used.append((int(ops.IN1_BANK[op]), int(record["in1"])))
    if ops.IN2_BANK[op]:
        used.append((int(ops.IN2_BANK[op]), int(record["in2"])))
    return used


def _write(record) -> Slot | None:
    """The slot an instruction writes (None for NO_OP)."""
    op = int(record["op"])
    return (int(ops.OUT_BANK[op]), int(record["out"])) if ops.OUT_BANK[op] else None


def _live_before(function: np.ndarray, live_after: Iterable[Slot]) -> set[Slot]:
    """Backward liveness through one component function: the slots whose values on entry can matter."""
    live = set(live_after)
    for record in function[::-1]:
        out = _write(record)
        if out is None or out not in live:
            continue
        if int(record["op"]) not in PARTIAL_WRITE_OPS:
            live.discard(out)
        live.update(_reads(record))
    return live


def _live_at_exits(alg: Algorithm) -> tuple[set[Slot], set[Slot], set[Slot]]:
    """Slots live at the end of Setup, Predict and Learn, by a fixed point over Setup -> (Predict -> Learn)*
    with validation Predicts interleaved.

    Control flow of an evaluation (docs/semantics.md §3.3–3.5): Setup is followed by a train Predict (or by nothing when the
    train budget is 0); a Predict is followed by Learn (training), by another Predict (validation, or the next
    epoch's training after validation) or by the end; Learn is followed by a Predict or by the end. Every edge
    into Predict or Learn overwrites s0 and v0 first, so their values never cross an edge. After every Predict
    the executor reads s1 (the prediction; ACCURACY tasks also rewrite it as sigmoid(s1), a read of s1).
    """
    predict_entry: set[Slot] = set()
    learn_entry: set[Slot] = set()
    while True:
        into_predict = predict_entry - _ENVIRONMENT_WRITES
        predict_exit = {PREDICTION} | into_predict | (learn_entry - _ENVIRONMENT_WRITES)
        learn_exit = set(into_predict)
        new_predict_entry = _live_before(alg.predict, predict_exit)
        new_learn_entry = _live_before(alg.learn, learn_exit)
        if new_predict_entry == predict_entry and new_learn_entry == learn_entry:
            return into_predict, predict_exit, learn_exit
        predict_entry, learn_entry = new_predict_entry, new_learn_entry


def _live_mask(function: np.ndarray, live_after: set[Slot]) -> np.ndarray:
    """Which instructions of a function write a slot that is live right after them."""
    keep = np.zeros(len(function), dtype=bool)
    live = set(live_after)
    for i in range(len(function) - 1, -1, -1):
        record = function[i]
        out = _write(record)
        if out is None or out not in live:
            continue
        keep[i] = True
        if int(record["op"]) not in PARTIAL_WRITE_OPS:
            live.discard(out)
        live.update(_reads(record))
    return keep


def simplify(alg: Algorithm, num_scalars: int = 20, num_vectors: int = 20, num_matrices: int = 20) -> Algorithm:
    """A copy of ``alg`` without the instructions that cannot affect any prediction, and without NO_OPs.

    Memory persists for the whole evaluation of a task (Setup once, then Predict/Learn per example and Predict
    per validation example, never reset), so an instruction is kept when its result can reach s1 after some
    later Predict through any path of that cycle (see `_live_at_exits`). Vector/matrix entry sets
    (VECTOR_CONST_SET, MATRIX_CONST_SET) keep the rest of their slot alive. Random ops share one stream, so
    removing one would change the draws of the others: if any random op is live, every random op is kept;
    otherwise all dead ones go. Addresses are not renumbered. The result has exactly the same fitness as
    ``alg`` on any tasks and seed (the random stream is consumed differently only when no live random op
    reads it). A train budget (docs/semantics.md §4.3) counts instructions, so it may accept the simplified program where it
    rejects the original; ``azero.evaluate`` has none. The memory sizes are used to check the addresses.
    """
    alg.validate(num_scalars, num_vectors, num_matrices)
    exits = _live_at_exits(alg)
    masks = [_live_mask(function, live) for function, live in zip(alg.functions, exits)]
    randoms = [np.isin(function["op"], list(RANDOM_OPS)) for function in alg.functions]
    if any((mask & is_random).any() for mask, is_random in zip(masks, randoms)):
        masks = [mask | is_random for mask, is_random in zip(masks, randoms)]
    return Algorithm.from_arrays(*(function[mask] for function, mask in zip(alg.functions, masks)))


def slot_usage(alg: Algorithm) -> dict[Slot, tuple[set[int], set[int]]]:
    """For every slot the program touches (plus s0, s1 and v0): the indices of the functions (0 Setup,
    1 Predict, 2 Learn) that write it and of those that read it."""
    usage: dict[Slot, tuple[set[int], set[int]]] = {slot: (set(), set()) for slot in (LABEL, PREDICTION, FEATURES)}
    for index, function in enumerate(alg.functions):
        for record in function:
            out = _write(record)
            if out is not None:
                usage.setdefault(out, (set(), set()))[0].add(index)
            for slot in _reads(record):
                usage.setdefault(slot, (set(), set()))[1].add(index)
    return dict(sorted(usage.items()))


def slot_name(slot: Slot) -> str:
    """'s3', 'v0', 'm1', ..."""
    return ops.BANK_LETTERS[slot[0]] + str(slot[1])


def _function_list(indices: set[int]) -> str:
    names = [FUNCTION_NAMES[i] for i in sorted(indices)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe_slots(alg: Algorithm) -> dict[Slot, str]:
    """A short description of what each memory slot of ``alg`` holds, e.g. 's2': 'written in Setup, read in
    Learn'; the reserved slots say their role (label, prediction, features)."""
    descriptions = {}
    for slot, (written, read) in slot_usage(alg).items():
        parts = []
        if slot == LABEL:
            parts.append("label (0.0 in Predict, the true label in Learn)")
        elif slot == PREDICTION:
            parts.append("prediction (read after Predict; a logit for accuracy tasks)")
        elif slot == FEATURES:
            parts.append("features of the current example")
        if written:
            parts.append("written in " + _function_list(written))
        elif slot not in (LABEL, FEATURES):
            parts.append("never written (stays 0.0)" if slot != PREDICTION else "never written")
        if read:
            parts.append("read in " + _function_list(read))
        descriptions[slot] = ", ".join(parts)
    return descriptions


def memory_needed(alg: Algorithm) -> tuple[int, int, int]:
    """The smallest (scalars, vectors, matrices) holding every address ``alg`` uses, and s0, s1 and v0."""
    sizes = {ops.SCALAR: 0, ops.VECTOR: 0, ops.MATRIX: 0}
    for bank, address in slot_usage(alg):
        sizes[bank] = max(sizes[bank], address + 1)
    return sizes[ops.SCALAR], sizes[ops.VECTOR], sizes[ops.MATRIX]
