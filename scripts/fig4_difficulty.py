"""Random-search success rate per evaluation of a Figure 4 preset (the task difficulty is its inverse), cheaply.

Random search evaluates independent random programs, so its success rate per evaluation is the fraction of random
programs that meet the preset's success criterion. This script draws random programs exactly as random search
does (azero's own random_search mode), scores them on one tiny task (10 train / 10 valid examples: about 100x
cheaper than the preset's 3 tasks of 1000 / 100), and re-scores those within `--margin` of the reference's tiny-task
fitness on 3 tasks of the preset's size (fixed seeds) against the preset's criterion (fitness >= reference -
tolerance). A program that meets the criterion on the real tasks but is worse than the reference by more than the
margin on the tiny task is missed: compare margins to see that this does not happen.

    python scripts/fig4_difficulty.py fig4_linear_backprop --seconds 300
"""
import argparse
import io
import math
import time

import numpy as np

from azero import algorithms, presets
from azero.algorithm import Algorithm
from azero.evaluation import evaluate
from azero.search import Search
from azero.tasks import TaskSpec, make_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", help="a fig4_* preset")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to draw programs")
    parser.add_argument("--margin", type=float, default=0.003, help="tiny-task screen: fitness >= reference - margin")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cfg = presets.load(args.preset)
    kind = cfg.search_tasks[0].kind
    tiny = TaskSpec(kind, 8, 10, 10, num_tasks=1, param_seeds=[7], data_seeds=[8])
    real = make_tasks(TaskSpec(kind, 8, 1000, 100, num_tasks=3, param_seeds=[17], data_seeds=[18]))
    memory = dict(num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)
    reference = algorithms.by_name(cfg.success.reference)
    tiny_bar = evaluate(reference, make_tasks(tiny), **memory) - args.margin
    real_bar = evaluate(reference, real, **memory) - cfg.success.tolerance
    screen = cfg.replace(mode="random_search", search_tasks=[tiny], randomize_task_seeds=False, success=None,
                         max_individuals=None)
    search = Search(screen, args.seed, out=io.StringIO())
    search._start_experiment()
    evolution = search.evolution
    evaluations = screened = successes = 0
    gaps = []   # tiny-task fitness minus the reference's, of the programs that meet the criterion
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        for slot in np.flatnonzero(evolution.fitness >= tiny_bar):
            screened += 1
            program = Algorithm.from_arrays(*evolution.individual(int(slot)))
            if evaluate(program, real, **memory) >= real_bar:
                successes += 1
                gaps.append(float(evolution.fitness[slot]) - tiny_bar - args.margin)
        evaluations += evolution.population_size
        evolution.run_generation()
    rate = successes / evaluations
    # exact Poisson 95% interval of the count, through the chi-square quantiles (scipy-free: bisection on the CDF)
    low, high = poisson_interval(successes)
    print(f"{args.preset}: {evaluations} random programs, {screened} screened, {successes} meet the criterion: "
          f"rate {rate:.3g} per evaluation [95%: {low / evaluations:.3g}, {high / evaluations:.3g}], "
          f"difficulty {('%.3g' % (1 / rate)) if successes else '> %.3g' % evaluations}, "
          f"{time.monotonic() - started:.0f} s; smallest tiny-task gap to the reference among them: "
          f"{min(gaps) if gaps else float('nan'):.3g}")


def poisson_interval(count: int) -> tuple[float, float]:
    """Exact (Garwood) 95% interval of a Poisson mean from one observed count."""
    def cdf(k: int, mean: float) -> float:
        term = total = math.exp(-mean)
        for i in range(1, k + 1):
            term *= mean / i
            total += term
        return total

    def solve(target, k: int) -> float:
        lo, hi = 0.0, 10.0 * (k + 10)
        for _ in range(200):
            mid = (lo + hi) / 2
            if target(mid, k):
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    low = 0.0 if count == 0 else solve(lambda m, k: 1.0 - cdf(k - 1, m) < 0.025, count)
    high = solve(lambda m, k: cdf(k, m) > 0.025, count)
    return low, high


if __name__ == "__main__":
    main()
