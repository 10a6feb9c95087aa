"""Fashion-MNIST (and any MNIST-like set) from IDX files, gzip-compressed or not.

IDX layout: two zero bytes, a dtype code (0x08 = uint8), the number of dimensions ``nd``, ``nd``
big-endian uint32 sizes, then the raw array. Debian's ``dataset-fashion-mnist`` installs the four
files under ``/usr/share/datasets/fashion-mnist/``.
"""

from __future__ import annotations

import gzip
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from vita_cli.core.errors import UserError

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
# per-pixel statistics of the 60k training images (28×28, values in [0, 1])
MEAN, STD = (0.2860,), (0.3530,)

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Decode one IDX file (``.gz`` or plain) into a numpy array of its declared shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise UserError(
            f"cannot read IDX file {path}: {exc}", "the file may be truncated; re-install or re-copy it"
        ) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise UserError(
            f"{path} is not an IDX file (bad magic number)", "expected MNIST-style idx-ubyte data"
        )
    nd = raw[3]
    header = 4 + 4 * nd
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(
            f"{path}: header says shape {shape} ({expected} bytes) but {len(raw) - header} bytes follow",
            "the file is truncated or corrupt",
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="), copy=False)
    )


def find_file(root: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (root / name).is_file():
            return root / name
    return None


def load_fashion_mnist(root: str | None = None) -> dict[str, np.ndarray]:
    """The four arrays: train/test images (N×28×28 uint8) and labels (N, int64)."""
    folder = Path(root or DEFAULT_ROOT)
    if not folder.is_dir():
        raise UserError(
            f"Fashion-MNIST directory not found: {folder}",
            "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
            "or set data.root=DIR holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz",
        )
    paths = {key: find_file(folder, stem) for key, stem in FILES.items()}
    missing = [FILES[k] + ".gz" for k, p in paths.items() if p is None]
    if missing:
        raise UserError(
            f"Fashion-MNIST files missing in {folder}: {', '.join(missing)}",
            "put the four idx-ubyte(.gz) files in that directory (gzip or plain)",
        )
    return _decode_cached(tuple((k, str(p), os.path.getmtime(p)) for k, p in sorted(paths.items())))


@lru_cache(maxsize=4)
def _decode_cached(files: tuple) -> dict[str, np.ndarray]:
    # decoded once per process (≈0.3 s for 70k images); keyed on path and mtime
    out = {key: read_idx(path) for key, path, _ in files}
    for split in ("train", "test"):
        images, labels = out[f"{split}_images"], out[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise UserError(
                f"Fashion-MNIST {split} files disagree: images {images.shape}, labels {labels.shape}",
                "expected N×28×28 images and N labels",
            )
        out[f"{split}_labels"] = labels.astype(np.int64)
    return out
