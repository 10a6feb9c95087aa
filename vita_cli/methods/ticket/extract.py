"""Read the QR code back from a suspect's mask at the owner's key and decode it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vita_cli.methods.ticket.embed import channel_map, target_connectivity
from vita_cli.methods.ticket.qr import data_bit_error_rate, decode_modules, paint_function_patterns


@dataclass
class Extraction:
    modules: np.ndarray  # 29×29 dark/light after painting the function patterns
    decoded: str | None  # what the QR decoder read, None when unreadable
    bit_error_rate: float  # over the data modules, against the owner's code


def connectivity(
    mask: torch.Tensor, weights: torch.Tensor | None = None, kernel_floor: float = 0.0
) -> torch.Tensor:
    """Channel map of a mask; with ``kernel_floor`` > 0, kernels whose L1 norm is below that fraction of
    the layer's median live-kernel L1 count as absent (near-zero weights added only to flip modules)."""
    present = channel_map(mask)
    if weights is not None and kernel_floor > 0:
        l1 = (weights.detach().abs().cpu() * mask.cpu()).flatten(2).sum(2)
        live = l1[present]
        if live.numel():
            present = present & (l1 >= kernel_floor * live.median())
    return present


def extract_modules(
    mask: torch.Tensor,
    row: int,
    col: int,
    size: int,
    polarity: str,
    weights: torch.Tensor | None = None,
    kernel_floor: float = 0.0,
) -> np.ndarray:
    """The raw module array (dark = True) read from the channel map block at (row, col)."""
    block = connectivity(mask, weights, kernel_floor)[row : row + size, col : col + size].cpu().numpy()
    # target_connectivity is its own inverse: connected <-> dark under "dark-connected"
    return target_connectivity(block, polarity)


def extract_and_decode(
    mask: torch.Tensor,
    row: int,
    col: int,
    polarity: str,
    template: np.ndarray,
    version: int,
    weights: torch.Tensor | None = None,
    kernel_floor: float = 0.0,
) -> Extraction:
    raw = extract_modules(mask, row, col, template.shape[0], polarity, weights, kernel_floor)
    modules = paint_function_patterns(raw, template, version)
    return Extraction(modules, decode_modules(modules), data_bit_error_rate(modules, template, version))
