"""Deterministic train/val splits and subsets: the same seed always gives the same indices."""

from __future__ import annotations

import torch

from vita_cli.core.errors import UserError


def permutation(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n, generator=g)


def train_val_indices(n: int, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffle ``range(n)`` with ``seed``; the last ``val_size`` indices are validation."""
    if val_size >= n:
        raise UserError(
            f"data.val_size={val_size} leaves no training images (the training set has {n})",
            f"set data.val_size to less than {n}, e.g. data.val_size={max(0, n // 10)}",
        )
    perm = permutation(n, seed)
    train, val = perm[: n - val_size], perm[n - val_size :]
    return train.sort().values, val.sort().values


def subset(indices: torch.Tensor, size: int | None, seed: int) -> torch.Tensor:
    """A random (seeded) subset of ``indices`` of length ``size``; all of them when size is None."""
    if size is None or size >= len(indices):
        return indices
    pick = permutation(len(indices), seed)[:size]
    return indices[pick.sort().values]
