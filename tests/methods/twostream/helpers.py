"""Small spaces and clip sets for the two-stream tests."""

import torch

from vita_cli.methods.twostream import space as S
from vita_cli.methods.twostream.data import ClipSet, Dataset

FRAMES, SIZE = 8, 32


def tiny_space(num_classes: int = 3) -> S.Space:
    return S.Space(stages=2, blocks=2, widths=(8, 12), stem=4, alpha=4, beta=0.5, num_classes=num_classes)


def fake_data(n_train: int = 12, n_val: int = 9, classes: int = 3, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)

    def clips(n):
        return ClipSet(
            torch.randint(0, 256, (n, FRAMES, SIZE, SIZE, 3), generator=g, dtype=torch.uint8),
            torch.arange(n) % classes,
        )

    val = clips(n_val)
    return Dataset([f"c{i}" for i in range(classes)], clips(n_train), val, val, None, FRAMES, SIZE)
