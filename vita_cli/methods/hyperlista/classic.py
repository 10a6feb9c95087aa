"""ISTA and FISTA for the LASSO min_x ½‖Ax − b‖² + λ‖x‖₁, batched over problems (rows of b)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vita_cli.methods.hyperlista.shrink import soft_threshold


def lasso_objective(A: torch.Tensor, b: torch.Tensor, x: torch.Tensor, lam: float) -> torch.Tensor:
    """Per-problem objective ½‖Ax − b‖² + λ‖x‖₁."""
    return 0.5 * ((x @ A.T - b) ** 2).sum(-1) + lam * x.abs().sum(-1)


def ista(
    A: torch.Tensor, b: torch.Tensor, lam: float, iterations: int, L: float | None = None
) -> list[torch.Tensor]:
    """x ← η_{λ/L}(x − (1/L)Aᵀ(Ax − b)); returns the iterates x^1..x^K."""
    L = L or float(torch.linalg.matrix_norm(A.double(), ord=2) ** 2)
    x = torch.zeros(b.shape[0], A.shape[1], dtype=b.dtype, device=b.device)
    out = []
    for _ in range(iterations):
        x = soft_threshold(x - ((x @ A.T - b) @ A) / L, lam / L)
        out.append(x)
    return out


def fista(
    A: torch.Tensor, b: torch.Tensor, lam: float, iterations: int, L: float | None = None
) -> list[torch.Tensor]:
    """Beck–Teboulle FISTA (t₁ = 1, z = x⁰ = 0); returns the iterates x^1..x^K."""
    L = L or float(torch.linalg.matrix_norm(A.double(), ord=2) ** 2)
    x = torch.zeros(b.shape[0], A.shape[1], dtype=b.dtype, device=b.device)
    z, t = x, 1.0
    out = []
    for _ in range(iterations):
        x_next = soft_threshold(z - ((z @ A.T - b) @ A) / L, lam / L)
        t_next = 0.5 + math.sqrt(1 + 4 * t * t) / 2
        z = x_next + ((t - 1) / t_next) * (x_next - x)
        x, t = x_next, t_next
        out.append(x)
    return out


@dataclass
class StallResult:
    x: torch.Tensor
    iterations: int


def fista_until_stall(
    A: torch.Tensor,
    b: torch.Tensor,
    lam: float,
    tol: float = 1e-6,
    max_iterations: int = 5000,
    L: float | None = None,
) -> StallResult:
    """FISTA until the batch's LASSO objective changes by less than ``tol`` (relative) per step."""
    L = L or float(torch.linalg.matrix_norm(A.double(), ord=2) ** 2)
    x = torch.zeros(b.shape[0], A.shape[1], dtype=b.dtype, device=b.device)
    z, t = x, 1.0
    previous = float(lasso_objective(A, b, x, lam).sum())
    for it in range(1, max_iterations + 1):
        x_next = soft_threshold(z - ((z @ A.T - b) @ A) / L, lam / L)
        t_next = 0.5 + math.sqrt(1 + 4 * t * t) / 2
        z = x_next + ((t - 1) / t_next) * (x_next - x)
        x, t = x_next, t_next
        current = float(lasso_objective(A, b, x, lam).sum())
        if abs(previous - current) <= tol * abs(previous):
            return StallResult(x, it)
        previous = current
    return StallResult(x, max_iterations)


def curve_db(iterates: list[torch.Tensor], x_true: torch.Tensor) -> list[float]:
    """NMSE (dB) of every iterate against x*."""
    energy = float((x_true.double() ** 2).sum())
    return [10 * math.log10(float(((x.double() - x_true.double()) ** 2).sum()) / energy) for x in iterates]
