"""``vita export MODEL``: a TorchScript file of a model (dense, ticket or GDP-compacted) for deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vita_cli.cli.common import ArchOpt, Invocation, Overrides, TrustPickleOpt, verb_command
from vita_cli.methods import vision


def register(app):
    @app.command(
        "export",
        help="Write a model file as TorchScript (traced, frozen, BatchNorm folded) that plain PyTorch loads "
        "with torch.jit.load, no vita needed. Input shape from the checkpoint's data (data.key=value to change).",
    )
    @verb_command("export")
    def export_cmd(
        model: Annotated[Path, typer.Argument(help="Model file (.safetensors, or .pt/.pth with --arch).")],
        invocation: Invocation,
        overrides: Overrides = None,
        output: Annotated[
            Path | None,
            typer.Option(
                "--torchscript",
                help="Where to write the TorchScript file (default: model.torchscript.pt in the run folder).",
            ),
        ] = None,
        arch: ArchOpt = None,
        batch: Annotated[int, typer.Option("--batch", help="Batch size of the tracing example.", min=1)] = 1,
        trust_pickle: TrustPickleOpt = False,
    ):
        result = vision.run_export(
            model,
            invocation.context(),
            output=output,
            arch=arch,
            batch=batch,
            trust_pickle=trust_pickle,
            data_overrides=overrides,
        )
        shape, path = result.input_shape, result.torchscript
        invocation.emit(
            result.to_dict(),
            lambda c: c.print(
                f"wrote {path} (input {'×'.join(map(str, shape[1:]))}, max |eager − TorchScript| = "
                f"{result.max_abs_diff:.1e}); load it with torch.jit.load({str(path)!r})"
            ),
        )
