"""Corrupted test sets in the CIFAR-10-C layout: generate, validate, read.

Layout (the public CIFAR-10-C / CIFAR-100-C release): one ``<corruption>.npy`` per corruption, uint8
(S·N)×H×W×C with the S severities stacked in blocks of N images (severity 1 first), and ``labels.npy``
with the N labels repeated S times. vita adds ``meta.json`` (severities, constants, source); folders
without it (the official files) are read as severities 1–5.

Generation uses ``imagecorruptions`` (ImageNet-C constants) or the CIFAR-10-C constants of
:mod:`cifar_c_constants`. Grey images are corrupted as RGB (the package always returns 3 channels) and
stored back as one channel (ITU-R 601 luma), so the files match the data set's channel count.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vita_cli.core.errors import UserError

STANDARD_CORRUPTIONS = [
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness",
    "contrast", "elastic_transform", "pixelate", "jpeg_compression",
]  # fmt: skip
EXTRA_CORRUPTIONS = ["speckle_noise", "gaussian_blur", "spatter", "saturate"]
CONSTANTS = ("imagenet", "cifar")
MIN_SIZE = 32  # imagecorruptions rejects smaller images
LUMA = np.array([0.299, 0.587, 0.114])


class CorruptionInputError(UserError):
    """Bad corruption name, severity, image size, channel count or folder (exit code 2, one line)."""


def check_request(names: list[str], severities: list[int], constants: str = "imagenet") -> None:
    if constants not in CONSTANTS:
        raise CorruptionInputError(
            f"unknown severity constants {constants!r}; choices: {', '.join(CONSTANTS)}"
        )
    known = STANDARD_CORRUPTIONS + EXTRA_CORRUPTIONS
    if constants == "cifar":
        from vita_cli.methods.robustness.cifar_c_constants import CIFAR_C_CONSTANTS

        known = [n for n in known if n in CIFAR_C_CONSTANTS]
    for name in names:
        if name not in known:
            raise CorruptionInputError(f"unknown corruption {name!r}; choices: {', '.join(known)}")
    if not severities:
        raise CorruptionInputError("no severities given; use integers 1-5")
    for s in severities:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 1 <= s <= 5:
            raise CorruptionInputError(f"severity {s!r} is outside 1-5")
    if len(set(severities)) != len(severities):
        raise CorruptionInputError(f"severities repeat: {severities}")


def check_images(images: np.ndarray) -> None:
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3):
        raise CorruptionInputError(
            f"images must be uint8 N×H×W×C with C 1 or 3, got {images.dtype} {images.shape}"
        )
    h, w = images.shape[1:3]
    if h < MIN_SIZE or w < MIN_SIZE:
        raise CorruptionInputError(
            f"images are {h}×{w} px but the corruption code needs at least {MIN_SIZE}×{MIN_SIZE} "
            "(set data.image_size=32 or larger)"
        )


def _seed_for(seed: int, name: str, severity: int) -> int:
    index = (STANDARD_CORRUPTIONS + EXTRA_CORRUPTIONS).index(name)
    return (seed * 1_000_003 + index * 101 + severity) % (2**32)


def corrupt_batch(
    images: np.ndarray, name: str, severity: int, constants: str = "imagenet", seed: int = 0
) -> np.ndarray:
    """Corrupt uint8 N×H×W×C images; same shape and channel count back. Deterministic given ``seed``."""
    check_request([name], [severity], constants)
    check_images(images)
    from imagecorruptions import corrupt  # lazy: it pulls scikit-image, OpenCV and numba (seconds)

    from vita_cli.methods.robustness.cifar_c_constants import cifar_corrupt

    state = np.random.get_state()
    np.random.seed(_seed_for(seed, name, severity))  # the package draws from numpy's global generator
    try:
        out = np.empty_like(images)
        for i, image in enumerate(images):
            rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
            if constants == "cifar":
                result = cifar_corrupt(rgb, name, severity)
            else:
                # glass_blur and impulse_noise otherwise seed themselves from fresh entropy
                extra = (
                    {"seed": int(np.random.randint(2**31))} if name in ("glass_blur", "impulse_noise") else {}
                )
                result = corrupt(np.ascontiguousarray(rgb), severity=severity, corruption_name=name, **extra)
            if result.ndim == 2:
                result = np.repeat(result[..., None], 3, axis=2)
            if image.shape[2] == 1:
                result = np.clip(np.rint(result.astype(np.float64) @ LUMA), 0, 255)[..., None]
            out[i] = result.astype(np.uint8)
    finally:
        np.random.set_state(state)
    return out


@dataclass
class CorruptedSet:
    """A folder in the CIFAR-C layout, read lazily (memory-mapped)."""

    path: Path
    corruptions: list[str]
    severities: list[int]
    n: int  # images per severity
    labels: np.ndarray  # (n,)
    meta: dict

    def images(self, name: str, severity: int) -> np.ndarray:
        """uint8 N×H×W×C images of ``name`` at ``severity``."""
        if name not in self.corruptions:
            raise CorruptionInputError(
                f"{self.path} has no corruption {name!r}; it has: {', '.join(self.corruptions)}"
            )
        if severity not in self.severities:
            raise CorruptionInputError(f"{self.path} has no severity {severity}; it has: {self.severities}")
        block = self.severities.index(severity)
        array = np.load(self.path / f"{name}.npy", mmap_mode="r")
        images = np.asarray(array[block * self.n : (block + 1) * self.n])
        return images[..., None] if images.ndim == 3 else images


def open_corrupted(path: str | Path, names: list[str] | None = None) -> CorruptedSet:
    """Read a folder written by :func:`generate_corrupted` or the official CIFAR-10-C/100-C release."""
    path = Path(path)
    if not path.is_dir():
        raise CorruptionInputError(f"corruption folder not found: {path}")
    if not (path / "labels.npy").is_file():
        raise CorruptionInputError(f"{path} has no labels.npy (expected the CIFAR-10-C layout)")
    meta = (
        json.loads((path / "meta.json").read_text())
        if (path / "meta.json").is_file()
        else {"source": "external"}
    )
    severities = [int(s) for s in meta.get("severities", [1, 2, 3, 4, 5])]
    all_labels = np.load(path / "labels.npy")
    if len(all_labels) % len(severities):
        raise CorruptionInputError(
            f"{path}/labels.npy holds {len(all_labels)} labels, not a multiple of {len(severities)} severities"
        )
    n = len(all_labels) // len(severities)
    present = [name for name in STANDARD_CORRUPTIONS + EXTRA_CORRUPTIONS if (path / f"{name}.npy").is_file()]
    if names is None:
        wanted = [name for name in STANDARD_CORRUPTIONS if name in present]
    else:
        known = STANDARD_CORRUPTIONS + EXTRA_CORRUPTIONS
        for name in names:
            if name not in known:
                raise CorruptionInputError(f"unknown corruption {name!r}; choices: {', '.join(known)}")
        missing = [name for name in names if name not in present]
        if missing:
            raise CorruptionInputError(f"{path} has no {missing[0]}.npy")
        wanted = list(names)
    if not wanted:
        raise CorruptionInputError(f"{path} holds none of the standard corruption files (<corruption>.npy)")
    for name in wanted:
        shape = np.load(path / f"{name}.npy", mmap_mode="r").shape
        if shape[0] != len(all_labels):
            raise CorruptionInputError(
                f"{path}/{name}.npy has {shape[0]} images but labels.npy has {len(all_labels)}"
            )
    return CorruptedSet(path, wanted, severities, n, np.asarray(all_labels[:n]).astype(np.int64), meta)


def generate_corrupted(
    images: np.ndarray,
    labels: np.ndarray,
    out_dir: str | Path,
    names: list[str] | None = None,
    severities: list[int] | None = None,
    constants: str = "imagenet",
    seed: int = 0,
    progress: Callable[[str, int], None] | None = None,
    source: str = "",
) -> CorruptedSet:
    """Write ``<corruption>.npy`` + ``labels.npy`` + ``meta.json``; reuse files that already match.

    A cached folder is reused only if its ``meta.json`` names the same images (hash), constants, seed
    and severities; each corruption file is written atomically (temporary name, then rename).
    """
    names = list(names or STANDARD_CORRUPTIONS)
    severities = list(severities or [1, 2, 3, 4, 5])
    check_request(names, severities, constants)
    check_images(images)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(
        np.ascontiguousarray(images).tobytes() + np.asarray(labels, np.int64).tobytes()
    ).hexdigest()[:16]
    meta = {
        "layout": "cifar-c",
        "severities": severities,
        "constants": constants,
        "seed": seed,
        "n": int(len(images)),
        "images_sha256_16": digest,
        "source": source,
    }
    old = json.loads((out / "meta.json").read_text()) if (out / "meta.json").is_file() else None
    if old is not None and {k: v for k, v in old.items() if k != "done"} != meta:
        raise CorruptionInputError(
            f"{out} already holds a different corrupted set (meta.json differs); choose another --cache folder"
        )
    done = set(old.get("done", [])) if old else set()
    stacked_labels = np.tile(
        np.asarray(labels).astype(np.uint8 if labels.max() < 256 else np.int64), len(severities)
    )
    if not (out / "labels.npy").is_file() or not np.array_equal(np.load(out / "labels.npy"), stacked_labels):
        _save_atomic(out / "labels.npy", stacked_labels)
    for name in names:
        if name in done and (out / f"{name}.npy").is_file():
            if progress:
                progress(name, len(severities))
            continue
        blocks = []
        for severity in severities:
            blocks.append(corrupt_batch(images, name, severity, constants, seed))
            if progress:
                progress(name, 1)
        _save_atomic(out / f"{name}.npy", np.concatenate(blocks))
        done.add(name)
        _write_meta(out, {**meta, "done": sorted(done)})
    if old is None or sorted(done) != old.get("done"):
        _write_meta(out, {**meta, "done": sorted(done)})
    return open_corrupted(out, names)


def _save_atomic(path: Path, array: np.ndarray) -> None:
    """Readers (another eval-robust on the same cache) never see half a file."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, array)
    tmp.replace(path)


def _write_meta(folder: Path, meta: dict) -> None:
    tmp = folder / f".meta.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(folder / "meta.json")
