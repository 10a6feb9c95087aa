"""``vita evaluate MODEL``: accuracy, loss, per-class accuracy and a confusion-matrix PNG."""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import ArchOpt, Overrides, Session, TrustPickleOpt, verb_command


def plot_confusion(confusion, class_names: list[str], path: Path, title: str) -> Path:
    from vita_cli.core.plots import new_figure, save_figure

    k = confusion.shape[0]
    fig, ax = new_figure(1.2 + 0.45 * k, 1.0 + 0.45 * k)
    rows = confusion.double() / confusion.sum(1, keepdim=True).clamp_min(1)
    ax.imshow(rows.numpy(), cmap="Blues", vmin=0, vmax=1)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                value = int(confusion[i, j])
                if value:
                    ax.text(
                        j,
                        i,
                        str(value),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if rows[i, j] > 0.5 else "black",
                    )
        ax.set_xticks(range(k), class_names, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def register(app):
    @app.command(
        "evaluate",
        help="Evaluate a model file on a data split: accuracy, loss, per-class accuracy, confusion matrix PNG. "
        "The data defaults to the recipe stored in the checkpoint; override with data.key=value.",
    )
    @verb_command("evaluate")
    def evaluate_cmd(
        model: Annotated[Path, typer.Argument(help="Model file (.safetensors, or .pt/.pth with --arch).")],
        session: Session,
        overrides: Overrides = None,
        arch: ArchOpt = None,
        split: Annotated[str, typer.Option("--split", help="test | val")] = "test",
        trust_pickle: TrustPickleOpt = False,
    ):
        from vita_cli.core.errors import UserError
        from vita_cli.training import evaluate
        from vita_cli.training.setup import build_loaders, data_config_for

        if split not in ("test", "val"):
            raise UserError(f"unknown split {split!r}", "use test or val")
        from vita_cli.models import load_model

        loaded = load_model(model, arch, trust_pickle=trust_pickle)
        data_cfg = data_config_for(loaded, overrides)
        loaders = build_loaders(data_cfg, seed=session.seed)
        if loaded.arch.get("num_classes") not in (None, loaders.bundle.num_classes):
            raise UserError(
                f"{model} predicts {loaded.arch['num_classes']} classes, {data_cfg.name} has {loaders.bundle.num_classes}",
                "pass data.name=... for the data set the model was trained on",
            )
        loader = loaders.test if split == "test" else loaders.val
        if loader is None:
            raise UserError("the validation split is empty", "set data.val_size > 0")
        result = evaluate(loaded.model, loader, session.device, num_classes=loaders.bundle.num_classes)
        names = loaders.bundle.class_names
        png = plot_confusion(
            result.confusion,
            names,
            session.run_dir / "confusion.png",
            f"{Path(model).name}: {result.accuracy:.2f}% on {data_cfg.name} {split}",
        )
        out = {
            "model": str(model),
            "arch": loaded.arch,
            "data": data_cfg.name,
            "split": split,
            "count": result.count,
            "accuracy": result.accuracy,
            "loss": result.loss,
            "per_class_accuracy": dict(zip(names, result.per_class_accuracy, strict=True)),
            "confusion": result.confusion.tolist(),
            "confusion_png": str(png),
        }
        session.run_dir.write_json("result.json", out)

        def render(console):
            table = Table("class", "accuracy (%)")
            for name, acc in out["per_class_accuracy"].items():
                table.add_row(name, f"{acc:.2f}")
            console.print(table)
            console.print(
                f"accuracy {result.accuracy:.2f}%  loss {result.loss:.4f}  on {result.count} images; confusion matrix {png}"
            )

        session.emit(out, render)
