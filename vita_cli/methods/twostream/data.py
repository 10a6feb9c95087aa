"""Clip folders: one sub-folder per class, clips as uint8 ``.npy``/``.npz`` or videos, a split file.

Layout::

    root/
      split.json            {"classes": [...], "train": ["walk/train_0000.npy", ...], "val": [...], "test": [...]}
      walk/train_0000.npy   (frames, height, width, 3) uint8
      ...

Without ``split.json`` (a user's own folder) the clips are split per class by a seeded shuffle.
Videos (``.mp4``, ``.avi``, ...) are decoded with OpenCV (optional dependency). Every clip is sampled
to ``frames`` evenly spaced frames and resized to ``size``×``size``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vita_cli.core.errors import UserError

ARRAY_EXT = (".npy", ".npz")
VIDEO_EXT = (".mp4", ".avi", ".mov", ".mkv", ".webm")
MEAN, STD = 0.45, 0.225


@dataclass
class ClipSet:
    clips: torch.Tensor  # (N, frames, size, size, 3) uint8
    labels: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx, device) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.clips[idx].to(device).permute(0, 4, 1, 2, 3).float().div_(255.0)
        return (x - MEAN) / STD, self.labels[idx].to(device)

    def batches(
        self, batch_size: int, device, shuffle_rng: random.Random | None = None, limit: int | None = None
    ):
        order = list(range(len(self)))
        if shuffle_rng is not None:
            shuffle_rng.shuffle(order)
        if limit is not None:
            order = order[:limit]
        for i in range(0, len(order), batch_size):
            yield self.batch(torch.tensor(order[i : i + batch_size]), device)


@dataclass
class Dataset:
    classes: list[str]
    train: ClipSet
    val: ClipSet
    test: ClipSet
    root: Path
    frames: int
    size: int

    def summary(self) -> dict:
        return {
            "root": str(self.root),
            "classes": self.classes,
            "train": len(self.train),
            "val": len(self.val),
            "test": len(self.test),
            "frames": self.frames,
            "size": self.size,
        }


def write_folder(
    root: Path, splits: dict[str, list[tuple[str, np.ndarray]]], classes: list[str], meta: dict
) -> Path:
    """Write rendered clips as ``root/<class>/<split>_<i>.npy`` and ``root/split.json``."""
    root.mkdir(parents=True, exist_ok=True)
    index: dict = {"classes": classes, **meta}
    for split, rows in splits.items():
        names = []
        counters: dict[str, int] = {}
        for cls, clip in rows:
            i = counters.get(cls, 0)
            counters[cls] = i + 1
            rel = f"{cls}/{split}_{i:04d}.npy"
            (root / cls).mkdir(exist_ok=True)
            np.save(root / rel, clip, allow_pickle=False)
            names.append(rel)
        index[split] = names
    (root / "split.json").write_text(json.dumps(index, indent=1))
    return root / "split.json"


def read_clip(path: Path) -> np.ndarray:
    """A (frames, H, W, 3) uint8 array from .npy/.npz or a video file; UserError naming the file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                arr = z["clip"] if "clip" in keys else z[keys[0]]
        elif suffix in VIDEO_EXT:
            arr = _read_video(path)
        else:
            raise UserError(f"unsupported clip file {path}", f"use {', '.join(ARRAY_EXT + VIDEO_EXT)}")
    except UserError:
        raise
    except Exception as exc:  # numpy / zip errors on damaged files
        raise UserError(
            f"unreadable clip {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc
    if arr.ndim == 3:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3) or arr.shape[0] < 1:
        raise UserError(f"unreadable clip {path}: expected (frames, height, width, 3), got shape {arr.shape}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return arr


def _read_video(path: Path) -> np.ndarray:
    try:
        import cv2  # optional: only user video folders need it
    except ImportError as exc:
        raise UserError(
            f"reading {path} needs OpenCV", "pip install opencv-python-headless, or convert clips to .npy"
        ) from exc
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise UserError(f"unreadable video {path}: no frame could be decoded")
    return np.stack(frames)


def resample(arr: np.ndarray, frames: int, size: int) -> torch.Tensor:
    """``frames`` evenly spaced frames, each resized to size×size: (frames, size, size, 3) uint8."""
    idx = np.linspace(0, arr.shape[0] - 1, frames).round().astype(int)
    x = torch.from_numpy(np.ascontiguousarray(arr[idx]))
    if x.shape[1] != size or x.shape[2] != size:
        x = x.permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        x = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return x.contiguous()


def scan(
    root: Path, split_seed: int, val_fraction: float, test_fraction: float
) -> tuple[list[str], dict[str, list[tuple[Path, int]]]]:
    """Classes and {split: [(file, label)]} of a folder; checks everything before any clip is read."""
    if not root.is_dir():
        raise UserError(
            f"clip folder not found: {root}", "run `vita search-twostream data` or give data.root"
        )
    index_file = root / "split.json"
    if index_file.is_file():
        try:
            index = json.loads(index_file.read_text())
            classes = list(index["classes"])
            splits = {
                s: [(root / rel, classes.index(rel.split("/")[0])) for rel in index[s]]
                for s in ("train", "val", "test")
            }
        except (json.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise UserError(f"{index_file} is not a valid split file ({type(exc).__name__}: {exc})") from exc
        for cls in classes:
            if not (root / cls).is_dir() or not any(_clip_files(root / cls)):
                raise UserError(f"empty class folder {root / cls}", "every class needs at least one clip")
        for rows in splits.values():
            for path, _ in rows:
                if not path.is_file():
                    raise UserError(f"clip listed in {index_file} not found: {path}")
        return classes, splits
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"{root} needs at least two class sub-folders, found {len(classes)}")
    splits = {"train": [], "val": [], "test": []}
    for label, cls in enumerate(classes):
        files = sorted(_clip_files(root / cls))
        if not files:
            raise UserError(
                f"empty class folder {root / cls}",
                f"put clips ({', '.join(ARRAY_EXT + VIDEO_EXT)}) in it or remove it",
            )
        random.Random(f"{split_seed}/{cls}").shuffle(files)
        n_test = int(round(len(files) * test_fraction))
        n_val = int(round(len(files) * val_fraction))
        splits["test"] += [(f, label) for f in files[:n_test]]
        splits["val"] += [(f, label) for f in files[n_test : n_test + n_val]]
        splits["train"] += [(f, label) for f in files[n_test + n_val :]]
    for name, rows in splits.items():
        if not rows:
            raise UserError(
                f"{root}: the {name} split is empty",
                "add clips or change data.val_fraction / data.test_fraction",
            )
    return classes, splits


def _clip_files(folder: Path):
    return (f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in ARRAY_EXT + VIDEO_EXT)


def load_folder(
    root: Path,
    frames: int,
    size: int,
    split_seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    limit_per_split: dict[str, int] | None = None,
) -> Dataset:
    classes, splits = scan(root, split_seed, val_fraction, test_fraction)
    sets = {}
    for name, rows in splits.items():
        if limit_per_split and name in limit_per_split:
            rows = rows[: limit_per_split[name]]
        clips = [resample(read_clip(path), frames, size) for path, _ in rows]
        sets[name] = ClipSet(torch.stack(clips), torch.tensor([lab for _, lab in rows], dtype=torch.long))
    return Dataset(classes, sets["train"], sets["val"], sets["test"], root, frames, size)
