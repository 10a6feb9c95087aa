"""``vita ticket-flow spectra|compare|transfer|run``: IMP as a renormalization-group flow.

vita ticket-flow spectra runs/imp-a runs/imp-b --observable layers      # DMD spectra + diagnostics
vita ticket-flow compare runs/imp-a runs/imp-b runs/imp-c --tol 1e-8    # distance matrix, dendrogram
vita ticket-flow transfer --source runs/tf/flows/clothing/s0 --target-data footwear --target-data clothing
vita ticket-flow run --recipe ticket-flow/default                        # the whole study (resumable)
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer
import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, verb_command
from vita_cli.core.errors import UserError

app = typer.Typer(
    help="IMP as a renormalization-group flow: DMD spectra of IMP rounds, spectral distances, "
    "ticket transfer.",
    no_args_is_help=True,
)


class Observable(str, Enum):
    weights = "weights"
    layers = "layers"
    summaries = "summaries"


class Snapshot(str, Enum):
    trained = "trained"
    rewound = "rewound"


FlowsArg = Annotated[
    list[Path],
    typer.Argument(
        help="IMP run folders (vita prune --method imp) or folders of per-round model files.",
        show_default=False,
    ),
]
RecipeOpt = Annotated[
    str, typer.Option("--recipe", "-r", help="Recipe name (ticket-flow/NAME) or YAML path.")
]
ObservableOpt = Annotated[
    Observable | None, typer.Option("--observable", help="Observable φ (default: the recipe's).")
]
SnapshotOpt = Annotated[
    Snapshot | None, typer.Option("--snapshot", help="trained weights or rewound weights θ_k ⊙ M_n.")
]
RankOpt = Annotated[int | None, typer.Option("--rank", help="Fixed DMD rank r.")]
TolOpt = Annotated[
    float | None, typer.Option("--tol", help="Numerical rank: keep σ_i > tol·σ_1 (when no --rank).")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Recipe override key.sub=value (repeatable).")
]


def _recipe(name: str, overrides: list[str]):
    """Load and check the recipe without writing anything (the run folder comes after validation)."""
    from vita_cli.core.recipe import load_recipe
    from vita_cli.methods.ticket_flow.config import TicketFlowRecipe

    recipe, _ = load_recipe(name, TicketFlowRecipe, overrides)
    return recipe


def _analysis_overrides(observable, snapshot, rank, tol, extra) -> list[str]:
    out = list(extra or [])
    if observable is not None:
        out.append(f"analysis.observable={observable.value}")
    if snapshot is not None:
        out.append(f"analysis.snapshot={snapshot.value}")
    if rank is not None:
        if rank < 1:
            raise UserError(f"--rank must be >= 1, got {rank}")
        out.append(f"analysis.rank={rank}")
    if tol is not None:
        if not 0 < tol < 1:
            raise UserError(f"--tol must lie in (0, 1), got {tol}")
        out.append(f"analysis.tol={tol}")
    return out


def _c(z) -> str:
    return f"{z[0]:+.3f}{z[1]:+.3f}i"


@app.command(
    "spectra", help="DMD spectrum of each IMP flow (whole network and per layer), fixed-point diagnostics."
)
@verb_command("ticket-flow spectra")
def spectra_cmd(
    flows: FlowsArg,
    recipe: RecipeOpt = "ticket-flow/default",
    observable: ObservableOpt = None,
    snapshot: SnapshotOpt = None,
    rank: RankOpt = None,
    tol: TolOpt = None,
    set_: SetOpt = None,
    invocation: Invocation = None,
):
    from vita_cli.methods.ticket_flow import pipeline

    rec = _recipe(recipe, _analysis_overrides(observable, snapshot, rank, tol, set_))
    loaded = pipeline.load_flows(flows, rec.analysis)
    pipeline.check_flows(loaded, rec.analysis, same_architecture=False)
    result = pipeline.run_spectra(rec, invocation.context(), loaded)

    def render(console):
        t = Table(
            "flow",
            "rounds",
            "rank",
            "leading λ",
            "|λ₁|",
            "min |λ−1|",
            "last step",
            "layer spread",
            title=f"DMD spectra ({result.analysis['observable']}, {result.analysis['rank_rule']})",
        )
        for f in result.flows:
            d = f["diagnostics"]
            t.add_row(
                f["name"],
                str(len(f["rounds"])),
                str(f["whole"]["rank"]),
                _c(f["whole"]["eigenvalues"][0]),
                f"{d['leading_modulus']:.3f}",
                f"{d['nearest_to_one']:.3f}",
                f"{d['final_step']:.3f}" if d["final_step"] is not None else "-",
                f"{d['layer_spectra_spread']:.3f}",
            )
        console.print(t)
        console.print(f"plot {result.plot}; spectra.json in {invocation.run_dir.path}")

    invocation.emit(result.to_dict(), render)


@app.command("compare", help="Spectral distance matrix between IMP flows (W1 on ℂ), heat map and dendrogram.")
@verb_command("ticket-flow compare")
def compare_cmd(
    flows: FlowsArg,
    recipe: RecipeOpt = "ticket-flow/default",
    observable: ObservableOpt = None,
    snapshot: SnapshotOpt = None,
    rank: RankOpt = None,
    tol: TolOpt = None,
    set_: SetOpt = None,
    invocation: Invocation = None,
):
    from vita_cli.methods.ticket_flow import pipeline

    if len(flows) < 2:
        raise UserError("compare needs at least two flows", "pass two or more IMP run folders")
    rec = _recipe(recipe, _analysis_overrides(observable, snapshot, rank, tol, set_))
    loaded = pipeline.load_flows(flows, rec.analysis)
    pipeline.check_flows(loaded, rec.analysis, same_architecture=True)
    result = pipeline.run_compare(rec, invocation.context(), loaded, [str(p) for p in flows])

    def render(console):
        t = Table("", *result.names, "class", title=f"spectral distance ({result.analysis['observable']})")
        for name, row in zip(result.names, result.distances, strict=True):
            t.add_row(name, *(f"{v:.3g}" for v in row), str(result.classes[name]))
        console.print(t)
        console.print(f"heat map {result.heatmap}; spectra {result.spectra_plot}")

    invocation.emit(result.to_dict(), render)


@app.command(
    "transfer", help="Train target tasks with source tickets (mask + rewind point); transfer matrix."
)
@verb_command("ticket-flow transfer")
def transfer_cmd(
    source: Annotated[
        list[Path], typer.Option("--source", help="IMP run folder whose ticket moves (repeatable).")
    ],
    target_data: Annotated[
        list[str] | None,
        typer.Option(
            "--target-data",
            help="Target task, e.g. footwear or fashion:1,5,7,8,9@permuted (repeatable; "
            "default: the sources' tasks).",
        ),
    ] = None,
    source_task: Annotated[
        list[str] | None,
        typer.Option("--source-task", help="Task of each source when its folder does not say."),
    ] = None,
    distances: Annotated[
        Path | None,
        typer.Option("--distances", help="compare.json of the sources: Spearman ρ of distance vs loss."),
    ] = None,
    ticket_round: Annotated[
        int | None, typer.Option("--round", help="IMP round of the ticket (default: last).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Reuse the trainings already in --out.")] = False,
    recipe: RecipeOpt = "ticket-flow/default",
    set_: SetOpt = None,
    invocation: Invocation = None,
):
    from vita_cli.methods.ticket_flow import pipeline
    from vita_cli.methods.ticket_flow.tasks import parse_task

    if resume and invocation.out is None:
        raise UserError("--resume continues a run folder", "pass --out DIR of the run to continue")
    rec = _recipe(recipe, list(set_ or []))
    tickets = pipeline.check_sources(source, source_task, ticket_round)
    targets = list(dict.fromkeys(target_data or [t for _, t, _ in tickets]))
    for t in targets:
        parse_task(t)
    dist = None
    if distances is not None:
        try:
            dist = json.loads(Path(distances).read_text())
            dist["names"], dist["distances"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"--distances {distances}: not a compare.json ({exc})",
                "use the compare.json written by `vita ticket-flow compare`",
            ) from exc
    result = pipeline.run_transfer(rec, invocation.context(resume=resume), tickets, targets, dist)

    def render(console):
        t = Table("source ticket", *result.targets, title="test accuracy (%) on the target task")
        for name, row in result.accuracy.items():
            t.add_row(name, *(f"{row[x]:.2f}" for x in result.targets))
        if result.random:
            t.add_row("random mask", *(f"{result.random.get(x, float('nan')):.2f}" for x in result.targets))
        console.print(t)
        for row in result.losses:
            console.print(f"loss {row['source']} → {row['target']}: {row['loss']:+.2f} points")
        if result.correlation:
            c = result.correlation
            console.print(f"Spearman ρ = {c['rho']:.3f} [{c['low']:.3f}, {c['high']:.3f}] (n = {c['n']})")

    invocation.emit(result.to_dict(), render)


@app.command(
    "run",
    help="The whole study: IMP per task and seed → spectra → compare → transfer (resumable). "
    "With depth.models in the recipe (ticket-flow/depth): IMP per depth, per-layer uniformity, and "
    "tickets moved between depths by the elastic ticket transformation.",
)
@verb_command("ticket-flow run")
def run_cmd(
    recipe: RecipeOpt = "ticket-flow/default",
    tasks: Annotated[
        str | None, typer.Option("--tasks", help="Comma-separated task names (default: the recipe's).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the study in --out after a stop.")
    ] = False,
    set_: SetOpt = None,
    invocation: Invocation = None,
):
    from vita_cli.methods.ticket_flow import pipeline
    from vita_cli.methods.ticket_flow.tasks import parse_task

    if resume and invocation.out is None:
        raise UserError("--resume continues a study folder", "pass --out DIR of the study to continue")
    overrides = list(set_ or [])
    if tasks is not None:
        names = [t.strip() for t in tasks.split(",") if t.strip()]
        overrides.append("tasks=" + json.dumps(names))
        base = _recipe(recipe, [])
        for key in ("related", "unrelated"):
            kept = [p for p in getattr(base, key) if all(t in names for t in p)]
            overrides.append(f"{key}=" + json.dumps(kept))
    rec = _recipe(recipe, overrides)
    for t in rec.tasks:
        parse_task(t)
    result = pipeline.run_study(rec, invocation.context(resume=resume))
    render = render_depth if rec.depth.models else render_study
    invocation.emit(result.to_dict(), lambda console: render(console, result, invocation.run_dir.path))


def render_study(console, result, folder) -> None:
    t = Table(
        "observable",
        "related d",
        "unrelated d",
        "related closer",
        "Spearman ρ [interval]",
        "effect",
        title=f"{len(result.tasks)} tasks × {len(result.seeds)} seeds, {result.seconds:.0f} s",
    )
    for obs, r in result.observables.items():
        c = r["correlation"]
        rho = f"{c['rho']:.2f} [{c['low']:.2f}, {c['high']:.2f}]" if c else "-"
        t.add_row(
            obs,
            ", ".join(f"{v:.3g}" for v in r["related"].values()),
            ", ".join(f"{v:.3g}" for v in r["unrelated"].values()),
            "yes" if r["related_closer"] else "no",
            rho,
            "yes" if r["effect"] else "no",
        )
    console.print(t)
    console.print(f"study.json and figures in {folder}")


def render_depth(console, result, folder) -> None:
    t = Table(
        "model",
        "std of per-layer |λ_1|",
        "mean W1 between layers",
        title=f"per-layer uniformity, {len(result.tasks)} tasks × {len(result.seeds)} seeds, {result.seconds:.0f} s",
    )
    for m in result.models:
        u = result.uniformity[m]
        t.add_row(
            m,
            f"{u['layer_leading_modulus_std']:.3f} ± {u['layer_leading_modulus_std_seed_std']:.3f}",
            f"{u['layer_spectra_spread']:.3f} ± {u['layer_spectra_spread_seed_std']:.3f}",
        )
    console.print(t)
    console.print(
        f"shallower more uniform (every pair, both measures): {'yes' if result.uniform_rule['holds'] else 'no'}"
    )
    if result.elt_rule:
        e = Table(
            "ticket", "→ target", "moved", "own", "random", "holds", title="elastic ticket transfer (acc %)"
        )
        for p in result.elt_rule["pairs"]:
            rnd = f"{p['random']:.1f}" if p["random"] is not None else "-"
            e.add_row(
                p["source"],
                p["target"],
                f"{p['moved']:.1f}",
                f"{p['own']:.1f}",
                rnd,
                "yes" if p["holds"] else "no",
            )
        console.print(e)
    console.print(f"study.json and figures in {folder}")


def register(root):
    root.add_typer(
        app, name="ticket-flow", help="IMP as an RG flow: DMD spectra, spectral distances, ticket transfer."
    )


def _demo(invocation: Invocation, folder: Path) -> str:
    """The tiny study (2 tasks × 2 seeds, 3 IMP rounds) with the weights observable, ≲ 60 s on 2 cores."""
    import torch

    from vita_cli.core.context import RunContext
    from vita_cli.methods.ticket_flow import pipeline

    torch.set_num_threads(min(2, torch.get_num_threads()))
    rec = _recipe("ticket-flow/tiny", [])
    ctx = RunContext(device=invocation.device, seed=invocation.seed, out=folder, reporter=invocation.reporter)
    result = pipeline.run_study(rec, ctx)
    r = result.observables[rec.observables[0]]
    rows = "\n".join(
        f"| {a} | {b} | {r['task_distances'][a][b]:.3g} |"
        for i, a in enumerate(result.tasks)
        for b in result.tasks[i + 1 :]
    )
    c = r["correlation"]
    rho = (
        f"Spearman ρ = {c['rho']:.2f} [{c['low']:.2f}, {c['high']:.2f}] over {c['n']} points"
        if c
        else "ρ: too few points"
    )
    fig = Path(r["figures"]["distances"]).relative_to(folder.parent)
    return (
        f"IMP flows of {', '.join(result.tasks)} ({len(result.seeds)} seeds, {rec.imp.rounds} rounds of "
        f"{100 * rec.imp.rate:g}%, tiny CNN); exact DMD of the {rec.observables[0]} observable, Wasserstein-1 "
        f"distance between spectra; tickets transferred between tasks ({rho}). A smoke run, not a result.\n\n"
        f"![spectral distances]({fig})\n\n| task | task | mean distance |\n|---|---|---|\n{rows}\n"
    )


DEMO = ("Ticket flow: DMD spectra of IMP flows and ticket transfer", _demo)
