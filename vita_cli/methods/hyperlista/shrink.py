"""Shrinkage operators: soft thresholding and support selection with a per-sample quantile.

Support selection (LISTA-CPSS / ALISTA): per sample, the entries whose magnitude reaches the
(1 - p) quantile of |v| *and* the threshold θ pass unchanged; all others are soft-thresholded.
The quantile uses linear interpolation, exactly like ``torch.quantile``; we never call
``torch.quantile`` with a per-sample vector of levels because that costs O(batch² · n).
"""

from __future__ import annotations

import numpy as np
import torch


def soft_threshold(v: torch.Tensor, theta: torch.Tensor | float) -> torch.Tensor:
    """η_θ(v) = sign(v) · max(|v| − θ, 0)."""
    return torch.sign(v) * torch.clamp(v.abs() - theta, min=0.0)


def per_sample_quantile(values: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """The ``q`` quantile of each row of ``values`` (last dim), linear interpolation.

    ``q`` has the shape of ``values`` without its last dim (or broadcasts to it). Sort-based
    reference implementation: equals ``torch.quantile(row, q_row)`` row by row.
    """
    n = values.shape[-1]
    ordered = values.sort(dim=-1).values
    rank = q.clamp(0.0, 1.0) * (n - 1)
    below = rank.floor()
    above = rank.ceil()
    weight = (rank - below).unsqueeze(-1)
    low = ordered.gather(-1, below.long().unsqueeze(-1))
    high = ordered.gather(-1, above.long().unsqueeze(-1))
    return torch.lerp(low, high, weight).squeeze(-1)


def support_selection_shrink_reference(
    v: torch.Tensor, theta: torch.Tensor, fraction: torch.Tensor
) -> torch.Tensor:
    """Plain (sort-everything) version of :func:`support_selection_shrink`, kept for tests."""
    mag = v.abs()
    cutoff = per_sample_quantile(mag, 1.0 - fraction).unsqueeze(-1)
    keep = (mag >= cutoff) & (mag >= theta)
    return torch.where(keep, v, soft_threshold(v, theta))


def support_selection_shrink(v: torch.Tensor, theta: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """η^{ss}_{θ,p}(v) for a batch: ``v`` (..., n), ``theta`` (..., 1), ``fraction`` p (...).

    Same result as the sort-based reference. Entries pass unchanged when |vᵢ| reaches
    max(quantile, θ); the quantile is only computed for the rows where it can exceed θ (a row whose
    k-th largest entry lies below θ keeps every entry ≥ θ anyway), from a sort of those rows only.
    """
    n = v.shape[-1]
    theta = torch.as_tensor(theta, dtype=v.dtype, device=v.device)
    mag = v.detach().abs()  # the selection is a comparison: no gradient flows through it
    rank = (1.0 - fraction.clamp(0.0, 1.0)) * (n - 1)  # ascending position of the quantile
    # comparisons written into float tensors: several times faster than bool results on the CPU
    mask = torch.ge(mag, theta, out=torch.empty_like(mag))
    above_theta = mask.sum(-1)
    # the entry at ascending position ceil(rank) is the (n - ceil(rank))-th largest
    needs_quantile = (n - rank.ceil()) <= above_theta
    keep_from = theta.detach().expand(*mag.shape[:-1], 1)
    rows = needs_quantile.reshape(-1).nonzero().squeeze(-1)
    if rows.numel():
        keep_from = keep_from.reshape(-1).clone()
        rank = rank.expand(mag.shape[:-1]).reshape(-1)[rows].unsqueeze(-1)
        ordered = _sorted_rows(mag.reshape(-1, n).index_select(0, rows))
        low = ordered.gather(-1, rank.floor().long())
        high = ordered.gather(-1, rank.ceil().long())
        cutoff = torch.lerp(low, high, rank - rank.floor()).squeeze(-1)
        keep_from[rows] = torch.maximum(cutoff, keep_from[rows])
        keep_from = keep_from.view(*mag.shape[:-1], 1)
    # the others are soft-thresholded: v − clamp(v, −θ, θ) = sign(v)·max(|v| − θ, 0)
    dropped = torch.lt(mag, keep_from, out=mask)
    clipped = torch.minimum(torch.maximum(v, -theta), theta)  # clamp with tensor bounds is slower
    return torch.addcmul(v, clipped, dropped, value=-1)


def _sorted_rows(values: torch.Tensor) -> torch.Tensor:
    """Each row sorted ascending. On the CPU NumPy's (SIMD) sort is about ten times faster than
    ``torch.sort`` or ``torch.topk`` on rows of a few hundred entries."""
    if values.device.type == "cpu" and values.dtype in (torch.float32, torch.float64):
        return torch.from_numpy(np.sort(values.numpy(), axis=-1))
    return values.sort(dim=-1).values


def fixed_support_schedule(
    layers: int, percent_per_layer: float = 1.2, max_percent: float = 13.0
) -> list[float]:
    """ALISTA's support-selection fractions p_k = min(1.2·k, 13) % for k = 1..K."""
    return [min(percent_per_layer * k, max_percent) / 100.0 for k in range(1, layers + 1)]
