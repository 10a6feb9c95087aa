"""The ``vita`` command: one Typer app; :data:`VERBS` is the table of verb modules it registers."""

from __future__ import annotations

import typer

from vita_cli import __version__
from vita_cli.cli import (
    attack_ticket,
    augmax_train,
    complete_font,
    demo,
    dsee,
    eval_robust,
    evaluate,
    export,
    hyperlista,
    info,
    inspect,
    predict_pose,
    prune,
    recipes,
    search_twostream,
    sign_ticket,
    ticket_flow,
    train,
    tts_lifelong,
    verify_ticket,
)

# Every verb module, in the order `vita --help` lists them. A new verb adds its module here.
VERBS = (
    train,
    evaluate,
    inspect,
    prune,
    sign_ticket,
    verify_ticket,
    attack_ticket,
    augmax_train,
    eval_robust,
    hyperlista,
    complete_font,
    dsee,
    ticket_flow,
    tts_lifelong,
    predict_pose,
    search_twostream,
    export,
    recipes,
    info,
    demo,
)

app = typer.Typer(
    name="vita",
    help="Efficient, robust and trustworthy deep learning methods as command-line tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool):
    if value:
        typer.echo(f"vita {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
):
    """Efficient, robust and trustworthy deep learning methods as command-line tools."""


for _verb in VERBS:
    _verb.register(app)


def main() -> None:
    app()
