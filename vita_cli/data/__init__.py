"""Image classification data: Fashion-MNIST (offline default), CIFAR-10/100 batches, image folders.

``load_data(DataConfig(...), seed)`` returns a :class:`DataBundle` with train/val/test datasets held
in memory as uint8 tensors; ``make_loader`` iterates them in a seeded order with batched augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from vita_cli.data import cifar, fashion, imagefolder, splits, transforms
from vita_cli.data.datasets import InMemoryImages, SeededShuffleSampler, as_tensor_images, make_loader

DATASETS = ("fashion-mnist", "cifar10", "cifar100", "imagefolder")

__all__ = [
    "DATASETS",
    "DataBundle",
    "DataConfig",
    "InMemoryImages",
    "SeededShuffleSampler",
    "load_data",
    "make_loader",
]


@dataclass
class DataConfig:
    """Which data set, where, at what size, and how it is split and augmented."""

    name: str = "fashion-mnist"
    root: str | None = None
    channels: int = 1
    image_size: int = 32
    val_size: int = 5000
    train_subset: int | None = None
    test_subset: int | None = None
    augment: bool = True
    batch_size: int = 128
    num_workers: int = 0
    padding: int = 4  # random-crop padding in pixels (0 turns cropping off)
    flip: bool = True  # random horizontal flip when augmenting

    def __post_init__(self):
        if self.name not in DATASETS:
            raise ValueError(f"data.name must be one of {', '.join(DATASETS)}; got {self.name!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"data.channels must be 1 or 3; got {self.channels}")
        if not 8 <= self.image_size <= 1024:
            raise ValueError(f"data.image_size must lie in [8, 1024]; got {self.image_size}")
        if self.val_size < 0:
            raise ValueError(f"data.val_size must be >= 0; got {self.val_size}")
        for key in ("train_subset", "test_subset"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ValueError(f"data.{key} must be a positive count or null; got {value}")
        if self.batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1; got {self.batch_size}")
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers must be >= 0; got {self.num_workers}")
        if not 0 <= self.padding <= self.image_size:
            raise ValueError(f"data.padding must lie in [0, image_size]; got {self.padding}")


@dataclass
class DataBundle:
    train: InMemoryImages
    val: InMemoryImages
    test: InMemoryImages
    num_classes: int
    in_channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: list[str]
    name: str = ""
    info: dict = field(default_factory=dict)

    def raw_test(self) -> tuple[np.ndarray, np.ndarray]:
        """Test images as uint8 N×H×W×C numpy (un-normalized, at image_size) and their labels."""
        return self.test.images.permute(0, 2, 3, 1).contiguous().numpy(), self.test.labels.numpy()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """The dataset normalization for a float batch N×C×H×W in [0, 1]."""
        return transforms.normalize(x, self.mean, self.std)


def _read(cfg: DataConfig, seed: int) -> dict:
    if cfg.name == "fashion-mnist":
        arrays = fashion.load_fashion_mnist(cfg.root)
        return {
            "train_images": arrays["train_images"][:, None],
            "train_labels": arrays["train_labels"],
            "test_images": arrays["test_images"][:, None],
            "test_labels": arrays["test_labels"],
            "class_names": list(fashion.CLASS_NAMES),
            "stats": (fashion.MEAN, fashion.STD),
        }
    if cfg.name in ("cifar10", "cifar100"):
        out = cifar.load_cifar(cfg.name, cfg.root)
        out["stats"] = cifar.STATS[cfg.name]
        return out
    out = imagefolder.load_image_folder(cfg.root, cfg.channels, cfg.image_size, seed=0)
    out["stats"] = None  # measured on the training split below
    return out


def _stats_for(channels: int, stats, train_images: torch.Tensor):
    if stats is None:
        x = train_images.float().div(255)
        mean = x.mean(dim=(0, 2, 3)).tolist()
        std = x.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()
        return tuple(mean), tuple(std)
    mean, std = stats
    if len(mean) == channels:
        return tuple(mean), tuple(std)
    if channels == 3:  # grey data repeated to RGB
        return tuple(mean) * 3, tuple(std) * 3
    # RGB data converted to grey: luma-weighted mean; std approximated the same way
    w = (0.299, 0.587, 0.114)
    return (sum(a * b for a, b in zip(w, mean, strict=True)),), (
        sum(a * b for a, b in zip(w, std, strict=True)),
    )


def load_data(cfg: DataConfig, seed: int = 0) -> DataBundle:
    """Read the data set, bring it to ``cfg.channels``×``cfg.image_size``², split train/val by ``seed``.

    The validation set is the last ``val_size`` of a seeded shuffle of the official training set;
    ``train_subset`` / ``test_subset`` take seeded random subsets (the test subset uses a fixed seed so
    every run is scored on the same images).
    """
    raw = _read(cfg, seed)

    def prepare(images: np.ndarray) -> torch.Tensor:
        t = transforms.match_channels(as_tensor_images(images), cfg.channels)
        return transforms.fit_size(t, cfg.image_size)

    train_all = prepare(raw["train_images"])
    train_labels = torch.from_numpy(np.asarray(raw["train_labels"], dtype=np.int64))
    test_images = prepare(raw["test_images"])
    test_labels = torch.from_numpy(np.asarray(raw["test_labels"], dtype=np.int64))

    train_idx, val_idx = splits.train_val_indices(len(train_labels), cfg.val_size, seed)
    train_idx = splits.subset(train_idx, cfg.train_subset, seed)
    test_idx = splits.subset(torch.arange(len(test_labels)), cfg.test_subset, 0)

    mean, std = _stats_for(cfg.channels, raw["stats"], train_all[train_idx])
    kw = dict(mean=mean, std=std, padding=cfg.padding, flip=cfg.flip)
    class_names = list(raw["class_names"])
    return DataBundle(
        train=InMemoryImages(train_all[train_idx], train_labels[train_idx], augment=cfg.augment, **kw),
        val=InMemoryImages(train_all[val_idx], train_labels[val_idx], augment=False, **kw),
        test=InMemoryImages(test_images[test_idx], test_labels[test_idx], augment=False, **kw),
        num_classes=len(class_names),
        in_channels=cfg.channels,
        image_size=cfg.image_size,
        mean=mean,
        std=std,
        class_names=class_names,
        name=cfg.name,
        info={"train": len(train_idx), "val": len(val_idx), "test": len(test_idx), "seed": seed},
    )
