"""``vita evaluate MODEL``: accuracy, loss, per-class accuracy and a confusion-matrix PNG."""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import ArchOpt, Invocation, Overrides, TrustPickleOpt, verb_command
from vita_cli.methods import vision


class Split(str, Enum):
    test = "test"
    val = "val"


def register(app):
    @app.command(
        "evaluate",
        help="Evaluate a model file on a data split: accuracy, loss, per-class accuracy, confusion matrix PNG. "
        "The data defaults to the recipe stored in the checkpoint; override with data.key=value.",
    )
    @verb_command("evaluate")
    def evaluate_cmd(
        model: Annotated[Path, typer.Argument(help="Model file (.safetensors, or .pt/.pth with --arch).")],
        invocation: Invocation,
        overrides: Overrides = None,
        arch: ArchOpt = None,
        split: Annotated[Split, typer.Option("--split", help="Data split to score.")] = Split.test,
        trust_pickle: TrustPickleOpt = False,
    ):
        result = vision.run_evaluate(
            model,
            None,
            invocation.context(),
            split=split.value,
            arch=arch,
            trust_pickle=trust_pickle,
            data_overrides=overrides,
        )
        invocation.emit(result.to_dict(), lambda console: render(console, result))


def render(console, result: vision.EvalRunResult) -> None:
    table = Table("class", "accuracy (%)")
    for name, acc in result.per_class_accuracy.items():
        table.add_row(name, f"{acc:.2f}")
    console.print(table)
    console.print(
        f"accuracy {result.accuracy:.2f}%  loss {result.loss:.4f}  on {result.count} images; "
        f"confusion matrix {result.confusion_png}"
    )
