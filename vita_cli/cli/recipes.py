"""``vita recipes list|show|copy|validate``: the shipped YAML recipes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.syntax import Syntax
from rich.table import Table

from vita_cli.cli.common import Invocation, verb_command
from vita_cli.core.errors import UserError
from vita_cli.core.recipe import (
    find_recipe,
    from_dict,
    list_recipes,
    read_header,
    read_yaml,
    recipe_dir_of,
)
from vita_cli.schemas import schema_for

recipes_app = typer.Typer(help="List, show, copy and validate recipes.", no_args_is_help=True)


@recipes_app.command("list", help="List the shipped recipes with the command that runs each.")
@verb_command("recipes", run_options=False)
def list_cmd(invocation: Invocation):
    rows = []
    for name, path in list_recipes():
        header = read_header(path)
        rows.append(
            {
                "name": name,
                "path": str(path),
                "command": header.command,
                "description": header.summary,
                "run_time": header.run_time,
            }
        )

    def render(console):
        table = Table("recipe", "command", "what for", "run time (as stated)")
        for row in rows:
            table.add_row(row["name"], row["command"], row["description"], row["run_time"])
        console.print(table)

    invocation.emit({"recipes": rows}, render)


@recipes_app.command("show", help="Print a recipe's YAML.")
@verb_command("recipes", run_options=False)
def show_cmd(name: Annotated[str, typer.Argument(help="Recipe name or path.")], invocation: Invocation):
    path = find_recipe(name)
    text = path.read_text()

    def render(console):
        console.print(Syntax(text, "yaml"))

    invocation.emit({"name": name, "path": str(path), "yaml": text}, render)


@recipes_app.command("copy", help="Copy a recipe to DEST to edit it.")
@verb_command("recipes", run_options=False)
def copy_cmd(
    name: Annotated[str, typer.Argument(help="Recipe name or path.")],
    dest: Annotated[Path, typer.Argument(help="Destination file or directory.")],
    invocation: Invocation,
):
    src = find_recipe(name)
    if dest.is_dir():
        dest = dest / src.name
    if dest.exists():
        raise UserError(f"{dest} already exists", "choose another destination or delete it first")
    shutil.copyfile(src, dest)
    invocation.emit({"copied": str(src), "to": str(dest)}, lambda c: c.print(f"copied {src} -> {dest}"))


@recipes_app.command("validate", help="Check a recipe file against its verb's schema.")
@verb_command("recipes", run_options=False)
def validate_cmd(
    file: Annotated[str, typer.Argument(help="Recipe path or name.")],
    verb: Annotated[
        str | None, typer.Option(help="Schema to check against (default: the file's folder).")
    ] = None,
    invocation: Invocation = None,
):
    path = find_recipe(file)
    schema = schema_for(verb or recipe_dir_of(path))
    from_dict(schema, read_yaml(path))
    invocation.emit(
        {"path": str(path), "schema": schema.__name__, "valid": True},
        lambda c: c.print(f"{path}: valid {schema.__name__}"),
    )


def register(app):
    app.add_typer(recipes_app, name="recipes", help="List, show, copy and validate recipes.")
