"""A user's own data: npz/csv sources build pair-classification and regression tasks, one-line errors on bad
input, searches on such a folder, digits_binary's first-use build into the user cache, `azero presets`."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from azero import cli, presets
from azero.config import SearchConfig
from azero.datasets import DatasetError, build_user_datasets, select_pair_and_seed
from azero.tasks import TaskSpec, make_tasks, task_seeds

REPO = Path(__file__).resolve().parents[1]
SPLITS = ("train", "valid", "test")


def run_cli(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run([sys.executable, "-m", "azero", *args], capture_output=True, text=True,
                              timeout=timeout, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def known_data() -> tuple[np.ndarray, np.ndarray]:
    """30 rows, 3 features, 3 classes named c, a, b (10 each, interleaved), features exact in decimal."""
    rows = np.arange(30)
    features = np.column_stack([rows * 0.5, (rows % 7) - 3.0, np.sqrt(rows + 1.0).round(3)])
    labels = np.array(["c", "a", "b"] * 10)
    return features, labels


def write_csv(path: Path, features: np.ndarray, labels, header=("f0", "f1", "f2", "kind")) -> Path:
    lines = [",".join(header)] + [",".join(repr(float(v)) for v in x) + f",{y}" for x, y in zip(features, labels)]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_splits(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    with h5py.File(path, "r") as f:
        return {s: (f[f"{s}_features"][()], f[f"{s}_labels"][()]) for s in SPLITS}


def expected_splits(x: np.ndarray, targets: np.ndarray, seed: int, dim: int, sizes, stratify: bool):
    """The documented procedure written out: two train_test_splits, RandomState(seed).randn(D, dim), the train
    split's mean and population std."""
    n_train, n_valid, n_test = sizes
    idx = np.arange(len(targets))
    trainval, test = train_test_split(idx, train_size=n_train + n_valid, test_size=n_test, random_state=seed,
                                      stratify=targets if stratify else None)
    train, valid = train_test_split(trainval, train_size=n_train, test_size=n_valid, random_state=seed,
                                    stratify=targets[trainval] if stratify else None)
    weights = np.random.RandomState(seed).randn(x.shape[1], dim)
    parts = {"train": train, "valid": valid, "test": test}
    train_projected = x[train] @ weights
    mean, std = train_projected.mean(axis=0), train_projected.std(axis=0)
    return {s: (((x[r] @ weights - mean) / std).astype(np.float32), r) for s, r in parts.items()}


# ------------------------------------------------------------------------------------------- classification


def test_csv_builds_pair_tasks_of_known_content(tmp_path):
    features, labels = known_data()
    csv_path = write_csv(tmp_path / "shapes.csv", features, labels)
    out = tmp_path / "out"
    assert cli.main(["datasets", "build", "--source", f"csv:{csv_path}", "--out", str(out), "--label-column",
                     "kind", "--seeds", "0:2", "--dim", "4"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["azero_dataset.json"] + [f"binary_shapes-pos_{p}-neg_{n}-dim_4-seed_{s}.h5"
                                              for p, n in ((0, 1), (0, 2), (1, 2)) for s in (0, 1)]
    manifest = json.loads((out / "azero_dataset.json").read_text())
    assert manifest == {"kind": "classification", "name": "shapes", "source": str(csv_path), "label": "kind",
                        "dim": 4, "seeds": [0, 1], "format_version": 1, "classes": ["a", "b", "c"],
                        "class_counts": [10, 10, 10], "num_train_examples": 12, "num_valid_examples": 4,
                        "num_test_examples": 4}
    # Pair (a, c) = classes (0, 2): the first 10 rows of each, a positive (label 1); 20 rows -> 12/4/4.
    rows = np.concatenate([np.flatnonzero(labels == "a"), np.flatnonzero(labels == "c")])
    pair_labels = np.repeat([1, 0], 10)
    want = expected_splits(features[rows], pair_labels, 1, 4, (12, 4, 4), stratify=True)
    got = read_splits(out / "binary_shapes-pos_0-neg_2-dim_4-seed_1.h5")
    for split in SPLITS:
        np.testing.assert_array_equal(got[split][0], want[split][0])
        np.testing.assert_array_equal(got[split][1], pair_labels[want[split][1]].astype(np.float32))
    assert np.count_nonzero(got["train"][1]) == 6   # stratified


def test_npz_and_csv_with_the_same_content_build_the_same_files(tmp_path):
    features, labels = known_data()
    write_csv(tmp_path / "same.csv", features, labels)
    np.savez(tmp_path / "same.npz", X=features, y=labels)
    build_user_datasets(f"csv:{tmp_path / 'same.csv'}", tmp_path / "a", seeds=[3], dim=8)
    build_user_datasets(f"npz:{tmp_path / 'same.npz'}", tmp_path / "b", seeds=[3], dim=8)
    files = sorted(p.name for p in (tmp_path / "a").glob("*.h5"))
    assert files == sorted(p.name for p in (tmp_path / "b").glob("*.h5")) and len(files) == 3
    for name in files:
        a, b = read_splits(tmp_path / "a" / name), read_splits(tmp_path / "b" / name)
        for split in SPLITS:
            np.testing.assert_array_equal(a[split][0], b[split][0])
            np.testing.assert_array_equal(a[split][1], b[split][1])


def test_random_pairs_come_from_the_folders_classes(tmp_path):
    """A user's folder with k < 10 classes: random pairs among its k classes (the manifest says k)."""
    features, labels = known_data()
    np.savez(tmp_path / "three.npz", X=features, y=labels)
    build_user_datasets(f"npz:{tmp_path / 'three.npz'}", tmp_path / "data", seeds=range(2), dim=4)
    spec = TaskSpec(kind="projected_binary_classification", features_size=4, num_train_examples=12,
                    num_valid_examples=4, num_tasks=30, dataset_name="three", path=str(tmp_path / "data"),
                    max_supported_data_seed=2)
    picks = {select_pair_and_seed(spec, data_seed)[:2] for _, data_seed in task_seeds(spec)}
    assert picks == {(0, 1), (0, 2), (1, 2)}
    tasks = make_tasks(spec)
    assert [t.features_size for t in tasks] == [4] * 30
    assert {tuple(t.train_labels.shape) for t in tasks} == {(12,)}


# ------------------------------------------------------------------------------------------- regression


def test_npz_regression_builds_standardised_target_tasks(tmp_path):
    x = np.random.RandomState(5).randn(50, 6)
    y = x @ np.arange(1.0, 7.0) + 10.0
    np.savez(tmp_path / "lin.npz", X=x, y=y)
    out = tmp_path / "reg"
    assert cli.main(["datasets", "build", "--source", f"npz:{tmp_path / 'lin.npz'}", "--out", str(out),
                     "--task", "regression", "--seeds", "4:6", "--dim", "8", "--name", "linear"]) == 0
    assert sorted(p.name for p in out.glob("*.h5")) == ["regression_linear-dim_8-seed_4.h5",
                                                        "regression_linear-dim_8-seed_5.h5"]
    manifest = json.loads((out / "azero_dataset.json").read_text())
    assert (manifest["kind"], manifest["num_train_examples"], manifest["num_valid_examples"],
            manifest["num_test_examples"]) == ("regression", 30, 10, 10)
    want = expected_splits(x, y, 5, 8, (30, 10, 10), stratify=False)
    got = read_splits(out / "regression_linear-dim_8-seed_5.h5")
    train_y = y[want["train"][1]]
    for split in SPLITS:
        np.testing.assert_array_equal(got[split][0], want[split][0])
        np.testing.assert_array_equal(got[split][1], ((y[want[split][1]] - train_y.mean()) / train_y.std())
                                      .astype(np.float32))
    # The projected_regression kind reads them: file seed = 4 + data_seed mod 2.
    spec = TaskSpec(kind="projected_regression", features_size=8, num_train_examples=30, num_valid_examples=10,
                    num_tasks=2, data_seeds=[7, 8], dataset_name="linear", path=str(out), min_supported_data_seed=4,
                    max_supported_data_seed=6)
    first, second = make_tasks(spec)
    assert first.eval_type == "rms_error"
    np.testing.assert_array_equal(first.train_features, got["train"][0].astype(np.float64))
    np.testing.assert_array_equal(second.valid_labels, read_splits(out / "regression_linear-dim_8-seed_4.h5")
                                  ["valid"][1].astype(np.float64))


USER_CONFIG = """
dataset_dir = "{folder}"
num_scalars = 4
num_vectors = 3
num_matrices = 1
setup_ops = ["SCALAR_CONST_SET_OP", "VECTOR_GAUSSIAN_SET_OP"]
predict_ops = ["VECTOR_INNER_PRODUCT_OP"]
learn_ops = ["SCALAR_DIFF_OP", "SCALAR_PRODUCT_OP", "SCALAR_VECTOR_PRODUCT_OP", "VECTOR_SUM_OP"]
setup_size_init = 2
predict_size_init = 1
learn_size_init = 4
population_size = 20
tournament_size = 5
initial_population = "RANDOM_ALGORITHM"
max_train_steps = 100_000
allowed_mutation_types = ["ALTER_PARAM", "RANDOMIZE_INSTRUCTION"]
mutate_prob = 0.9
progress_every = 200
max_experiments = 1
random_seed = 7

"""


def user_config(folder: Path, kind: str, train: int, valid: int) -> str:
    """USER_CONFIG with its three task lists on the dataset "mine" in `folder`, alike but for num_tasks and the
    fixed data seeds of the select and final lists."""
    lists = [("search_tasks", 4, ""), ("select_tasks", 2, "data_seeds = [21001]\n"),
             ("final_tasks", 2, "data_seeds = [31001]\n")]
    return USER_CONFIG.format(folder=folder) + "".join(f"""
[[{name}]]
kind = "{kind}"
dataset_name = "mine"
features_size = 4
num_train_examples = {train}
num_valid_examples = {valid}
num_tasks = {num_tasks}
{data_seeds}max_supported_data_seed = 2
""" for name, num_tasks, data_seeds in lists)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_search_runs_on_a_users_folder(tmp_path, task):
    features, labels = known_data()
    targets = labels if task == "classification" else features @ np.array([1.0, -2.0, 0.5])
    write_csv(tmp_path / "mine.csv", features, targets)
    folder = tmp_path / "data"
    build = run_cli("datasets", "build", "--source", f"csv:{tmp_path / 'mine.csv'}", "--out", str(folder),
                    "--task", task, "--seeds", "0:2", "--dim", "4")
    assert build.returncode == 0, build.stderr
    kind = "projected_binary_classification" if task == "classification" else "projected_regression"
    train, valid = (12, 4) if task == "classification" else (18, 6)
    assert build.stdout.splitlines()[-1] == (
        f'task spec: kind = "{kind}", dataset_name = "mine", features_size = 4, num_train_examples <= {train}, '
        f"num_valid_examples <= {valid}, max_supported_data_seed = 2")
    config = tmp_path / "mine.toml"
    config.write_text(user_config(folder, kind, train, valid))
    cfg = SearchConfig.from_toml(config)
    assert {spec.path for spec in cfg.search_tasks + cfg.select_tasks + cfg.final_tasks} == {str(folder)}
    proc = run_cli("search", str(config), "--no-store")
    assert proc.returncode == 0, proc.stderr
    assert "Final evaluation fitness (on unseen data) = " in proc.stdout


# ------------------------------------------------------------------------------------------- bad input


def build_error(capsys, *args: str) -> str:
    assert cli.main(["datasets", "build", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_bad_user_files_give_one_line_errors(tmp_path, capsys):
    out = str(tmp_path / "out")
    features, labels = known_data()
    csv_path = write_csv(tmp_path / "d.csv", features, labels)

    text = csv_path.read_text().splitlines()
    text[5] = text[5].replace("2.0,", "nan,", 1)
    (tmp_path / "nan.csv").write_text("\n".join(text) + "\n")
    assert build_error(capsys, "--source", f"csv:{tmp_path / 'nan.csv'}", "--out", out) == (
        f"azero datasets: error: {tmp_path / 'nan.csv'}: line 6, column 'f0': nan "
        "(NaN and infinite values are not allowed)\n")

    bad_x = features.copy()
    bad_x[7, 2] = np.inf
    np.savez(tmp_path / "inf.npz", X=bad_x, y=labels)
    assert build_error(capsys, "--source", f"npz:{tmp_path / 'inf.npz'}", "--out", out) == (
        f"azero datasets: error: {tmp_path / 'inf.npz'}: X row 7 column 2 is inf "
        "(NaN and infinite values are not allowed)\n")

    text = csv_path.read_text().splitlines()
    text[3] = text[3].replace(",", ",red,", 1).replace(",", "", 1)
    (tmp_path / "word.csv").write_text("\n".join(text) + "\n")
    assert build_error(capsys, "--source", f"csv:{tmp_path / 'word.csv'}", "--out", out) == (
        f"azero datasets: error: {tmp_path / 'word.csv'}: column 'f0' is not numeric (line 4: '1.0red')\n")

    assert build_error(capsys, "--source", f"csv:{csv_path}", "--out", out, "--label-column", "species") == (
        f"azero datasets: error: {csv_path}: no label column 'species' (columns: f0, f1, f2, kind)\n")

    np.savez(tmp_path / "unlabelled.npz", X=features)
    assert build_error(capsys, "--source", f"npz:{tmp_path / 'unlabelled.npz'}", "--out", out) == (
        f"azero datasets: error: {tmp_path / 'unlabelled.npz'}: no array 'y' (the file holds X; expected X "
        "(rows x features) and y (labels))\n")

    write_csv(tmp_path / "one.csv", features, ["same"] * 30)
    assert build_error(capsys, "--source", f"csv:{tmp_path / 'one.csv'}", "--out", out) == (
        f"azero datasets: error: {tmp_path / 'one.csv'}: label column 'kind' has fewer than 2 classes ('same'); "
        "classification needs at least 2\n")

    write_csv(tmp_path / "few.csv", features[:6], labels[:6])
    assert build_error(capsys, "--source", f"csv:{tmp_path / 'few.csv'}", "--out", out) == (
        f"azero datasets: error: {tmp_path / 'few.csv'}: pair ('a', 'b'): too few rows (4) for the splits: the "
        "valid split gets 0, it needs at least 2\n")

    assert build_error(capsys, "--source", f"csv:{csv_path}", "--out", out, "--train", "30") == (
        f"azero datasets: error: {csv_path}: pair ('a', 'b'): too few rows (20) for 30 train + 4 valid + 4 test\n")

    assert build_error(capsys, "--source", f"csv:{csv_path}", "--out", out, "--task", "regression") == (
        f"azero datasets: error: {csv_path}: label column 'kind' is not numeric; regression needs a numeric "
        "target\n")
    assert build_error(capsys, "--source", f"csv:{tmp_path / 'none.csv'}", "--out", out) == (
        f"azero datasets: error: {tmp_path / 'none.csv'}: no such file\n")
    assert build_error(capsys, "--source", "digits", "--out", out, "--label-column", "y") == (
        "azero datasets: error: --label-column is for npz:FILE and csv:FILE sources, not 'digits'\n")
    assert not (tmp_path / "out").exists()


def test_more_than_ten_classes_is_an_error(tmp_path):
    np.savez(tmp_path / "many.npz", X=np.arange(66.0).reshape(33, 2), y=np.arange(33) % 11)
    with pytest.raises(DatasetError, match=r"many\.npz: label column 'y' has 11 classes; the binary pair tasks "
                                           r"support at most 10 \(for a numeric target use --task regression\)$"):
        build_user_datasets(f"npz:{tmp_path / 'many.npz'}", tmp_path / "out")


# ------------------------------------------------------------------------------------------- digits, presets


def test_digits_binary_builds_its_data_into_the_user_cache_on_first_use(tmp_path):
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    program = tmp_path / "linear.txt"
    program.write_text("def Setup():\n  s2 = 0.01\ndef Predict():\n  s1 = dot(v1, v0)\ndef Learn():\n"
                       "  s3 = s0 - s1\n  s3 = s2 * s3\n  v2 = s3 * v0\n  v1 = v1 + v2\n")
    # --dataset-dir wins: nothing is built, the error names the given folder.
    given = run_cli("eval", str(program), "--tasks", "digits_binary", "--dataset-dir", str(tmp_path / "mine"),
                    env=env)
    assert given.returncode == 2
    assert given.stderr.startswith(f"azero eval: error: dataset folder {tmp_path / 'mine'} does not exist")
    assert not cache.exists()
    first = run_cli("eval", str(program), "--tasks", "digits_binary", "--on", "search", env=env)
    assert first.returncode == 0, first.stderr
    folder = cache / "azero" / "digits"
    assert first.stderr == f"building the digits task files into {folder} (first use; a few seconds, no download)\n"
    assert len(list(folder.glob("binary_digits-pos_*-neg_*-dim_16-seed_*.h5"))) == 450
    second = run_cli("search", "digits_binary", "--max-seconds", "1", "--no-store", env=env)
    assert second.returncode == 0, second.stderr
    assert "building" not in second.stderr
    assert "Final evaluation fitness (on unseen data) = " in second.stdout
    assert first.stdout.splitlines()[1].startswith("program")


def test_presets_prints_one_description_line_per_preset(capsys):
    assert cli.main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == presets.names()
    width = max(len(name) for name in presets.names())
    for name, line in zip(presets.names(), lines):
        description = cli.preset_description(name)
        assert description and line == f"{name:<{width}}  {description}"
        assert len(line) <= 120
    assert cli.preset_description("digits_binary") == (
        "the baseline search, laptop-sized, on projected digit pairs (data built on first use)")
