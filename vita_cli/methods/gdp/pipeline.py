"""GDP as one pipeline: :func:`run` takes a ``prune`` recipe and a run context; compact checkpoint,
figures and report out.

    result = run(recipe, ctx)                      # trains the recipe's dense model first
    result = run(recipe, ctx, "model.safetensors") # prunes a trained model
    ctx.resume = True: continue a stopped run in the same folder (finished stages are skipped)
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.core.recipe import dump_yaml, from_dict
from vita_cli.core.rundir import RunDir
from vita_cli.methods.gdp import engine
from vita_cli.methods.gdp.config import GdpConfig
from vita_cli.methods.gdp.flops import dense_macs
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.methods.gdp.plots import plot_accuracy_vs_flops, plot_polarization
from vita_cli.methods.imp import PruneRecipe
from vita_cli.models import build_model, load_model, save_model
from vita_cli.models.infer import describe_arch
from vita_cli.models.manifest import manifest_spec
from vita_cli.training import evaluate
from vita_cli.training.setup import arch_spec, build_loaders, data_config_for, match_model_channels


@dataclass
class GdpResult:
    method: str
    model: str
    output: str
    flops_target: float
    dense: dict
    arms: list[dict]
    checks: dict
    history: list[dict]
    figures: dict

    def to_dict(self) -> dict:
        return asdict(self)


def gdp_config(recipe: PruneRecipe) -> GdpConfig:
    """The recipe's ``gdp:`` section, typed and validated (unknown keys and bad values are user errors)."""
    return from_dict(GdpConfig, dict(recipe.gdp), "gdp")


def run(
    recipe: PruneRecipe,
    ctx: RunContext,
    model_path: Path | str | None = None,
    *,
    arch: str | None = None,
    trust_pickle: bool = False,
    overrides: list[str] | None = None,
) -> GdpResult:
    """GDP on ``model_path`` (or on the recipe's model, trained dense first), then the recipe's baselines.

    ``overrides``: the data.* ones replace the data a model file says it was trained on."""
    cfg = gdp_config(recipe)
    loaded = None
    if model_path is not None:  # checked before the run folder is made
        loaded = load_model(model_path, arch, trust_pickle=trust_pickle)
        if isinstance(loaded.arch.get("rebuild"), dict):
            raise UserError(
                f"{model_path} is already a compacted (rebuilt) model",
                "prune the dense model it came from instead",
            )
    resolved = {**asdict(recipe), "gdp": asdict(cfg)}
    stages = Stages(ctx.run_dir / "stages", ctx.resume)
    stages.check_settings({"recipe": resolved, "model": str(model_path), "arch": arch, "seed": ctx.seed})
    dump_yaml(resolved, ctx.run_dir / "recipe.yaml")
    return _run(ctx, model_path, loaded, recipe, cfg, arch, overrides, stages)


class Stages:
    """What a stopped run already finished, in ``<run>/stages``: the dense model (and per-epoch checkpoints
    while it trains), the GDP arm's metrics and history (its compact model and gate values are the run's
    own outputs, written as soon as the arm ends) and each baseline's metrics. ``--resume`` skips what is
    there and continues an unfinished GDP arm from its last epoch (gate phase or fine-tune, checkpoints in
    ``gdp-training/``); a fresh run overwrites it."""

    def __init__(self, directory, resume: bool):
        self.dir, self.resume = directory, bool(resume)

    def __truediv__(self, name: str):
        return self.dir / name

    def done(self, *names: str) -> bool:
        return self.resume and all((self.dir / n).is_file() for n in names)

    def check_settings(self, settings: dict) -> None:
        """A resumed run must continue the same job: same recipe, model, architecture and seed."""
        path = self.dir / "settings.json"
        text = json.dumps(settings, sort_keys=True, default=str)
        if self.resume and path.is_file() and path.read_text() != text:
            raise UserError(
                f"--resume: {self.dir.parent} was started with other settings (recipe, model, --arch or --seed)",
                "resume with the same command, or start a new run in another --out",
            )
        if not self.resume and self.dir.is_dir():
            shutil.rmtree(self.dir)  # a fresh run: stages left by an earlier job must not be resumed later
        self.dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def write_json(self, name: str, data) -> None:
        RunDir(self.dir).write_json(name, data)  # atomic: a stop mid-write leaves no half file

    def read_json(self, name: str):
        return json.loads((self.dir / name).read_text())


def _arm_record(arm) -> dict:
    return {f.name: getattr(arm, f.name) for f in dataclasses.fields(arm) if f.name != "model"}


def _run(ctx, model_path, loaded, rec, cfg, arch, overrides, stages):
    device, reporter = ctx.device, ctx.reporter
    data_over = [o for o in overrides or [] if o.startswith("data.")]
    if loaded is not None and (loaded.meta.get("data") or (loaded.meta.get("recipe") or {}).get("data")):
        data_cfg = data_config_for(loaded, data_over)
    elif loaded is not None:  # a file that does not say its data: the recipe's, at the model's channels
        data_cfg = match_model_channels(rec.data, loaded.arch, data_over, ctx.log)
    else:
        data_cfg = rec.data
    if loaded is not None and loaded.inferred_arch:
        ctx.log(f"architecture read off the tensors of {model_path}: {describe_arch(loaded.arch)}")
    loaders = build_loaders(data_cfg, seed=ctx.seed)
    bundle = loaders.bundle
    scratch_epochs = 0
    if loaded is None:
        spec = arch_spec(rec.model, bundle, arch)
        model = build_model(spec)
        scratch_epochs = cfg.pretrain_epochs or rec.train.epochs
        ctx.log(f"no MODEL given: training a dense {spec['name']} for {scratch_epochs} epochs first")
    else:
        model, spec = loaded.model, dict(loaded.arch)
        scratch_epochs = cfg.pretrain_epochs
        if loaded.masks:
            ctx.log("note: the file's unstructured masks are ignored by GDP (zeros stay in the weights)")
    input_shape = (bundle.in_channels, bundle.image_size, bundle.image_size)
    _check_fits(model, input_shape, bundle.num_classes, model_path)
    graph = build_channel_graph(model, input_shape)
    if not cfg.gate_streams:
        ctx.log(f"gdp.gate_streams is false: {graph.pin_residual_streams()} residual streams kept whole")
    if not graph.gated_spaces:
        raise UserError(
            "GDP found no prunable channel group in this model",
            "it needs regular convolutions whose outputs feed other convolutions",
        )
    if scratch_epochs:
        if stages.done("dense.safetensors"):
            model.load_state_dict(load_file(stages / "dense.safetensors"))
            ctx.log(f"resume: dense model from {stages / 'dense.safetensors'}")
        else:
            engine.train_plain(
                model,
                loaders.train,
                loaders.val,
                rec.train,
                scratch_epochs,
                device,
                reporter,
                checkpoint_dir=stages / "dense-training",
                resume="auto" if stages.resume else None,
            )
            state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
            save_file(state, stages / "dense.safetensors")
    dense_model = copy.deepcopy(model)
    dense_acc = evaluate(model, loaders.test, device).accuracy
    dense = dense_macs(graph)
    ctx.log(
        f"dense: test accuracy {dense_acc:.2f}%  {dense:,} MACs  {len(graph.gated_spaces)} gated channel groups"
        f"  {len(graph.blocks)} removable blocks  target {cfg.flops_target:g}"
    )

    run_dir = ctx.run_dir
    out_path = run_dir / "compact.safetensors"
    gates_path = run_dir / "gate_values.safetensors"  # tensors only: nothing to unpickle on --resume
    if stages.done("gdp.json") and out_path.is_file() and gates_path.is_file():
        saved = stages.read_json("gdp.json")
        arm = engine.Arm(model=load_model(out_path).model, **saved["arm"])
        history, snapshots = saved["history"], list(load_file(gates_path)["gates"])
        checks = arm.extra
        ctx.log(f"resume: GDP arm from {out_path}")
    else:
        resumable = {"checkpoint_dir": stages / "gdp-training", "resume": stages.resume}
        arm, phase, _, checks = engine.run_gdp_arm(
            model, graph, loaders, cfg, rec.train, device, reporter, **resumable
        )
        history, snapshots = phase.history, phase.snapshots
        if checks.get("finetune_diverged"):
            ctx.log(
                f"warning: fine-tuning lowered GDP's validation accuracy from "
                f"{checks['val_acc_before_finetune']:.1f} to {arm.val_acc:.1f} % (it diverged); "
                "rerun with a lower train.lr or fewer gdp.finetune_epochs"
            )
        out_arch = {
            **{k: v for k, v in spec.items() if k != "rebuild"},
            "rebuild": manifest_spec(arm.manifest),
        }
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
        out_path = save_model(out_path, arm.model, out_arch, meta=meta)
        save_file({"gates": torch.stack(snapshots).contiguous()}, gates_path)
        stages.write_json("gdp.json", {"arm": _arm_record(arm), "history": history})
    arms = [arm]
    for kind in cfg.baselines:
        name = f"baseline-{kind}.json"
        if stages.done(name):
            arms.append(engine.Arm(model=None, **stages.read_json(name)))
            ctx.log(f"resume: baseline {kind} from {stages / name}")
            continue
        ctx.log(f"baseline: {kind}")
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
        stages.write_json(name, _arm_record(arms[-1]))

    (run_dir / "shape_manifest.txt").write_text(arm.manifest)
    figures = {"polarization": str(plot_polarization(snapshots, run_dir / "gate_polarization.png", cfg.tau))}
    points = [{"arm": "dense", "flops_ratio": 1.0, "accuracy": dense_acc}] + [
        {"arm": a.name, "flops_ratio": a.flops_ratio, "accuracy": a.test_acc} for a in arms
    ]
    figures["accuracy_vs_flops"] = str(plot_accuracy_vs_flops(points, run_dir / "accuracy_vs_flops.png"))
    result = GdpResult(
        method="gdp",
        model=str(model_path) if model_path else spec["name"],
        output=str(out_path),
        flops_target=cfg.flops_target,
        dense={"test_acc": dense_acc, "macs": dense, "params": engine.param_count(dense_model)},
        arms=[
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
        checks=checks,
        history=history,
        figures=figures,
    )
    run_dir.write_json("result.json", result.to_dict())
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
