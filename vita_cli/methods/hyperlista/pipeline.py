"""The ``hyperlista`` actions as pipelines: :func:`run_tune`, :func:`run_eval`, :func:`run_compare`.

Each takes a :class:`HyperlistaRecipe` and a :class:`RunContext`, writes into ``ctx.run_dir`` and
returns a :class:`HyperlistaResult` (``to_dict()`` for JSON).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from vita_cli.core.context import RunContext
from vita_cli.core.plots import new_figure, save_figure
from vita_cli.core.rundir import RunDir
from vita_cli.methods.hyperlista import experiment
from vita_cli.methods.hyperlista.config import LEARNED_METHODS, HyperlistaRecipe
from vita_cli.methods.hyperlista.problems import Problem, Split, load_problem, save_problem

LABELS = {
    "ista": "ISTA",
    "fista": "FISTA",
    "lista": "LISTA",
    "lista_cp": "LISTA-CP",
    "lista_cpss": "LISTA-CPSS",
    "alista": "ALISTA",
    "alista_mm": "ALISTA-MM",
    "hyperlista": "HyperLISTA",
}


@dataclass
class HyperlistaResult:
    values: dict

    def to_dict(self) -> dict:
        return dict(self.values)


def _problem(recipe: HyperlistaRecipe, ctx: RunContext, problem_file: Path | None):
    saved = load_problem(problem_file) if problem_file is not None else None
    problem, ops = experiment.build_problem(recipe.problem, ctx.device, saved)
    ctx.log(f"problem: A {ops.m}x{ops.n}, {len(problem.train)} train / {len(problem.test)} test problems")
    return problem, ops


def _constants(ctx: RunContext, recipe, problem, ops, params: Path | None, folder: Path):
    if params is not None:
        constants = experiment.load_params(params)
        ctx.log(f"constants from {params}: {constants.as_dict()}")
        return constants, None
    result = experiment.tune(recipe, problem, ops, ctx.reporter, ctx.seed)
    data = result.to_json(recipe)
    experiment.save_params(folder / "hyperlista.json", data)
    ctx.log(
        f"tuned {result.points} points in {result.seconds:.1f} s: {result.constants.as_dict()} "
        f"({result.tune_nmse_db:.1f} dB on the tuning problems)"
    )
    return result.constants, data


def plot_curves(curves: dict[str, list[float]], path: Path, title: str) -> Path:
    fig, ax = new_figure(6.4, 4.2)
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=LABELS.get(name, name))
    ax.set_xlabel("layer / iteration k")
    ax.set_ylabel("NMSE (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def write_table(curves: dict[str, list[float]], path: Path) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["layer", *curves])
        layers = max(len(v) for v in curves.values())
        for k in range(layers):
            writer.writerow([k + 1, *(f"{v[k]:.3f}" if k < len(v) else "" for v in curves.values())])
    return path


def plot_shift(rows, methods, shift, path) -> Path:
    fig, ax = new_figure(5.6, 3.8)
    xs = [r["value"] for r in rows]
    for m in methods:
        ax.plot(xs, [r[m] for r in rows], marker="o", label=LABELS[m])
    ax.set_xlabel({"sparsity": "test p", "magnitude": "test σ", "noise": "test SNR (dB)"}[shift])
    ax.set_ylabel("NMSE at the last layer (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def run_tune(recipe: HyperlistaRecipe, ctx: RunContext, write_problem: bool = True) -> HyperlistaResult:
    """Grid-search HyperLISTA's constants; hyperlista.json (and problem.safetensors: A and the test set)."""
    problem, ops = _problem(recipe, ctx, None)
    constants, data = _constants(ctx, recipe, problem, ops, None, ctx.run_dir.path)
    test_curve = experiment.curves(recipe, ["hyperlista"], problem.test, ops, constants, {})["hyperlista"]
    data["test_nmse_db"] = [round(v, 3) for v in test_curve]
    experiment.save_params(ctx.run_dir / "hyperlista.json", data)
    if write_problem:
        empty = Split(problem.test.x[:0].cpu(), problem.test.b[:0].cpu())
        save_problem(
            ctx.run_dir / "problem.safetensors",
            Problem(problem.A.cpu(), empty, empty, problem.test.to("cpu")),
            {"recipe": recipe.problem.__dict__},
        )
    values = {**data, "params": str(ctx.run_dir / "hyperlista.json"), "run_dir": str(ctx.run_dir.path)}
    return HyperlistaResult(values)


def run_eval(
    recipe: HyperlistaRecipe,
    ctx: RunContext,
    params: Path | None = None,
    problem_file: Path | None = None,
    folder: Path | None = None,
) -> HyperlistaResult:
    """Tune (or read ``params``) HyperLISTA, train the listed learned baselines, NMSE per layer on the test
    set: nmse.png, nmse.csv and results.json (into ``folder``, default the run folder)."""
    if params is not None:
        experiment.load_params(params)  # a bad file is reported before any work or log line
    problem, ops = _problem(recipe, ctx, problem_file)
    folder = Path(folder) if folder is not None else ctx.run_dir.path
    folder.mkdir(parents=True, exist_ok=True)
    methods = recipe.eval.methods
    constants, tuned = (
        _constants(ctx, recipe, problem, ops, params, folder) if "hyperlista" in methods else (None, None)
    )
    learned = [m for m in methods if m in LEARNED_METHODS]
    models = experiment.train_baselines(recipe, learned, problem, ops, ctx.reporter, ctx.seed)
    curves = experiment.curves(recipe, methods, problem.test, ops, constants, models)
    plot_curves(curves, folder / "nmse.png", f"NMSE vs layer (m={ops.m}, n={ops.n}, p={recipe.problem.p})")
    write_table(curves, folder / "nmse.csv")
    values = {
        "matrix": experiment.matrix_facts(ops),
        "constants": constants.as_dict() if constants else None,
        "tuning": tuned,
        "nmse_db": {name: [round(v, 3) for v in values] for name, values in curves.items()},
        "final_nmse_db": {name: round(values[-1], 3) for name, values in curves.items()},
        "plot": str(folder / "nmse.png"),
        "table": str(folder / "nmse.csv"),
    }
    RunDir(folder).write_json("results.json", values)
    return HyperlistaResult(values)


def run_compare(
    recipe: HyperlistaRecipe, ctx: RunContext, shifts: list[str] | None = None, params: Path | None = None
) -> HyperlistaResult:
    """Tune/train on the recipe's distribution, then final-layer NMSE under test-time ``shifts``
    (default: the recipe's compare.shift)."""
    if params is not None:
        experiment.load_params(params)  # a bad file is reported before any work or log line
    problem, ops = _problem(recipe, ctx, None)
    shifts = list(shifts) if shifts else [recipe.compare.shift]
    methods = recipe.compare.methods
    run = ctx.run_dir
    constants, tuned = (
        _constants(ctx, recipe, problem, ops, params, run.path) if "hyperlista" in methods else (None, None)
    )
    learned = [m for m in methods if m in LEARNED_METHODS]
    models = experiment.train_baselines(recipe, learned, problem, ops, ctx.reporter, ctx.seed)
    # the training distribution first: per-layer curves of every method on the original test set
    in_distribution = experiment.curves(recipe, methods, problem.test, ops, constants, models)
    plot_curves(in_distribution, run / "nmse.png", "NMSE vs layer, training distribution")
    write_table(in_distribution, run / "nmse.csv")
    tables = {}
    for name in shifts:
        values = recipe.compare.values if (recipe.compare.values and name == recipe.compare.shift) else None
        rows = []
        for value in values or experiment.default_shift_values(name):
            split = experiment.shifted_test(recipe, problem, name, value)
            final = experiment.curves(recipe, methods, split, ops, constants, models)
            rows.append({"value": value, **{m: round(c[-1], 3) for m, c in final.items()}})
        tables[name] = rows
        plot_shift(rows, methods, name, run / f"shift-{name}.png")
    p = recipe.problem
    result = {
        "shifts": tables,
        "trained_on": {"p": p.p, "sigma": p.sigma, "snr_db": p.snr_db},
        "layers": recipe.tune.layers,
        "constants": constants.as_dict() if constants else None,
        "tuning": tuned,
        "nmse_db": {m: [round(v, 3) for v in c] for m, c in in_distribution.items()},
        "plots": [str(run / f"shift-{name}.png") for name in shifts],
    }
    run.write_json("results.json", result)
    return HyperlistaResult(result)
