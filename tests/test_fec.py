"""FEC key hash (libstdc++ std::hash<double> + HashCombine) and the LRU FEC cache (docs/semantics.md §5, A.7)."""
import random
import struct
from collections import OrderedDict

import numpy as np
import pytest

from azero._core.fec import FECache, fec_hash, hash_double

MASK = (1 << 64) - 1


def py_std_hash_double(x: float) -> int:
    """Straightforward model of libstdc++'s std::hash<double> (_Hash_bytes over 8 bytes, seed 0xc70f6907)."""
    if x == 0.0:
        return 0
    mul = 0xC6A4A7935BD1E995
    (data,) = struct.unpack("<Q", struct.pack("<d", x))
    h = 0xC70F6907 ^ ((8 * mul) & MASK)
    d = (data * mul) & MASK
    d = ((d ^ (d >> 47)) * mul) & MASK
    h = ((h ^ d) * mul) & MASK
    h = ((h ^ (h >> 47)) * mul) & MASK
    return h ^ (h >> 47)


def py_hash_combine(seed: int, value: int) -> int:
    """docs/semantics.md §6.6 HashCombine with 64-bit wrap-around."""
    a, b, c = 0x9E3779B9, seed, value
    for sa, sb, sc in ((43, 9, 8), (38, 23, 5), (35, 49, 11), (12, 18, 22)):
        a = (a - b - c) & MASK
        a ^= c >> sa
        b = (b - c - a) & MASK
        b ^= (a << sb) & MASK
        c = (c - a - b) & MASK
        c ^= b >> sc
    return c


def py_fec_hash(train, valid, task_index, num_train) -> int:
    seed = 42
    for e in list(train) + list(valid):
        seed = py_hash_combine(seed, py_std_hash_double(e))
    seed = py_hash_combine(seed, task_index & MASK)
    return py_hash_combine(seed, num_train & MASK)


VALUES = [1.0, 0.5, -2.5, 3.14159, 1e-300, 100.0, 0.1, 123456.789, 5e-324, float("inf"), 1.7976931348623157e308]


@pytest.mark.parametrize("x", VALUES)
def test_hash_double_matches_python_model(x):
    assert hash_double(x) == py_std_hash_double(x)


def test_hash_double_of_zeros_is_zero():
    assert hash_double(0.0) == 0
    assert hash_double(-0.0) == 0


def test_hash_double_matches_libstdcxx():
    # Printed by `std::hash<double>{}(x)` compiled with g++ 12.2 (libstdc++), x86-64.
    assert hash_double(1.0) == 8386164645967068059
    assert hash_double(0.5) == 15617511457935402772
    assert hash_double(-2.5) == 7597697928323647975
    assert hash_double(100.0) == 12940019449746892838
    assert hash_double(0.1) == 4944624500300936044


def test_fec_hash_matches_python_model():
    rng = random.Random(7)
    for n_train, n_valid in [(0, 0), (1, 0), (10, 10), (100, 100), (3, 7)]:
        train = [abs(rng.gauss(0, 3)) for _ in range(n_train)]
        valid = [abs(rng.gauss(0, 3)) for _ in range(n_valid)]
        for task_index, num_train in [(0, 0), (3, 1000), (9, 10000)]:
            assert fec_hash(train, valid, task_index, num_train) == py_fec_hash(train, valid, task_index, num_train)


def test_fec_hash_depends_on_split_and_order():
    # The split between train and valid errors is not hashed (the reference concatenates), but order is.
    assert fec_hash([1.0, 2.0], [3.0], 0, 10) == fec_hash([1.0], [2.0, 3.0], 0, 10)
    assert fec_hash([2.0, 1.0], [3.0], 0, 10) != fec_hash([1.0, 2.0], [3.0], 0, 10)
    assert fec_hash([1.0], [], 1, 10) != fec_hash([1.0], [], 0, 10)
    assert fec_hash([1.0], [], 0, 0) != fec_hash([1.0], [], 0, 10)


def test_fec_hash_rejects_more_than_100_errors():
    with pytest.raises(ValueError, match="^at most 100 train and valid errors are recorded$"):
        fec_hash([1.0] * 101, [], 0, 10)


def keys_in_order(cache):
    return cache.get_state()[0].tolist()


def test_lru_order_and_hit_moves_to_front():
    cache = FECache(10, 100)
    for k in [1, 2, 3, 4, 5]:
        cache.insert(k, k / 10)
    assert keys_in_order(cache) == [5, 4, 3, 2, 1]
    assert cache.lookup(2) == 0.2
    assert keys_in_order(cache) == [2, 5, 4, 3, 1]
    keys, fitness, counts = cache.get_state()
    assert fitness.tolist() == [0.2, 0.5, 0.4, 0.3, 0.1]
    assert counts.tolist() == [2, 1, 1, 1, 1]
    assert cache.lookup(99) is None
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 5)


def test_eviction_at_capacity_drops_least_recent():
    cache = FECache(3, 100)
    cache.insert(1, 0.1)
    cache.insert(2, 0.2)
    cache.insert(3, 0.3)
    assert cache.lookup(1) == 0.1  # 2 is now the least recent
    cache.insert(4, 0.4)
    assert len(cache) == 3
    assert keys_in_order(cache) == [4, 1, 3]
    assert cache.lookup(2) is None
    cache.insert(5, 0.5)
    assert keys_in_order(cache) == [5, 4, 1]


def test_forget_every_erases_on_the_99th_hit():
    cache = FECache(10, 100)
    cache.insert(7, 0.75)
    for _ in range(99):
        assert cache.lookup(7) == 0.75  # the 99th hit still returns the fitness, then forgets it
    assert len(cache) == 0
    assert cache.lookup(7) is None
    assert (cache.hits, cache.misses) == (99, 1)


def test_forget_every_two():
    cache = FECache(10, 2)
    cache.insert(7, 0.75)
    assert cache.lookup(7) == 0.75
    assert cache.lookup(7) is None


def test_forget_every_zero_never_erases():
    cache = FECache(10, 0)
    cache.insert(7, 0.75)
    for _ in range(1000):
        assert cache.lookup(7) == 0.75
    assert cache.get_state()[2].tolist() == [1001]


def test_insert_existing_key_resets_entry():
    cache = FECache(10, 100)
    cache.insert(1, 0.1)
    cache.insert(2, 0.2)
    cache.lookup(1)
    cache.insert(2, 0.9)
    keys, fitness, counts = cache.get_state()
    assert (keys.tolist(), fitness.tolist(), counts.tolist()) == ([2, 1], [0.9, 0.1], [1, 2])


class ModelCache:
    """Independent model of the reference's LRUCache + FECCache::Find/InsertOrDie."""

    def __init__(self, size, forget_every):
        self.size, self.forget_every, self.d = size, forget_every, OrderedDict()  # last = most recent

    def lookup(self, key):
        if key not in self.d:
            return None
        fitness, count = self.d.pop(key)
        count += 1
        if not (self.forget_every != 0 and count >= self.forget_every):
            self.d[key] = (fitness, count)
        return fitness

    def insert(self, key, fitness):
        self.d.pop(key, None)
        self.d[key] = (fitness, 1)
        while len(self.d) > self.size:
            self.d.popitem(last=False)

    def state(self):
        items = list(self.d.items())[::-1]
        return [k for k, _ in items], [f for _, (f, _) in items], [c for _, (_, c) in items]


def run_ops(caches, rng, n_ops, key_pool):
    for _ in range(n_ops):
        key = rng.choice(key_pool)
        results = [c.lookup(key) for c in caches]
        assert all(r == results[0] for r in results)
        if results[0] is None:
            fitness = rng.random()
            for c in caches:
                c.insert(key, fitness)


@pytest.mark.parametrize("size,forget_every,pool", [(8, 5, 20), (50, 0, 80), (64, 100, 64), (3, 3, 1000)])
def test_matches_model_under_random_traffic(size, forget_every, pool):
    rng = random.Random(size * 1000 + pool)
    # Keys from a small pool plus large keys sharing low and high bits, so probe chains collide and erase
    # has to shift entries back.
    key_pool = [rng.getrandbits(64) for _ in range(pool // 2)] + [((i % 64) << 58) | i for i in range(pool - pool // 2)]
    cache, model = FECache(size, forget_every), ModelCache(size, forget_every)
    run_ops([cache, model], rng, 20000, key_pool)
    keys, fitness, counts = cache.get_state()
    assert (keys.tolist(), fitness.tolist(), counts.tolist()) == tuple(model.state())
    assert len(cache) == len(model.d)


def test_state_round_trip_rebuilds_lru_order():
    rng = random.Random(3)
    key_pool = [rng.getrandbits(64) for _ in range(40)]
    cache = FECache(16, 6)
    run_ops([cache], rng, 500, key_pool)
    state = cache.get_state()
    restored = FECache(16, 6)
    restored.set_state(*state)
    for a, b in zip(restored.get_state(), state):
        assert a.dtype == b.dtype
        assert a.tolist() == b.tolist()
    # Both continue identically (same hits, same evictions, same order).
    run_ops([cache, restored], random.Random(4), 500, key_pool)
    for a, b in zip(restored.get_state(), cache.get_state()):
        assert a.tolist() == b.tolist()


def test_set_state_rejects_bad_input():
    cache = FECache(4, 100)
    with pytest.raises(ValueError, match="^duplicate keys in the cache state$"):
        cache.set_state(np.array([1, 1], dtype=np.uint64), np.zeros(2), np.ones(2, dtype=np.int64))
    assert len(cache) == 0
    with pytest.raises(ValueError, match="^5 entries exceed the cache size 4$"):
        cache.set_state(np.arange(5, dtype=np.uint64), np.zeros(5), np.ones(5, dtype=np.int64))
    with pytest.raises(ValueError, match="^count 100 out of range for forget_every=100$"):
        cache.set_state(np.array([1], dtype=np.uint64), np.zeros(1), np.array([100]))


def test_constructor_checks():
    with pytest.raises(ValueError, match=r"^cache_size must be in 2 \.\. 2\*\*29 - 1, got 1$"):
        FECache(1, 100)
    with pytest.raises(ValueError, match=r"^forget_every must be 0 \(never\) or > 1, got 1$"):
        FECache(10, 1)
    cache = FECache()
    assert (cache.capacity, cache.forget_every) == (100000, 100)
