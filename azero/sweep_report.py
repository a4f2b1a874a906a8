"""Sweep reports: per-arm success rates with 95% Wilson intervals, evolution/random-search ratios, the
Figure 4 chart, and fitness summaries against hand-designed models.

Intervals (two-sided 95%, z = 1.959964):

- a success rate x/n: Wilson's score interval;
- the ratio of two success rates (evolution x1/n1 over random search x2/n2, independent searches): the log
  method for a ratio of proportions (Katz et al. 1978): exp(ln R +- z * sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)); it
  needs x1, x2 > 0 (otherwise the ratio is 0 or unbounded and is reported as such);
- a per-evaluation success rate of random search (for the task difficulty): successes over evaluations, where a
  successful search counts the individuals up to its first success and a failed one all its individuals (each
  evaluated program is an independent draw, so this is the maximum-likelihood rate); difficulty = 1 / rate.
"""
from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from azero.sweep import SweepData, read_sweep

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (nan, nan when n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the bounds at x = 0 and x = n are exactly 0 and 1 (the formula leaves rounding residue there)
    return (0.0 if successes == 0 else centre - half), (1.0 if successes == n else centre + half)


def ratio_interval(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """(ratio, low, high) of (x1/n1) / (x2/n2) by the log method; inf or 0 bounds when a count is 0."""
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan"), float("nan")
    if x2 == 0:
        return (float("nan") if x1 == 0 else float("inf")), float("nan"), float("inf")
    ratio = (x1 / n1) / (x2 / n2)
    if x1 == 0:
        return 0.0, 0.0, float("nan")
    half = z * math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return ratio, ratio * math.exp(-half), ratio * math.exp(half)


@dataclasses.dataclass
class ArmSummary:
    """One arm's searches: counts, success rate and interval, evaluations, fitness means and standard errors."""

    name: str
    group: str
    mode: str
    planned: int
    runs: int
    successes: int
    rate: float
    low: float
    high: float
    evaluations: int             # individuals, successful searches counted up to their first success
    select_mean: float
    select_se: float
    final_mean: float
    final_se: float
    wall_seconds: float
    has_criterion: bool          # the arm's config has a [success] table (otherwise nothing can succeed)


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return float(values.mean()), se


def arm_summaries(data: SweepData) -> list[ArmSummary]:
    out = []
    for index, name in enumerate(data.arm_names):
        rows = data.rows[data.rows["arm"] == index]
        n, x = len(rows), int(rows["succeeded"].sum())
        low, high = wilson(x, n)
        evaluations = int(np.where(rows["succeeded"], rows["success_individual"], rows["individuals"]).sum())
        select = _mean_se(rows["select_fitness"])
        final = _mean_se(rows["final_fitness"])
        out.append(ArmSummary(name, data.arm_groups[index], data.arm_configs[index].mode,
                              data.arm_replicates[index], n, x, x / n if n else float("nan"), low, high,
                              evaluations, *select, *final, float(rows["wall_seconds"].sum()),
                              data.arm_configs[index].success is not None))
    return out


@dataclasses.dataclass
class GroupRatio:
    """Evolution against random search in one group: the ratio of success rates and the task difficulty."""

    group: str
    evolution: ArmSummary
    random_search: ArmSummary
    ratio: float
    low: float
    high: float
    difficulty: float            # 1 / random search's success rate per evaluation (inf: no success yet)


def group_ratios(summaries: list[ArmSummary]) -> list[GroupRatio]:
    """One entry per group holding exactly one evolution arm and one random-search arm, in arm order."""
    out, seen = [], []
    for arm in summaries:
        if arm.group and arm.group not in seen:
            seen.append(arm.group)
    for group in seen:
        members = [a for a in summaries if a.group == group]
        evolution = [a for a in members if a.mode == "evolution"]
        random = [a for a in members if a.mode == "random_search"]
        if len(evolution) != 1 or len(random) != 1:
            continue
        e, r = evolution[0], random[0]
        ratio, low, high = ratio_interval(e.successes, e.runs, r.successes, r.runs)
        difficulty = r.evaluations / r.successes if r.successes else float("inf")
        out.append(GroupRatio(group, e, r, ratio, low, high, difficulty))
    return out


def _num(x: float, digits: int = 3) -> str:
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines) + "\n"


def reference_fitness(data: SweepData, arm: int, model: str) -> tuple[float, float]:
    """(T_select, T_final) fitness of a hand-designed model on an arm's select and final tasks (T_select: nan
    when the arm re-draws its task seeds per search, so there is no common T_select)."""
    from azero import algorithms
    from azero.search import evaluate_on
    from azero.success import REFERENCE_SEED

    cfg = data.arm_configs[arm]
    alg = algorithms.by_name(model)
    select = float("nan") if cfg.randomize_task_seeds else evaluate_on(cfg, list(cfg.select_tasks), alg,
                                                                       REFERENCE_SEED)
    return select, evaluate_on(cfg, list(cfg.final_tasks), alg, REFERENCE_SEED)


ARM_HEADER = ["arm", "mode", "runs", "successes", "rate", "95% Wilson", "evaluations", "select (mean +- s.e.)",
              "final (mean +- s.e.)"]
RATIO_HEADER = ["group", "evolution", "random search", "ratio", "95% interval", "difficulty (1/RS rate per eval)"]
REFERENCE_HEADER = ["arm", "model", "model T_select", "model T_final", "beats on T_select", "beats on T_final"]


def arm_rows(arms: list[ArmSummary]) -> list[list[str]]:
    """The per-arm table's cells (ARM_HEADER), as `azero show` and `azero report` print them."""
    rows = []
    for a in arms:
        success = (str(a.successes), _num(a.rate), f"[{_num(a.low)}, {_num(a.high)}]") if a.has_criterion \
            else ("-", "-", "-")
        rows.append([a.name, a.mode, f"{a.runs}/{a.planned}", *success, str(a.evaluations),
                     f"{_num(a.select_mean, 4)} +- {_num(a.select_se, 4)}",
                     f"{_num(a.final_mean, 4)} +- {_num(a.final_se, 4)}"])
    return rows


def ratio_rows(ratios: list[GroupRatio]) -> list[list[str]]:
    """The evolution / random-search table's cells (RATIO_HEADER)."""
    return [[g.group, f"{g.evolution.successes}/{g.evolution.runs}",
             f"{g.random_search.successes}/{g.random_search.runs}", _num(g.ratio, 2),
             f"[{_num(g.low, 2)}, {_num(g.high, 2)}]",
             f"{g.difficulty:.3g}" if math.isfinite(g.difficulty) else
             f"> {g.random_search.evaluations:.3g} (no success)"] for g in ratios]


def reference_rows(data: SweepData) -> list[list[str]]:
    """The hand-designed models table's cells (REFERENCE_HEADER): per arm and model, the model's fitness and how
    many searches' best candidates beat it."""
    rows = []
    for index, name in enumerate(data.arm_names):
        sel = data.rows[data.rows["arm"] == index]
        for model in data.compare_with:
            ref_select, ref_final = reference_fitness(data, index, model)
            n = len(sel)
            beats_select = int((sel["select_fitness"] > ref_select).sum())
            beats_final = int((sel["final_fitness"] > ref_final).sum())
            rows.append([name, model, _num(ref_select, 4), _num(ref_final, 4),
                         "-" if math.isnan(ref_select) else f"{beats_select}/{n}", f"{beats_final}/{n}"])
    return rows


def headline(data: SweepData, arms: list[ArmSummary]) -> str:
    """One line: the sweep's name and seed, arms, searches done and search time."""
    done = sum(a.runs for a in arms)
    return (f"Sweep {data.name} (seed {data.seed}): {len(arms)} arms, {done} of {sum(a.planned for a in arms)} "
            f"searches done, {sum(a.wall_seconds for a in arms):.0f} s of search time")


def summary(run_dir: str | os.PathLike) -> str:
    """The text `azero show SWEEP_DIR` prints."""
    data = read_sweep(run_dir)
    arms = arm_summaries(data)
    out = [headline(data, arms) + "\n\n", _table(ARM_HEADER, arm_rows(arms))]
    ratios = group_ratios(arms)
    if ratios:
        out.append("\nEvolution / random search (success rates at equal budgets; 95% interval by the log method):\n")
        out.append(_table(RATIO_HEADER, ratio_rows(ratios)))
    if data.compare_with:
        out.append("\nAgainst hand-designed models (fraction of searches whose best candidate beats the model):\n")
        out.append(_table(REFERENCE_HEADER, reference_rows(data)))
    return "".join(out)


def plot_figure4(run_dir: str | os.PathLike, path: str | os.PathLike) -> str:
    """Two panels. Left, the Figure 4 chart: evolution/random-search success-rate ratio against task difficulty,
    log axes, 95% error bars (groups without a finite ratio yet are named below it). Right: every paired arm's
    success rate with its 95% Wilson interval (an upper bound when nothing succeeded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = read_sweep(run_dir)
    ratios = group_ratios(arm_summaries(data))
    if not ratios:
        raise ValueError(f"{run_dir}: no group with one evolution and one random-search arm to plot")
    shown = [g for g in ratios if math.isfinite(g.difficulty) and 0 < g.ratio < math.inf]
    missing = [g for g in ratios if g not in shown]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    for g in shown:
        low = g.ratio - g.low if math.isfinite(g.low) else 0.0
        high = g.high - g.ratio if math.isfinite(g.high) else 0.0
        left.errorbar([g.difficulty], [g.ratio], yerr=[[low], [high]], fmt="o", capsize=4, label=g.group)
    left.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("task difficulty (1 / random-search success rate per evaluation)")
    left.set_ylabel("relative success rate (evolution / random search)")
    left.set_title("evolution vs random search (95% intervals)", fontsize=10)
    if shown:
        left.legend(fontsize=8)
    if missing:
        left.text(0.02, 0.02, "no ratio yet:\n" + "\n".join(
            f"{g.group}: {g.evolution.successes}/{g.evolution.runs} vs {g.random_search.successes}/"
            f"{g.random_search.runs}" for g in missing), transform=left.transAxes, fontsize=8, va="bottom")
    for offset, mode, color in ((-0.15, "evolution", "tab:blue"), (0.15, "random search", "tab:orange")):
        arms = [g.evolution if mode == "evolution" else g.random_search for g in ratios]
        x = np.arange(len(arms)) + offset
        rates = np.array([a.rate for a in arms])
        right.errorbar(x, rates, yerr=[rates - [a.low for a in arms], [a.high for a in arms] - rates], fmt="o",
                       capsize=4, color=color, label=mode)
    right.set_xticks(np.arange(len(ratios)), [f"{g.group}\n({g.evolution.runs}+{g.random_search.runs} runs)"
                                              for g in ratios], fontsize=8)
    right.set_ylabel("success rate per search (95% Wilson)")
    right.set_ylim(bottom=0.0)
    right.set_title("success rates at equal budgets", fontsize=10)
    right.legend(fontsize=8)
    fig.suptitle(f"sweep {data.name}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return str(path)
