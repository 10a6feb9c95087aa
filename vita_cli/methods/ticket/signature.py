"""The verification key: ``sig.json`` plus its side files (owner's mask, trigger images).

Everything here is public: it lets anyone check a claim, and holds nothing a thief could strip from
a model to defeat it (the evidence lives in the model's mask and weights). ``checksum`` is a sha256
over the canonical JSON of every other field, so an edited file is caught as bad input; it detects
accidents and careless edits, it is not a cryptographic signature (see docs/signature-format.md).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from vita_cli import __version__
from vita_cli.core.checkpoint import atomic_write
from vita_cli.core.errors import UserError
from vita_cli.methods.ticket.triggers import TriggerSet

FORMAT = "vita-ticket-signature"
FORMAT_VERSION = 1


def canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def content_checksum(data: dict) -> str:
    body = {k: v for k, v in data.items() if k != "checksum"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def mask_fingerprint(masks: dict[str, torch.Tensor]) -> str:
    """sha256 over names, shapes and bits of the masks, in sorted name order."""
    h = hashlib.sha256()
    for name in sorted(masks):
        m = masks[name].detach().bool().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(m.shape)).encode())
        h.update(m.numpy().tobytes())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def side_file(sig_path: Path, suffix: str) -> Path:
    """``sig.json`` -> ``sig.<suffix>.safetensors`` in the same folder."""
    return sig_path.with_name(f"{sig_path.stem}.{suffix}.safetensors")


def write_signature(
    sig_path: str | Path,
    body: dict[str, Any],
    owner_masks: dict[str, torch.Tensor],
    triggers: TriggerSet | None,
) -> Path:
    """Write ``sig.json`` and its side files; ``body`` holds the method fields (see docs)."""
    sig_path = Path(sig_path)
    mask_path = side_file(sig_path, "mask")
    atomic_write(
        mask_path,
        lambda tmp: save_file(
            {n: m.detach().cpu().to(torch.uint8).contiguous() for n, m in owner_masks.items()}, tmp
        ),
    )
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "vita_version": __version__, **body}
    data["mask"] = {
        **data.get("mask", {}),
        "file": mask_path.name,
        "file_sha256": file_sha256(mask_path),
        "fingerprint": mask_fingerprint(owner_masks),
        "live_weights": sum(int(m.sum()) for m in owner_masks.values()),
        "total_weights": sum(m.numel() for m in owner_masks.values()),
    }
    if triggers is not None:
        trig_path = side_file(sig_path, "triggers")
        atomic_write(
            trig_path,
            lambda tmp: save_file(
                {"images": triggers.images.contiguous(), "labels": triggers.labels.contiguous()}, tmp
            ),
        )
        data["black_box"] = {
            **data.get("black_box", {}),
            "file": trig_path.name,
            "file_sha256": file_sha256(trig_path),
        }
    data["checksum"] = content_checksum(data)
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    return atomic_write(sig_path, lambda tmp: Path(tmp).write_text(text))


class Signature:
    """A loaded and checked ``sig.json``."""

    def __init__(self, data: dict, path: Path):
        self.data, self.path = data, path

    @property
    def white_box(self) -> dict | None:
        return self.data.get("white_box")

    @property
    def black_box(self) -> dict | None:
        return self.data.get("black_box")

    def owner_masks(self) -> dict[str, torch.Tensor]:
        path = self._side("mask", self.data["mask"])
        return {n: t.bool() for n, t in _load_safetensors(path).items()}

    def triggers(self) -> TriggerSet:
        if not self.black_box:
            raise UserError(
                f"signature {self.path} has no trigger set", "sign with --trigger-set to use --black-box"
            )
        tensors = _load_safetensors(self._side("triggers", self.black_box))
        if "images" not in tensors or "labels" not in tensors:
            raise UserError(f"trigger file of {self.path} lacks 'images' or 'labels'")
        return TriggerSet(tensors["images"], tensors["labels"].long())

    def _side(self, what: str, section: dict) -> Path:
        path = self.path.with_name(section["file"])
        if not path.is_file():
            raise UserError(
                f"signature side file not found: {path}", f"keep the {what} file next to {self.path.name}"
            )
        if file_sha256(path) != section.get("file_sha256"):
            raise UserError(
                f"signature side file {path} does not match the sha256 recorded in {self.path.name}"
            )
        return path


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise UserError(f"unreadable signature side file {path}: {str(exc).splitlines()[0]}") from exc


REQUIRED_WHITE_BOX = ("layer", "layer_shape", "row", "col", "payload", "qr")


def read_signature(path: str | Path) -> Signature:
    """Load ``sig.json``; any malformed, edited or incomplete file is a UserError (exit 2)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"signature file not found: {path}", "pass the sig.json written by `vita sign-ticket`"
        )
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"signature {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path} is not a vita ticket signature (format field missing or wrong)")
    if data.get("format_version") != FORMAT_VERSION:
        raise UserError(
            f"signature {path} has format_version {data.get('format_version')!r}; this vita reads {FORMAT_VERSION}"
        )
    if data.get("checksum") != content_checksum(data):
        raise UserError(
            f"signature {path} was modified after signing (checksum mismatch)",
            "use the file sign-ticket wrote",
        )
    validate_fields(data, path)
    return Signature(data, path)


def validate_fields(data: dict, path: Path) -> None:
    """Semantic checks of a checksummed signature: a field that is present but cannot be used is bad
    input naming that field, never a crash later or a check silently skipped."""

    def bad(field: str, why: str):
        return UserError(f"signature {path}: field {field} {why}", "use the sig.json sign-ticket wrote")

    def number(field: str, value, lo: float | None = None, hi: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(field, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise bad(field, f"must be finite, got {value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise bad(field, f"must be in [{lo:g}, {hi:g}], got {value!r}")
        return float(value)

    def integer(field: str, value, lo: int, hi: int | None = None) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < lo
            or (hi is not None and value > hi)
        ):
            span = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
            raise bad(field, f"must be an integer {span}, got {value!r}")
        return value

    def section(field: str, required: bool = True) -> dict | None:
        value = data.get(field)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            raise bad(field, "is missing" if value is None else "must be a mapping")
        return value

    # sign-ticket always writes the white-box part: without it the QR check would silently vanish
    wb = section("white_box")
    missing = [k for k in REQUIRED_WHITE_BOX if k not in wb]
    if missing:
        raise bad(f"white_box.{missing[0]}", "is missing")
    if not isinstance(wb["layer"], str) or not wb["layer"]:
        raise bad("white_box.layer", f"must be a layer name, got {wb['layer']!r}")
    shape = wb["layer_shape"]
    if not isinstance(shape, list) or len(shape) != 4:
        raise bad("white_box.layer_shape", f"must be a 4-d conv shape, got {shape!r}")
    for i, dim in enumerate(shape):
        integer(f"white_box.layer_shape[{i}]", dim, 1, 1 << 20)
    if not isinstance(wb["payload"], str) or not wb["payload"]:
        raise bad("white_box.payload", "must be a non-empty string")
    qr = wb["qr"]
    if not isinstance(qr, dict):
        raise bad("white_box.qr", "must be a mapping")
    version = integer("white_box.qr.version", qr.get("version"), 1, 40)
    if qr.get("ecc") not in ("L", "M", "Q", "H"):
        raise bad("white_box.qr.ecc", f"must be one of L, M, Q, H, got {qr.get('ecc')!r}")
    if qr.get("polarity") not in ("dark-connected", "light-connected"):
        raise bad(
            "white_box.qr.polarity", f"must be dark-connected or light-connected, got {qr.get('polarity')!r}"
        )
    if "mask_pattern" in qr:
        integer("white_box.qr.mask_pattern", qr["mask_pattern"], 0, 7)
    size = 17 + 4 * version
    integer("white_box.row", wb["row"], 0, shape[0] - size)
    integer("white_box.col", wb["col"], 0, shape[1] - size)

    mask = section("mask")
    if not isinstance(mask.get("file"), str) or not mask["file"]:
        raise bad("mask.file", "is missing")

    bb = section("black_box", required=False)
    if bb is not None:
        if not isinstance(bb.get("file"), str) or not bb["file"]:
            raise bad("black_box.file", "is missing")
        integer("black_box.num_classes", bb.get("num_classes"), 2, 1 << 20)
        norm = bb.get("normalization") or {}
        if not isinstance(norm, dict):
            raise bad("black_box.normalization", "must be a mapping")
        for key in ("mean", "std"):
            values = norm.get(key)
            if values is None:
                continue
            if not isinstance(values, list) or not values:
                raise bad(f"black_box.normalization.{key}", f"must be a list of numbers, got {values!r}")
            for i, v in enumerate(values):
                number(f"black_box.normalization.{key}[{i}]", v)
            if key == "std" and any(v <= 0 for v in values):
                raise bad("black_box.normalization.std", "must be positive")

    thresholds = section("thresholds", required=False) or {}
    ranges = {
        "jaccard_min": (0.0, 1.0),
        "kernel_floor": (0.0, 1.0e6),
        "trigger_accuracy_min": (0.0, 1.0),
        "p_value_max": (0.0, 1.0),
        "qr_ber_reference": (0.0, 1.0),
    }
    for key, value in thresholds.items():
        lo, hi = ranges.get(key, (None, None))
        number(f"thresholds.{key}", value, lo, hi)
