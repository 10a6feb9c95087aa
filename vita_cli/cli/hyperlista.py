"""``vita hyperlista tune|eval|compare``: sparse recovery with HyperLISTA and its baselines.

vita hyperlista tune -r hyperlista/paper               # grid-search c_β, c_θ, c_ss (γ = 1)
vita hyperlista eval --params runs/.../hyperlista.json  # NMSE per layer, every method, PNG + table
vita hyperlista compare --shift sparsity               # train on p = 0.1, test on other p
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer
import math
from enum import Enum
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, Overrides, verb_command
from vita_cli.core.recipe import load_recipe
from vita_cli.methods.hyperlista import pipeline
from vita_cli.methods.hyperlista.config import HyperlistaRecipe
from vita_cli.methods.hyperlista.pipeline import LABELS

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


def _recipe(invocation: Invocation, name: str, overrides, matrix: Path | None) -> HyperlistaRecipe:
    extra = list(overrides or []) + ([f"problem.matrix={matrix}"] if matrix else [])
    return invocation.recipe(name, extra, HyperlistaRecipe)


def _curve_table(curves: dict[str, list[float]]) -> Table:
    table = Table("layer", *(LABELS.get(n, n) for n in curves), title="NMSE (dB) per layer")
    layers = max(len(v) for v in curves.values())
    for k in range(layers):
        table.add_row(
            str(k + 1),
            *(f"{v[k]:.1f}" if k < len(v) and math.isfinite(v[k]) else "-" for v in curves.values()),
        )
    return table


@app.command("tune", help="Search HyperLISTA's constants (c_β, c_θ, c_ss, γ); save hyperlista.json.")
@verb_command("hyperlista tune")
def tune_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "hyperlista/default",
    matrix: MatrixOpt = None,
    save_problem: Annotated[bool, typer.Option(help="Also write problem.safetensors (A, test set).")] = True,
    invocation: Invocation = None,
):
    cfg = _recipe(invocation, recipe, overrides, matrix)
    result = pipeline.run_tune(cfg, invocation.context(), save_problem).to_dict()
    data, test_curve = result, result["test_nmse_db"]

    def render(console):
        table = Table("constant", "value", title="HyperLISTA constants")
        for key in ("c_beta", "c_theta", "c_ss", "gamma"):
            table.add_row(key, f"{data[key]:.5g}")
        table.add_row("points searched", str(data["points"]))
        table.add_row("search time (s)", f"{data['seconds']:.1f}")
        table.add_row(f"NMSE@{cfg.tune.layers} test (dB)", f"{test_curve[-1]:.2f}")
        console.print(table)
        console.print(f"saved {result['params']}")

    invocation.emit(result, render)


@app.command("eval", help="NMSE (dB) per layer for every method on the same test set; PNG + table.")
@verb_command("hyperlista eval")
def eval_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "hyperlista/default",
    params: ParamsOpt = None,
    matrix: MatrixOpt = None,
    problem: ProblemOpt = None,
    invocation: Invocation = None,
):
    cfg = _recipe(invocation, recipe, overrides, matrix)
    result = pipeline.run_eval(cfg, invocation.context(), params, problem).to_dict()
    invocation.emit(
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
    invocation: Invocation = None,
):
    cfg = _recipe(invocation, recipe, overrides, matrix)
    shifts = [s.value for s in shift] if shift else None
    result = pipeline.run_compare(cfg, invocation.context(), shifts, params).to_dict()
    methods, tables = cfg.compare.methods, result["shifts"]

    def render(console):
        console.print(_curve_table(result["nmse_db"]))
        for name, rows in tables.items():
            table = Table(
                name, *(LABELS[m] for m in methods), title=f"NMSE@{cfg.tune.layers} (dB), test {name} shifted"
            )
            for row in rows:
                table.add_row(f"{row['value']:g}", *(f"{row[m]:.1f}" for m in methods))
            console.print(table)

    invocation.emit(result, render)


def register(root):
    root.add_typer(app, name="hyperlista", help="HyperLISTA sparse recovery: tune, eval, compare.")


def _demo(invocation: Invocation, folder: Path) -> str:
    """Quick grid on γ = 1 + ISTA/FISTA/ALISTA(short schedule), full-size problem, ≲ 90 s on 2 cores."""
    torch.set_num_threads(min(2, torch.get_num_threads()))
    recipe, _ = load_recipe("hyperlista/default", HyperlistaRecipe)
    result = pipeline.run_eval(recipe, invocation.context(out=folder), folder=folder).to_dict()
    final, m = result["final_nmse_db"], result["matrix"]
    rows = "\n".join(f"| {LABELS[m]} | {v:.1f} |" for m, v in final.items())
    c = result["constants"]
    return (
        f"Sparse recovery b = Ax*, A {m['m']}×{m['n']}, x* Bernoulli(0.1)·N(0,1), noiseless, "
        f"{recipe.tune.layers} layers. HyperLISTA's constants were grid-searched on 512 training problems "
        f"(c_β={c['c_beta']:.4g}, c_θ={c['c_theta']:.4g}, c_ss={c['c_ss']:.3g}, γ={c['gamma']:.3g}); "
        "ALISTA was trained layer-wise on a short schedule.\n\n"
        f"![NMSE vs layer](hyperlista/nmse.png)\n\n| method | NMSE@{recipe.tune.layers} (dB) |\n|---|---|\n{rows}\n"
    )


DEMO = ("HyperLISTA: sparse recovery in 16 layers", _demo)
