"""Error types that decide the exit code: user mistakes exit 2, failures during a run exit 1."""

from __future__ import annotations

import stat
from pathlib import Path


class VitaError(Exception):
    """Base class; ``hint`` says how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message

    def __str__(self) -> str:
        return self.one_line()


class UserError(VitaError):
    """A mistake in what the user gave: a path, a file, a recipe key, a value. Exit code 2."""

    exit_code = 2


class RunError(VitaError):
    """Something failed while running a correct request. Exit code 1."""

    exit_code = 1


def require_regular_file(path, what: str = "file") -> None:
    """Like :func:`require_file`, and refuse pipes, devices and sockets (reading one can block forever)."""
    require_file(path, what)
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(mode):
        raise UserError(f"{what} is not a regular file: {path}", "give a file, not a pipe or a device")


def require_file(path, what: str = "file") -> None:
    """Raise a UserError naming ``path`` when it does not exist or is a directory."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{what} not found: {p}", "check the path")
    if p.is_dir():
        raise UserError(f"{what} is a directory, expected a file: {p}")
