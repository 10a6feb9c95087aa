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


def extract_modules(mask: torch.Tensor, row: int, col: int, size: int, polarity: str) -> np.ndarray:
    """The raw module array (dark = True) read from the channel map block at (row, col)."""
    block = channel_map(mask)[row : row + size, col : col + size].cpu().numpy()
    # target_connectivity is its own inverse: connected <-> dark under "dark-connected"
    return target_connectivity(block, polarity)


def extract_and_decode(
    mask: torch.Tensor, row: int, col: int, polarity: str, template: np.ndarray, version: int
) -> Extraction:
    raw = extract_modules(mask, row, col, template.shape[0], polarity)
    modules = paint_function_patterns(raw, template, version)
    return Extraction(modules, decode_modules(modules), data_bit_error_rate(modules, template, version))
