"""In-memory image datasets with batched augmentation, and the seeded loaders over them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler, SequentialSampler

from vita_cli.data import transforms


class InMemoryImages(Dataset):
    """uint8 N×C×H×W images and int64 labels held as tensors.

    ``ds[i]`` gives ``(float C×H×W normalized, int label)``; ``ds[list_of_indices]`` (what
    :func:`make_loader` asks for) gives a whole batch ``(float N×C×H×W, int64 N)`` built with tensor
    ops, so no per-sample Python or PIL work happens on the training path.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        mean,
        std,
        augment: bool = False,
        padding: int = 4,
        flip: bool = True,
    ):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError("images must be uint8 N×C×H×W")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images.contiguous()
        self.labels = labels.to(torch.int64)
        self.mean, self.std = tuple(mean), tuple(std)
        self.augment, self.padding, self.flip = augment, padding, flip

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def targets(self) -> list[int]:
        return self.labels.tolist()

    def get_batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        x = self.images[idx]
        if self.augment:
            x = transforms.random_crop_flip(x, self.padding, self.flip)
        return transforms.normalize(transforms.to_float(x), self.mean, self.std), self.labels[idx]

    def __getitem__(self, index):
        if isinstance(index, (list, tuple, np.ndarray, torch.Tensor)) and np.ndim(index) == 1:
            return self.get_batch(index)
        x, y = self.get_batch([int(index)])
        return x[0], int(y[0])

    def with_augment(self, augment: bool) -> InMemoryImages:
        """The same images (shared memory) with augmentation switched on or off."""
        return InMemoryImages(self.images, self.labels, self.mean, self.std, augment, self.padding, self.flip)


class SeededShuffleSampler(Sampler[int]):
    """A new permutation per epoch from ``(seed, epoch)``.

    The epoch advances by itself on each pass; ``set_epoch`` pins it (as with DistributedSampler) so
    a resumed run sees exactly the order an uninterrupted one would.
    """

    def __init__(self, n: int, seed: int = 0):
        self.n, self.seed, self.epoch = n, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        self.epoch += 1
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


class EpochBatchSampler(BatchSampler):
    """BatchSampler that forwards ``set_epoch`` to the sampler it wraps."""

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    drop_last: bool = False,
    sampler: Sampler | None = None,
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader whose order depends only on ``seed`` (and the epoch).

    For :class:`InMemoryImages` the dataset is indexed with whole batches of indices; other datasets get
    an ordinary per-sample loader. ``sampler`` (e.g. a DistributedSampler) replaces the shuffling.
    ``loader.sampler.set_epoch(e)`` works in both cases.
    """
    if sampler is None:
        sampler = SeededShuffleSampler(len(dataset), seed) if shuffle else SequentialSampler(dataset)
    generator = torch.Generator().manual_seed(int(seed))
    common = dict(num_workers=num_workers, generator=generator, persistent_workers=num_workers > 0)
    if hasattr(dataset, "get_batch"):
        batches = EpochBatchSampler(sampler, batch_size, drop_last)
        return DataLoader(dataset, sampler=batches, batch_size=None, **common)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last, **common)


def as_tensor_images(images: np.ndarray | Sequence) -> torch.Tensor:
    array = np.ascontiguousarray(images, dtype=np.uint8)
    if not array.flags.writeable:  # decoded buffers are read-only; torch wants its own copy
        array = array.copy()
    return torch.from_numpy(array)
