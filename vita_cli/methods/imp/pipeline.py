"""The ``prune`` verb's unstructured actions: :func:`run` (IMP with rewinding) and :func:`run_magnitude`.

Both take a :class:`PruneRecipe` and a :class:`RunContext`, write their files into ``ctx.run_dir`` and
return a result dataclass (``to_dict()`` for JSON).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.core.plots import new_figure, save_figure
from vita_cli.core.recipe import to_dict
from vita_cli.methods.imp.config import PruneRecipe
from vita_cli.methods.imp.engine import ImpRound, run_imp
from vita_cli.methods.imp.store import FileImpStore
from vita_cli.models import load_model, save_model
from vita_cli.sparsity import (
    MaskCallback,
    apply_masks,
    magnitude_prune,
    sparsity_report,
    to_torch_prune_layout,
)
from vita_cli.training import evaluate, fit
from vita_cli.training.setup import (
    arch_spec,
    build_from_spec,
    build_loaders,
    count_params,
    data_config_for,
    macs,
)


def _load(model_path, arch, trust_pickle):
    return load_model(model_path, arch, trust_pickle=trust_pickle) if model_path is not None else None


def _data_for(recipe: PruneRecipe, loaded, overrides):
    """The recipe's data, unless the checkpoint says what it was trained on (then only data.* overrides apply)."""
    if loaded is not None and (loaded.meta.get("data") or loaded.meta.get("recipe")):
        return data_config_for(loaded, [o for o in overrides or [] if o.startswith("data.")])
    return recipe.data


# ---------------------------------------------------------------- magnitude


@dataclass
class MagnitudeResult:
    method: str
    model: str
    output: str
    sparsity: float
    scope: str
    params: int
    nonzero_params: int
    masked_sparsity: float
    macs_dense: int | None
    macs_sparse: int | None
    test_acc_before: float
    test_acc_after: float
    test_acc_finetuned: float | None
    layers: list[dict]
    torch_prune_layout: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        if out["torch_prune_layout"] is None:
            del out["torch_prune_layout"]
        return out


def run_magnitude(
    recipe: PruneRecipe,
    ctx: RunContext,
    model_path: Path | str | None,
    *,
    arch: str | None = None,
    trust_pickle: bool = False,
    torch_prune_layout: bool = False,
    overrides: list[str] | None = None,
) -> MagnitudeResult:
    """One-shot magnitude pruning of a model file, optionally with masked fine-tuning."""
    if model_path is None:
        raise UserError(
            "magnitude pruning needs a MODEL file",
            "vita prune --method magnitude runs/train/.../model.safetensors",
        )
    cfg, target = recipe.magnitude, recipe.magnitude_sparsity()
    loaded = _load(model_path, arch, trust_pickle)
    data_cfg = _data_for(recipe, loaded, overrides)
    loaders = build_loaders(data_cfg, seed=ctx.seed)
    net, device = loaded.model, ctx.device
    before = evaluate(net, loaders.test, device)
    dense_macs = macs(net, loaders.bundle)
    masks = magnitude_prune(
        net, target, scope=cfg.scope, include=cfg.include, exclude=cfg.exclude, masks=loaded.masks or None
    )
    apply_masks(net, masks)
    after = evaluate(net, loaders.test, device)
    finetuned = None
    if cfg.finetune_epochs:
        fit(
            net,
            loaders.train,
            loaders.val,
            replace(recipe.train, epochs=cfg.finetune_epochs),
            device,
            reporter=ctx.reporter,
            callbacks=[MaskCallback(masks)],
            checkpoint_dir=ctx.run_dir / "finetune",
        )
        finetuned = evaluate(net, loaders.test, device).accuracy
    report = sparsity_report(net, masks)
    meta = {
        "verb": "prune",
        "method": "magnitude",
        "sparsity": target,
        "scope": cfg.scope,
        "data": asdict(data_cfg),
        "source": str(model_path),
    }
    out_path = save_model(ctx.run_dir / "pruned.safetensors", net, loaded.arch, masks=masks, meta=meta)
    result = MagnitudeResult(
        method="magnitude",
        model=str(model_path),
        output=str(out_path),
        sparsity=target,
        scope=cfg.scope,
        params=report["params"],
        nonzero_params=report["nonzero_params"],
        masked_sparsity=report["masked_sparsity"],
        macs_dense=dense_macs,
        macs_sparse=macs(net, loaders.bundle, masks=masks, sparse=True),
        test_acc_before=before.accuracy,
        test_acc_after=after.accuracy,
        test_acc_finetuned=finetuned,
        layers=report["layers"],
    )
    if torch_prune_layout:
        pt = ctx.run_dir / "pruned_torch_prune.pt"
        torch.save(to_torch_prune_layout(net.state_dict(), masks), pt)
        result.torch_prune_layout = str(pt)
    ctx.run_dir.write_json("result.json", result.to_dict())
    return result


# ---------------------------------------------------------------- IMP


@dataclass
class ImpRunResult:
    method: str
    run_dir: str
    dense_acc: float
    rounds: list[dict]
    ticket: str
    flow: str
    extreme: dict | None
    plot: str
    torch_prune_layout: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        if out["torch_prune_layout"] is None:
            del out["torch_prune_layout"]
        return out


def plot_imp(table: list[dict], path: Path, title: str) -> Path:
    fig, ax = new_figure(6, 3.8)
    rows = sorted(table, key=lambda r: -r["remaining"])
    ax.plot([100 * r["remaining"] for r in rows], [r["test_acc"] for r in rows], "o-", label="IMP ticket")
    rnd = [r for r in rows if r.get("random_test_acc") is not None]
    if rnd:
        x = [100 * r["remaining"] for r in rnd]
        ax.plot(x, [r["random_test_acc"] for r in rnd], "x--", label="random mask")
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


def _record(r: ImpRound) -> dict:
    return {k: v for k, v in r.as_dict().items() if k != "history"}


def run(
    recipe: PruneRecipe,
    ctx: RunContext,
    model_path: Path | str | None = None,
    *,
    arch: str | None = None,
    trust_pickle: bool = False,
    torch_prune_layout: bool = False,
    overrides: list[str] | None = None,
) -> ImpRunResult:
    """IMP from ``model_path`` (its masks start the flow), or from scratch (the recipe's model or ``arch``).

    ``ctx.resume`` continues the flow in ``ctx.run_dir/imp`` after the last finished round."""
    cfg = replace(recipe.imp, rounds=recipe.imp_rounds())
    loaded = _load(model_path, arch, trust_pickle)
    data_cfg = _data_for(recipe, loaded, overrides)
    loaders = build_loaders(data_cfg, seed=ctx.seed)
    if loaded is not None:
        net, spec, masks = loaded.model, loaded.arch, loaded.masks or None
    else:
        spec = arch_spec(recipe.model, loaders.bundle, arch)
        net, masks = build_from_spec(spec), None
    rewind = (
        f"iteration {cfg.rewind_iteration}"
        if cfg.rewind_iteration is not None
        else f"epoch {cfg.rewind_epoch}"
    )
    ctx.log(
        f"IMP on {spec['name']} ({count_params(net) / 1e6:.3f}M params): {cfg.rounds} rounds of "
        f"{100 * cfg.rate:g}%, rewind to {rewind}"
    )
    meta = {"verb": "prune", "method": "imp", "data": asdict(data_cfg), "recipe": to_dict(recipe)}
    store = FileImpStore(ctx.run_dir / "imp", spec, meta)
    flow = run_imp(
        net,
        (loaders.train, loaders.val, loaders.test),
        cfg,
        ctx.device,
        ctx.reporter,
        train_cfg=recipe.train,
        store=store,
        resume=ctx.resume,
        masks=masks,
        seed=ctx.seed,
    )
    table = flow.table()
    remaining = flow.extreme.remaining if flow.extreme else table[-1]["remaining"]
    ticket = save_model(
        ctx.run_dir / "ticket.safetensors", net, spec, masks=flow.masks, meta={**meta, "remaining": remaining}
    )
    title = f"IMP, {spec['name']} on {data_cfg.name}"
    result = ImpRunResult(
        method="imp",
        run_dir=str(ctx.run_dir.path),
        dense_acc=flow.dense_acc,
        rounds=table,
        ticket=str(ticket),
        flow=str(store.dir),
        extreme=_record(flow.extreme) if flow.extreme else None,
        plot=str(plot_imp(table, ctx.run_dir / "imp.png", title)),
    )
    if torch_prune_layout:
        pt = ctx.run_dir / "ticket_torch_prune.pt"
        torch.save(to_torch_prune_layout(net.state_dict(), flow.masks), pt)
        result.torch_prune_layout = str(pt)
    ctx.run_dir.write_json("imp.json", result.to_dict())
    return result
