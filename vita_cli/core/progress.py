"""Progress reporting that engines can call without knowing about terminals.

Engines take a ``Reporter`` (default: :data:`SILENT`) and open tasks on it::

    with reporter.task("grid search", total=len(grid)) as task:
        for ...:
            task.advance(1, best=f"{best:.2f} dB")

The CLI passes a :class:`ConsoleReporter`: a rich bar with ETA on a terminal, plain periodic lines
otherwise (logs, CI, pipes).
"""

from __future__ import annotations

import contextlib
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Task:
    def advance(self, n: float = 1, **fields) -> None:  # noqa: D401 - interface
        """Mark ``n`` units done; ``fields`` are short status values shown beside the bar."""

    def log(self, message: str) -> None:
        """A line of text above the bar (epoch summaries and the like)."""


class Reporter:
    """Silent reporter: the default for engines called from Python."""

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None):
        yield Task()

    def log(self, message: str) -> None:
        pass


SILENT = Reporter()


class _RichTask(Task):
    def __init__(self, progress: Progress, task_id, console: Console):
        self._progress, self._id, self._console = progress, task_id, console

    def advance(self, n: float = 1, **fields) -> None:
        status = "  ".join(f"{k}={v}" for k, v in fields.items())
        self._progress.update(self._id, advance=n, status=status)

    def log(self, message: str) -> None:
        self._progress.console.print(message, markup=False, highlight=False)


class _PlainTask(Task):
    def __init__(self, console: Console, description: str, total: float | None, every_s: float):
        self._console, self._desc, self._total, self._every = console, description, total, every_s
        self._done = 0.0
        self._start = self._last = time.monotonic()

    def advance(self, n: float = 1, **fields) -> None:
        self._done += n
        now = time.monotonic()
        finished = self._total is not None and self._done >= self._total
        if now - self._last >= self._every or finished:
            self._last = now
            elapsed = now - self._start
            parts = [f"{self._desc}: {self._done:g}" + (f"/{self._total:g}" if self._total else "")]
            if self._total and self._done:
                parts.append(f"eta {elapsed * (self._total - self._done) / self._done:.0f}s")
            parts.append(f"elapsed {elapsed:.0f}s")
            parts += [f"{k}={v}" for k, v in fields.items()]
            self._console.print("  ".join(parts), markup=False, highlight=False)

    def log(self, message: str) -> None:
        self._console.print(message, markup=False, highlight=False)


class ConsoleReporter(Reporter):
    """Rich progress bars on a terminal, plain lines every ``every_s`` seconds otherwise."""

    def __init__(self, console: Console, quiet: bool = False, every_s: float = 5.0):
        self.console, self.quiet, self.every_s = console, quiet, every_s

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None):
        if self.quiet:
            yield Task()
            return
        if not self.console.is_terminal:
            yield _PlainTask(self.console, description, total, self.every_s)
            return
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
            transient=False,
        )
        with progress:
            task_id = progress.add_task(description, total=total, status="")
            yield _RichTask(progress, task_id, self.console)

    def log(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, markup=False, highlight=False)
