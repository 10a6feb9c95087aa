"""``vita inspect FILE``: architecture, parameters, sparsity, masks and MACs of a model file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, TrustPickleOpt, verb_command
from vita_cli.models.io import load_model
from vita_cli.models.summary import parse_input_size, summarize


def _millions(n: int) -> str:
    return f"{n / 1e6:.2f}M"


def register(app):
    @app.command(
        "inspect",
        help="Show a model file's architecture, parameters, per-layer and global sparsity, masks and MACs/FLOPs "
        "(vita .safetensors, state_dict .pt/.pth with --arch, torch prune layout).",
    )
    @verb_command("inspect")
    def inspect_cmd(
        file: Annotated[Path, typer.Argument(help="Model file: .safetensors, .pt or .pth.")],
        invocation: Invocation,
        arch: Annotated[
            str | None,
            typer.Option("--arch", help="Architecture name for plain state dicts (e.g. resnet20)."),
        ] = None,
        input_size: Annotated[
            str | None,
            typer.Option(
                "--input-size", help="CxHxW for the MAC count (default: from the file, else Cx32x32)."
            ),
        ] = None,
        num_classes: Annotated[
            int | None, typer.Option("--num-classes", help="Override the inferred class count.")
        ] = None,
        in_channels: Annotated[
            int | None, typer.Option("--in-channels", help="Override the inferred input channels.")
        ] = None,
        trust_pickle: TrustPickleOpt = False,
    ):
        size = parse_input_size(input_size) if input_size else None
        loaded = load_model(
            file, arch, trust_pickle=trust_pickle, num_classes=num_classes, in_channels=in_channels
        )
        result = summarize(loaded, size, path=file)

        def render(console):
            head = Table(show_header=False, title=str(file))
            head.add_row("architecture", str(result["arch"]))
            head.add_row("format", result["format"])
            head.add_row("parameters", f"{result['params']:,} ({result['nonzero_params']:,} nonzero)")
            head.add_row("global sparsity", f"{100 * result['global_sparsity']:.2f}% of conv/linear weights")
            head.add_row("input size", "x".join(map(str, result["input_size"])))
            head.add_row(
                "MACs dense / sparse",
                f"{_millions(result['macs_dense'])} / {_millions(result['macs_sparse'])}",
            )
            head.add_row(
                "FLOPs dense / sparse",
                f"{_millions(result['flops_dense'])} / {_millions(result['flops_sparse'])}",
            )
            masks = result["masks"]
            mask_text = (
                f"{masks['count']} (density {100 * masks['density']:.2f}%)" if masks["present"] else "none"
            )
            head.add_row("masks", mask_text)
            console.print(head)
            table = Table("layer", "shape", "params", "sparsity", "mask")
            for row in result["layers"]:
                table.add_row(
                    row["name"],
                    "×".join(map(str, row["shape"])),
                    f"{row['params']:,}",
                    f"{100 * row['sparsity']:.1f}%",
                    "yes" if row["mask"] else "",
                )
            console.print(table)

        invocation.emit(result, render)
