"""Any image classification set as class subfolders of PNG/JPEG files.

Two layouts: ``ROOT/train/<class>/*`` plus ``ROOT/test/<class>/*`` (``val/`` is accepted for test),
or a single ``ROOT/<class>/*`` from which a seeded 20% becomes the test set. Images are decoded once,
resized to the configured size and kept in memory as uint8.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vita_cli.core.errors import UserError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
TEST_FRACTION = 0.2


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())


def _decode(paths: list[Path], channels: int, size: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    mode = "L" if channels == 1 else "RGB"
    out = np.empty((len(paths), size, size, channels), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                img = img.convert(mode)
                if img.size != (size, size):
                    img = img.resize((size, size), Image.BILINEAR)
                out[i] = np.asarray(img).reshape(size, size, channels)
        except (UnidentifiedImageError, OSError) as exc:
            raise UserError(f"cannot decode image {path}: {exc}", "remove or replace the file") from exc
    return out


def _collect(folder: Path, classes: list[str]) -> tuple[list[Path], list[int]]:
    paths, labels = [], []
    for label, cls in enumerate(classes):
        if not (folder / cls).is_dir():
            continue
        files = _files(folder / cls)
        paths += files
        labels += [label] * len(files)
    return paths, labels


def load_image_folder(root: str | None, channels: int, size: int, seed: int = 0) -> dict:
    """Train/test uint8 N×C×size×size images, int64 labels and the class names (sorted folder names)."""
    hint = "set data.root=DIR with class subfolders of images (DIR/<class>/*.png or DIR/train/<class>/ + DIR/test/<class>/)"
    if root is None:
        raise UserError("data.name=imagefolder needs data.root", hint)
    base = Path(root).expanduser()
    if not base.is_dir():
        raise UserError(f"image folder not found: {base}", hint)
    test_dir = next((base / d for d in ("test", "val") if (base / d).is_dir()), None)
    if (base / "train").is_dir() and test_dir is not None:
        classes = [p.name for p in _class_dirs(base / "train")]
        train_paths, train_labels = _collect(base / "train", classes)
        test_paths, test_labels = _collect(test_dir, classes)
        extra = sorted({p.name for p in _class_dirs(test_dir)} - set(classes))
        if extra:
            raise UserError(f"{test_dir} has classes missing from {base / 'train'}: {', '.join(extra)}")
    else:
        classes = [p.name for p in _class_dirs(base)]
        paths, labels = _collect(base, classes)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(paths))
        n_test = int(round(len(paths) * TEST_FRACTION))
        test_set = set(order[:n_test].tolist())
        train_paths = [p for i, p in enumerate(paths) if i not in test_set]
        train_labels = [y for i, y in enumerate(labels) if i not in test_set]
        test_paths = [p for i, p in enumerate(paths) if i in test_set]
        test_labels = [y for i, y in enumerate(labels) if i in test_set]
    if len(classes) < 2:
        raise UserError(f"{base} has {len(classes)} class folder(s); need at least 2", hint)
    if not train_paths:
        raise UserError(f"no images ({', '.join(sorted(EXTENSIONS))}) found under {base}", hint)
    return {
        "train_images": _decode(train_paths, channels, size).transpose(0, 3, 1, 2),
        "train_labels": np.asarray(train_labels, dtype=np.int64),
        "test_images": _decode(test_paths, channels, size).transpose(0, 3, 1, 2),
        "test_labels": np.asarray(test_labels, dtype=np.int64),
        "class_names": classes,
    }
