"""Checkpoints: safetensors + JSON metadata, atomic writes, integrity checked on load.

The metadata (one JSON string under the key ``vita``) holds the vita version, the verb, the
architecture spec, the resolved recipe, anything the method adds, and the sha256 of the tensors.
Plain ``.pt``/``.pth`` files are read with ``weights_only=True`` only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from vita_cli import __version__
from vita_cli.core.errors import UserError, require_regular_file

META_KEY = "vita"


@dataclass
class Checkpoint:
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def arch(self):
        return self.meta.get("arch")


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """Hash of names, dtypes, shapes and bytes, in sorted name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def atomic_write(path: str | Path, write) -> Path:
    """Call ``write(tmp_path)`` then move the file into place, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_stale_tmp(path: str | Path) -> list[Path]:
    """Delete the ``.<name>.*.tmp`` files a killed :func:`atomic_write` of ``path`` left behind (call it
    when resuming a run that one process owns); returns what was removed."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def save_checkpoint(
    path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any] | None = None
) -> Path:
    clean = {}
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"checkpoint entry {name!r} is not a tensor")
        clean[name] = t.detach().contiguous().cpu()
    full_meta = {"vita_version": __version__, **(meta or {}), "sha256": tensors_sha256(clean)}
    text = json.dumps(full_meta, default=_json_default)
    return atomic_write(path, lambda tmp: save_file(clean, tmp, metadata={META_KEY: text}))


def _json_default(obj):
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in checkpoint metadata")


def read_metadata(path: str | Path) -> dict[str, Any]:
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(META_KEY)
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(
            f"{path} is not a readable safetensors file: {exc}", "the file may be truncated"
        ) from exc
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: its vita metadata is not valid JSON ({exc.msg})") from exc
    if not isinstance(meta, dict):
        raise UserError(f"{path}: its vita metadata is not a JSON object")
    return meta


def load_checkpoint(path: str | Path, verify: bool = True) -> Checkpoint:
    """Load a vita ``.safetensors`` checkpoint or a plain ``.pt`` state dict (weights only)."""
    path = Path(path)
    require_regular_file(path, "model file")
    if path.suffix == ".safetensors":
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise UserError(
                f"corrupt checkpoint {path}: {str(exc).splitlines()[0]}", "re-create or re-download it"
            ) from exc
        meta = read_metadata(path)
        expected = meta.get("sha256")
        if verify and meta and not expected:
            raise UserError(
                f"checkpoint {path} has vita metadata without a sha256, so its integrity cannot be checked",
                "re-save it with vita, or load the tensors as a plain state dict (.pt) with --arch",
            )
        if verify and expected and tensors_sha256(tensors) != expected:
            raise UserError(
                f"checkpoint {path} failed its integrity check (sha256 mismatch)",
                "the file was modified or damaged",
            )
        return Checkpoint(tensors, meta, path)
    return Checkpoint(load_torch_state(path), {}, path)


def load_torch_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A ``.pt``/``.pth`` state dict, loaded with ``weights_only=True`` (no arbitrary code)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise UserError(f"cannot read model file {path}: {exc.strerror}") from exc
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):  # torch.save zip, or legacy pickle
        raise UserError(
            f"{path} is not a torch.save file (neither a zip archive nor a pickle)",
            "pass a .safetensors written by vita, or a state dict saved with torch.save",
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad pickles
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise UserError(
                f"{path} holds pickled Python objects, not just tensors",
                "save model.state_dict() instead, or pass --trust-pickle if you trust the file's author",
            ) from exc
        raise UserError(f"corrupt or unreadable model file {path}: {first}") from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"{path} does not contain a state dict of tensors", "save model.state_dict()")
    return dict(obj)
