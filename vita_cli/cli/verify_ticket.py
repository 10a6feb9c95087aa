"""``vita verify-ticket``: check a suspect model against a ticket signature (sig.json).

Exit code 0 = ownership verified, 1 = not verified, 2 = bad input (so pipelines can branch on it).

    vita verify-ticket suspect.pt --signature sig.json [--arch small_cnn] [--black-box] [--json]
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import ArchOpt, Session, TrustPickleOpt, check_range, verb_command


def register(app):
    @app.command(
        "verify-ticket",
        help="Verify ownership of a suspect model: QR in its mask, mask overlap, trigger set. "
        "Exit 0 verified, 1 not verified, 2 bad input.",
    )
    @verb_command("verify-ticket")
    def verify_ticket(
        suspect: Annotated[
            Path, typer.Argument(help="Suspect model: vita checkpoint, state dict, or prune layout.")
        ],
        signature: Annotated[Path, typer.Option("--signature", help="sig.json written by sign-ticket.")],
        arch: ArchOpt = None,
        black_box: Annotated[
            bool, typer.Option("--black-box", help="Use only the model's predictions on the trigger set.")
        ] = False,
        kernel_floor: Annotated[
            float | None,
            typer.Option(
                "--kernel-floor",
                help="Ignore kernels with L1 below this fraction of the host layer's "
                "median live kernel (defeats near-zero added connections); default: the signature's.",
            ),
        ] = None,
        trust_pickle: TrustPickleOpt = False,
        session: Session = None,
    ):
        from vita_cli.methods.ticket.io import load_suspect
        from vita_cli.methods.ticket.signature import read_signature
        from vita_cli.methods.ticket.verify import verify

        sig = read_signature(signature)
        s = load_suspect(suspect, arch, sig.data.get("arch"), trust_pickle)
        if kernel_floor is not None:
            check_range("--kernel-floor", kernel_floor, 0.0, 1.0, inclusive=True)
        result = verify(
            sig,
            s.state,
            s.masks,
            s.model,
            s.model_error,
            session.device,
            black_box_only=black_box,
            kernel_floor=kernel_floor,
        )
        result = {"suspect": str(suspect), "signature": str(signature), "format": s.source_format, **result}
        if not result["verified"]:
            session.exit_code = 1

        def render(console):
            table = Table("check", "value", "threshold", "passed", "role", title=f"ownership of {suspect}")
            for e in result["evidence"]:
                extra = f" (BER {e['bit_error_rate']:.3f})" if "bit_error_rate" in e else ""
                table.add_row(
                    e["check"],
                    e["value"] + extra,
                    e["threshold"],
                    "yes" if e["passed"] else "no",
                    "decides" if e["decisive"] else "supports",
                )
            console.print(table)
            for note in result["notes"]:
                console.print(f"note: {note}")
            if result.get("mask_source"):
                console.print(f"masks: {result['mask_source']}")
            word = "[bold green]VERIFIED[/]" if result["verified"] else "[bold red]NOT VERIFIED[/]"
            console.print(f"verdict: {word}")

        session.emit(result, render)
