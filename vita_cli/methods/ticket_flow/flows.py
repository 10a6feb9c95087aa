"""IMP flows from disk: the saved rounds of a ``vita prune --method imp`` run, or a folder of model files.

A flow is the sequence θ^(0), θ^(1), … of one network's weights, one snapshot per IMP round. Two
sources are read:

* an IMP run folder (or its ``imp/`` sub-folder): ``round_NN/trained.safetensors`` (or
  ``rewound.safetensors``) with the masks stored beside the weights, in round order; rounds of the
  "extreme" search and rounds interrupted before their trained weights were written are skipped;
* a folder of model files, one per round (``.safetensors``, or ``.pt``/``.pth``/``.bin`` plain state
  dicts, including the ``torch.nn.utils.prune`` layout), ordered by the last number in each file
  name (``round_3.pt``, ``epoch-12.safetensors``). Masks come from the files when stored, else from
  the non-zero pattern.

The observables use the *weight layers*: every floating-point tensor with at least two dimensions
(convolution and linear weights), in state-dict order. The architecture check compares their names
and shapes, so any architecture works and two flows are comparable exactly when they match.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vita_cli.core.checkpoint import load_checkpoint
from vita_cli.core.errors import UserError
from vita_cli.models import merge_prune_layout, split_masks

MODEL_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
SNAPSHOTS = ("trained", "rewound")


@dataclass
class Flow:
    """One IMP flow: per-round weight layers (float64 numpy) and masks (bool numpy)."""

    name: str
    source: str  # "imp-run" | "folder"
    rounds: list[int]
    layers: list[str]
    shapes: dict[str, tuple[int, ...]]
    weights: list[dict[str, np.ndarray]]  # one dict per round
    masks: list[dict[str, np.ndarray]]  # one dict per round (all-True for unpruned layers)
    arch: str = "?"
    stored_masks: list[dict[str, np.ndarray]] = field(default_factory=list)  # only the pruned layers
    records: list[dict] = field(default_factory=list)  # IMP round records (accuracy, remaining)

    @property
    def signature(self) -> tuple:
        return tuple(sorted((n, self.shapes[n]) for n in self.layers))  # file order does not matter

    def describe(self) -> str:
        total = sum(int(np.prod(s)) for s in self.shapes.values())
        what = f"{len(self.layers)} weight layers, {total:,} weights"
        return f"{self.arch} ({what})" if self.arch != "?" else what

    def density(self) -> list[float]:
        """Per round: surviving fraction of the pruned weights (the stored masks), else of all layers."""
        out = []
        for i in range(len(self.rounds)):
            masks = self.stored_masks[i] if self.stored_masks and self.stored_masks[i] else self.masks[i]
            total = sum(m.size for m in masks.values())
            out.append(sum(int(m.sum()) for m in masks.values()) / max(1, total))
        return out


def _weight_layers(state: dict[str, torch.Tensor]) -> list[str]:
    return [k for k, v in state.items() if v.is_floating_point() and v.ndim >= 2]


def _read_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
    """(state, masks, meta) of one model file, weights only."""
    ckpt = load_checkpoint(path)
    state, masks = split_masks(ckpt.tensors) if path.suffix == ".safetensors" else (dict(ckpt.tensors), {})
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    state, prune_masks = merge_prune_layout(state)
    return state, {**prune_masks, **masks}, dict(ckpt.meta)


def _build(name, source, rounds, files, arch, records=None) -> Flow:
    weights, masks, stored, shapes, layers = [], [], [], {}, None
    for path in files:
        state, file_masks, meta = _read_state(path)
        names = _weight_layers(state)
        if not names:
            raise UserError(f"{path} holds no weight layers (no floating tensors with 2 or more dimensions)")
        if layers is None:
            layers, shapes = names, {n: tuple(state[n].shape) for n in names}
            if isinstance(meta.get("arch"), dict) and arch == "?":
                arch = str(meta["arch"].get("name", "?"))
        elif [(n, tuple(state[n].shape)) for n in names] != [(n, shapes[n]) for n in layers]:
            raise UserError(
                f"{path} has different weight layers than {files[0]}",
                "every file of a flow must hold the same architecture",
            )
        w = {n: state[n].detach().double().numpy().copy() for n in layers}
        m = {n: (file_masks[n].bool().numpy() if n in file_masks else w[n] != 0) for n in layers}
        weights.append(w)
        masks.append(m)
        stored.append({n: file_masks[n].bool().numpy() for n in layers if n in file_masks})
    return Flow(name, source, rounds, layers, shapes, weights, masks, arch, stored, list(records or []))


def imp_dir(path: Path) -> Path | None:
    """The folder holding ``round_NN`` sub-folders, if ``path`` is an IMP run (or its imp/ folder)."""
    for folder in (path / "imp", path):
        if folder.is_dir() and any(p.is_dir() for p in folder.glob("round_[0-9]*")):
            return folder
    return None


def read_imp_run(path: Path, snapshot: str = "trained", name: str | None = None) -> Flow:
    folder = imp_dir(path)
    if folder is None:
        raise UserError(f"{path} is not an IMP run folder (no round_NN sub-folders)")
    rounds, files, records = [], [], []
    for sub in sorted(folder.glob("round_[0-9]*")):
        record_path, file = sub / "record.json", sub / f"{snapshot}.safetensors"
        if not (record_path.is_file() and (sub / "trained.safetensors").is_file()):
            continue  # interrupted before the round finished
        try:
            record = json.loads(record_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read {record_path}: {exc}") from exc
        if record.get("kind") == "extreme":
            continue  # finer-rate search rounds are not part of the coarse flow
        if not file.is_file():
            raise UserError(f"{sub} has no {snapshot}.safetensors", "use --snapshot trained")
        rounds.append(int(record.get("round", len(rounds))))
        files.append(file)
        records.append({k: v for k, v in record.items() if k != "history"})
    if not files:
        raise UserError(f"{path} holds no finished IMP round", "let `vita prune --method imp` finish a round")
    return _build(name or _default_name(path), "imp-run", rounds, files, "?", records)


_NUMBER = re.compile(r"(\d+)")


def read_folder(path: Path, name: str | None = None) -> Flow:
    """A folder of model files, one per round, ordered by the last number in each file name."""
    entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    others = [p.name for p in entries if not (p.is_file() and p.suffix in MODEL_SUFFIXES)]
    if others:
        raise UserError(
            f"{path} mixes model files with other entries: {', '.join(others[:4])}",
            f"a flow folder holds only model files ({', '.join(MODEL_SUFFIXES)}), one per round",
        )
    if not entries:
        raise UserError(f"{path} is empty", "put one model file per IMP round in it")
    formats = {"safetensors" if p.suffix == ".safetensors" else "state dict" for p in entries}
    if len(formats) > 1:
        raise UserError(
            f"{path} mixes file formats (.safetensors and plain state dicts)",
            "keep one format per flow folder",
        )
    numbered = []
    for p in entries:
        found = _NUMBER.findall(p.stem)
        if not found:
            raise UserError(
                f"{p} has no round number in its name, so the order of the flow is unknown",
                "name the files by round, e.g. round_00.pt, round_01.pt, ...",
            )
        numbered.append((int(found[-1]), p))
    numbered.sort(key=lambda t: t[0])
    numbers = [n for n, _ in numbered]
    dup = sorted({n for n in numbers if numbers.count(n) > 1})
    if dup:
        raise UserError(
            f"{path}: several files carry round number {dup[0]}", "one file per round, numbered uniquely"
        )
    gaps = [a + 1 for a, b in zip(numbers, numbers[1:], strict=False) if b != a + 1]
    if gaps:
        raise UserError(
            f"{path}: rounds {numbers[0]}..{numbers[-1]} with round {gaps[0]} missing",
            "a flow needs consecutive rounds",
        )
    return _build(name or _default_name(path), "folder", numbers, [p for _, p in numbered], "?")


def _default_name(path: Path) -> str:
    path = path.resolve()
    run = path.parent if path.name == "imp" else path
    try:  # a flow written by `vita ticket-flow run` says its task and seed
        info = json.loads((run / "task.json").read_text())
        return f"{info['name']}/s{info['seed']}"
    except (OSError, ValueError, KeyError, TypeError):
        return run.name


def read_flow(path: str | Path, snapshot: str = "trained", name: str | None = None) -> Flow:
    """An IMP run folder or a folder of per-round model files."""
    path = Path(path)
    if not path.exists():
        raise UserError(
            f"flow not found: {path}", "give an IMP run folder or a folder of per-round model files"
        )
    if not path.is_dir():
        raise UserError(
            f"{path} is a file; a flow is a folder",
            "give an IMP run folder or a folder of per-round model files",
        )
    if snapshot not in SNAPSHOTS:
        raise UserError(f"unknown snapshot {snapshot!r}", f"use one of: {', '.join(SNAPSHOTS)}")
    if imp_dir(path) is not None:
        return read_imp_run(path, snapshot, name)
    if snapshot != "trained":
        raise UserError(
            f"{path} is a folder of model files: only its trained weights exist", "drop --snapshot"
        )
    return read_folder(path, name)


def unique_names(paths: list[Path]) -> list[str]:
    """Short distinct labels for flows (folder names, with parents added on clashes)."""
    names = [_default_name(Path(p)) for p in paths]
    if len(set(names)) < len(names):
        names = [f"{Path(p).resolve().parent.name}/{n}" for p, n in zip(paths, names, strict=True)]
    if len(set(names)) < len(names):
        names = [f"{n}#{i}" for i, n in enumerate(names)]
    return names
