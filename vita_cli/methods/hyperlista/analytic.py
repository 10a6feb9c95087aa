"""Matrices computed once from A: the analytic ALISTA weight, the pseudo-inverse, the Lipschitz
constant, coherences, and (optionally) the symmetric pair W̃ = GA used by the momentum analysis.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


def alista_weight(A: torch.Tensor) -> torch.Tensor:
    """W = argmin ‖WᵀA‖_F s.t. wᵢᵀaᵢ = 1. The problem separates by columns, hence the closed form
    wᵢ = (AAᵀ)⁻¹aᵢ / (aᵢᵀ(AAᵀ)⁻¹aᵢ)  (no iterative solver needed)."""
    A64 = A.double()
    solved = torch.linalg.solve(A64 @ A64.T, A64)  # columns (AAᵀ)⁻¹aᵢ
    scale = (A64 * solved).sum(0)
    return (solved / scale).to(A.dtype)


def lipschitz(A: torch.Tensor) -> float:
    """L = ‖AᵀA‖₂ = largest squared singular value of A."""
    return float(torch.linalg.matrix_norm(A.double(), ord=2) ** 2)


def coherence(W: torch.Tensor, A: torch.Tensor) -> float:
    """max_{i≠j} |wᵢᵀaⱼ| (mutual coherence when W = A, generalised coherence for ALISTA's W)."""
    gram = (W.double().T @ A.double()).abs()
    gram.fill_diagonal_(0)
    return float(gram.max())


def symmetric_weight(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The symmetric pair (W̃, G) of the momentum analysis, in closed form. Returns (W̃ = GA, G).

    The official MATLAB solver minimises ‖offdiag(W̃ᵀW̃)‖²_F over W̃ = GA with unit-norm columns.
    With M = GᵀG this is a convex problem: min ‖AᵀMA‖²_F s.t. diag(AᵀMA) = 1. Its stationarity
    condition gives M = ½ (A⁺)ᵀ diag(λ) A⁺ with (P∘P) λ = 2·1, P = A⁺A (a 500×500 solve), and
    G is the symmetric square root of M (the root closest to the solver's start G = I).
    """
    A64 = A.double()
    pinv = torch.linalg.pinv(A64)
    projection = pinv @ A64
    lam = torch.linalg.solve(projection * projection, torch.full((A.shape[1],), 2.0, dtype=torch.float64))
    M = 0.5 * pinv.T @ torch.diag(lam) @ pinv
    eigenvalues, vectors = torch.linalg.eigh(M)
    G = vectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ vectors.T
    return (G @ A64).to(A.dtype), G.to(A.dtype)


@dataclass
class Operators:
    """What an unrolled network needs from A, computed once (float32, on the run's device)."""

    A: torch.Tensor  # (m, n)
    W: torch.Tensor  # (m, n) analytic ALISTA weight, diag(WᵀA) = 1
    pinv: torch.Tensor  # (n, m) A⁺
    L: float
    w_scale: torch.Tensor | None = None  # W = (A⁺)ᵀ diag(w_scale) when W is the analytic ALISTA W
    G: torch.Tensor | None = None  # (m, m) whitening for the symmetric variant
    W_symmetric: torch.Tensor | None = None  # (m, n) W̃ = GA for the symmetric variant

    @property
    def m(self) -> int:
        return self.A.shape[0]

    @property
    def n(self) -> int:
        return self.A.shape[1]

    def to(self, device) -> Operators:
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Operators(
            move(self.A),
            move(self.W),
            move(self.pinv),
            self.L,
            move(self.w_scale),
            move(self.G),
            move(self.W_symmetric),
        )


@contextlib.contextmanager
def _single_thread():
    # small LAPACK calls: one thread is fast, and several threads on a shared, busy machine
    # can be ten times slower (OpenMP workers waiting for cores)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def build_operators(A: torch.Tensor, weight: str = "alista") -> Operators:
    """``weight``: 'alista' (closed-form W) or 'symmetric' (W̃ = GA, b̃ = Gb)."""
    with _single_thread():
        return _build_operators(A, weight)


def _build_operators(A: torch.Tensor, weight: str) -> Operators:
    A64 = A.double()
    pinv = torch.linalg.pinv(A64)
    W = alista_weight(A64)
    # the analytic W is a column-scaled (A⁺)ᵀ: Wᵀr = w_scale ⊙ (A⁺r), one matmul serves both
    w_scale = 1.0 / (A64 * (torch.linalg.solve(A64 @ A64.T, A64))).sum(0)
    ops = Operators(A.float(), W.float(), pinv.float(), lipschitz(A), w_scale.float())
    if weight == "symmetric":
        Wt, G = symmetric_weight(A)
        ops = Operators(A.float(), W.float(), pinv.float(), lipschitz(A), w_scale.float(), G, Wt)
    elif weight != "alista":
        raise ValueError(f"unknown weight {weight!r}; use alista or symmetric")
    return ops
