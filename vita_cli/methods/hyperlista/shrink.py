"""Shrinkage operators: soft thresholding and support selection with a per-sample quantile.

Support selection (LISTA-CPSS / ALISTA): per sample, the entries whose magnitude reaches the
(1 - p) quantile of |v| *and* the threshold θ pass unchanged; all others are soft-thresholded.
The quantile uses linear interpolation, exactly like ``torch.quantile``; we never call
``torch.quantile`` with a per-sample vector of levels because that costs O(batch² · n).
"""

from __future__ import annotations

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

    Same result as the sort-based reference, but only the top-K magnitudes are extracted, where
    K is as small as the batch allows: a row whose k-th largest entry lies below θ needs no
    quantile at all (every entry ≥ θ is inside the selected support anyway).
    """
    mag = v.abs()
    n = v.shape[-1]
    theta = torch.as_tensor(theta, dtype=v.dtype, device=v.device)
    rank = (1.0 - fraction.clamp(0.0, 1.0)) * (n - 1)  # ascending position of the quantile
    below, above = rank.floor(), rank.ceil()
    k_above = (n - above).long()  # the entry at position `above` is the k_above-th largest
    k_below = (n - below).long()
    above_theta = (mag >= theta).sum(-1)
    # rows with fewer than k_above entries ≥ θ: all of them pass, the quantile cannot matter
    needs_quantile = k_above <= above_theta
    if not bool(needs_quantile.any()):
        return torch.where(mag >= theta, v, soft_threshold(v, theta))
    # top-k only over the rows that need a quantile (often a minority), as deep as the deepest of them
    batch_shape = mag.shape[:-1]
    rank, below = rank.expand(batch_shape), below.expand(batch_shape)
    k_below, k_above = k_below.expand(batch_shape), k_above.expand(batch_shape)
    flat_mag = mag.reshape(-1, n)
    rows = needs_quantile.reshape(-1).nonzero().squeeze(-1)
    k_low, k_high = k_below.reshape(-1)[rows], k_above.reshape(-1)[rows]
    top = flat_mag[rows].topk(min(int(k_low.max()), n), dim=-1, sorted=True).values
    low = top.gather(-1, (k_low - 1).clamp(max=top.shape[-1] - 1).unsqueeze(-1))
    high = top.gather(-1, (k_high - 1).unsqueeze(-1))
    weight = (rank - below).reshape(-1)[rows].unsqueeze(-1).to(v.dtype)
    cutoff = torch.zeros(flat_mag.shape[0], 1, dtype=v.dtype, device=v.device)
    cutoff[rows] = torch.lerp(low, high, weight)
    keep = (mag >= cutoff.reshape(*batch_shape, 1)) & (mag >= theta)
    return torch.where(keep, v, soft_threshold(v, theta))


def fixed_support_schedule(
    layers: int, percent_per_layer: float = 1.2, max_percent: float = 13.0
) -> list[float]:
    """ALISTA's support-selection fractions p_k = min(1.2·k, 13) % for k = 1..K."""
    return [min(percent_per_layer * k, max_percent) / 100.0 for k in range(1, layers + 1)]
