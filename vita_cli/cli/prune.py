"""``vita prune --method magnitude|imp|gdp [MODEL]``: unstructured pruning, lottery tickets and GDP.

vita prune --method magnitude runs/train/model.safetensors --sparsity 0.8
vita prune --method imp --recipe prune/imp-default                    # IMP from scratch (recipe model)
vita prune --method imp runs/train/model.safetensors --out runs/imp --resume
vita prune --method gdp MODEL --flops-target 0.5
"""
# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, Overrides, TrustPickleOpt, verb_command
from vita_cli.core.errors import UserError
from vita_cli.methods import gdp, imp


class PruneMethod(str, Enum):
    magnitude = "magnitude"
    imp = "imp"
    gdp = "gdp"


DEFAULT_RECIPES = {"magnitude": "prune/magnitude", "imp": "prune/imp-default", "gdp": "prune/gdp-default"}


def register(app):
    @app.command(
        "prune",
        help="Prune a model: one-shot magnitude pruning, IMP with rewinding (lottery tickets), or GDP. "
        "IMP without MODEL trains from scratch (recipe model or --arch).",
    )
    @verb_command("prune")
    def prune(
        invocation: Invocation,
        model: Annotated[
            str | None,
            typer.Argument(help="Model file (.safetensors, or .pt/.pth with --arch).", show_default=False),
        ] = None,
        overrides: Overrides = None,
        method: Annotated[
            PruneMethod | None,
            typer.Option("--method", "-m", help="Pruning method (default: the recipe's; sets `method`)."),
        ] = None,
        recipe: Annotated[
            str | None, typer.Option("--recipe", "-r", help="Recipe name (prune/...) or YAML path.")
        ] = None,
        arch: Annotated[
            str | None,
            typer.Option("--arch", help="Architecture name (plain state dicts; IMP from scratch)."),
        ] = None,
        sparsity: Annotated[
            float | None,
            typer.Option(
                "--sparsity", help="Target sparsity in [0, 1) (magnitude: one shot; IMP: rounds to reach it)."
            ),
        ] = None,
        flops_target: Annotated[
            float | None, typer.Option("--flops-target", help="GDP: FLOPs budget as a fraction of dense.")
        ] = None,
        resume: Annotated[
            bool, typer.Option("--resume", help="IMP and GDP: continue the run in --out after a stop.")
        ] = False,
        torch_prune_layout: Annotated[
            bool,
            typer.Option(
                "--torch-prune-layout",
                help="Also write the result as a torch.nn.utils.prune state dict (.pt).",
            ),
        ] = False,
        trust_pickle: TrustPickleOpt = False,
    ):
        # a lone key=value positional is an override, not a model path
        if model is not None and "=" in model and not Path(model).exists():
            overrides, model = [model, *(overrides or [])], None
        if resume and invocation.out is None:
            raise UserError("--resume continues a run directory", "pass --out DIR of the run to continue")
        extra = list(overrides or [])
        method = method.value if method is not None else None
        if method is not None:
            extra.append(f"method={method}")
        if sparsity is not None:
            extra.append(f"sparsity={sparsity}")
        if flops_target is not None:
            extra.append(f"gdp.flops_target={flops_target}")
        default = DEFAULT_RECIPES.get(method or "imp", "prune/imp-default")
        if method == "gdp" and model is not None:
            default = "prune/gdp-quick"  # a model the user brings: minutes on a CPU, L1 baseline beside it
        rec = invocation.recipe(recipe or default, extra, imp.PruneRecipe)
        ctx = invocation.context(resume=resume)
        inputs = dict(arch=arch, trust_pickle=trust_pickle, overrides=overrides)
        if rec.method == "gdp":
            result = gdp.run(rec, ctx, model, **inputs)
            invocation.emit(result.to_dict(), lambda console: render_gdp(console, result))
        elif rec.method == "magnitude":
            result = imp.run_magnitude(rec, ctx, model, torch_prune_layout=torch_prune_layout, **inputs)
            invocation.emit(result.to_dict(), lambda console: render_magnitude(console, result))
        else:
            result = imp.run(rec, ctx, model, torch_prune_layout=torch_prune_layout, **inputs)
            invocation.emit(result.to_dict(), lambda console: render_imp(console, result))


def _m(n):
    return f"{n / 1e6:.2f}M" if n is not None else "?"


def render_magnitude(console, r: imp.MagnitudeResult) -> None:
    table = Table("layer", "shape", "sparsity")
    for row in r.layers:
        table.add_row(row["name"], "×".join(map(str, row["shape"])), f"{100 * row['sparsity']:.1f}%")
    console.print(table)
    m = f"  MACs {_m(r.macs_dense)} -> {_m(r.macs_sparse)}" if r.macs_dense else ""
    console.print(
        f"params {r.params:,} -> nonzero {r.nonzero_params:,}{m}\n"
        f"test accuracy {r.test_acc_before:.2f}% -> {r.test_acc_after:.2f}%"
        + (f" -> {r.test_acc_finetuned:.2f}% after fine-tuning" if r.test_acc_finetuned is not None else "")
        + f"\nsaved {r.output}"
    )


def render_imp(console, r: imp.ImpRunResult) -> None:
    t = Table("round", "kind", "weights left", "test acc", "Δ vs dense", "random mask")
    for row in r.rounds:
        rnd = f"{row['random_test_acc']:.2f}" if row.get("random_test_acc") is not None else ""
        t.add_row(
            str(row["round"]),
            row["kind"],
            f"{100 * row['remaining']:.2f}%",
            f"{row['test_acc']:.2f}",
            f"{row['test_acc'] - r.dense_acc:+.2f}",
            rnd,
        )
    console.print(t)
    if r.extreme:
        e = r.extreme
        console.print(
            f"extreme ticket: round {e['round']}, {100 * e['remaining']:.2f}% weights, {e['test_acc']:.2f}%"
        )
    console.print(f"ticket {r.ticket}; flow {r.flow}; plot {r.plot}")


def render_gdp(console, r: gdp.GdpResult) -> None:
    table = Table("arm", "FLOPs kept", "MACs", "params", "test acc", "before FT", "epochs")
    d = r.dense
    table.add_row("dense", "1.000", f"{d['macs']:,}", f"{d['params']:,}", f"{d['test_acc']:.2f}%", "", "")
    for a in r.arms:
        before = a["test_acc_before_finetune"]
        table.add_row(
            a["arm"],
            f"{a['flops_ratio']:.3f}",
            f"{a['macs']:,}",
            f"{a['params']:,}",
            f"{a['test_acc']:.2f}%",
            "" if before is None else f"{before:.2f}%",
            str(a["epochs"]),
        )
    console.print(table)
    c = r.checks
    console.print(
        f"GDP: {c['epochs_run']} gate epochs, λ={c['final_lambda']:.3g}, ε={c['final_eps']:.2g}; "
        f"gates in (τ,0.5): {100 * c['mid_gates_fraction']:.2f}%; forced off {c['forced']['forced_off']}; "
        f"blocks removed {len(c['dead_blocks'])}\n"
        f"fold check: max |Δlogits| = {c['max_logit_diff']:.2e}; MACs formula {c['macs_formula']:,} "
        f"{'=' if c['macs_match'] else '≠'} hooks {c['macs_counted']:,}\n"
        f"compact model: {r.output}"
    )
    if not c.get("within_target", True):
        console.print(
            f"[bold yellow]FLOPs target {r.flops_target:g} NOT reached[/]: the gates kept "
            f"{r.arms[0]['flops_ratio']:.3f} of the dense FLOPs and forcing stops at gdp.force_floor "
            "(no layer that cannot vanish is cut below it); raise gdp.epochs or lam_start, or accept this ratio"
        )
