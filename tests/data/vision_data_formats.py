"""Writers for tiny data sets in the real on-disk formats (IDX gzip, CIFAR pickle batches, PNG folders)."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def write_fashion(
    root: Path, n_train: int = 60, n_test: int = 20, seed: int = 0, compress: bool = True
) -> dict:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(root / (stem + (".gz" if compress else "")), array, compress)
    return arrays


def _batch(rng, n: int, label_key: str, num_classes: int, bytes_keys: bool) -> dict:
    batch = {
        "batch_label": "tiny batch",
        label_key: [int(v) for v in rng.integers(0, num_classes, n)],
        "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        "filenames": [f"img_{i}.png" for i in range(n)],
    }
    if bytes_keys:  # what the original Python 2 pickles decode to with encoding="bytes"
        batch = {k.encode(): v for k, v in batch.items()}
    return batch


def write_cifar10(
    root: Path, per_batch: int = 6, n_test: int = 8, bytes_keys: bool = True, seed: int = 0
) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        with open(root / f"data_batch_{i}", "wb") as f:
            pickle.dump(_batch(rng, per_batch, "labels", 10, bytes_keys), f, protocol=2)
    with open(root / "test_batch", "wb") as f:
        pickle.dump(_batch(rng, n_test, "labels", 10, bytes_keys), f, protocol=2)
    names = [f"c{i}" for i in range(10)]
    with open(root / "batches.meta", "wb") as f:
        pickle.dump(
            {b"label_names": [n.encode() for n in names]} if bytes_keys else {"label_names": names}, f
        )
    return root


def write_cifar100(root: Path, n_train: int = 30, n_test: int = 10, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", n_train), ("test", n_test)):
        batch = _batch(rng, n, "fine_labels", 100, bytes_keys=False)
        batch["coarse_labels"] = [0] * n
        with open(root / name, "wb") as f:
            pickle.dump(batch, f)
    with open(root / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"fine{i}" for i in range(100)]}, f)
    return root


def write_image_folder(
    root: Path,
    classes=("cat", "dog", "fox"),
    per_class: int = 5,
    size: int = 20,
    ext: str = ".png",
    seed: int = 0,
) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for cls in classes:
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}{ext}")
    return root
