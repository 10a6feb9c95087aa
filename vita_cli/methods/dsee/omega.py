"""Choosing Ω (the N positions of the sparse update) before training.

* ``grebsmo``: a greedy bilateral decomposition W ≈ U·V + S whose rank grows by ``rank_step`` per pass;
  Ω = the N largest |S_ij| of the last pass. The official loop grows the rank to 496 on 768×768
  matrices (100 passes); vita stops growing at ``max_rank_fraction`` of the smaller side (the same
  ratio), because at full rank U·V = W and S vanishes, which would leave Ω arbitrary.
* ``magnitude``: the N largest |W_ij|.
* ``random``: N uniformly random positions (seeded).

Positions are flat indices into the (out × in) weight, sorted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Decomposition:
    U: torch.Tensor
    V: torch.Tensor
    S: torch.Tensor
    residuals: list[float] = field(default_factory=list)  # ‖W − UV − S‖_F after each pass
    lowrank_errors: list[float] = field(default_factory=list)  # ‖W − UV‖_F after each pass


def grebsmo(
    W: torch.Tensor,
    passes: int = 100,
    rank_step: int = 5,
    inner: int = 2,
    threshold: float = 0.01,
    max_rank_fraction: float = 0.646,
    generator: torch.Generator | None = None,
) -> Decomposition:
    W = W.detach().to(torch.float32)
    m, n = W.shape
    max_rank = max(1, int(max_rank_fraction * min(m, n)))
    U = torch.randn(m, 1, generator=generator)
    V = torch.randn(1, n, generator=generator)
    S = torch.zeros_like(W)
    V_fit = V
    residuals, lowrank = [], []
    for _ in range(passes):
        S = torch.zeros_like(W)
        for _ in range(inner):
            U, _ = torch.linalg.qr((W - S) @ V.T)
            V = U.T @ (W - S)
            S = W - U @ V
            S = torch.where(S.abs() < threshold, torch.zeros_like(S), S)
        E = W - U @ V - S
        V_fit = V
        residuals.append(float(torch.linalg.norm(E)))
        lowrank.append(float(torch.linalg.norm(W - U @ V)))
        grow = min(rank_step, max_rank - V.shape[0])
        if grow <= 0:
            break
        _, R = torch.linalg.qr(E)
        V = torch.cat([V, R[:grow]], dim=0)
    return Decomposition(U, V_fit, S, residuals, lowrank)


def top_positions(score: torch.Tensor, n: int) -> torch.Tensor:
    flat = score.reshape(-1)
    if n > flat.numel():
        raise ValueError(f"N={n} exceeds the {tuple(score.shape)} matrix")
    idx = torch.topk(flat, n, sorted=False).indices
    return torch.sort(idx).values


def choose_omega(
    W: torch.Tensor, n: int, method: str, generator: torch.Generator | None = None, **grebsmo_kw
) -> torch.Tensor:
    """N flat positions of the sparse update for the weight ``W``."""
    W = W.detach().float().cpu()
    if n > W.numel():
        raise ValueError(f"N={n} exceeds the {tuple(W.shape)} matrix")
    if method == "magnitude":
        return top_positions(W.abs(), n)
    if method == "random":
        return torch.sort(torch.randperm(W.numel(), generator=generator)[:n]).values
    if method == "grebsmo":
        dec = grebsmo(W, generator=generator, **grebsmo_kw)
        # ties (e.g. S all zero on a tiny matrix) broken by |W|, a tiny bias that never outranks S
        score = dec.S.abs() + 1e-12 * W.abs()
        return top_positions(score, n)
    raise ValueError(f"unknown Ω method {method!r}")
