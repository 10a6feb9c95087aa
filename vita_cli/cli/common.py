"""What every verb shares: the global options, the run invocation, error handling and output.

A verb is a plain function with an ``invocation: Invocation`` parameter, decorated with
:func:`verb_command`; the decorator adds ``--device --seed --out --json --quiet --verbose`` to
its signature, builds the invocation and turns exceptions into one-line errors and exit codes
(user mistakes 2, failures 1).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import traceback
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from vita_cli.core.context import RunContext
from vita_cli.core.device import resolve_device
from vita_cli.core.errors import VitaError
from vita_cli.core.progress import SILENT, ConsoleReporter
from vita_cli.core.recipe import dump_yaml, load_recipe
from vita_cli.core.rundir import RunDir, _jsonable, default_run_dir
from vita_cli.core.seed import seed_everything
from vita_cli.schemas import load_any_recipe

PANEL = "Common options"

Overrides = Annotated[
    list[str] | None,
    typer.Argument(help="Recipe overrides, key.sub=value (after the options).", show_default=False),
]


TrustPickleOpt = Annotated[
    bool,
    typer.Option(
        "--trust-pickle", help="Allow model files holding pickled Python objects (runs their code)."
    ),
]
ArchOpt = Annotated[str | None, typer.Option("--arch", help="Architecture of a plain state dict.")]


def recipe_option():
    return typer.Option("--recipe", "-r", help="Recipe name (verb/name) or YAML path.")


@dataclass
class Invocation:
    verb: str
    device_spec: str = "auto"
    seed: int = 0
    out: Path | None = None
    json_output: bool = False
    quiet: bool = False
    verbose: bool = False
    print_result: bool = True  # False: emit() only stores the result (a demo running a verb inside another)
    exit_code: int = 0
    result: Any = None
    _device: Any = field(default=None, repr=False)
    _run_dir: RunDir | None = field(default=None, repr=False)
    _planned: Path | None = field(default=None, repr=False)
    _pending_recipe: Any = field(default=None, repr=False)

    def __post_init__(self):
        # stderr for everything but the result, so `--json` output can be piped
        self.console = Console(stderr=True, quiet=self.quiet or not is_main_rank(), soft_wrap=True)
        # off a terminal rich would cut tables at 80 columns ("15,549,4…"): print them at full width
        wide = None if sys.stdout.isatty() else 240
        self.out_console = Console(file=sys.stdout, width=wide) if not self.json_output else None
        self.reporter = ConsoleReporter(self.console, quiet=self.quiet) if is_main_rank() else SILENT

    @property
    def device(self):
        if self._device is None:
            self._device = resolve_device(self.device_spec)
        return self._device

    @property
    def run_path(self) -> Path:
        """The run folder's path, without creating it."""
        if self._planned is None:
            self._planned = Path(self.out or default_run_dir(self.verb))
        return self._planned

    @property
    def run_dir(self) -> RunDir:
        """The run folder, created on first use; the resolved recipe (if any) is written into it then."""
        if self._run_dir is None:
            self._run_dir = RunDir(self.run_path)
            if self._pending_recipe is not None:
                recipe, source = self._pending_recipe
                dump_yaml(recipe, self._run_dir / "recipe.yaml")
                self.log(f"recipe {source} -> run directory {self._run_dir.path}")
        return self._run_dir

    def log(self, message: str) -> None:
        self.console.print(message, markup=False, highlight=False)

    def context(self, resume: bool = False, out: Path | None = None) -> RunContext:
        """The core run context a method's ``run(recipe, ctx)`` takes (its folder is created on first use).

        ``out``: a context writing into that folder instead (a demo running several methods)."""
        if out is not None:
            return RunContext(
                device=self.device,
                seed=self.seed,
                out=Path(out),
                reporter=self.reporter,
                resume=resume,
                log=self.log,
            )
        return RunContext(
            device=self.device,
            seed=self.seed,
            out=self.run_path,
            reporter=self.reporter,
            resume=resume,
            log=self.log,
            _run_dir=self._run_dir,
            make_run_dir=lambda: self.run_dir,
        )

    def recipe(self, name_or_path: str, overrides: list[str] | None, schema: type | None = None):
        """Load and type-check a recipe; its resolved copy is written when the run directory is created."""
        if schema is None:
            recipe, path = load_any_recipe(name_or_path, overrides)
        else:
            recipe, path = load_recipe(name_or_path, schema, overrides)
        if is_main_rank():  # under torchrun only rank 0 writes (the method broadcasts rank 0's folder)
            self._pending_recipe = (recipe, path)
            if self._run_dir is not None:  # the folder exists already: write the recipe now
                dump_yaml(recipe, self._run_dir / "recipe.yaml")
        return recipe

    def emit(self, result: dict, render: Callable[[Console], None] | None = None) -> None:
        """The verb's result: JSON on stdout with ``--json``, else ``render`` (or pretty JSON)."""
        self.result = result
        if not self.print_result or not is_main_rank():
            return
        if self.json_output:
            sys.stdout.write(json.dumps(result, default=_jsonable) + "\n")
            sys.stdout.flush()
        elif render is not None:
            render(self.out_console)
        else:
            self.out_console.print_json(json.dumps(result, default=_jsonable))


DeviceOpt = Annotated[
    str,
    typer.Option(
        "--device", help="auto | cpu | cuda | cuda:N (auto picks CUDA when present).", rich_help_panel=PANEL
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed.", rich_help_panel=PANEL)]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Run directory (default runs/<verb>/<timestamp>).", rich_help_panel=PANEL),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Machine-readable result on stdout.", rich_help_panel=PANEL)
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.", rich_help_panel=PANEL)]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show tracebacks on errors.", rich_help_panel=PANEL)
]

_COMMON = [
    ("device", DeviceOpt, "auto"),
    ("seed", SeedOpt, 0),
    ("out", OutOpt, None),
    ("json_output", JsonOpt, False),
    ("quiet", QuietOpt, False),
    ("verbose", VerboseOpt, False),
]


def _hide_bool_metavar(annotation) -> None:
    """Flags need no value: show ``--json`` in help, not ``--json <bool>``."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return
    base, *meta = typing.get_args(annotation)
    if base is bool or (
        typing.get_origin(base) in (typing.Union, types.UnionType) and bool in typing.get_args(base)
    ):
        for info in meta:
            if isinstance(info, typer.models.OptionInfo) and info.metavar is None:
                info.metavar = ""


# output options only, for verbs that neither compute nor write a run folder (recipes, info)
_OUTPUT_ONLY = ("json_output", "quiet", "verbose")


def verb_command(verb: str, run_options: bool = True):
    """Decorator: add the common options and run the function inside a :class:`Invocation`.

    ``run_options=False`` leaves out ``--device --seed --out`` (verbs for which they mean nothing).
    """
    common_options = [c for c in _COMMON if run_options or c[0] in _OUTPUT_ONLY]

    def decorate(fn):
        sig = inspect.signature(fn)
        # resolve string annotations (modules using `from __future__ import annotations`) with their
        # Annotated metadata, or Typer would lose the option declarations
        hints = typing.get_type_hints(fn, include_extras=True)
        params = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in sig.parameters.values()
            if p.name != "invocation"
        ]
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
            for name, ann, default in common_options
        ]
        # keep variadic positional arguments (overrides) last among positionals
        new_sig = sig.replace(parameters=params + extra)
        for p in params + extra:
            _hide_bool_metavar(p.annotation)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            common = {name: kwargs.pop(name) for name, _, _ in common_options}
            invocation = Invocation(
                verb=verb,
                device_spec=common.get("device", "auto"),
                seed=common.get("seed", 0),
                out=common.get("out"),
                json_output=common["json_output"],
                quiet=common["quiet"],
                verbose=common["verbose"],
            )
            run_guarded(invocation, lambda: fn(*args, invocation=invocation, **kwargs))

        wrapper.__signature__ = new_sig
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in params},
            **{name: ann for name, ann, _ in common_options},
        }
        return wrapper

    return decorate


def run_guarded(invocation: Invocation, body: Callable[[], Any]) -> None:
    """Run ``body``; map errors to one line on stderr and the documented exit codes."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        seed_everything(invocation.seed)
        body()
    except typer.Exit:
        raise
    except VitaError as exc:
        if invocation.verbose:
            traceback.print_exc()
        err.print(f"error: {exc.one_line()}", markup=False, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        raise typer.Exit(130) from None
    except Exception as exc:  # a failure during the run: exit 1, traceback only on request
        if invocation.verbose:
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        err.print(
            f"error: {type(exc).__name__}: {message} (run with --verbose for the traceback)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1) from None
    if invocation.exit_code:
        raise typer.Exit(invocation.exit_code)


def is_main_rank() -> bool:
    """False in the worker processes of a torchrun launch (RANK > 0): they neither print nor write."""
    return os.environ.get("RANK", "0") in ("", "0")
