"""The elastic ticket transformation: a winning ticket moved between CIFAR ResNets of different depth.

After Chen et al., "The Elastic Lottery Ticket Hypothesis" (NeurIPS 2021): a CIFAR ResNet of depth
6n + 2 has a stem, three stages of ``n`` basic blocks and a classifier. A ticket (mask + rewind
weights) of depth ``6n + 2`` becomes a ticket of depth ``6m + 2`` of the same family and width by
mapping residual blocks inside each stage; the stem, the classifier and the first block of every
stage (the one that downsamples and widens) are copied unchanged.

The block mapping (the same in the three stages): blocks ``1 .. m-1`` of the deeper network are cut
into ``n - 1`` contiguous groups as even as possible, the larger groups last; group ``k`` belongs to
block ``k`` of the shallower network.

* **stretching** (n < m): every block of the deeper network is a copy (mask, rewind weights,
  BatchNorm statistics) of the shallow block its group belongs to, so shallow block ``k`` is
  replicated ``|group k|`` times; e.g. 3 → 5 blocks is ``0:0; 1:1,2; 2:3,4``;
* **squeezing** (n > m): shallow block ``k`` is the first block of group ``k``; the other blocks
  are dropped, spread evenly over the stage.

Squeezing a stretched ticket back gives the original ticket exactly. Every weight layer of the
result carries the density of the layer it was copied from; a stage's density changes only by the
mix of its blocks (it is unchanged when the stage's blocks share one density).
"""

from __future__ import annotations

import re

import torch

from vita_cli.core.errors import UserError

STAGES = ("layer1", "layer2", "layer3")
_BLOCK_KEY = re.compile(r"^(layer[123])\.(\d+)\.(.+)$")
_NAME = re.compile(r"^resnet(\d+)$")


def blocks_per_stage(depth: int) -> int:
    """``n`` of a CIFAR ResNet of depth ``6n + 2`` that the transformation accepts (n >= 2)."""
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise UserError(
            f"depth {depth!r} is not a CIFAR ResNet depth (6n + 2)",
            "the elastic transformation moves tickets between resnet14, resnet20, resnet32, resnet44, ...",
        )
    n = (depth - 2) // 6
    if n < 2:
        raise UserError(
            f"ResNet-{depth} has one block per stage, which only downsamples: no block can be replicated",
            "use depths of at least 14 (two blocks per stage)",
        )
    return n


def depth_of(model_name: str) -> int:
    """The depth of a CIFAR ResNet model name (``resnet20`` → 20); other names are a UserError."""
    match = _NAME.match(str(model_name))
    if not match:
        raise UserError(
            f"model {model_name!r} is not a CIFAR ResNet (resnetD with D = 6n + 2)",
            "the depth study moves tickets between resnet14, resnet20, resnet32, ...",
        )
    depth = int(match.group(1))
    blocks_per_stage(depth)
    return depth


def block_groups(small: int, large: int) -> list[list[int]]:
    """For ``small`` and ``large`` blocks per stage (small <= large): the blocks of the larger stage
    that belong to each block of the smaller one. Block 0 maps to block 0; blocks 1 .. large-1 form
    ``small - 1`` contiguous groups, as even as possible with the larger groups last."""
    if not 1 <= small <= large:
        raise ValueError(f"need 1 <= small <= large, got {small}, {large}")
    groups = [[0]]
    rest, parts = large - 1, small - 1
    start = 1
    for k in range(parts):
        size = rest // parts + (1 if k >= parts - rest % parts else 0)
        groups.append(list(range(start, start + size)))
        start += size
    return groups


def block_map(source_blocks: int, target_blocks: int) -> list[int]:
    """For every target block of a stage, the source block it is copied from."""
    if source_blocks <= target_blocks:
        out = [0] * target_blocks
        for k, group in enumerate(block_groups(source_blocks, target_blocks)):
            for b in group:
                out[b] = k
        return out
    return [group[0] for group in block_groups(target_blocks, source_blocks)]


def describe_map(source_depth: int, target_depth: int) -> str:
    """The block mapping as ``source:targets`` per source block, e.g. ``0:0;1:1,2;2:3,4``."""
    mapping = block_map(blocks_per_stage(source_depth), blocks_per_stage(target_depth))
    by_source: dict[int, list[int]] = {}
    for t, s in enumerate(mapping):
        by_source.setdefault(s, []).append(t)
    return ";".join(f"{s}:{','.join(map(str, ts))}" for s, ts in sorted(by_source.items()))


def _check_layout(state: dict[str, torch.Tensor], n: int, depth: int) -> None:
    seen = {stage: set() for stage in STAGES}
    for key in state:
        match = _BLOCK_KEY.match(key)
        if match:
            seen[match.group(1)].add(int(match.group(2)))
    for stage in STAGES:
        if seen[stage] != set(range(n)):
            found = sorted(seen[stage])
            raise UserError(
                f"the ticket is not a CIFAR ResNet-{depth}: stage {stage} has blocks {found}, expected 0..{n - 1}",
                "give the depth the ticket was trained with (a resnetD model of vita)",
            )


def _remap(tensors: dict[str, torch.Tensor], mapping: list[int]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in tensors.items():
        if not _BLOCK_KEY.match(key):
            out[key] = value.clone()  # stem, classifier
    for stage in STAGES:
        for target, source in enumerate(mapping):
            prefix = f"{stage}.{source}."
            for key, value in tensors.items():
                if key.startswith(prefix):
                    out[f"{stage}.{target}.{key[len(prefix) :]}"] = value.clone()
    return out


def transform_ticket(
    state: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor],
    source_depth: int,
    target_depth: int,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The ticket (rewind state dict, masks) of a CIFAR ResNet-``source_depth`` as a ticket of
    ResNet-``target_depth`` (same width and shortcut option): stretched or squeezed block by block."""
    n, m = blocks_per_stage(source_depth), blocks_per_stage(target_depth)
    _check_layout(state, n, source_depth)
    stray = sorted(k for k in masks if k not in state)
    if stray:
        raise UserError(
            f"the ticket's masks name {len(stray)} tensors its state lacks (first: {stray[0]})",
            "masks and rewind weights must come from the same run",
        )
    mapping = block_map(n, m)
    return _remap(state, mapping), _remap(masks, mapping)
