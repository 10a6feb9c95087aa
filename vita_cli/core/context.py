"""The run context every method's ``run(recipe, ctx)`` receives: where, on what, how seeded, how told.

The CLI builds one from the common options (``--device --seed --out --quiet``) and hands it to the
method; Python callers build one directly::

    ctx = RunContext(device=torch.device("cpu"), seed=0, out=Path("runs/x"))
    result = pipeline.run(recipe, ctx)

Methods write files only through ``ctx.run_dir`` and report progress only through ``ctx.reporter``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.core.rundir import RunDir


def _ignore(message: str) -> None:
    pass


@dataclass
class RunContext:
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 0
    out: Path | None = None  # the run folder; created on first use of ``run_dir``
    reporter: Reporter = SILENT
    resume: bool = False  # continue from the checkpoints already in ``out``
    log: Callable[[str], None] = _ignore
    _run_dir: RunDir | None = field(default=None, repr=False)
    # how the folder is created on first use (the CLI's invocation also writes the resolved recipe there)
    make_run_dir: Callable[[], RunDir] | None = field(default=None, repr=False)

    @property
    def run_dir(self) -> RunDir:
        """The run folder, created on first use: a run that fails its input checks leaves nothing behind."""
        if self._run_dir is None:
            if self.make_run_dir is not None:
                self._run_dir = self.make_run_dir()
            elif self.out is None:
                raise ValueError("this run needs an output folder (RunContext.out)")
            else:
                self._run_dir = RunDir(self.out)
        return self._run_dir

    @property
    def amp(self) -> bool:
        """Mixed precision is used on CUDA only (CPU runs stay exact)."""
        return self.device.type == "cuda"

    def child(self, name: str, **changes) -> RunContext:
        """The same context writing into the sub-folder ``name`` (one arm of a study)."""
        values = dict(
            device=self.device,
            seed=self.seed,
            out=self.run_dir / name,
            reporter=self.reporter,
            resume=self.resume,
            log=self.log,
        )
        values.update(changes)
        return RunContext(**values)
