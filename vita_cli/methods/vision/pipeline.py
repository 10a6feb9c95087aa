"""Dense image classifiers: ``run_train``, ``run_evaluate`` and ``run_export`` (TorchScript).

Each takes a typed recipe (or a model file and a data config) and a :class:`RunContext`, writes its
files into ``ctx.run_dir`` and returns a result dataclass (``to_dict()`` for JSON).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from vita_cli.core.context import RunContext
from vita_cli.core.errors import RunError, UserError
from vita_cli.core.plots import integer_ticks, new_figure, save_figure
from vita_cli.core.progress import SILENT
from vita_cli.core.recipe import to_dict
from vita_cli.core.rundir import RunDir
from vita_cli.data import DataConfig
from vita_cli.models import load_model, save_model
from vita_cli.models.export import save_torchscript, to_torchscript
from vita_cli.sparsity import MaskCallback
from vita_cli.training import TrainRecipe, evaluate, fit
from vita_cli.training import distributed as ddp
from vita_cli.training.setup import (
    arch_spec,
    build_from_spec,
    build_loaders,
    count_params,
    data_config_for,
    load_weights_into,
    macs,
)


@dataclass
class TrainRunResult:
    run_dir: str
    arch: dict
    params: int
    macs: int | None
    epochs: int
    best_val_acc: float | None
    final_val_acc: float | None
    test_acc: float
    test_loss: float
    train_seconds: float
    world_size: int
    model: str | None = None
    plot: str | None = None
    history: list[dict] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "history"}
        return {k: v for k, v in out.items() if v is not None or k not in ("model", "plot")}


def plot_history(history: list[dict], path: Path, title: str = "") -> Path:
    fig, ax = new_figure(6, 3.6)
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r["train_acc"] for r in history], "o-", label="train")
    if history and "val_acc" in history[0]:
        ax.plot(epochs, [r["val_acc"] for r in history], "s-", label="val")
    ax.set_xlabel("epoch")
    integer_ticks(ax.xaxis)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def run_train(
    recipe: TrainRecipe,
    ctx: RunContext,
    *,
    arch: str | None = None,
    init: Path | None = None,
    resume: str | None = None,
    trust_pickle: bool = False,
) -> TrainRunResult:
    """Train ``recipe``'s model (``arch`` replaces its name; ``init`` its initial weights) on one process or
    under torchrun (rank 0 writes). ``resume``: ``"auto"`` or a checkpoint path, see ``training.fit``."""
    device = ddp.init_from_env(ctx.device)
    main = ddp.is_main()
    # rank 0 picks the run directory; every rank uses the same one and only rank 0 writes into it
    run_path = Path(ddp.broadcast_object(str(ctx.run_dir.path) if main else None))
    log = ctx.log if main else (lambda message: None)
    try:
        loaders = build_loaders(recipe.data, seed=ctx.seed)
        spec = arch_spec(recipe.model, loaders.bundle, arch)
        model = build_from_spec(spec)
        masks = load_weights_into(model, init, arch, trust_pickle) if init else None
        log(
            f"{spec['name']}: {count_params(model) / 1e6:.3f}M parameters; data {loaders.bundle.name} "
            f"{loaders.bundle.info}; device {device}"
            + (f" x{ddp.world_size()} ranks" if ddp.world_size() > 1 else "")
        )
        trained = fit(
            model,
            loaders.train,
            loaders.val,
            recipe.train,
            device,
            reporter=ctx.reporter if main else SILENT,
            callbacks=[MaskCallback(masks)] if masks else (),
            checkpoint_dir=run_path,
            resume=resume,
        )
        test = evaluate(model, loaders.test, device, num_classes=loaders.bundle.num_classes)
        result = TrainRunResult(
            run_dir=str(run_path),
            arch=spec,
            params=count_params(model),
            macs=macs(model, loaders.bundle),
            epochs=len(trained.history),
            best_val_acc=trained.best_val_acc,
            final_val_acc=trained.final_val_acc,
            test_acc=test.accuracy,
            test_loss=test.loss,
            train_seconds=sum(r["seconds"] for r in trained.history),
            world_size=ddp.world_size(),
            history=trained.history,
        )
        if main:
            meta = {
                "verb": "train",
                "recipe": to_dict(recipe),
                "test_acc": test.accuracy,
                "data": to_dict(recipe.data),
            }
            result.model = str(
                save_model(run_path / "model.safetensors", model, spec, masks=masks or None, meta=meta)
            )
            if trained.history:
                title = f"{spec['name']} on {loaders.bundle.name}"
                result.plot = str(plot_history(trained.history, run_path / "curves.png", title))
            RunDir(run_path).write_json("result.json", result.to_dict())
        return result
    finally:
        ddp.shutdown()


# ---------------------------------------------------------------- evaluate


@dataclass
class EvalRunResult:
    model: str
    arch: dict
    data: str
    split: str
    count: int
    accuracy: float
    loss: float
    per_class_accuracy: dict[str, float]
    confusion: list[list[int]]
    confusion_png: str

    def to_dict(self) -> dict:
        return asdict(self)


def plot_confusion(confusion, class_names: list[str], path: Path, title: str) -> Path:
    k = confusion.shape[0]
    fig, ax = new_figure(1.2 + 0.45 * k, 1.0 + 0.45 * k)
    rows = confusion.double() / confusion.sum(1, keepdim=True).clamp_min(1)
    ax.imshow(rows.numpy(), cmap="Blues", vmin=0, vmax=1)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                value = int(confusion[i, j])
                if value:
                    color = "white" if rows[i, j] > 0.5 else "black"
                    ax.text(j, i, str(value), ha="center", va="center", fontsize=6, color=color)
        ax.set_xticks(range(k), class_names, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def run_evaluate(
    model_path: Path,
    data: DataConfig | None,
    ctx: RunContext,
    *,
    split: str = "test",
    arch: str | None = None,
    trust_pickle: bool = False,
    data_overrides: list[str] | None = None,
) -> EvalRunResult:
    """Accuracy, loss, per-class accuracy and a confusion-matrix PNG of a model file on a data split.

    ``data`` None: the data the checkpoint was trained on (with ``data.key=value`` ``data_overrides``)."""
    if split not in ("test", "val"):
        raise UserError(f"unknown split {split!r}", "use test or val")
    loaded = load_model(model_path, arch, trust_pickle=trust_pickle)
    data_cfg = data if data is not None else data_config_for(loaded, data_overrides)
    loaders = build_loaders(data_cfg, seed=ctx.seed)
    if loaded.arch.get("num_classes") not in (None, loaders.bundle.num_classes):
        raise UserError(
            f"{model_path} predicts {loaded.arch['num_classes']} classes, {data_cfg.name} has {loaders.bundle.num_classes}",
            "pass data.name=... for the data set the model was trained on",
        )
    loader = loaders.test if split == "test" else loaders.val
    if loader is None:
        raise UserError("the validation split is empty", "set data.val_size > 0")
    scored = evaluate(loaded.model, loader, ctx.device, num_classes=loaders.bundle.num_classes)
    names = loaders.bundle.class_names
    title = f"{Path(model_path).name}: {scored.accuracy:.2f}% on {data_cfg.name} {split}"
    png = plot_confusion(scored.confusion, names, ctx.run_dir / "confusion.png", title)
    result = EvalRunResult(
        model=str(model_path),
        arch=loaded.arch,
        data=data_cfg.name,
        split=split,
        count=scored.count,
        accuracy=scored.accuracy,
        loss=scored.loss,
        per_class_accuracy=dict(zip(names, scored.per_class_accuracy, strict=True)),
        confusion=scored.confusion.tolist(),
        confusion_png=str(png),
    )
    ctx.run_dir.write_json("result.json", result.to_dict())
    return result


# ---------------------------------------------------------------- export


@dataclass
class ExportResult:
    model: str
    arch: str | None
    torchscript: str
    input_shape: list[int]
    device: str
    max_abs_diff: float

    def to_dict(self) -> dict:
        return asdict(self)


def run_export(
    model_path: Path,
    ctx: RunContext,
    *,
    output: Path | None = None,
    arch: str | None = None,
    batch: int = 1,
    trust_pickle: bool = False,
    data_overrides: list[str] | None = None,
) -> ExportResult:
    """Trace, freeze and save a model file as TorchScript (input shape from its data, ``data.*`` overrides);
    refuses a trace that does not reproduce the eager model."""
    if output is not None and Path(output).is_dir():
        raise UserError(
            f"--torchscript {output} is a directory", "name the TorchScript file to write, e.g. model.pt"
        )
    loaded = load_model(model_path, arch, trust_pickle=trust_pickle)
    data = data_config_for(loaded, data_overrides)
    shape = (batch, data.channels, data.image_size, data.image_size)
    example = torch.randn(*shape, generator=torch.Generator().manual_seed(ctx.seed)).to(ctx.device)
    frozen, gap = to_torchscript(loaded.model.to(ctx.device), example)
    if gap > 1e-3:
        raise RunError(
            f"the traced graph does not reproduce {model_path} (max |Δ| = {gap:.2g})",
            "the model has data-dependent control flow; export it with torch.export instead",
        )
    path = Path(output) if output is not None else ctx.run_dir / "model.torchscript.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_torchscript(frozen, path)
    result = ExportResult(
        str(model_path), loaded.arch.get("name"), str(path), list(shape), str(ctx.device), gap
    )
    ctx.run_dir.write_json("result.json", result.to_dict())
    return result
