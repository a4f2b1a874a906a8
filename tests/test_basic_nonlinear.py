"""The basic_nonlinear preset (issue 10): run_baseline.sh's search on generated teacher-network tasks."""
import dataclasses

from azero import presets
from azero.config import SearchConfig

SAME_AS_BASELINE = {f.name for f in dataclasses.fields(SearchConfig)} - {
    "search_tasks", "select_tasks", "final_tasks", "max_train_steps", "dataset_dir"}


def test_search_settings_are_the_baselines():
    cfg, baseline = presets.load("basic_nonlinear"), presets.load("baseline")
    for name in SAME_AS_BASELINE:
        assert getattr(cfg, name) == getattr(baseline, name), name
    assert cfg.max_train_steps == 200_000_000
    assert cfg.fec is None and cfg.train_budget.threshold_factor == 2.0


def test_tasks_are_teacher_networks_at_f16():
    cfg = presets.load("basic_nonlinear")
    for specs, n_train, n_valid in ((cfg.search_tasks, 8000, 1000), (cfg.select_tasks, 1000, 100),
                                    (cfg.final_tasks, 1000, 100)):
        (spec,) = specs
        assert (spec.kind, spec.features_size, spec.num_tasks, spec.eval_type) == (
            "scalar_2layer_nn_regression", 16, 10, "rms_error")
        assert (spec.num_train_examples, spec.num_valid_examples, spec.num_train_epochs) == (n_train, n_valid, 1)
    assert (list(cfg.final_tasks[0].data_seeds), list(cfg.final_tasks[0].param_seeds)) == ([1000000], [2000000])
    assert list(cfg.search_tasks[0].data_seeds) == list(cfg.select_tasks[0].data_seeds) == []
