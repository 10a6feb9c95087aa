"""Run directories: ``runs/<verb>/<timestamp>`` unless ``--out`` says otherwise."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from vita_cli.core.checkpoint import atomic_write


def default_run_dir(verb: str, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / verb.replace(" ", "-") / stamp
    path, i = base, 1
    while path.exists():
        path, i = base.with_name(f"{stamp}-{i}"), i + 1
    return path


class RunDir:
    """A run's output folder: resolved recipe, metrics (JSON lines), result JSON, plots."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def append_metrics(self, record: dict[str, Any], name: str = "metrics.jsonl") -> None:
        with open(self.path / name, "a") as f:
            f.write(json.dumps(record, default=_jsonable) + "\n")

    def write_json(self, name: str, data: Any) -> Path:
        text = json.dumps(data, indent=2, default=_jsonable)
        return atomic_write(self.path / name, lambda tmp: Path(tmp).write_text(text))


def _jsonable(obj):
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
