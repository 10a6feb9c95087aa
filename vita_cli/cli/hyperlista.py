"""``vita hyperlista tune|eval|compare``: sparse recovery with HyperLISTA and its baselines.

vita hyperlista tune -r hyperlista/paper               # grid-search c_β, c_θ, c_ss (γ = 1)
vita hyperlista eval --params runs/.../hyperlista.json  # NMSE per layer, every method, PNG + table
vita hyperlista compare --shift sparsity               # train on p = 0.1, test on other p
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer
import csv
import math
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Overrides, Session, verb_command

app = typer.Typer(
    help="HyperLISTA: unrolled sparse recovery with three tuned constants.", no_args_is_help=True
)

RecipeOpt = Annotated[str, typer.Option("--recipe", "-r", help="Recipe name (hyperlista/NAME) or YAML path.")]
ParamsOpt = Annotated[
    Path | None,
    typer.Option("--params", help="hyperlista.json written by `vita hyperlista tune` (skips tuning)."),
]
MatrixOpt = Annotated[
    Path | None, typer.Option("--matrix", help="Your own A: a .safetensors file with a tensor named 'A'.")
]
ProblemOpt = Annotated[
    Path | None,
    typer.Option("--problem", help="problem.safetensors from an earlier run: its A and test set."),
]


class Shift(str, Enum):
    sparsity = "sparsity"
    magnitude = "magnitude"
    noise = "noise"


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


def _load(session: Session, recipe_name: str, overrides, matrix: Path | None, problem_file: Path | None):
    """Recipe, problem and operators."""
    from vita_cli.methods.hyperlista import experiment
    from vita_cli.methods.hyperlista.problems import load_problem

    recipe = session.recipe(
        recipe_name, list(overrides or []) + ([f"problem.matrix={matrix}"] if matrix else [])
    )
    saved = load_problem(problem_file) if problem_file is not None else None
    problem, ops = experiment.build_problem(recipe.problem, session.device, saved)
    session.log(f"problem: A {ops.m}x{ops.n}, {len(problem.train)} train / {len(problem.test)} test problems")
    return recipe, problem, ops


def _constants(session, recipe, problem, ops, params: Path | None):
    from vita_cli.methods.hyperlista import experiment

    if params is not None:
        constants = experiment.load_params(params)
        session.log(f"constants from {params}: {constants.as_dict()}")
        return constants, None
    result = experiment.tune(recipe, problem, ops, session.reporter, session.seed)
    data = result.to_json(recipe)
    experiment.save_params(session.run_dir / "hyperlista.json", data)
    session.log(
        f"tuned {result.points} points in {result.seconds:.1f} s: {result.constants.as_dict()} "
        f"({result.tune_nmse_db:.1f} dB on the tuning problems)"
    )
    return result.constants, data


def _plot_curves(curves: dict[str, list[float]], path: Path, title: str) -> Path:
    from vita_cli.core.plots import new_figure, save_figure

    fig, ax = new_figure(6.4, 4.2)
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=LABELS.get(name, name))
    ax.set_xlabel("layer / iteration k")
    ax.set_ylabel("NMSE (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _write_table(curves: dict[str, list[float]], path: Path) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["layer", *curves])
        layers = max(len(v) for v in curves.values())
        for k in range(layers):
            writer.writerow([k + 1, *(f"{v[k]:.3f}" if k < len(v) else "" for v in curves.values())])
    return path


def _curve_table(curves: dict[str, list[float]]) -> Table:
    table = Table("layer", *(LABELS.get(n, n) for n in curves), title="NMSE (dB) per layer")
    layers = max(len(v) for v in curves.values())
    for k in range(layers):
        table.add_row(
            str(k + 1),
            *(f"{v[k]:.1f}" if k < len(v) and math.isfinite(v[k]) else "-" for v in curves.values()),
        )
    return table


def run_eval(session: Session, recipe, problem, ops, params: Path | None, folder: Path) -> dict:
    """Tune (or read) HyperLISTA, train the listed learned baselines, NMSE per layer on the test set."""
    from vita_cli.methods.hyperlista import experiment
    from vita_cli.methods.hyperlista.config import LEARNED_METHODS

    methods = recipe.eval.methods
    constants, tuned = (
        _constants(session, recipe, problem, ops, params) if "hyperlista" in methods else (None, None)
    )
    learned = [m for m in methods if m in LEARNED_METHODS]
    models = experiment.train_baselines(recipe, learned, problem, ops, session.reporter, session.seed)
    curves = experiment.curves(recipe, methods, problem.test, ops, constants, models)
    folder.mkdir(parents=True, exist_ok=True)
    _plot_curves(curves, folder / "nmse.png", f"NMSE vs layer (m={ops.m}, n={ops.n}, p={recipe.problem.p})")
    _write_table(curves, folder / "nmse.csv")
    return {
        "matrix": experiment.matrix_facts(ops),
        "constants": constants.as_dict() if constants else None,
        "tuning": tuned,
        "nmse_db": {name: [round(v, 3) for v in values] for name, values in curves.items()},
        "final_nmse_db": {name: round(values[-1], 3) for name, values in curves.items()},
        "plot": str(folder / "nmse.png"),
        "table": str(folder / "nmse.csv"),
    }


@app.command("tune", help="Search HyperLISTA's constants (c_β, c_θ, c_ss, γ); save hyperlista.json.")
@verb_command("hyperlista tune")
def tune_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "hyperlista/default",
    matrix: MatrixOpt = None,
    save_problem: Annotated[bool, typer.Option(help="Also write problem.safetensors (A, test set).")] = True,
    session: Session = None,
):
    from vita_cli.methods.hyperlista import experiment
    from vita_cli.methods.hyperlista.problems import Problem, Split
    from vita_cli.methods.hyperlista.problems import save_problem as write_problem

    cfg, problem, ops = _load(session, recipe, overrides, matrix, None)
    constants, data = _constants(session, cfg, problem, ops, None)
    test_curve = experiment.curves(cfg, ["hyperlista"], problem.test, ops, constants, {})["hyperlista"]
    data["test_nmse_db"] = [round(v, 3) for v in test_curve]
    experiment.save_params(session.run_dir / "hyperlista.json", data)
    if save_problem:
        empty = Split(problem.test.x[:0].cpu(), problem.test.b[:0].cpu())
        write_problem(
            session.run_dir / "problem.safetensors",
            Problem(problem.A.cpu(), empty, empty, problem.test.to("cpu")),
            {"recipe": cfg.problem.__dict__},
        )
    result = {
        **data,
        "params": str(session.run_dir / "hyperlista.json"),
        "run_dir": str(session.run_dir.path),
    }

    def render(console):
        table = Table("constant", "value", title="HyperLISTA constants")
        for key in ("c_beta", "c_theta", "c_ss", "gamma"):
            table.add_row(key, f"{data[key]:.5g}")
        table.add_row("points searched", str(data["points"]))
        table.add_row("search time (s)", f"{data['seconds']:.1f}")
        table.add_row(f"NMSE@{cfg.tune.layers} test (dB)", f"{test_curve[-1]:.2f}")
        console.print(table)
        console.print(f"saved {result['params']}")

    session.emit(result, render)


@app.command("eval", help="NMSE (dB) per layer for every method on the same test set; PNG + table.")
@verb_command("hyperlista eval")
def eval_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "hyperlista/default",
    params: ParamsOpt = None,
    matrix: MatrixOpt = None,
    problem: ProblemOpt = None,
    session: Session = None,
):
    cfg, prob, ops = _load(session, recipe, overrides, matrix, problem)
    result = run_eval(session, cfg, prob, ops, params, session.run_dir.path)
    session.run_dir.write_json("results.json", result)
    session.emit(
        result,
        lambda console: (
            console.print(_curve_table(result["nmse_db"])),
            console.print(f"plot: {result['plot']}"),
        ),
    )


@app.command(
    "compare", help="Tune/train on one distribution, test under sparsity, magnitude or noise shifts."
)
@verb_command("hyperlista compare")
def compare_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "hyperlista/default",
    shift: Annotated[
        list[Shift] | None,
        typer.Option(help="What changes at test time; repeat for several (default: the recipe's)."),
    ] = None,
    params: ParamsOpt = None,
    matrix: MatrixOpt = None,
    session: Session = None,
):
    from vita_cli.methods.hyperlista import experiment
    from vita_cli.methods.hyperlista.config import LEARNED_METHODS

    cfg, prob, ops = _load(session, recipe, overrides, matrix, None)
    shifts = [s.value for s in shift] if shift else [cfg.compare.shift]
    methods = cfg.compare.methods
    constants, tuned = (
        _constants(session, cfg, prob, ops, params) if "hyperlista" in methods else (None, None)
    )
    learned = [m for m in methods if m in LEARNED_METHODS]
    models = experiment.train_baselines(cfg, learned, prob, ops, session.reporter, session.seed)
    # the training distribution first: per-layer curves of every method on the original test set
    in_distribution = experiment.curves(cfg, methods, prob.test, ops, constants, models)
    _plot_curves(in_distribution, session.run_dir / "nmse.png", "NMSE vs layer, training distribution")
    _write_table(in_distribution, session.run_dir / "nmse.csv")
    tables = {}
    for name in shifts:
        values = cfg.compare.values if (cfg.compare.values and name == cfg.compare.shift) else None
        rows = []
        for value in values or experiment.default_shift_values(name):
            split = experiment.shifted_test(cfg, prob, name, value)
            final = experiment.curves(cfg, methods, split, ops, constants, models)
            rows.append({"value": value, **{m: round(c[-1], 3) for m, c in final.items()}})
        tables[name] = rows
        _plot_shift(rows, methods, name, session.run_dir / f"shift-{name}.png")
    result = {
        "shifts": tables,
        "trained_on": {"p": cfg.problem.p, "sigma": cfg.problem.sigma, "snr_db": cfg.problem.snr_db},
        "layers": cfg.tune.layers,
        "constants": constants.as_dict() if constants else None,
        "tuning": tuned,
        "nmse_db": {m: [round(v, 3) for v in c] for m, c in in_distribution.items()},
        "plots": [str(session.run_dir / f"shift-{name}.png") for name in shifts],
    }
    session.run_dir.write_json("results.json", result)

    def render(console):
        console.print(_curve_table(in_distribution))
        for name, rows in tables.items():
            table = Table(
                name, *(LABELS[m] for m in methods), title=f"NMSE@{cfg.tune.layers} (dB), test {name} shifted"
            )
            for row in rows:
                table.add_row(f"{row['value']:g}", *(f"{row[m]:.1f}" for m in methods))
            console.print(table)

    session.emit(result, render)


def _plot_shift(rows, methods, shift, path):
    from vita_cli.core.plots import new_figure, save_figure

    fig, ax = new_figure(5.6, 3.8)
    xs = [r["value"] for r in rows]
    for m in methods:
        ax.plot(xs, [r[m] for r in rows], marker="o", label=LABELS[m])
    ax.set_xlabel({"sparsity": "test p", "magnitude": "test σ", "noise": "test SNR (dB)"}[shift])
    ax.set_ylabel("NMSE at the last layer (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def register(root):
    root.add_typer(app, name="hyperlista", help="HyperLISTA sparse recovery: tune, eval, compare.")


def _demo(session: Session, folder: Path) -> str:
    """Quick grid on γ = 1 + ISTA/FISTA/ALISTA(short schedule), full-size problem, ≲ 90 s on 2 cores."""
    import torch

    from vita_cli.schemas import load_any_recipe
    from vita_cli.methods.hyperlista import experiment

    torch.set_num_threads(min(2, torch.get_num_threads()))
    recipe, _ = load_any_recipe("hyperlista/default")
    problem, ops = experiment.build_problem(recipe.problem, session.device)
    result = run_eval(session, recipe, problem, ops, None, folder)
    experiment.save_params(folder / "hyperlista.json", result["tuning"])
    final = result["final_nmse_db"]
    rows = "\n".join(f"| {LABELS[m]} | {v:.1f} |" for m, v in final.items())
    c = result["constants"]
    return (
        f"Sparse recovery b = Ax*, A {ops.m}×{ops.n}, x* Bernoulli(0.1)·N(0,1), noiseless, "
        f"{recipe.tune.layers} layers. HyperLISTA's constants were grid-searched on 512 training problems "
        f"(c_β={c['c_beta']:.4g}, c_θ={c['c_theta']:.4g}, c_ss={c['c_ss']:.3g}, γ={c['gamma']:.3g}); "
        "ALISTA was trained layer-wise on a short schedule.\n\n"
        f"![NMSE vs layer](hyperlista/nmse.png)\n\n| method | NMSE@{recipe.tune.layers} (dB) |\n|---|---|\n{rows}\n"
    )


DEMO = ("HyperLISTA: sparse recovery in 16 layers", _demo)
