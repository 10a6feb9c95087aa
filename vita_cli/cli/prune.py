"""``vita prune --method magnitude|imp|gdp [MODEL]``: unstructured pruning and lottery tickets.

vita prune --method magnitude runs/train/model.safetensors --sparsity 0.8
vita prune --method imp --recipe prune/imp-default                    # IMP from scratch (recipe model)
vita prune --method imp runs/train/model.safetensors --out runs/imp --resume
vita prune --method gdp MODEL --flops-target 0.5                      # dispatched to the GDP method
"""
# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer

import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Overrides, Session, TrustPickleOpt, check_range, verb_command
from vita_cli.core.errors import UserError

METHODS = ("magnitude", "imp", "gdp")
DEFAULT_RECIPES = {"magnitude": "prune/magnitude", "imp": "prune/imp-default"}


def plot_imp(table: list[dict], path: Path, title: str) -> Path:
    from vita_cli.core.plots import new_figure, save_figure

    fig, ax = new_figure(6, 3.8)
    rows = sorted(table, key=lambda r: -r["remaining"])
    ax.plot([100 * r["remaining"] for r in rows], [r["test_acc"] for r in rows], "o-", label="IMP ticket")
    rnd = [r for r in rows if r.get("random_test_acc") is not None]
    if rnd:
        ax.plot(
            [100 * r["remaining"] for r in rnd],
            [r["random_test_acc"] for r in rnd],
            "x--",
            label="random mask",
        )
    dense = rows[0]["test_acc"]
    ax.axhline(dense, color="grey", lw=0.8, ls=":", label=f"dense {dense:.2f}%")
    ax.set_xscale("log")
    ticks = [100 * r["remaining"] for r in rows]
    ax.set_xticks(ticks, [f"{t:.3g}" for t in ticks], fontsize=7)
    ax.minorticks_off()
    ax.invert_xaxis()
    ax.set_xlabel("weights remaining (%, prunable layers)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def register(app):
    @app.command(
        "prune",
        help="Prune a model: one-shot magnitude pruning, IMP with rewinding (lottery tickets), or GDP. "
        "IMP without MODEL trains from scratch (recipe model or --arch).",
    )
    @verb_command("prune")
    def prune(
        session: Session,
        model: Annotated[
            str | None,
            typer.Argument(help="Model file (.safetensors, or .pt/.pth with --arch).", show_default=False),
        ] = None,
        overrides: Overrides = None,
        method: Annotated[
            str | None, typer.Option("--method", "-m", help="magnitude | imp | gdp (default: the recipe's).")
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
        if method is not None and method not in METHODS:
            raise UserError(f"unknown pruning method {method!r}", f"use one of: {', '.join(METHODS)}")
        if sparsity is not None:
            check_range("--sparsity", sparsity, 0.0, 1.0)
            if sparsity >= 1.0:
                raise UserError("--sparsity must be below 1")
        if flops_target is not None:
            check_range("--flops-target", flops_target, 0.0, 1.0, inclusive=False)
        if resume and session.out is None:
            raise UserError("--resume continues a run directory", "pass --out DIR of the run to continue")
        if method == "gdp":
            return _run_gdp(
                session, model, recipe, overrides, arch, sparsity, flops_target, trust_pickle, resume
            )
        from vita_cli.core.recipe import dump_yaml, load_recipe
        from vita_cli.training.config import PruneRecipe

        name = recipe or DEFAULT_RECIPES[method or "imp"]
        rec, source = load_recipe(name, PruneRecipe, overrides)
        method = method or rec.method
        if method == "gdp":
            return _run_gdp(
                session, model, recipe, overrides, arch, sparsity, flops_target, trust_pickle, resume
            )
        dump_yaml(rec, session.run_dir / "recipe.yaml")
        session.log(f"recipe {source} -> run directory {session.run_dir.path}")
        if method == "magnitude":
            return _run_magnitude(
                session, model, rec, arch, sparsity, torch_prune_layout, trust_pickle, overrides
            )
        return _run_imp(
            session, model, rec, arch, sparsity, resume, torch_prune_layout, trust_pickle, overrides
        )


def _run_gdp(session, model, recipe, overrides, arch, sparsity, flops_target, trust_pickle, resume):
    try:
        from vita_cli.methods.gdp.cli_entry import run_gdp
    except ModuleNotFoundError as exc:
        if exc.name not in ("vita_cli.methods.gdp", "vita_cli.methods.gdp.cli_entry"):
            raise  # a real import failure inside GDP: show it
        raise UserError(
            "GDP is not installed in this vita", "use --method magnitude or --method imp"
        ) from exc
    return run_gdp(
        session,
        model,
        recipe,
        overrides=overrides,
        arch=arch,
        sparsity=sparsity,
        flops_target=flops_target,
        trust_pickle=trust_pickle,
        resume=resume,
    )


def _data_for(rec, loaded, overrides):
    """The recipe's data, unless the checkpoint says what it was trained on and no data.* override was given."""
    from vita_cli.training.setup import data_config_for

    if loaded is not None and (loaded.meta.get("data") or loaded.meta.get("recipe")):
        data_over = [o for o in overrides or [] if o.startswith("data.")]
        return data_config_for(loaded, data_over)
    return rec.data


def _load(model, arch, trust_pickle):
    from vita_cli.models import load_model

    return load_model(model, arch, trust_pickle=trust_pickle)


def _run_magnitude(session, model, rec, arch, sparsity, export_torch, trust_pickle, overrides):
    from vita_cli.models import save_model
    from vita_cli.sparsity import apply_masks, magnitude_prune, sparsity_report, to_torch_prune_layout
    from vita_cli.training import evaluate, fit
    from vita_cli.training.setup import build_loaders, macs

    if model is None:
        raise UserError(
            "magnitude pruning needs a MODEL file",
            "vita prune --method magnitude runs/train/.../model.safetensors",
        )
    cfg = rec.magnitude
    target = cfg.sparsity if sparsity is None else sparsity
    loaded = _load(model, arch, trust_pickle)
    data_cfg = _data_for(rec, loaded, overrides)
    loaders = build_loaders(data_cfg, seed=session.seed)
    net, device = loaded.model, session.device
    before = evaluate(net, loaders.test, device)
    dense_macs = macs(net, loaders.bundle)
    masks = magnitude_prune(
        net, target, scope=cfg.scope, include=cfg.include, exclude=cfg.exclude, masks=loaded.masks or None
    )
    apply_masks(net, masks)
    after = evaluate(net, loaders.test, device)
    finetuned = None
    if cfg.finetune_epochs:
        from dataclasses import replace

        fit(
            net,
            loaders.train,
            loaders.val,
            replace(rec.train, epochs=cfg.finetune_epochs),
            device,
            reporter=session.reporter,
            masks=masks,
            checkpoint_dir=session.run_dir / "finetune",
        )
        finetuned = evaluate(net, loaders.test, device).accuracy
    report = sparsity_report(net, masks)
    out_path = save_model(
        session.run_dir / "pruned.safetensors",
        net,
        loaded.arch,
        masks=masks,
        meta={
            "verb": "prune",
            "method": "magnitude",
            "sparsity": target,
            "scope": cfg.scope,
            "data": asdict(data_cfg),
            "source": str(model),
        },
    )
    result = {
        "method": "magnitude",
        "model": str(model),
        "output": str(out_path),
        "sparsity": target,
        "scope": cfg.scope,
        "params": report["params"],
        "nonzero_params": report["nonzero_params"],
        "masked_sparsity": report["masked_sparsity"],
        "macs_dense": dense_macs,
        "macs_sparse": macs(net, loaders.bundle, masks=masks, sparse=True),
        "test_acc_before": before.accuracy,
        "test_acc_after": after.accuracy,
        "test_acc_finetuned": finetuned,
        "layers": report["layers"],
    }
    if export_torch:
        import torch

        pt = session.run_dir / "pruned_torch_prune.pt"
        torch.save(to_torch_prune_layout(net.state_dict(), masks), pt)
        result["torch_prune_layout"] = str(pt)
    session.run_dir.write_json("result.json", result)

    def render(console):
        table = Table("layer", "shape", "sparsity")
        for row in report["layers"]:
            table.add_row(row["name"], "×".join(map(str, row["shape"])), f"{100 * row['sparsity']:.1f}%")
        console.print(table)
        m = f"  MACs {_m(dense_macs)} -> {_m(result['macs_sparse'])}" if dense_macs else ""
        console.print(
            f"params {report['params']:,} -> nonzero {report['nonzero_params']:,}{m}\n"
            f"test accuracy {before.accuracy:.2f}% -> {after.accuracy:.2f}%"
            + (f" -> {finetuned:.2f}% after fine-tuning" if finetuned is not None else "")
            + f"\nsaved {out_path}"
        )

    session.emit(result, render)


def _m(n):
    return f"{n / 1e6:.2f}M" if n is not None else "?"


def _run_imp(session, model, rec, arch, sparsity, resume, export_torch, trust_pickle, overrides):
    from dataclasses import replace

    from vita_cli.core.recipe import to_dict
    from vita_cli.models import save_model
    from vita_cli.sparsity.imp import run_imp
    from vita_cli.sparsity.imp_store import FileImpStore
    from vita_cli.training.setup import arch_spec, build_from_spec, build_loaders, count_params

    cfg = rec.imp
    if sparsity is not None:  # enough rounds of `rate` to reach the target
        cfg = replace(cfg, rounds=max(1, math.ceil(math.log(1 - sparsity) / math.log(1 - cfg.rate) - 1e-9)))
    loaded = _load(model, arch, trust_pickle) if model is not None else None
    data_cfg = _data_for(rec, loaded, overrides)
    loaders = build_loaders(data_cfg, seed=session.seed)
    if loaded is not None:
        net, spec, masks = loaded.model, loaded.arch, loaded.masks or None
    else:
        spec = arch_spec(rec.model, loaders.bundle, arch)
        net, masks = build_from_spec(spec), None
    session.log(
        f"IMP on {spec['name']} ({count_params(net) / 1e6:.3f}M params): {cfg.rounds} rounds of {100 * cfg.rate:g}%, "
        f"rewind to {'iteration ' + str(cfg.rewind_iteration) if cfg.rewind_iteration is not None else 'epoch ' + str(cfg.rewind_epoch)}"
    )
    meta = {"verb": "prune", "method": "imp", "data": asdict(data_cfg), "recipe": to_dict(rec)}
    store = FileImpStore(session.run_dir / "imp", spec, meta)
    result = run_imp(
        net,
        (loaders.train, loaders.val, loaders.test),
        cfg,
        session.device,
        session.reporter,
        train_cfg=rec.train,
        store=store,
        resume=resume,
        masks=masks,
        seed=session.seed,
    )
    table = result.table()
    ticket = save_model(
        session.run_dir / "ticket.safetensors",
        net,
        spec,
        masks=result.masks,
        meta={
            **meta,
            "remaining": table[-1]["remaining"] if not result.extreme else result.extreme.remaining,
        },
    )
    out = {
        "method": "imp",
        "run_dir": str(session.run_dir.path),
        "dense_acc": result.dense_acc,
        "rounds": table,
        "ticket": str(ticket),
        "flow": str(store.dir),
        "extreme": {k: v for k, v in result.extreme.as_dict().items() if k != "history"}
        if result.extreme
        else None,
    }
    if export_torch:
        import torch

        from vita_cli.sparsity import to_torch_prune_layout

        pt = session.run_dir / "ticket_torch_prune.pt"
        torch.save(to_torch_prune_layout(net.state_dict(), result.masks), pt)
        out["torch_prune_layout"] = str(pt)
    out["plot"] = str(plot_imp(table, session.run_dir / "imp.png", f"IMP, {spec['name']} on {data_cfg.name}"))
    session.run_dir.write_json("imp.json", out)

    def render(console):
        t = Table("round", "kind", "weights left", "test acc", "Δ vs dense", "random mask")
        for r in table:
            rnd = f"{r['random_test_acc']:.2f}" if r.get("random_test_acc") is not None else ""
            t.add_row(
                str(r["round"]),
                r["kind"],
                f"{100 * r['remaining']:.2f}%",
                f"{r['test_acc']:.2f}",
                f"{r['test_acc'] - result.dense_acc:+.2f}",
                rnd,
            )
        console.print(t)
        if result.extreme:
            console.print(
                f"extreme ticket: round {result.extreme.round}, {100 * result.extreme.remaining:.2f}% weights, "
                f"{result.extreme.test_acc:.2f}%"
            )
        console.print(f"ticket {ticket}; flow {store.dir}; plot {out['plot']}")

    session.emit(out, render)
