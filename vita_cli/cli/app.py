"""The ``vita`` command: a Typer app that collects every verb module in this package."""

from __future__ import annotations

import importlib
import pkgutil

import typer

from vita_cli import __version__

app = typer.Typer(
    name="vita",
    help="Efficient, robust and trustworthy deep learning methods as command-line tools.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

_NOT_VERBS = {"app", "common"}


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


def _register_verbs() -> None:
    import vita_cli.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name in _NOT_VERBS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"vita_cli.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_verbs()


def main() -> None:
    app()
