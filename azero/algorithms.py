"""Hand-designed algorithms of the reference's Generator (docs/semantics.md §8.5) and NO_OP padding.

The builders return the bare models (no padding); :func:`pad` appends NO_OPs, and :func:`by_id` reproduces the
reference's ``ModelByID`` for the hardcoded ids, padding included. Data values are stored as the reference
stores them: learning rates as doubles (activation), initialisation scales as float32 (f1).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from azero._core import ops
from azero.algorithm import INSTRUCTION_DTYPE, Algorithm, ProgramError

__all__ = [
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_INIT_SCALE",
    "no_op",
    "linear",
    "affine",
    "neural_net",
    "damaged_neural_net",
    "unit_test_neural_net_no_bias_no_gradient",
    "pad",
    "by_id",
    "MODEL_NAMES",
    "by_name",
    "load_program",
]

DEFAULT_LEARNING_RATE = 0.01  # kDefaultLearningRate
DEFAULT_INIT_SCALE = 0.1  # kDefaultInitScale


def _const(out: int, value: float) -> tuple:
    """SCALAR_CONST_SET: s[out] = value."""
    return (ops.SCALAR_CONST_SET_OP, 0, 0, out, float(value), 0.0, 0.0, 0.0)


def _gaussian(op: int, out: int, mean: float, stdev: float) -> tuple:
    """A Gaussian set op with float32 mean (f0) and standard deviation (f1)."""
    return (op, 0, 0, out, 0.0, np.float32(mean), np.float32(stdev), 0.0)


def _binary(op: int, in1: int, in2: int, out: int) -> tuple:
    return (op, in1, in2, out, 0.0, 0.0, 0.0, 0.0)


def _scaled_error(rate: int, error: int) -> list[tuple]:
    """The first step of every SGD Learn here: s[error] = s[rate] * (s0 - s1), label minus prediction, scaled."""
    return [
        _binary(ops.SCALAR_DIFF_OP, 0, 1, error),  # s_error = s0 - s1
        _binary(ops.SCALAR_PRODUCT_OP, rate, error, error),  # s_error = s_rate * s_error
    ]


def no_op(setup_size: int = 0, predict_size: int = 0, learn_size: int = 0) -> Algorithm:
    """An algorithm of NO_OPs with the given function sizes (NO_OP_ALGORITHM)."""
    return pad(Algorithm.empty(), setup_size, predict_size, learn_size)


def linear(learning_rate: float = DEFAULT_LEARNING_RATE) -> Algorithm:
    """Linear regression by SGD (LINEAR_ALGORITHM); v1 holds the weights."""
    return Algorithm.from_instructions(
        setup=[_const(2, learning_rate)],
        predict=[_binary(ops.VECTOR_INNER_PRODUCT_OP, 1, 0, 1)],  # s1 = dot(v1, v0)
        learn=[
            *_scaled_error(2, 3),  # s3 = s2 * (s0 - s1)
            _binary(ops.SCALAR_VECTOR_PRODUCT_OP, 3, 0, 2),  # v2 = s3 * v0
            _binary(ops.VECTOR_SUM_OP, 1, 2, 1),  # v1 = v1 + v2
        ],
    )


def affine(learning_rate: float = DEFAULT_LEARNING_RATE) -> Algorithm:
    """Ours (paper §4.1): affine regression u·x + a by SGD; v1 holds the weights, s2 the bias, s3 the learning
    rate. Needs 5 scalars and 3 vectors; ops 56 (Setup), 27 and 1 (Predict), 1, 2, 3, 18 and 23 (Learn)."""
    return Algorithm.from_instructions(
        setup=[_const(3, learning_rate)],
        predict=[
            _binary(ops.VECTOR_INNER_PRODUCT_OP, 1, 0, 1),  # s1 = dot(v1, v0)
            _binary(ops.SCALAR_SUM_OP, 1, 2, 1),  # s1 = s1 + s2
        ],
        learn=[
            *_scaled_error(3, 4),  # s4 = s3 * (s0 - s1)
            _binary(ops.SCALAR_SUM_OP, 2, 4, 2),  # s2 = s2 + s4
            _binary(ops.SCALAR_VECTOR_PRODUCT_OP, 4, 0, 2),  # v2 = s4 * v0
            _binary(ops.VECTOR_SUM_OP, 1, 2, 1),  # v1 = v1 + v2
        ],
    )


def neural_net(
    learning_rate: float = DEFAULT_LEARNING_RATE,
    first_init_scale: float = DEFAULT_INIT_SCALE,
    final_init_scale: float = DEFAULT_INIT_SCALE,
) -> Algorithm:
    """Two-layer ReLU network with biases trained by SGD (NEURAL_NET_ALGORITHM); needs S >= 5, V >= 9, M >= 2."""
    return Algorithm.from_instructions(
        setup=[
            _gaussian(ops.VECTOR_GAUSSIAN_SET_OP, 2, 0.0, final_init_scale),  # final layer weights v2
            _gaussian(ops.MATRIX_GAUSSIAN_SET_OP, 0, 0.0, first_init_scale),  # first layer weights m0
            _const(3, learning_rate),  # s3 = learning rate
        ],
        predict=[
            _binary(ops.MATRIX_VECTOR_PRODUCT_OP, 0, 0, 3),  # v3 = dot(m0, v0)
            _binary(ops.VECTOR_SUM_OP, 3, 1, 3),  # v3 = v3 + v1 (first layer bias)
            _binary(ops.VECTOR_MAX_OP, 3, 5, 4),  # v4 = maximum(v3, v5): ReLU, v5 is never written
            _binary(ops.VECTOR_INNER_PRODUCT_OP, 4, 2, 1),  # s1 = dot(v4, v2)
            _binary(ops.SCALAR_SUM_OP, 1, 2, 1),  # s1 = s1 + s2 (final layer bias)
        ],
        learn=[
            *_scaled_error(3, 4),  # s4 = s3 * (s0 - s1)
            _binary(ops.SCALAR_SUM_OP, 2, 4, 2),  # s2 = s2 + s4
            _binary(ops.SCALAR_VECTOR_PRODUCT_OP, 4, 4, 6),  # v6 = s4 * v4
            _binary(ops.VECTOR_SUM_OP, 2, 6, 2),  # v2 = v2 + v6
            _binary(ops.SCALAR_VECTOR_PRODUCT_OP, 4, 2, 7),  # v7 = s4 * v2 (the updated v2)
            _binary(ops.VECTOR_HEAVYSIDE_OP, 3, 0, 8),  # v8 = heaviside(v3, 1.0)
            _binary(ops.VECTOR_PRODUCT_OP, 8, 7, 7),  # v7 = v8 * v7
            _binary(ops.VECTOR_SUM_OP, 1, 7, 1),  # v1 = v1 + v7
            _binary(ops.VECTOR_OUTER_PRODUCT_OP, 7, 0, 1),  # m1 = outer(v7, v0)
            _binary(ops.MATRIX_SUM_OP, 0, 1, 0),  # m0 = m0 + m1
        ],
    )


def damaged_neural_net(
    setup_size: int = 0,
    predict_size: int = 0,
    learn_size: int = 0,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    first_init_scale: float = DEFAULT_INIT_SCALE,
    final_init_scale: float = DEFAULT_INIT_SCALE,
) -> Algorithm:
    """INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM: the padded neural net without its first two setup
    instructions (the weight initialisations), not padded again, so Setup is 2 shorter than the padded size."""
    alg = pad(neural_net(learning_rate, first_init_scale, final_init_scale), setup_size, predict_size, learn_size)
    alg.setup = alg.setup[2:].copy()
    return alg


def unit_test_neural_net_no_bias_no_gradient(learning_rate: float = DEFAULT_LEARNING_RATE) -> Algorithm:
    """The reference's UnitTestNeuralNetNoBiasNoGradient; its Predict labels the 2-layer NN regression tasks.

    m0 holds the first layer weights and v1 the final layer weights; Setup does not initialise them."""
    return Algorithm.from_instructions(
        setup=[_const(2, learning_rate)],
        predict=[
            _binary(ops.MATRIX_VECTOR_PRODUCT_OP, 0, 0, 2),  # v2 = dot(m0, v0)
            _binary(ops.VECTOR_MAX_OP, 2, 4, 3),  # v3 = maximum(v2, v4): ReLU, v4 is zero
            _binary(ops.VECTOR_INNER_PRODUCT_OP, 3, 1, 1),  # s1 = dot(v3, v1)
        ],
        learn=[
            *_scaled_error(2, 3),  # s3 = s2 * (s0 - s1)
            _binary(ops.SCALAR_VECTOR_PRODUCT_OP, 3, 3, 5),  # v5 = s3 * v3
            _binary(ops.VECTOR_SUM_OP, 1, 5, 1),  # v1 = v1 + v5
            _binary(ops.SCALAR_VECTOR_PRODUCT_OP, 3, 1, 6),  # v6 = s3 * v1
            _binary(ops.VECTOR_HEAVYSIDE_OP, 2, 0, 7),  # v7 = heaviside(v2, 1.0)
            _binary(ops.VECTOR_PRODUCT_OP, 7, 6, 6),  # v6 = v7 * v6
            _binary(ops.VECTOR_OUTER_PRODUCT_OP, 6, 0, 1),  # m1 = outer(v6, v0)
            _binary(ops.MATRIX_SUM_OP, 0, 1, 0),  # m0 = m0 + m1
        ],
    )


def pad(alg: Algorithm, setup_size: int, predict_size: int, learn_size: int) -> Algorithm:
    """A copy of ``alg`` with NO_OPs appended so each function has at least the given size (never truncated)."""
    padded = []
    for function, size in zip(alg.functions, (setup_size, predict_size, learn_size)):
        extra = max(0, int(size) - len(function))
        padded.append(np.concatenate([function, np.zeros(extra, dtype=INSTRUCTION_DTYPE)]))
    return Algorithm.from_arrays(*padded)


def by_id(algorithm_id: int | str, sizes: tuple[int, int, int]) -> Algorithm:
    """The reference's ``ModelByID`` for a hardcoded algorithm id, padded to ``sizes`` = (setup, predict, learn).

    RANDOM_ALGORITHM needs the search RNG and allowed ops; it is built by the compiled mutator, not here.
    """
    code = ops.algorithm_id_code(algorithm_id)
    setup_size, predict_size, learn_size = sizes
    if code == ops.NO_OP_ALGORITHM:
        return no_op(setup_size, predict_size, learn_size)
    if code == ops.LINEAR_ALGORITHM:
        return pad(linear(DEFAULT_LEARNING_RATE), setup_size, predict_size, learn_size)
    if code == ops.NEURAL_NET_ALGORITHM:
        return pad(neural_net(DEFAULT_LEARNING_RATE, 0.1, 0.1), setup_size, predict_size, learn_size)
    if code == ops.INTEGRATION_TEST_DAMAGED_NEURAL_NET_ALGORITHM:
        return damaged_neural_net(setup_size, predict_size, learn_size)
    raise ValueError(
        "RANDOM_ALGORITHM depends on the search's random stream and allowed ops; build it with the mutator"
    )


# Hand-designed models by name, as configs and the command line give them (default learning rates).
MODEL_NAMES = ("linear", "affine", "neural_net")


def by_name(name: str) -> Algorithm:
    """The hand-designed model called `name` (one of MODEL_NAMES), unpadded, default learning rate."""
    builders = {"linear": linear, "affine": affine, "neural_net": neural_net}
    if name not in builders:
        raise ValueError(f"unknown hand-designed model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    return builders[name]()


def load_program(name_or_path: str, num_scalars: int, num_vectors: int, num_matrices: int) -> Algorithm:
    """A hand-designed model (a name of MODEL_NAMES) or a program file in the readable text form whose addresses
    fit the given memory; ProgramError names the file and line of a bad program."""
    if name_or_path in MODEL_NAMES:
        alg = by_name(name_or_path)
        text = alg.to_text()
        source = f"hand-designed model {name_or_path!r}"
    else:
        try:
            text = Path(name_or_path).read_text(encoding="utf-8")
        except OSError as error:
            raise ProgramError(f"{name_or_path}: cannot read: {error.strerror or error}") from None
        source = name_or_path
    try:
        return Algorithm.from_text(text, num_scalars=num_scalars, num_vectors=num_vectors, num_matrices=num_matrices)
    except ProgramError as error:
        raise ProgramError(f"{source}: {error}") from None
