"""``vita verify-ticket``: check a suspect model against a ticket signature (sig.json).

Exit code 0 = ownership verified, 1 = not verified, 2 = bad input (so pipelines can branch on it).

    vita verify-ticket suspect.pt --signature sig.json [--arch small_cnn] [--black-box] [--json]
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import ArchOpt, Invocation, TrustPickleOpt, verb_command
from vita_cli.methods import ticket


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
        invocation: Invocation = None,
    ):
        result = ticket.run_verify(
            signature,
            suspect,
            invocation.context(),
            arch=arch,
            black_box=black_box,
            kernel_floor=kernel_floor,
            trust_pickle=trust_pickle,
        ).to_dict()
        if not result["verified"]:
            invocation.exit_code = 1
        invocation.emit(result, lambda console: render(console, result))


def render(console, result: dict) -> None:
    table = Table(
        "check",
        "value",
        "threshold",
        "passed",
        "effect on the verdict",
        title=f"ownership of {result['suspect']}",
    )
    for e in result["evidence"]:
        extra = f" (BER {e['bit_error_rate']:.3f})" if "bit_error_rate" in e else ""
        table.add_row(
            e["check"], e["value"] + extra, e["threshold"], "yes" if e["passed"] else "no", e["effect"]
        )
    console.print(table)
    console.print(f"rule: {result['rule']}")
    for note in result["notes"]:
        console.print(f"note: {note}")
    if result.get("mask_source"):
        console.print(f"masks: {result['mask_source']}")
    by = (
        f" (by {' and '.join(result['decided_by'])})"
        if result["decided_by"]
        else " (no check proves ownership)"
    )
    word = ("[bold green]VERIFIED[/]" if result["verified"] else "[bold red]NOT VERIFIED[/]") + by
    console.print(f"verdict: {word}")
