"""Projected binary datasets (docs/semantics.md §7.5): builder on sources in their real formats, loader, one-line errors."""
import gzip
import pickle
import struct
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from azero import datasets
from azero.datasets import DatasetError, build_datasets, load_projected_task, read_idx, select_pair_and_seed

RECOMMENDED_HELD_OUT = [(4, 6), (3, 5), (8, 9), (3, 8), (0, 9), (2, 9), (1, 8), (3, 6), (0, 5)]


# ------------------------------------------------------------------------------------------- helpers


def write_cifar(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """CIFAR-10 python batches: the rows split over data_batch_1..5 in order, plus a test_batch."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (chunk_x, chunk_y) in enumerate(zip(np.array_split(images, 5), np.array_split(labels, 5)), start=1):
        batch = {b"batch_label": f"training batch {i} of 5".encode(), b"labels": [int(v) for v in chunk_y],
                 b"data": chunk_x, b"filenames": [f"img_{i}_{k}.png".encode() for k in range(len(chunk_y))]}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch, protocol=2))
    test = {b"batch_label": b"testing batch 1 of 1", b"labels": [0, 1], b"data": images[:2], b"filenames": []}
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=2))


def idx_bytes(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    header = bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(folder: Path, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def random_images(seed: int, n: int, shape: tuple[int, ...], num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8), rng.integers(0, num_classes, n).astype(np.uint8)


def expected_splits(raw, source_labels, pos, neg, per_class, seed, dim, n_train, n_valid, n_test):
    """The reference procedure computed directly on the data arrays, with numpy and sklearn."""
    rows_pos = np.flatnonzero(source_labels == pos)[:per_class]
    rows_neg = np.flatnonzero(source_labels == neg)[:per_class]
    x = np.concatenate([raw[rows_pos], raw[rows_neg]]).reshape(2 * per_class, -1).astype(np.float64)
    y = np.concatenate([np.ones(per_class), np.zeros(per_class)])
    x_tv, x_test, y_tv, y_test = train_test_split(x, y, train_size=n_train + n_valid, test_size=n_test,
                                                  random_state=seed, stratify=y)
    x_train, x_valid, y_train, y_valid = train_test_split(x_tv, y_tv, train_size=n_train, test_size=n_valid,
                                                          random_state=seed, stratify=y_tv)
    projection = np.random.RandomState(seed).randn(x.shape[1], dim)
    p_train, p_valid, p_test = x_train @ projection, x_valid @ projection, x_test @ projection
    mean = p_train.mean(axis=0)
    std = np.sqrt(((p_train - mean) ** 2).mean(axis=0))
    return {"train": ((p_train - mean) / std, y_train), "valid": ((p_valid - mean) / std, y_valid),
            "test": ((p_test - mean) / std, y_test)}


def read_file(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    with h5py.File(path, "r") as handle:
        return {name: handle[name][()] for name in handle}, dict(handle.attrs)


def check_file(path: Path, expected: dict, pos: int, neg: int, seed: int, dim: int, source: str) -> None:
    stored, attrs = read_file(path)
    assert sorted(stored) == sorted(f"{s}_{k}" for s in ("train", "valid", "test") for k in ("features", "labels"))
    for split, (features, labels) in expected.items():
        assert stored[f"{split}_features"].dtype == np.float32
        assert stored[f"{split}_labels"].dtype == np.float32
        assert stored[f"{split}_features"].shape == (labels.shape[0], dim)
        np.testing.assert_array_equal(stored[f"{split}_labels"], labels.astype(np.float32))
        np.testing.assert_allclose(stored[f"{split}_features"], features, rtol=1e-5, atol=1e-5)
    train = stored["train_features"].astype(np.float64)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=0), 1.0, rtol=1e-5)
    assert (attrs["source"], attrs["pos"], attrs["neg"], attrs["dim"], attrs["seed"]) == (source, pos, neg, dim,
                                                                                          seed)
    assert attrs["format_version"] == datasets.FORMAT_VERSION


def raises(fragments: list[str], func, *args, **kwargs) -> str:
    """Call func expecting a one-line DatasetError that contains every fragment."""
    with pytest.raises(DatasetError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def projected_spec(path, pos=0, neg=1, lo=0, hi=3, dim=16, held_out=(), name="digits"):
    return SimpleNamespace(positive_class=pos, negative_class=neg, dataset_name=name, path=str(path),
                           held_out_pairs=list(held_out), min_supported_data_seed=lo, max_supported_data_seed=hi,
                           features_size=dim)


# ------------------------------------------------------------------------------------------- builder


def test_cifar10_pickle_batches(tmp_path):
    images, labels = random_images(1, 300, (3072,), 3)
    write_cifar(tmp_path / "src" / "cifar-10-batches-py", images, labels)
    calls = []
    paths = build_datasets("cifar10", tmp_path / "out", source_dir=tmp_path / "src", seeds=[0, 7], dim=5,
                           num_train=40, num_valid=12, num_test=10, per_class=35,
                           progress=lambda done, total: calls.append((done, total)))
    assert [p.name for p in paths] == [f"binary_cifar10-pos_{a}-neg_{b}-dim_5-seed_{s}.h5"
                                       for a, b in ((0, 1), (0, 2), (1, 2)) for s in (0, 7)]
    assert calls == [(i, 6) for i in range(1, 7)]
    for path in paths:
        _, attrs = read_file(path)
        pos, neg, seed = int(attrs["pos"]), int(attrs["neg"]), int(attrs["seed"])
        expected = expected_splits(images, labels, pos, neg, 35, seed, 5, 40, 12, 10)
        check_file(path, expected, pos, neg, seed, 5, "cifar10")
        assert attrs["per_class"] == 35
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


@pytest.mark.parametrize("source,gz", [("mnist", False), ("fashion_mnist", True)])
def test_idx_sources(tmp_path, source, gz):
    images, labels = random_images(2, 200, (28, 28), 4)
    write_idx(tmp_path / "src", images, labels, gz)
    (path,) = build_datasets(source, tmp_path / "out", source_dir=tmp_path / "src", pairs=[(3, 1)], seeds=[4],
                             dim=7, num_train=30, num_valid=8, num_test=6, per_class=25)
    assert path.name == f"binary_{source}-pos_1-neg_3-dim_7-seed_4.h5"
    check_file(path, expected_splits(images, labels, 1, 3, 25, 4, 7, 30, 8, 6), 1, 3, 4, 7, source)


def test_constant_features_keep_scale_one(tmp_path):
    labels = np.repeat(np.arange(2, dtype=np.uint8), 30)
    write_idx(tmp_path / "src", np.zeros((60, 4, 4), np.uint8), labels, gz=False)
    (path,) = build_datasets("mnist", tmp_path / "out", source_dir=tmp_path / "src", seeds=[0], dim=3,
                             num_train=20, num_valid=10, num_test=10, per_class=30)
    stored, _ = read_file(path)
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(stored[f"{split}_features"], 0.0)
    assert stored["train_labels"].sum() == 10 and stored["valid_labels"].sum() == 5


def test_reference_default_sizes_need_enough_examples(tmp_path):
    images, labels = random_images(3, 100, (28, 28), 2)
    write_idx(tmp_path / "src", images, labels, gz=False)
    available = int(np.count_nonzero(labels == 0))
    raises([f"only {available} train examples of class 0", "per_class=5000"], build_datasets, "mnist",
           tmp_path / "out", source_dir=tmp_path / "src", seeds=[0])


def test_digits_default_sizes(tmp_path):
    digits = load_digits()
    paths = build_datasets("digits", tmp_path, pairs=[(8, 3), (0, 1)], seeds=[0, 1])
    assert [p.name for p in paths] == ["binary_digits-pos_3-neg_8-dim_16-seed_0.h5",
                                       "binary_digits-pos_3-neg_8-dim_16-seed_1.h5",
                                       "binary_digits-pos_0-neg_1-dim_16-seed_0.h5",
                                       "binary_digits-pos_0-neg_1-dim_16-seed_1.h5"]
    # (3, 8): 174 of class 8 -> 348 examples -> 210 / 69 / 69; (0, 1): 178 of class 0 -> 356 -> 214 / 71 / 71.
    for path, (pos, neg, seed, per_class, n_train, n_eval) in zip(
            paths, [(3, 8, 0, 174, 210, 69), (3, 8, 1, 174, 210, 69), (0, 1, 0, 178, 214, 71),
                    (0, 1, 1, 178, 214, 71)]):
        expected = expected_splits(digits.data, digits.target, pos, neg, per_class, seed, 16, n_train, n_eval,
                                   n_eval)
        check_file(path, expected, pos, neg, seed, 16, "digits")
        assert read_file(path)[1]["per_class"] == per_class


def test_digits_explicit_sizes(tmp_path):
    digits = load_digits()
    (path,) = build_datasets("digits", tmp_path, pairs=[(2, 7)], seeds=[5], dim=3, num_train=100, num_valid=30,
                             num_test=20, per_class=90)
    check_file(path, expected_splits(digits.data, digits.target, 2, 7, 90, 5, 3, 100, 30, 20), 2, 7, 5, 3,
               "digits")


def test_same_seed_identical_different_seed_different(tmp_path):
    a = build_datasets("digits", tmp_path / "a", pairs=[(4, 9)], seeds=[3, 4])
    b = build_datasets("digits", tmp_path / "b", pairs=[(4, 9)], seeds=[3])
    same_a, _ = read_file(a[0])
    same_b, _ = read_file(b[0])
    other, _ = read_file(a[1])
    for name in same_a:
        np.testing.assert_array_equal(same_a[name], same_b[name])
    assert not np.array_equal(same_a["train_features"], other["train_features"])
    assert not np.array_equal(same_a["test_labels"], other["test_labels"])


def test_existing_files_skipped_unless_overwrite(tmp_path):
    (path,) = build_datasets("digits", tmp_path, pairs=[(0, 1)], seeds=[0])
    original, _ = read_file(path)
    with h5py.File(path, "a") as handle:
        handle.attrs["marker"] = 1
    assert build_datasets("digits", tmp_path, pairs=[(0, 1)], seeds=[0]) == [path]
    assert read_file(path)[1]["marker"] == 1
    build_datasets("digits", tmp_path, pairs=[(0, 1)], seeds=[0], overwrite=True)
    rebuilt, attrs = read_file(path)
    assert "marker" not in attrs
    for name in original:
        np.testing.assert_array_equal(original[name], rebuilt[name])


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        build_datasets("digits", tmp_path, pairs=[(0, 1)], seeds=[0])
    assert list(tmp_path.iterdir()) == []


def test_read_idx_types_and_gzip(tmp_path):
    ints = (np.arange(24).reshape(2, 3, 4) - 5).astype(">i4")
    floats = np.linspace(-1, 1, 6).reshape(3, 2).astype(">f8")
    (tmp_path / "ints").write_bytes(idx_bytes(ints, 0x0C))
    (tmp_path / "floats.gz").write_bytes(gzip.compress(idx_bytes(floats, 0x0E)))
    np.testing.assert_array_equal(read_idx(tmp_path / "ints"), ints)
    np.testing.assert_array_equal(read_idx(tmp_path / "floats.gz"), floats)


def test_builder_errors(tmp_path, monkeypatch):
    images, labels = random_images(5, 120, (3072,), 3)
    cifar = tmp_path / "cifar"
    write_cifar(cifar, images, labels)
    small = dict(seeds=[0], num_train=20, num_valid=6, num_test=6, per_class=20)
    out = tmp_path / "out"
    raises(["unknown dataset source 'svhn'"], build_datasets, "svhn", out)
    raises(["needs a source folder"], build_datasets, "cifar10", out)
    raises([str(tmp_path / "nowhere"), "does not exist"], build_datasets, "mnist", out,
           source_dir=tmp_path / "nowhere")
    raises(["bundled with scikit-learn"], build_datasets, "digits", out, source_dir=cifar)
    raises(["pair (1, 1)"], build_datasets, "cifar10", out, source_dir=cifar, pairs=[(1, 1)], **small)
    raises(["class 5 is not in the cifar10 train split"], build_datasets, "cifar10", out, source_dir=cifar,
           pairs=[(0, 5)], **small)
    raises(["pair (0, 1, 2) must hold exactly two classes"], build_datasets, "cifar10", out, source_dir=cifar,
           pairs=[(0, 1, 2)], **small)
    raises(["seed -1"], build_datasets, "digits", out, seeds=[-1])
    raises(["per_class=0 must be positive"], build_datasets, "digits", out, seeds=[0], per_class=0)
    raises(["dim=0"], build_datasets, "digits", out, seeds=[0], dim=0)
    raises(["num_test=1", "at least 2"], build_datasets, "digits", out, pairs=[(0, 1)], seeds=[0], num_test=1)
    raises(["digits has only 174 train examples of class 8", "per_class=175"], build_datasets, "digits", out,
           pairs=[(0, 8)], seeds=[0], per_class=175)
    raises(["= 361 exceeds the 360 examples of pair (1, 3)"], build_datasets, "digits", out, pairs=[(3, 1)],
           seeds=[0], per_class=180, num_train=300, num_valid=31, num_test=30)
    raises(["= 357 exceeds the 356 examples"], build_datasets, "digits", out, pairs=[(1, 0)], seeds=[0],
           num_train=215)
    assert not out.exists()

    (cifar / "data_batch_3").write_bytes(b"not a pickle")
    raises([str(cifar / "data_batch_3"), "not a CIFAR-10 pickle batch"], build_datasets, "cifar10", out,
           source_dir=cifar, **small)
    (cifar / "data_batch_3").write_bytes(pickle.dumps({b"data": images[:4, :100], b"labels": [0, 1, 2, 0]}))
    raises([str(cifar / "data_batch_3"), "(4, 100)", "expected (n, 3072) uint8"], build_datasets, "cifar10", out,
           source_dir=cifar, **small)
    (cifar / "data_batch_3").write_bytes(pickle.dumps({b"data": images[:4], b"labels": [0, 1, 2]}))
    raises([str(cifar / "data_batch_3"), "3 labels for 4 images"], build_datasets, "cifar10", out,
           source_dir=cifar, **small)
    (cifar / "data_batch_3").write_bytes(pickle.dumps({b"labels": [0]}))
    raises([str(cifar / "data_batch_3"), "lacks the b'data'/b'labels'"], build_datasets, "cifar10", out,
           source_dir=cifar, **small)
    (cifar / "data_batch_3").unlink()
    raises(["missing CIFAR-10 batch file", str(cifar / "data_batch_3")], build_datasets, "cifar10", out,
           source_dir=cifar, **small)

    idx = tmp_path / "idx"
    images28, labels28 = random_images(6, 50, (28, 28), 2)
    write_idx(idx, images28, labels28, gz=True)
    (idx / "train-labels-idx1-ubyte.gz").unlink()
    raises(["missing IDX file", str(idx / "train-labels-idx1-ubyte")], build_datasets, "mnist", out,
           source_dir=idx, **small)
    (idx / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 49) + bytes(50))
    raises([str(idx / "train-labels-idx1-ubyte"), "declares shape (49,)", "holds 50"], build_datasets, "mnist",
           out, source_dir=idx, **small)
    (idx / "train-labels-idx1-ubyte").write_bytes(b"\x08\x03\x00\x01" + bytes(50))
    raises([str(idx / "train-labels-idx1-ubyte"), "bad magic number"], build_datasets, "mnist", out,
           source_dir=idx, **small)
    (idx / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels28[:40]))
    raises([str(idx / "train-labels-idx1-ubyte"), "(40,)", "expected (50,)"], build_datasets, "mnist", out,
           source_dir=idx, **small)
    (idx / "train-images-idx3-ubyte.gz").write_bytes(b"truncated gzip")
    raises(["cannot read IDX file", str(idx / "train-images-idx3-ubyte.gz")], build_datasets, "mnist", out,
           source_dir=idx, **small)

    monkeypatch.setitem(sys.modules, "sklearn.model_selection", None)
    message = raises(["pip install 'azero[datasets]'"], build_datasets, "digits", out, seeds=[0])
    assert message == "building datasets needs scikit-learn: pip install 'azero[datasets]'"


# ------------------------------------------------------------------------------------------- loader


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    build_datasets("digits", folder, pairs=[(0, 1)], seeds=range(4))
    return folder


def stored_split(folder, pos, neg, seed, n_train, n_valid, dim=16):
    stored, _ = read_file(folder / f"binary_digits-pos_{pos}-neg_{neg}-dim_{dim}-seed_{seed}.h5")
    return (stored["train_features"][:n_train].astype(np.float64), stored["train_labels"][:n_train].astype(np.float64),
            stored["valid_features"][:n_valid].astype(np.float64), stored["valid_labels"][:n_valid].astype(np.float64))


@pytest.mark.parametrize("lo,hi,data_seed,file_seed", [(0, 3, 7, 1), (0, 3, 9, 0), (1, 4, 8, 3), (1, 3, 5, 2),
                                                       (0, 3, 2**32 + 5, 2), (2, 3, 11003, 2)])
def test_explicit_pair_seed_mapping(digits_dir, lo, hi, data_seed, file_seed):
    spec = projected_spec(digits_dir, lo=lo, hi=hi)
    assert select_pair_and_seed(spec, data_seed) == (0, 1, file_seed)
    result = load_projected_task(spec, data_seed, 200, 60)
    for got, want in zip(result, stored_split(digits_dir, 0, 1, file_seed, 200, 60)):
        assert got.dtype == np.float64 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)
    assert [a.shape for a in result] == [(200, 16), (200,), (60, 16), (60,)]


def test_random_pair_selection_avoids_held_out():
    from azero._core.rng import RandomGenerator, hash_mix

    spec = projected_spec("unused", pos=None, neg=None, lo=0, hi=100, held_out=[(b, a) for a, b in
                                                                                RECOMMENDED_HELD_OUT])
    eligible = [(i, j) for i in range(10) for j in range(i + 1, 10) if (i, j) not in RECOMMENDED_HELD_OUT]
    assert len(eligible) == 36
    chosen = set()
    for data_seed in range(400):
        rng = RandomGenerator(hash_mix(856572777, data_seed))
        pair = eligible[rng.uniform_i32(0, 36)]
        expected = (*pair, rng.uniform_i32(0, 100))
        got = select_pair_and_seed(spec, data_seed)
        assert got == expected
        assert got[:2] not in RECOMMENDED_HELD_OUT and 0 <= got[2] < 100
        chosen.add(got[:2])
    assert chosen == set(eligible)
    # Holding out the 36 other pairs leaves exactly the 9 recommended ones.
    final_spec = projected_spec("unused", pos=None, neg=None, lo=0, hi=100,
                                held_out=[p for p in eligible])
    finals = {select_pair_and_seed(final_spec, s)[:2] for s in range(200)}
    assert finals == set(RECOMMENDED_HELD_OUT)


def test_random_pair_load(tmp_path):
    from azero._core.rng import RandomGenerator, hash_mix

    spec = projected_spec(tmp_path, pos=None, neg=None, lo=0, hi=3, held_out=RECOMMENDED_HELD_OUT)
    data_seed = 11001
    pos, neg, seed = select_pair_and_seed(spec, data_seed)
    rng = RandomGenerator(hash_mix(856572777, data_seed))
    eligible = [(i, j) for i in range(10) for j in range(i + 1, 10) if (i, j) not in RECOMMENDED_HELD_OUT]
    assert (pos, neg) == eligible[rng.uniform_i32(0, 36)] and seed == rng.uniform_i32(0, 3)
    build_datasets("digits", tmp_path, pairs=[(pos, neg)], seeds=[seed])
    for got, want in zip(load_projected_task(spec, data_seed, 150, 50), stored_split(tmp_path, pos, neg, seed,
                                                                                     150, 50)):
        np.testing.assert_array_equal(got, want)


def write_custom(path: Path, **arrays) -> None:
    with h5py.File(path, "w") as handle:
        for name in ("train_features", "train_labels", "valid_features", "valid_labels"):
            handle.create_dataset(name, data=arrays.get(name, np.zeros((10, 4) if "features" in name else 10,
                                                                       np.float32)))
        handle.attrs.update(arrays.get("attrs", {}))


def test_loader_errors(digits_dir, tmp_path):
    spec = projected_spec(digits_dir)
    raises([str(tmp_path / "none"), "does not exist"], load_projected_task, projected_spec(tmp_path / "none"), 0,
           10, 10)
    raises(["needs 'path'"], load_projected_task, projected_spec(""), 0, 10, 10)
    raises(["needs 'dataset_name'"], load_projected_task, projected_spec(digits_dir, name=""), 0, 10, 10)
    raises(["both positive_class and negative_class"], load_projected_task, projected_spec(digits_dir, neg=None),
           0, 10, 10)
    raises(["both positive_class and negative_class"], load_projected_task, projected_spec(digits_dir, pos=None),
           0, 10, 10)
    raises(["positive_class=1 must be smaller than negative_class=0"], load_projected_task,
           projected_spec(digits_dir, pos=1, neg=0), 0, 10, 10)
    raises(["max_supported_data_seed=2 must exceed min_supported_data_seed=2"], load_projected_task,
           projected_spec(digits_dir, lo=2, hi=2), 0, 10, 10)
    raises(["every class pair"], load_projected_task,
           projected_spec(digits_dir, pos=None, neg=None, held_out=[(j, i) for i in range(10)
                                                                    for j in range(i + 1, 10)]), 0, 10, 10)
    raises(["missing dataset file", "binary_digits-pos_0-neg_1-dim_16-seed_4.h5", "4 other seeds"],
           load_projected_task, projected_spec(digits_dir, hi=6), 4, 10, 10)
    raises(["binary_digits-pos_2-neg_5-dim_16-seed_0.h5", "pair (2, 5) with dim 16 is not present"],
           load_projected_task, projected_spec(digits_dir, pos=2, neg=5), 0, 10, 10)
    raises(["binary_digits-pos_0-neg_1-dim_8-seed_0.h5", "not present"], load_projected_task,
           projected_spec(digits_dir, dim=8), 0, 10, 10)
    raises(["seed_1.h5", "215 train examples requested, the file has 214"], load_projected_task, spec, 1, 215, 10)
    raises(["seed_1.h5", "72 valid examples requested, the file has 71"], load_projected_task, spec, 1, 10, 72)
    raises(["num_train_examples=0 must be positive"], load_projected_task, spec, 1, 0, 10)

    custom = projected_spec(tmp_path, dim=4, hi=1)
    path = tmp_path / "binary_digits-pos_0-neg_1-dim_4-seed_0.h5"
    path.write_bytes(b"garbage, not HDF5")
    raises(["cannot read dataset file", str(path)], load_projected_task, custom, 0, 5, 5)
    bad_features = np.zeros((10, 4), np.float32)
    bad_features[3, 2] = np.nan
    write_custom(path, valid_features=bad_features)
    raises([str(path), "non-finite value in 'valid_features' row 3"], load_projected_task, custom, 0, 5, 5)
    load_projected_task(custom, 0, 5, 3)  # the NaN row is not copied
    write_custom(path, train_labels=np.array([0, 1, 2, 0, 1, 0, 1, 0, 1, 0], np.float32))
    raises([str(path), "'train_labels' row 2 is 2.0"], load_projected_task, custom, 0, 5, 5)
    write_custom(path, train_features=np.zeros((10, 5), np.float32))
    raises([str(path), "'train_features' has 5 features, features_size is 4"], load_projected_task, custom, 0, 5,
           5)
    write_custom(path, attrs={"dim": 16})
    raises([str(path), "stored dim 16 != features_size 4"], load_projected_task, custom, 0, 5, 5)
    write_custom(path, valid_labels=np.zeros(9, np.float32))
    raises([str(path), "'valid_features' (10, 4) and 'valid_labels' (9,)"], load_projected_task, custom, 0, 5, 5)
    write_custom(path, train_features=np.zeros(10, np.float32))
    raises([str(path), "are not (n, F) and (n,)"], load_projected_task, custom, 0, 5, 5)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("train_features", data=np.zeros((10, 4), np.float32))
    raises([str(path), "dataset 'train_labels' is missing"], load_projected_task, custom, 0, 5, 5)
