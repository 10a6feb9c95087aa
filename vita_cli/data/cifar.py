"""CIFAR-10 / CIFAR-100 from the official "python version" pickle batches in a user directory.

Nothing is downloaded (vita runs offline). The batches are pickles, so they are read with a restricted
unpickler that only rebuilds dicts, lists, strings and numpy arrays: a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from vita_cli.core.errors import UserError

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# per-channel statistics of the training images, values in [0, 1]
STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
LAYOUT = {
    "cifar10": (
        "cifar-10-batches-py",
        [f"data_batch_{i}" for i in range(1, 6)],
        ["test_batch"],
        "batches.meta",
    ),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "meta"),
}

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed)")
        if module.startswith("numpy.core"):  # numpy 2 moved numpy.core to numpy._core
            module = module.replace("numpy.core", "numpy._core", 1)
        return super().find_class(module, name)


def read_batch(path: Path) -> dict:
    """One pickle batch as a dict with str keys (Python 2 pickles give bytes keys)."""
    try:
        with open(path, "rb") as f:
            obj = _ArraysOnlyUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise UserError(
            f"{path} is not a CIFAR python batch: {exc}", "use the 'CIFAR python version' files"
        ) from exc
    if not isinstance(obj, dict):
        raise UserError(f"{path} is not a CIFAR python batch (expected a dict, found {type(obj).__name__})")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _folder(root: str | None, name: str) -> Path:
    subdir, train_files, test_files, _ = LAYOUT[name]
    expected = ", ".join(train_files + test_files)
    hint = (
        f"download the CIFAR python version yourself and set data.root=DIR where DIR (or DIR/{subdir}) "
        f"holds {expected}; vita never downloads data"
    )
    if root is None:
        raise UserError(f"{name} needs data.root: CIFAR is not shipped with any offline package", hint)
    base = Path(root).expanduser()
    if not base.is_dir():
        raise UserError(f"{name} directory not found: {base}", hint)
    for folder in (base, base / subdir):
        if all((folder / f).is_file() for f in train_files + test_files):
            return folder
    missing = [f for f in train_files + test_files if not (base / f).is_file()]
    raise UserError(f"{name} files missing in {base}: {', '.join(missing)}", hint)


def _stack(folder: Path, files: list[str], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for file in files:
        batch = read_batch(folder / file)
        if "data" not in batch or label_key not in batch:
            raise UserError(
                f"{folder / file} lacks the 'data' or '{label_key}' entry", "is this the right CIFAR variant?"
            )
        data = np.asarray(batch["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise UserError(f"{folder / file}: 'data' has shape {data.shape}, expected N×3072")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[label_key], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _names(value) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in value]


def load_cifar(name: str, root: str | None) -> dict:
    """Train/test uint8 N×3×32×32 images, int64 labels and class names for cifar10 or cifar100."""
    folder = _folder(root, name)
    _, train_files, test_files, meta_file = LAYOUT[name]
    label_key = "labels" if name == "cifar10" else "fine_labels"
    train_images, train_labels = _stack(folder, train_files, label_key)
    test_images, test_labels = _stack(folder, test_files, label_key)
    num_classes = 10 if name == "cifar10" else 100
    class_names = CIFAR10_CLASSES if name == "cifar10" else [f"class_{i}" for i in range(100)]
    if (folder / meta_file).is_file():
        meta = read_batch(folder / meta_file)
        key = "label_names" if name == "cifar10" else "fine_label_names"
        if key in meta and len(meta[key]) == num_classes:
            class_names = _names(meta[key])
    for labels in (train_labels, test_labels):
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise UserError(
                f"{name} labels in {folder} fall outside 0..{num_classes - 1}", "wrong dataset name?"
            )
    return {
        "train_images": train_images,
        "train_labels": train_labels,
        "test_images": test_images,
        "test_labels": test_labels,
        "class_names": class_names,
    }
