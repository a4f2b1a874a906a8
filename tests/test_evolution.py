"""Regularized evolution (docs/semantics.md §9.2–9.4): tournaments, round-robin replacement, random search, in-place writes, restore.

Each generation is checked against a pure-Python replay that draws from a copy of the island's generator:
tournament indices with RandomGenerator.uniform_u32, the child from Mutator.mutate_arrays (or randomize_arrays),
its fitness from a second evaluator built the same way. Equal arrays and equal generator states afterwards mean
the compiled loop consumed exactly the stream docs/semantics.md §6.7 describes.
"""
import dataclasses

import numpy as np
import pytest

import azero.presets
from azero._core import ops
from azero._core.evolution import RegularizedEvolution
from azero._core.rng import RandomGenerator
from azero.population import capacities, initial_model
from azero.search import build_evaluator, build_mutator
from azero.tasks import make_tasks

RANDOM_OPS = [ops.op_code(name) for name in ("SCALAR_GAUSSIAN_SET_OP", "VECTOR_UNIFORM_SET_OP")]


def small_config(**changes):
    """The linear integration preset shrunk: 4 small search tasks, population 20, tournaments of 4."""
    cfg = azero.presets.load("linear_integration")
    spec = dataclasses.replace(cfg.search_tasks[0], num_tasks=4, num_train_examples=30, num_valid_examples=20)
    fields = dict(search_tasks=[spec], population_size=20, tournament_size=4)
    fields.update(changes)
    return cfg.replace(**fields)


def with_random_ops(cfg):
    """Random ops in every component function, so evaluations draw from the island's generator too."""
    return cfg.replace(setup_ops=cfg.setup_ops + RANDOM_OPS, predict_ops=cfg.predict_ops + RANDOM_OPS,
                       learn_ops=cfg.learn_ops + RANDOM_OPS)


def build(cfg, seed, *, hurdles=None, random_search=False):
    """(evolution, evaluator, mutator, rng) as azero.search builds them for the first experiment."""
    rng = RandomGenerator(seed)
    initial, randomize_initial = initial_model(cfg)
    evaluator = build_evaluator(cfg, make_tasks(list(cfg.search_tasks)))
    mutator = build_mutator(cfg)
    evolution = RegularizedEvolution(
        evaluator, mutator, rng, cfg.population_size, cfg.tournament_size,
        (initial.setup, initial.predict, initial.learn), capacities(cfg, initial),
        randomize_initial=randomize_initial, random_search=random_search, hurdles=hurdles)
    return evolution, evaluator, mutator, rng


def model_evaluator(cfg):
    """An independent evaluator over the same tasks (no FEC: its fitness depends on the program only)."""
    return build_evaluator(cfg.replace(fec=None), make_tasks(list(cfg.search_tasks)))


def population(evolution):
    return [evolution.individual(slot) for slot in range(evolution.population_size)]


def same_program(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def replay_generation(evolution, mutator, evaluator, rng):
    """docs/semantics.md §9.2–9.4 generation in Python on copies; returns (programs, fitness, rng, earliest_vs_lowest)."""
    size, tournament = evolution.population_size, evolution.tournament_size
    programs = population(evolution)
    fitness = evolution.fitness.copy()
    rng = rng.copy()
    earliest_differs = 0        # tournaments where "first drawn" and "lowest slot" among the best disagree
    for slot in range(size):
        draws = [rng.uniform_u32(0, size) for _ in range(tournament)]
        winner = draws[0]
        for index in draws[1:]:
            if fitness[index] > fitness[winner]:
                winner = index
        best = fitness[winner]
        if min(i for i in draws if fitness[i] == best) != winner:
            earliest_differs += 1
        child = mutator.mutate_arrays(*programs[winner], rng, 1)
        fitness[slot] = evaluator.evaluate(*child, rng)
        programs[slot] = child
    return programs, fitness, rng, earliest_differs


def test_generation_matches_replay_with_tied_tournaments():
    cfg = with_random_ops(small_config(
        fec=None, mutate_prob=0.7,
        allowed_mutation_types=[ops.ALTER_PARAM, ops.RANDOMIZE_INSTRUCTION, ops.IDENTITY, ops.INSERT_INSTRUCTION,
                                ops.REMOVE_INSTRUCTION, ops.TRADE_INSTRUCTION],
        mutate_setup_size_min=2, mutate_setup_size_max=8, mutate_predict_size_min=1, mutate_predict_size_max=3,
        mutate_learn_size_min=2, mutate_learn_size_max=7))
    evolution, evaluator, mutator, rng = build(cfg, 7)
    evolution.init_population()
    # Few distinct fitness values written in place: most tournaments hold ties.
    evolution.fitness[:] = np.tile([0.25, 0.5, 0.5, 0.125], 5)
    other = model_evaluator(cfg)
    differs = 0
    for generation in range(4):
        programs, fitness, model_rng, earliest_differs = replay_generation(evolution, mutator, other, rng)
        differs += earliest_differs
        evolution.run_generation()
        assert evolution.num_individuals == cfg.population_size * (generation + 2)
        assert np.array_equal(evolution.fitness, fitness)
        assert all(same_program(a, b) for a, b in zip(population(evolution), programs))
        assert np.array_equal(rng.get_state(), model_rng.get_state())
    assert differs > 0   # the replay did exercise the tie rule


def test_population_size_and_layout_are_conserved():
    cfg = small_config(fec=None)
    evolution, _, _, _ = build(cfg, 3)
    other = model_evaluator(cfg)
    arrays = (evolution.programs, evolution.sizes, evolution.fitness)
    shapes = [a.shape for a in arrays]
    evolution.init_population()
    for generation in range(3):
        steps = evolution.run_generation()
        assert steps > 0
        assert [a.shape for a in arrays] == shapes
        assert all(a is b for a, b in zip(arrays, (evolution.programs, evolution.sizes, evolution.fitness)))
        assert evolution.num_individuals == cfg.population_size * (generation + 2)
        rng = RandomGenerator(1)   # no random ops: the program alone decides its fitness
        expected = [other.evaluate(*program, rng) for program in population(evolution)]
        assert np.array_equal(evolution.fitness, expected)
        assert evolution.capacities == capacities(cfg, initial_model(cfg)[0])
        assert evolution.offsets == (0, evolution.capacities[0], sum(evolution.capacities[:2]))
        assert evolution.row_length == sum(evolution.capacities)


def test_random_search_never_mutates_or_tournaments():
    # mutate_prob 1 and ALTER_PARAM: any mutation or tournament would draw from the stream and change programs.
    cfg = small_config(fec=None, mutate_prob=1.0, allowed_mutation_types=[ops.ALTER_PARAM])
    evolution, _, mutator, rng = build(cfg, 11, random_search=True)
    evolution.init_population()
    template = initial_model(cfg)[0]
    for generation in range(3):
        model_rng = rng.copy()
        expected = [mutator.randomize_arrays(template.setup, template.predict, template.learn, model_rng)
                    for _ in range(cfg.population_size)]
        evolution.run_generation()
        assert all(same_program(a, b) for a, b in zip(population(evolution), expected))
        assert np.array_equal(rng.get_state(), model_rng.get_state())
        assert len({p[0].tobytes() for p in expected}) == cfg.population_size   # fresh programs each time


def snapshot(evolution, evaluator, rng):
    fec = evaluator.fec
    return dict(programs=evolution.programs.copy(), sizes=evolution.sizes.copy(), fitness=evolution.fitness.copy(),
                rng=rng.get_state(), steps=evaluator.num_train_steps, fec=fec.get_state(), hits=fec.hits,
                misses=fec.misses, individuals=evolution.num_individuals, best=evolution.best_ever_fitness,
                rejections=evolution.hurdle_rejections, hurdle_state=evolution.hurdle_state())


@pytest.mark.parametrize("hurdles", [None, (60.0, 25, 2)])
def test_restore_round_trip(hurdles):
    cfg = with_random_ops(small_config())
    evolution, evaluator, _, rng = build(cfg, 5, hurdles=hurdles)
    evolution.init_population()
    for _ in range(3):
        evolution.run_generation()
    saved = snapshot(evolution, evaluator, rng)
    for _ in range(3):
        evolution.run_generation()
    after = snapshot(evolution, evaluator, rng)

    resumed, resumed_evaluator, _, resumed_rng = build(cfg, 999, hurdles=hurdles)
    resumed.programs[:] = saved["programs"]
    resumed.sizes[:] = saved["sizes"]
    resumed.fitness[:] = saved["fitness"]
    resumed_rng.set_state(saved["rng"])
    resumed_evaluator.num_train_steps = saved["steps"]
    resumed_evaluator.fec.set_state(*saved["fec"])
    resumed_evaluator.fec.hits, resumed_evaluator.fec.misses = saved["hits"], saved["misses"]
    resumed.restore(saved["individuals"], saved["best"], saved["rejections"])
    if hurdles is not None:
        resumed.set_hurdle_state(*saved["hurdle_state"])
    for _ in range(3):
        resumed.run_generation()
    again = snapshot(resumed, resumed_evaluator, resumed_rng)

    assert after["steps"] > saved["steps"] and after["individuals"] == saved["individuals"] + 60
    for key in ("programs", "sizes", "fitness", "rng", "steps", "hits", "misses", "individuals", "best",
                "rejections"):
        assert np.array_equal(again[key], after[key]), key
    assert all(np.array_equal(a, b) for a, b in zip(again["fec"], after["fec"]))
    if hurdles is None:
        assert again["hurdle_state"] is None and again["rejections"] == 0
    else:
        assert after["rejections"] > saved["rejections"]
        ring, fill, position, hurdle = again["hurdle_state"]
        expected_ring, expected_fill, expected_position, expected_hurdle = after["hurdle_state"]
        assert np.array_equal(ring, expected_ring)
        assert (fill, position, hurdle) == (expected_fill, expected_position, expected_hurdle)


def test_restore_checks_sizes_and_ops():
    evolution, _, _, _ = build(small_config(), 1)
    evolution.init_population()
    cap = evolution.capacities
    evolution.sizes[3, 2] = cap[2]
    with pytest.raises(ValueError, match="component 2"):
        evolution.restore(20, 0.5)
    evolution.sizes[3, 2] = cap[2] - 1
    evolution.programs[0, 0]["op"] = ops.NUM_OPS
    with pytest.raises(ValueError, match="op codes"):
        evolution.restore(20, 0.5)
    evolution.programs[0, 0]["op"] = 0
    evolution.restore(123, 0.25)
    assert (evolution.num_individuals, evolution.best_ever_fitness, evolution.num_improved) == (123, 0.25, 0)
    with pytest.raises(ValueError, match="^counters must be >= 0$"):
        evolution.restore(-1, 0.25)
