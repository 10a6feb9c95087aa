"""Batched, tensor-only augmentation and normalization.

Images stay uint8 N×C×H×W in memory; a batch is cropped/flipped with index arithmetic (no per-sample
PIL work), so the loader costs a few percent of a training step. The same functions run on a GPU
batch when a caller prefers to augment there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(
    images: torch.Tensor, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random crop of each image from a zero-padded copy, then a random horizontal flip.

    ``images`` is N×C×H×W of any dtype; the result has the same shape, dtype and device. Randomness
    comes from ``generator`` or torch's global RNG (so a trainer that saves RNG state resumes exactly).
    """
    n, c, h, w = images.shape
    if n == 0 or (padding <= 0 and not flip):
        return images
    padding = max(0, padding)
    padded = F.pad(images, (padding, padding, padding, padding)) if padding else images
    wp = w + 2 * padding
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    rows = dy[:, None] + torch.arange(h)[None, :]  # N×H source rows of each crop
    cols = dx[:, None] + torch.arange(w)[None, :]  # N×W source columns
    if flip:  # a mirrored crop reads its columns right to left
        flip_mask = torch.rand(n, generator=generator) < 0.5
        cols = torch.where(flip_mask[:, None], cols.flip(1), cols)
    # one gather over the flattened padded image does crop and flip together (cheaper than indexing)
    index = (rows[:, :, None] * wp + cols[:, None, :]).reshape(n, 1, h * w).expand(n, c, h * w)
    out = padded.reshape(n, c, -1).gather(2, index.to(images.device))
    return out.reshape(n, c, h, w)


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """(x - mean) / std per channel for a float batch N×C×H×W (or one image C×H×W) in [0, 1]."""
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device)
    shape = (-1, 1, 1)
    return (x - m.view(shape)) / s.view(shape)


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    return images_uint8.float().div_(255.0)


def fit_size(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bring uint8 N×C×h×w images to size×size: zero-pad (centered) when up to 8 px smaller, else resize.

    Padding keeps the pixels untouched (the usual 28→32 step for MNIST-like data); larger changes resize
    with antialiased bilinear interpolation.
    """
    _, _, h, w = images.shape
    if h == size and w == size:
        return images
    if h <= size <= h + 8 and w <= size <= w + 8:
        top, left = (size - h) // 2, (size - w) // 2
        return F.pad(images, (left, size - w - left, top, size - h - top))
    resized = F.interpolate(
        images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized.round().clamp_(0, 255).to(torch.uint8)


def match_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Grey → RGB by repeating, RGB → grey by ITU-R 601 luma; uint8 N×C×H×W in and out."""
    c = images.shape[1]
    if c == channels:
        return images
    if c == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images.float() * weights).sum(1, keepdim=True).round().clamp_(0, 255).to(torch.uint8)
    raise ValueError(f"cannot convert {c}-channel images to {channels} channels")
