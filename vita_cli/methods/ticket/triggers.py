"""Scheme 3: a trigger set of generated abstract images with random labels (black-box signature).

The images are smooth random colour fields with a few hard-edged shapes, drawn from a seeded
generator so they look like nothing in the data set; their labels are uniform random classes. During
training one trigger (by default) is appended to every clean batch, so the network memorises the
random labels; an independently trained network answers them at chance level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class TriggerSet:
    images: torch.Tensor  # uint8 N×C×H×W, un-normalized
    labels: torch.Tensor  # int64 N


def make_trigger_set(count: int, num_classes: int, channels: int, size: int, seed: int = 0) -> TriggerSet:
    """``count`` abstract images with uniform random labels in [0, num_classes)."""
    gen = torch.Generator().manual_seed(seed)
    # smooth colour field: low-resolution noise upsampled
    coarse = torch.rand(count, channels, 4, 4, generator=gen)
    images = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    ys, xs = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    for n in range(count):
        # a few hard-edged discs and stripes so the images are not just blurred noise
        for _ in range(3):
            cy, cx = (torch.rand(2, generator=gen) * size).tolist()
            radius = float(torch.rand(1, generator=gen)) * size / 3 + 2
            value = torch.rand(channels, 1, generator=gen)
            disc = ((ys - cy) ** 2 + (xs - cx) ** 2) <= radius**2
            images[n][:, disc] = value.expand(-1, int(disc.sum()))
        angle = float(torch.rand(1, generator=gen)) * math.pi
        period = float(torch.rand(1, generator=gen)) * size / 2 + 3
        stripes = torch.sin((xs * math.cos(angle) + ys * math.sin(angle)) * 2 * math.pi / period) > 0.6
        images[n][:, stripes] = 1 - images[n][:, stripes]
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    labels = torch.randint(0, num_classes, (count,), generator=gen)
    return TriggerSet(images, labels)


class TriggerMixer:
    """``batch_hook`` for the trainer: append ``per_batch`` normalized triggers to every batch.

    The triggers are visited in a seeded random order and cycled, like a shuffled loader of batch
    size ``per_batch``.
    """

    def __init__(self, triggers: TriggerSet, normalize, per_batch: int = 1, seed: int = 0):
        self.images = normalize(triggers.images.float() / 255)
        self.labels = triggers.labels
        self.per_batch = per_batch
        self.gen = torch.Generator().manual_seed(seed)
        self.order: list[int] = []

    def _next_indices(self) -> list[int]:
        picked = []
        while len(picked) < self.per_batch:
            if not self.order:
                self.order = torch.randperm(len(self.labels), generator=self.gen).tolist()
            picked.append(self.order.pop())
        return picked

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, step: int = 0):
        if self.per_batch <= 0:
            return images, labels
        idx = self._next_indices()
        extra_x = self.images[idx].to(device=images.device, dtype=images.dtype)
        extra_y = self.labels[idx].to(device=labels.device, dtype=labels.dtype)
        return torch.cat([images, extra_x]), torch.cat([labels, extra_y])


@torch.no_grad()
def predict(model: torch.nn.Module, images: torch.Tensor, device, batch_size: int = 256) -> torch.Tensor:
    """Top-1 predictions: the only access a black-box verifier needs."""
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        out.append(model(images[start : start + batch_size].to(device)).argmax(1).cpu())
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def trigger_accuracy(model: torch.nn.Module, triggers: TriggerSet, normalize, device) -> tuple[int, int]:
    """(correct, total) on the trigger set."""
    preds = predict(model, normalize(triggers.images.float() / 255), device)
    return int((preds == triggers.labels).sum()), len(triggers.labels)
