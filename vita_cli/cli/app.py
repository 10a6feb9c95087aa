"""The ``vita`` command: one Typer app; :data:`VERBS` is the table of verb modules it registers."""

from __future__ import annotations

import importlib
import sys

import typer
import typer.core

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


# the exception classes of the Click that Typer runs on (Typer may vendor its own copy)
_click_errors = importlib.import_module(typer.BadParameter.__module__)


def _flag_metavars_off(command, seen=None) -> None:
    """`--help` is a flag: show it without Typer's ``<bool>``, like every other flag of vita."""
    seen = set() if seen is None else seen
    if id(command) in seen:
        return
    seen.add(id(command))
    ctx = typer.Context(command)
    option = command.get_help_option(ctx)
    if option is not None:
        option.metavar = ""
    for name in getattr(command, "list_commands", lambda _ctx: [])(ctx):
        _flag_metavars_off(command.get_command(ctx, name), seen)


class _OneLineUsageErrors(typer.core.TyperGroup):
    """Usage errors (an unknown option, a value outside a choice) as one ``error:`` line, exit 2.

    Every other bad input already ends that way; Click's framed usage box would be the odd one out.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _flag_metavars_off(self)
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click_errors.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `vita` or `vita VERB-GROUP`: the help
                typer.echo(exc.ctx.get_help())
                sys.exit(0)
            where = exc.ctx.command_path if exc.ctx else "vita"
            message = exc.format_message().replace("Value error, ", "")  # Typer's coercion prefix
            typer.echo(f"error: {message} (hint: {where} --help lists the options)", err=True)
            sys.exit(2)
        except _click_errors.ClickException as exc:
            typer.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except (typer.Abort, getattr(_click_errors, "Abort", typer.Abort)):
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineUsageErrors,
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
        False, "--version", callback=_version, is_eager=True, help="Print the version.", metavar=""
    ),
):
    """Efficient, robust and trustworthy deep learning methods as command-line tools."""


for _verb in VERBS:
    _verb.register(app)


def main() -> None:
    app()
