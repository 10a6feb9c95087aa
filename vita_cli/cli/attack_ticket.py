"""``vita attack-ticket``: removal / ambiguity attacks on a signed ticket, and Scheme-1 path removal.

    vita attack-ticket signed.safetensors --signature sig.json --attack prune --strength 0,0.5,0.9,0.98
    vita attack-ticket ticket.safetensors --attack paths --strength 0,50,100      # extreme-ticket fragility

Writes ``curves.json`` and ``curves.png`` into the run directory.
"""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import ArchOpt, Invocation, Overrides, TrustPickleOpt, recipe_option, verb_command
from vita_cli.core.errors import UserError
from vita_cli.methods import ticket


class Attack(str, Enum):
    finetune = "finetune"
    prune = "prune"
    random_prune = "random-prune"
    add_connections = "add-connections"
    forge = "forge"
    paths = "paths"


def _parse_strengths(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--strength must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise UserError("--strength is empty")
    return values


def register(app):
    @app.command(
        "attack-ticket",
        help="Attack a signed ticket (finetune, prune, random-prune, add-connections, forge) or remove "
        "weighted paths (Scheme 1); write curves JSON + PNG.",
    )
    @verb_command("attack-ticket")
    def attack_ticket(
        model_path: Annotated[Path, typer.Argument(help="Signed ticket (or any ticket for --attack paths).")],
        attack: Annotated[Attack, typer.Option("--attack", help="Which attack.")],
        signature: Annotated[
            Path | None, typer.Option("--signature", help="sig.json: measure QR / trigger survival.")
        ] = None,
        strength: Annotated[
            str | None, typer.Option("--strength", help="Comma-separated strengths (default: the recipe's).")
        ] = None,
        rewind: Annotated[Path | None, typer.Option("--rewind", help="Rewind-point weights (paths).")] = None,
        arch: ArchOpt = None,
        recipe: Annotated[str, recipe_option()] = "ticket/default",
        overrides: Overrides = None,
        trust_pickle: TrustPickleOpt = False,
        invocation: Invocation = None,
    ):
        cfg = invocation.recipe(recipe, overrides, ticket.TicketRecipe)
        result = ticket.run_attack(
            cfg,
            invocation.context(),
            model_path,
            attack.value,
            strengths=_parse_strengths(strength) if strength else None,
            signature=signature,
            rewind=rewind,
            arch=arch,
            trust_pickle=trust_pickle,
        ).to_dict()
        invocation.emit(result, lambda console: render(console, result))


def render(console, result: dict) -> None:
    pts = result["points"]
    cols = [k for k in pts[0] if k not in ("decoded",)] if pts else []
    table = Table(*cols, title=f"attack {result['attack']} on {result['model']}")
    for p in pts:
        table.add_row(*[f"{p[c]:.4g}" if isinstance(p[c], float) else str(p[c]) for c in cols])
    console.print(table)
    if "summary" in result:
        console.print("breaks at: " + ", ".join(f"{k} = {v}" for k, v in result["summary"].items()))
    console.print(f"curves: {result['files']['json']}, {result['files']['png']}")
