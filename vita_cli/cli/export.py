"""``vita export MODEL``: a TorchScript file of a model (dense, ticket or GDP-compacted) for deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vita_cli.cli.common import ArchOpt, Overrides, Session, TrustPickleOpt, verb_command


def register(app):
    @app.command(
        "export",
        help="Write a model file as TorchScript (traced, frozen, BatchNorm folded) that plain PyTorch loads "
        "with torch.jit.load, no vita needed. Input shape from the checkpoint's data (data.key=value to change).",
    )
    @verb_command("export")
    def export_cmd(
        model: Annotated[Path, typer.Argument(help="Model file (.safetensors, or .pt/.pth with --arch).")],
        session: Session,
        overrides: Overrides = None,
        output: Annotated[
            Path | None,
            typer.Option(
                "--output", "-o", help="TorchScript file to write (default: RUN_DIR/model.torchscript.pt)."
            ),
        ] = None,
        arch: ArchOpt = None,
        batch: Annotated[int, typer.Option("--batch", help="Batch size of the tracing example.", min=1)] = 1,
        trust_pickle: TrustPickleOpt = False,
    ):
        import torch

        from vita_cli.core.errors import RunError
        from vita_cli.models import load_model
        from vita_cli.models.export import save_torchscript, to_torchscript
        from vita_cli.training.setup import data_config_for

        loaded = load_model(model, arch, trust_pickle=trust_pickle)
        data = data_config_for(loaded, overrides)
        shape = (batch, data.channels, data.image_size, data.image_size)
        device = session.device
        example = torch.randn(*shape, generator=torch.Generator().manual_seed(session.seed)).to(device)
        frozen, gap = to_torchscript(loaded.model.to(device), example)
        if gap > 1e-3:
            raise RunError(
                f"the traced graph does not reproduce {model} (max |Δ| = {gap:.2g})",
                "the model has data-dependent control flow; export it with torch.export instead",
            )
        path = Path(output) if output is not None else session.run_dir / "model.torchscript.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_torchscript(frozen, path)
        out = {
            "model": str(model),
            "arch": loaded.arch.get("name"),
            "torchscript": str(path),
            "input_shape": list(shape),
            "device": str(device),
            "max_abs_diff": gap,
        }
        session.run_dir.write_json("result.json", out)
        session.emit(
            out,
            lambda c: c.print(
                f"wrote {path} (input {'×'.join(map(str, shape[1:]))}, max |eager − TorchScript| = {gap:.1e}); "
                f"load it with torch.jit.load({str(path)!r})"
            ),
        )
