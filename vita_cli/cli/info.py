"""``vita info``: versions, CUDA, the device ``auto`` resolves to, threads."""

from __future__ import annotations

import platform

from rich.table import Table

from vita_cli import __version__
from vita_cli.cli.common import Invocation, verb_command
from vita_cli.core.device import describe


def register(app):
    @app.command("info", help="Show vita, torch, CUDA, device and thread information.")
    @verb_command("info", run_options=False)
    def info(invocation: Invocation):
        data = {"vita": __version__, "python": platform.python_version(), **describe()}
        data["device"] = str(invocation.device)

        def render(console):
            table = Table(show_header=False)
            for key, value in data.items():
                table.add_row(key, str(value))
            console.print(table)

        invocation.emit(data, render)
