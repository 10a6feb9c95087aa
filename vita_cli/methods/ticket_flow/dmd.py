"""Exact dynamic mode decomposition (DMD): the Koopman estimate of a flow's linearised operator.

Snapshots x_0 … x_N (columns of a D×(N+1) matrix) give X = [x_0 … x_{N-1}], Y = [x_1 … x_N].
With the thin SVD X = U Σ V*, truncated to rank r, the projected operator is
Ã = U_r* Y V_r Σ_r⁻¹ (r×r); its eigenvalues λ are the DMD spectrum and Φ = Y V_r Σ_r⁻¹ W (Ã W = W Λ)
the exact DMD modes. The rank is a fixed ``rank`` or the number of singular values above
``tol`` · σ_1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class RankError(ValueError):
    """The snapshots cannot support the requested rank (too few rounds or a rank-deficient flow)."""


@dataclass
class DmdResult:
    eigenvalues: np.ndarray  # complex (r,), sorted by modulus, largest first
    modes: np.ndarray  # complex D×r, column i belongs to eigenvalue i
    singular_values: np.ndarray  # all singular values of X
    rank: int

    def as_dict(self) -> dict:
        return {
            "rank": self.rank,
            "eigenvalues": [[float(z.real), float(z.imag)] for z in self.eigenvalues],
            "moduli": [float(abs(z)) for z in self.eigenvalues],
            "singular_values": [float(s) for s in self.singular_values],
        }


def choose_rank(singular_values: np.ndarray, rank: int | None, tol: float) -> int:
    """``rank`` when given (checked against the data), else the count of σ_i > tol·σ_1."""
    s = np.asarray(singular_values, dtype=float)
    if s.size == 0 or s[0] <= 0:
        raise RankError("the snapshots are all zero: no spectrum to estimate")
    numerical = int(np.sum(s > max(tol, np.finfo(float).eps * len(s)) * s[0]))
    if rank is None:
        return max(1, numerical)
    if rank > s.size:
        raise RankError(
            f"rank {rank} needs at least {rank} snapshot pairs ({rank + 1} rounds) but there are {s.size}"
        )
    if rank > numerical:
        raise RankError(f"rank {rank} exceeds the numerical rank {numerical} of the snapshots")
    return rank


def exact_dmd(snapshots: np.ndarray, rank: int | None = None, tol: float = 1e-10) -> DmdResult:
    """Exact DMD of the columns of ``snapshots`` (D×(N+1), N ≥ 1)."""
    S = np.asarray(snapshots)
    if S.ndim != 2 or S.shape[1] < 2:
        raise RankError(f"DMD needs at least 2 snapshots, got {S.shape[1] if S.ndim == 2 else 0}")
    S = S.astype(np.complex128 if np.iscomplexobj(S) else np.float64)
    X, Y = S[:, :-1], S[:, 1:]
    U, s, Vh = np.linalg.svd(X, full_matrices=False)
    r = choose_rank(s, rank, tol)
    Ur, sr, Vr = U[:, :r], s[:r], Vh[:r].conj().T
    YV = Y @ Vr / sr  # Y V_r Σ_r⁻¹, D×r
    atilde = Ur.conj().T @ YV
    lam, W = np.linalg.eig(atilde)
    modes = YV @ W
    order = np.lexsort((-lam.imag, -np.abs(lam)))  # by modulus, ties broken by imaginary part
    return DmdResult(lam[order].astype(np.complex128), modes[:, order], s, r)
