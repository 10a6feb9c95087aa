"""``vita prune --method gdp``: recipe, data and model in; compact checkpoint, figures and report out.

vita prune --method gdp runs/train/model.safetensors --flops-target 0.5
vita prune --method gdp --recipe prune/gdp-default                 # trains the dense ResNet-20 first
vita prune --method gdp resnet18.pt --arch torchvision:resnet18 --recipe prune/gdp-tiny data.channels=3
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict

import torch

from vita_cli.core.errors import UserError
from vita_cli.core.recipe import dump_yaml, from_dict, load_recipe

DEFAULT_RECIPE = "prune/gdp-default"


def run_gdp(
    session,
    model_path=None,
    recipe=None,
    overrides=None,
    arch=None,
    sparsity=None,
    flops_target=None,
    trust_pickle=False,
    resume=False,
    arch_name=None,
):
    from vita_cli.cli.common import check_range
    from vita_cli.methods.gdp.config import GdpConfig
    from vita_cli.training.config import PruneRecipe

    arch = arch or arch_name
    if sparsity is not None:
        raise UserError(
            "--sparsity is for magnitude/IMP pruning", "GDP takes --flops-target (fraction of dense FLOPs)"
        )
    if resume:
        raise UserError("GDP runs cannot be resumed yet", "start a new run (GDP phases are short)")
    if isinstance(recipe, PruneRecipe):
        rec, source = recipe, "<given>"
    else:
        rec, source = load_recipe(recipe or DEFAULT_RECIPE, PruneRecipe, overrides)
    cfg = from_dict(GdpConfig, dict(rec.gdp), "gdp")
    if flops_target is not None:
        check_range("--flops-target", flops_target, 0.0, 1.0)
        cfg = dataclasses.replace(cfg, flops_target=float(flops_target))
    dump_yaml({**asdict(rec), "gdp": asdict(cfg)}, session.run_dir / "recipe.yaml")
    session.log(f"recipe {source} -> run directory {session.run_dir.path}")
    return _run(session, model_path, rec, cfg, arch, trust_pickle, overrides)


def _run(session, model_path, rec, cfg, arch, trust_pickle, overrides):
    import copy

    from vita_cli.methods.gdp import engine
    from vita_cli.methods.gdp.compact import rebuild_spec
    from vita_cli.methods.gdp.flops import dense_macs
    from vita_cli.methods.gdp.graph import build_channel_graph
    from vita_cli.methods.gdp.plots import plot_accuracy_vs_flops, plot_polarization
    from vita_cli.models import build_model, load_model, save_model
    from vita_cli.training import evaluate
    from vita_cli.training.setup import arch_spec, build_loaders, data_config_for

    device, reporter = session.device, session.reporter
    loaded = None
    if model_path is not None:
        loaded = load_model(model_path, arch, trust_pickle=trust_pickle)
        if isinstance(loaded.arch.get("rebuild"), dict):
            raise UserError(
                f"{model_path} is already a compacted (rebuilt) model",
                "prune the dense model it came from instead",
            )
    data_over = [o for o in overrides or [] if o.startswith("data.")]
    if loaded is not None and (loaded.meta.get("data") or (loaded.meta.get("recipe") or {}).get("data")):
        data_cfg = data_config_for(loaded, data_over)
    else:
        data_cfg = rec.data
    loaders = build_loaders(data_cfg, seed=session.seed)
    bundle = loaders.bundle
    scratch_epochs = 0
    if loaded is None:
        spec = arch_spec(rec.model, bundle, arch)
        model = build_model(spec)
        scratch_epochs = cfg.pretrain_epochs or rec.train.epochs
        session.log(f"no MODEL given: training a dense {spec['name']} for {scratch_epochs} epochs first")
    else:
        model, spec = loaded.model, dict(loaded.arch)
        scratch_epochs = cfg.pretrain_epochs
        if loaded.masks:
            session.log("note: the file's unstructured masks are ignored by GDP (zeros stay in the weights)")
    input_shape = (bundle.in_channels, bundle.image_size, bundle.image_size)
    _check_fits(model, input_shape, bundle.num_classes, model_path)
    graph = build_channel_graph(model, input_shape)
    if not graph.gated_spaces:
        raise UserError(
            "GDP found no prunable channel group in this model",
            "it needs regular convolutions whose outputs feed other convolutions",
        )
    if scratch_epochs:
        engine.train_plain(model, loaders.train, loaders.val, rec.train, scratch_epochs, device, reporter)
    dense_model = copy.deepcopy(model)
    dense_acc = evaluate(model, loaders.test, device).accuracy
    dense = dense_macs(graph)
    session.log(
        f"dense: test accuracy {dense_acc:.2f}%  {dense:,} MACs  {len(graph.gated_spaces)} gated channel groups"
        f"  {len(graph.blocks)} removable blocks  target {cfg.flops_target:g}"
    )

    arm, phase, comp, checks = engine.run_gdp_arm(model, graph, loaders, cfg, rec.train, device, reporter)
    arms = [arm]
    for kind in cfg.baselines:
        session.log(f"baseline: {kind}")
        arms.append(
            engine.run_baseline(
                kind,
                dense_model,
                graph,
                loaders,
                cfg,
                rec.train,
                device,
                reporter,
                scratch_epochs=scratch_epochs,
            )
        )

    run_dir = session.run_dir
    out_arch = {**{k: v for k, v in spec.items() if k != "rebuild"}, "rebuild": rebuild_spec(arm.manifest)}
    meta = {
        "verb": "prune",
        "method": "gdp",
        "gdp": asdict(cfg),
        "data": asdict(data_cfg),
        "source": str(model_path) if model_path else None,
        "macs_dense": dense,
        "macs": arm.macs,
        "flops_ratio": arm.flops_ratio,
        "test_acc": arm.test_acc,
    }
    out_path = save_model(run_dir / "compact.safetensors", arm.model, out_arch, meta=meta)
    (run_dir / "shape_manifest.txt").write_text(arm.manifest)
    figures = {
        "polarization": str(plot_polarization(phase.snapshots, run_dir / "gate_polarization.png", cfg.tau))
    }
    points = [{"arm": "dense", "flops_ratio": 1.0, "accuracy": dense_acc}] + [
        {"arm": a.name, "flops_ratio": a.flops_ratio, "accuracy": a.test_acc} for a in arms
    ]
    figures["accuracy_vs_flops"] = str(plot_accuracy_vs_flops(points, run_dir / "accuracy_vs_flops.png"))
    torch.save(torch.stack(phase.snapshots), run_dir / "gate_values.pt")
    result = {
        "method": "gdp",
        "model": str(model_path) if model_path else spec["name"],
        "output": str(out_path),
        "flops_target": cfg.flops_target,
        "dense": {"test_acc": dense_acc, "macs": dense, "params": engine.param_count(dense_model)},
        "arms": [
            {
                "arm": a.name,
                "test_acc": a.test_acc,
                "val_acc": a.val_acc,
                "test_acc_before_finetune": a.test_acc_before_finetune,
                "flops_ratio": a.flops_ratio,
                "macs": a.macs,
                "params": a.params,
                "epochs": a.epochs,
                **a.extra,
            }
            for a in arms
        ],
        "checks": checks,
        "history": phase.history,
        "figures": figures,
    }
    run_dir.write_json("result.json", result)
    session.emit(result, lambda console: _render(console, result))
    return result


def _check_fits(model, input_shape, num_classes, source) -> None:
    """One forward pass at the data's size, so a channel or class mismatch is a clear user error."""
    try:
        with torch.no_grad():
            was = model.training
            model.eval()
            out = model(torch.zeros(1, *input_shape, device=next(model.parameters()).device))
            model.train(was)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(
            f"the model does not accept {input_shape} inputs: {first}",
            "set data.channels / data.image_size to what the model expects",
        ) from exc
    if out.dim() != 2 or out.shape[1] < num_classes:
        raise UserError(
            f"the model outputs {tuple(out.shape)} but the data has {num_classes} classes",
            f"{source or 'the model'} must be a classifier with at least {num_classes} outputs",
        )


def _render(console, result) -> None:
    from rich.table import Table

    table = Table("arm", "FLOPs kept", "MACs", "params", "test acc", "before FT", "epochs")
    d = result["dense"]
    table.add_row("dense", "1.000", f"{d['macs']:,}", f"{d['params']:,}", f"{d['test_acc']:.2f}%", "", "")
    for a in result["arms"]:
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
    c = result["checks"]
    console.print(
        f"GDP: {c['epochs_run']} gate epochs, λ={c['final_lambda']:.3g}, ε={c['final_eps']:.2g}; "
        f"gates in (τ,0.5): {100 * c['mid_gates_fraction']:.2f}%; forced off {c['forced']['forced_off']}; "
        f"blocks removed {len(c['dead_blocks'])}\n"
        f"fold check: max |Δlogits| = {c['max_logit_diff']:.2e}; MACs formula {c['macs_formula']:,} "
        f"{'=' if c['macs_match'] else '≠'} hooks {c['macs_counted']:,}\n"
        f"compact model: {result['output']}"
    )
