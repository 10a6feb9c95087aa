"""``vita train``: dense training of an image classifier from a recipe (single process or torchrun).

vita train --recipe train/default
vita train --recipe train/default --out runs/fm --resume auto        # continue after a kill
torchrun --nproc_per_node=2 -m vita_cli train --recipe train/tiny --device cpu
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, Overrides, recipe_option, verb_command
from vita_cli.data import DataConfig
from vita_cli.methods import imp, vision
from vita_cli.training import TrainConfig, TrainRecipe
from vita_cli.training.config import ModelSection


def register(app):
    @app.command("train", help="Train an image classifier (dense) from a recipe; checkpoints every epoch.")
    @verb_command("train")
    def train(
        invocation: Invocation,
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
        if resume == "auto" and invocation.out is None:
            invocation.log("note: --resume auto without --out starts a new run directory (nothing to resume)")
        rec = invocation.recipe(recipe, overrides, TrainRecipe)
        result = vision.run_train(
            rec, invocation.context(), arch=arch, init=init, resume=resume, trust_pickle=trust_pickle
        )
        invocation.emit(result.to_dict(), lambda console: render(console, result))


def render(console, result: vision.TrainRunResult) -> None:
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
    console.print(f"test accuracy {result.test_acc:.2f}%  loss {result.test_loss:.4f}  -> {result.model}")


# ---------------------------------------------------------------- demo


def _demo(invocation: Invocation, folder: Path) -> str:
    """small_cnn on a Fashion-MNIST subset for 2 epochs, then one IMP round (well under a minute on a CPU)."""
    data = DataConfig(train_subset=2000, val_size=500, test_subset=1000, batch_size=50, augment=False)
    model = ModelSection("small_cnn", {"width": 8})
    cfg = TrainConfig(epochs=2, lr=0.05, schedule="cosine", nesterov=True, log_every=10)
    ctx = invocation.context(out=folder)
    dense = vision.run_train(TrainRecipe(data=data, model=model, train=cfg), ctx.child("dense"))
    ticket = imp.run(
        imp.PruneRecipe(
            data=data,
            model=model,
            train=replace(cfg, epochs=1),
            imp=imp.ImpConfig(rounds=1, rate=0.5, rewind_iteration=5),
        ),
        ctx.child("imp"),
    )
    rows = "\n".join(
        f"| {r['round']} | {100 * r['remaining']:.1f}% | {r['test_acc']:.2f}% |" for r in ticket.rounds
    )
    plot = Path(dense.plot).relative_to(folder.parent)
    return (
        f"Dense training: val accuracy {dense.final_val_acc:.2f}% after 2 epochs "
        f"({dense.history[-1]['images_per_s']:.0f} images/s).\n\n![curves]({plot})\n\n"
        f"One IMP round (1 epoch a round, prune 50%, rewind to iteration 5):\n\n| round | weights left | test acc |\n|---|---|---|\n{rows}\n"
    )


DEMO = ("Train a classifier and one IMP round (Fashion-MNIST subset)", _demo)
