"""``vita train``: dense training of an image classifier from a recipe (single process or torchrun).

vita train --recipe train/default
vita train --recipe train/default --out runs/fm --resume auto        # continue after a kill
torchrun --nproc_per_node=2 -m vita_cli train --recipe train/tiny --device cpu
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Overrides, Session, recipe_option, verb_command


def plot_history(history: list[dict], path: Path, title: str = "") -> Path:
    from vita_cli.core.plots import new_figure, save_figure

    fig, ax = new_figure(6, 3.6)
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r["train_acc"] for r in history], "o-", label="train")
    if history and "val_acc" in history[0]:
        ax.plot(epochs, [r["val_acc"] for r in history], "s-", label="val")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def register(app):
    @app.command("train", help="Train an image classifier (dense) from a recipe; checkpoints every epoch.")
    @verb_command("train")
    def train(
        session: Session,
        overrides: Overrides = None,
        recipe: Annotated[str, recipe_option()] = "train/default",
        arch: Annotated[
            str | None, typer.Option("--arch", help="Architecture name (replaces model.name).")
        ] = None,
        init: Annotated[
            Path | None, typer.Option("--init", help="Initialise weights (only) from this model file.")
        ] = None,
        resume: Annotated[
            str | None,
            typer.Option(
                "--resume",
                help="auto (the run directory's last.pt if any; use with --out) or a checkpoint path.",
            ),
        ] = None,
        trust_pickle: Annotated[
            bool, typer.Option("--trust-pickle", help="Allow --init files holding pickled Python objects.")
        ] = False,
    ):
        run_train(session, recipe, overrides, arch, init, resume, trust_pickle)


def run_train(session: Session, recipe_name, overrides, arch, init, resume, trust_pickle) -> dict:
    from vita_cli.core.recipe import dump_yaml, load_recipe, to_dict
    from vita_cli.models import save_model
    from vita_cli.training import distributed as ddp
    from vita_cli.training import evaluate, fit
    from vita_cli.training.config import TrainRecipe
    from vita_cli.training.setup import (
        arch_spec,
        build_from_spec,
        build_loaders,
        count_params,
        load_weights_into,
        macs,
    )

    if resume == "auto" and session.out is None:
        session.log("note: --resume auto without --out starts a new run directory (nothing to resume)")
    device = ddp.init_from_env(session.device)
    recipe, source = load_recipe(recipe_name, TrainRecipe, overrides)
    main = ddp.is_main()
    # rank 0 picks the run directory; every rank uses the same one and only rank 0 writes into it
    run_path = Path(ddp.broadcast_object(str(session.run_dir.path) if main else None))
    if main:
        dump_yaml(recipe, run_path / "recipe.yaml")
        session.log(f"recipe {source} -> run directory {run_path}")
    else:
        session.console.quiet = True
    reporter = session.reporter if main else None

    loaders = build_loaders(recipe.data, seed=session.seed)
    spec = arch_spec(recipe.model, loaders.bundle, arch)
    model = build_from_spec(spec)
    masks = load_weights_into(model, init, arch, trust_pickle) if init else None
    session.log(
        f"{spec['name']}: {count_params(model) / 1e6:.3f}M parameters; data {loaders.bundle.name} "
        f"{loaders.bundle.info}; device {device}"
        + (f" x{ddp.world_size()} ranks" if ddp.world_size() > 1 else "")
    )
    from vita_cli.core.progress import SILENT

    result = fit(
        model,
        loaders.train,
        loaders.val,
        recipe.train,
        device,
        reporter=reporter or SILENT,
        masks=masks or None,
        checkpoint_dir=run_path,
        resume=resume,
    )
    test = evaluate(model, loaders.test, device, num_classes=loaders.bundle.num_classes)
    total_s = sum(r["seconds"] for r in result.history)
    out = {
        "run_dir": str(run_path),
        "arch": spec,
        "params": count_params(model),
        "macs": macs(model, loaders.bundle),
        "epochs": len(result.history),
        "best_val_acc": result.best_val_acc,
        "final_val_acc": result.final_val_acc,
        "test_acc": test.accuracy,
        "test_loss": test.loss,
        "train_seconds": total_s,
        "world_size": ddp.world_size(),
    }
    if main:
        model_path = save_model(
            run_path / "model.safetensors",
            model,
            spec,
            masks=masks or None,
            meta={
                "verb": "train",
                "recipe": to_dict(recipe),
                "test_acc": test.accuracy,
                "data": to_dict(recipe.data),
            },
        )
        out["model"] = str(model_path)
        if result.history:
            out["plot"] = str(
                plot_history(
                    result.history, run_path / "curves.png", f"{spec['name']} on {loaders.bundle.name}"
                )
            )
        (run_path / "result.json").write_text(__import__("json").dumps(out, indent=2))

        def render(console):
            table = Table("epoch", "train loss", "train acc", "val acc", "img/s", "s")
            for r in result.history:
                table.add_row(
                    str(r["epoch"]),
                    f"{r['train_loss']:.4f}",
                    f"{r['train_acc']:.2f}",
                    f"{r.get('val_acc', float('nan')):.2f}",
                    f"{r['images_per_s']:.0f}",
                    f"{r['seconds']:.1f}",
                )
            console.print(table)
            console.print(f"test accuracy {test.accuracy:.2f}%  loss {test.loss:.4f}  -> {out['model']}")

        session.emit(out, render)
    ddp.shutdown()
    return out


# ---------------------------------------------------------------- demo


def _demo(session: Session, folder: Path) -> str:
    """small_cnn on a Fashion-MNIST subset for 2 epochs, then one IMP round (well under a minute on a CPU)."""
    from dataclasses import replace

    from vita_cli.core.progress import SILENT
    from vita_cli.data import DataConfig
    from vita_cli.sparsity.imp import run_imp
    from vita_cli.training import TrainConfig, fit
    from vita_cli.training.config import ImpConfig, ModelSection
    from vita_cli.training.setup import arch_spec, build_from_spec, build_loaders

    folder.mkdir(parents=True, exist_ok=True)
    data = DataConfig(train_subset=2000, val_size=500, test_subset=1000, batch_size=50, augment=False)
    loaders = build_loaders(data, seed=session.seed)
    spec = arch_spec(ModelSection("small_cnn", {"width": 8}), loaders.bundle)
    cfg = TrainConfig(epochs=2, lr=0.05, schedule="cosine", nesterov=True, log_every=10)
    model = build_from_spec(spec)
    dense = fit(model, loaders.train, loaders.val, cfg, session.device, reporter=session.reporter)
    plot = plot_history(dense.history, folder / "curves.png", "small_cnn, 2k Fashion-MNIST images")
    imp = run_imp(
        build_from_spec(spec),
        (loaders.train, loaders.val, loaders.test),
        ImpConfig(rounds=1, rate=0.5, rewind_iteration=5),
        session.device,
        SILENT,
        train_cfg=replace(cfg, epochs=1),
    )
    rows = "\n".join(f"| {r.round} | {100 * r.remaining:.1f}% | {r.test_acc:.2f}% |" for r in imp.rounds)
    return (
        f"Dense training: val accuracy {dense.final_val_acc:.2f}% after 2 epochs "
        f"({dense.history[-1]['images_per_s']:.0f} images/s).\n\n![curves]({plot.relative_to(folder.parent)})\n\n"
        f"One IMP round (1 epoch a round, prune 50%, rewind to iteration 5):\n\n| round | weights left | test acc |\n|---|---|---|\n{rows}\n"
    )


DEMO = ("Train a classifier and one IMP round (Fashion-MNIST subset)", _demo)
