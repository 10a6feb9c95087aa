"""``vita demo``: every verb's quick demo on built-in data, gathered into one Markdown report.

:data:`DEMOS` is the table: name → (title, function); ``function(invocation, folder)`` runs the demo into
``folder`` and returns a Markdown section (plots referenced relative to the report).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from vita_cli.cli import (
    augmax_train,
    complete_font,
    dsee,
    gdp_demo,
    hyperlista,
    predict_pose,
    search_twostream,
    sign_ticket,
    ticket_flow,
    train,
    tts_lifelong,
)
from vita_cli.cli.common import Invocation, verb_command
from vita_cli.core.errors import UserError

# The demo sections of `vita demo`, in report order. A new method adds its demo here.
DEMOS: dict[str, tuple[str, object]] = {
    "augmax_train": augmax_train.DEMO,
    "complete_font": complete_font.DEMO,
    "gdp_demo": gdp_demo.DEMO,
    "hyperlista": hyperlista.DEMO,
    "dsee": dsee.DEMO,
    "sign_ticket": sign_ticket.DEMO,
    "ticket_flow": ticket_flow.DEMO,
    "train": train.DEMO,
    "tts_lifelong": tts_lifelong.DEMO,
    "predict_pose": predict_pose.DEMO,
    "search_twostream": search_twostream.DEMO,
}


def collect_demos() -> list[tuple[str, str, object]]:
    return [(name, title, fn) for name, (title, fn) in DEMOS.items()]


def register(app):
    @app.command("demo", help="Run every verb's quick demo on built-in data; write runs/demo/report.md.")
    @verb_command("demo")
    def demo(
        invocation: Invocation,
        only: Annotated[
            list[str] | None,
            typer.Option("--only", help="Run only these demos (module names, e.g. hyperlista, gdp_demo)."),
        ] = None,
    ):
        demos = collect_demos()
        if only:
            unknown = sorted(set(only) - {name for name, _, _ in demos})
            if unknown:
                raise UserError(
                    f"no demo named {', '.join(unknown)}",
                    f"choose from {', '.join(name for name, _, _ in demos)}",
                )
            demos = [d for d in demos if d[0] in only]
        if invocation.out is None:
            invocation.out = Path("runs/demo")
        root = invocation.run_dir.path
        sections, timings = [], {}
        for name, title, fn in demos:
            invocation.log(f"== demo: {title}")
            start = time.perf_counter()
            section = fn(invocation, root / name)
            timings[name] = round(time.perf_counter() - start, 1)
            sections.append(f"## {title}\n\n_{timings[name]} s_\n\n{section}\n")
        report = root / "report.md"
        report.write_text("# vita demo report\n\n" + "\n".join(sections))
        invocation.emit({"report": str(report), "seconds": timings}, lambda c: c.print(f"report: {report}"))
