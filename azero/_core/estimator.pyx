# cython: language_level=3
"""Compiled fit and predict of one program on user data (the scikit-learn estimators of azero.sklearn).

``fit_program`` runs Setup once, then Predict and Learn over the examples for every epoch, exactly as the
executor's training loop does (docs/semantics.md §3.3): the features go to v0, s0 is 0 during Predict and the label during
Learn, and on a binary-classification task s1 is squashed by the sigmoid before Learn. ``predict_program``
runs Predict over new examples from the memory and random stream left by fit, as the executor's validation
does, and returns the raw s1 of each. The executor symbols used are ``run_instructions`` and
``point_memory`` (executor.pxd); programs are checked by azero._core.checks first.
"""
import numpy as np

from libc.math cimport exp, fabs
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.string cimport memcpy

from azero._core.types cimport Instruction, Memory
from azero._core.rng cimport MT19937, mt_seed
from azero._core.executor cimport first_instruction, point_memory, run_instructions

from azero._core import INSTRUCTION_DTYPE
from azero._core.checks import FEATURE_SIZES, check_addresses, instruction_array

# MT19937 state words plus the position of the next word, as one uint32 array.
RNG_STATE_WORDS = 625


cdef inline double sigmoid(double x) noexcept nogil:
    return 1.0 / (1.0 + exp(-x))


cdef object _code(object code, Memory* mem, str name):
    """A C-contiguous INSTRUCTION_DTYPE array whose ops and addresses fit `mem`."""
    arr = instruction_array(code, name)
    check_addresses(arr, name, (mem.num_scalars, mem.num_vectors, mem.num_matrices))
    return arr


cdef object _bind_memory(Memory* mem, object scalars, object vectors, object matrices):
    """Point `mem` at writable float64 arrays (S,), (V, F), (M, F, F); returns F."""
    for arr, name in ((scalars, "scalars"), (vectors, "vectors"), (matrices, "matrices")):
        if (not isinstance(arr, np.ndarray) or arr.dtype != np.float64 or not arr.flags.c_contiguous
                or not arr.flags.writeable):
            raise TypeError(f"{name} must be a writable C-contiguous float64 array")
    F = vectors.shape[1]
    if F not in FEATURE_SIZES or vectors.ndim != 2 or matrices.shape[1:] != (F, F) or scalars.ndim != 1:
        raise ValueError(f"memory shapes {scalars.shape} {vectors.shape} {matrices.shape} do not match a "
                         f"feature size in {FEATURE_SIZES}")
    if scalars.shape[0] < 2 or vectors.shape[0] < 1:
        raise ValueError("memory needs at least 2 scalars (label, prediction) and 1 vector (features)")
    point_memory(mem, F, scalars, vectors, matrices)
    return F


cdef object _features(object features, int F):
    x = np.ascontiguousarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != F:
        raise ValueError(f"features must have shape (n, {F}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or infinite values")
    return x


def fit_program(setup, predict, learn, features, labels, orders, bint classify, uint32_t random_seed,
                scalars, vectors, matrices, double max_abs_error=100.0):
    """Train one program in place on the zeroed memory arrays; returns (train steps done, rng state).

    features (n, F), labels (n,) (0/1 when `classify`), orders (E, n) int64 example orders of the E epochs.
    Random ops draw from MT19937(random_seed). As in the executor, training stops at the first example whose
    error |label - s1| is NaN or above max_abs_error (that step counts); the memory then holds what it held
    after that example's Predict. The returned rng state continues the stream for predict_program.
    """
    cdef Memory mem
    cdef int F = _bind_memory(&mem, scalars, vectors, matrices)
    cdef const Instruction[::1] setup_view = _code(setup, &mem, "setup")
    cdef const Instruction[::1] predict_view = _code(predict, &mem, "predict")
    cdef const Instruction[::1] learn_view = _code(learn, &mem, "learn")
    x = _features(features, F)
    y = np.ascontiguousarray(labels, dtype=np.float64)
    order = np.ascontiguousarray(orders, dtype=np.int64)
    cdef int64_t n = x.shape[0]
    if y.shape != (n,) or order.ndim != 2 or order.shape[1] != n or n == 0:
        raise ValueError(f"labels {y.shape} and orders {order.shape} must match {n} (> 0) examples")
    if not np.isfinite(y).all():
        raise ValueError("labels contain NaN or infinite values")
    if order.size and (order.min() < 0 or order.max() >= n):
        raise ValueError("orders hold an index outside the examples")
    cdef const Instruction* setup_code = first_instruction(setup_view)
    cdef const Instruction* predict_code = first_instruction(predict_view)
    cdef const Instruction* learn_code = first_instruction(learn_view)
    cdef int32_t n_setup = setup_view.shape[0], n_predict = predict_view.shape[0], n_learn = learn_view.shape[0]
    cdef const double[:, ::1] x_view = x
    cdef const double[::1] y_view = y
    cdef const int64_t[:, ::1] order_view = order
    cdef const double* xs = &x_view[0, 0]   # n > 0 examples
    cdef const double* ys = &y_view[0]
    cdef int64_t total = order.size
    cdef const int64_t* os = &order_view[0, 0] if total else NULL
    cdef int64_t step = 0
    cdef int64_t example
    cdef double label
    cdef MT19937 rng
    mt_seed(&rng, random_seed)
    with nogil:
        run_instructions(setup_code, n_setup, &mem, &rng)
        while step < total:
            example = os[step]
            label = ys[example]
            memcpy(mem.vectors, xs + example * F, F * sizeof(double))
            mem.scalars[0] = 0.0
            run_instructions(predict_code, n_predict, &mem, &rng)
            if classify:
                mem.scalars[1] = sigmoid(mem.scalars[1])
            step += 1
            if not (fabs(label - mem.scalars[1]) <= max_abs_error):
                break
            memcpy(mem.vectors, xs + example * F, F * sizeof(double))
            mem.scalars[0] = label
            run_instructions(learn_code, n_learn, &mem, &rng)
    return step, _rng_state(&rng)


def predict_program(predict, features, scalars, vectors, matrices, rng_state):
    """Raw s1 of Predict on each row of `features` (n, F), in order, from the given memory (changed in place)
    and a copy of `rng_state`: what the executor's validation computes before the sigmoid."""
    cdef Memory mem
    cdef int F = _bind_memory(&mem, scalars, vectors, matrices)
    code = _code(predict, &mem, "predict")
    x = _features(features, F)
    cdef MT19937 rng
    _set_rng_state(&rng, rng_state)
    cdef int64_t n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] out_view = out
    cdef const double[:, ::1] x_view = x
    cdef const Instruction[::1] code_view = code
    cdef double* s1 = &out_view[0] if n else NULL
    cdef const Instruction* predict_code = first_instruction(code_view)
    cdef int32_t n_predict = code_view.shape[0]
    cdef const double* xs = &x_view[0, 0] if n else NULL
    cdef int64_t k
    with nogil:
        for k in range(n):
            memcpy(mem.vectors, xs + k * F, F * sizeof(double))
            mem.scalars[0] = 0.0
            run_instructions(predict_code, n_predict, &mem, &rng)
            s1[k] = mem.scalars[1]
    return out


cdef object _rng_state(MT19937* rng):
    state = np.empty(RNG_STATE_WORDS, dtype=np.uint32)
    cdef uint32_t[::1] words = state
    memcpy(&words[0], rng.state, 624 * sizeof(uint32_t))
    words[624] = <uint32_t> rng.index
    return state


cdef void _set_rng_state(MT19937* rng, object state) except *:
    words = np.ascontiguousarray(state, dtype=np.uint32)
    if words.shape != (RNG_STATE_WORDS,) or words[624] > 624:
        raise ValueError(f"rng state must be {RNG_STATE_WORDS} uint32 words with a position <= 624")
    cdef const uint32_t[::1] view = words
    memcpy(rng.state, &view[0], 624 * sizeof(uint32_t))
    rng.index = <int> view[624]
