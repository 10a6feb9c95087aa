"""Sparse-coding problems b = A x* + ε: the matrix, Bernoulli–Gaussian signals, noise by SNR.

Everything is generated from explicit ``torch.Generator`` seeds, one stream per split, so the test
set does not change when the training-set size does. Problems (A and the splits) are saved as
safetensors; users may bring their own A (a safetensors file holding a tensor named ``A``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from vita_cli.core.checkpoint import load_checkpoint, save_checkpoint
from vita_cli.core.errors import UserError, require_file


def normalize_columns(A: torch.Tensor) -> torch.Tensor:
    return A / A.norm(dim=0, keepdim=True)


def gaussian_matrix(m: int, n: int, seed: int, condition_number: float | None = None) -> torch.Tensor:
    """A with i.i.d. N(0, 1/m) entries and unit-norm columns.

    With ``condition_number`` κ the singular values are replaced by a geometric ramp from 1 to 1/κ
    before the columns are normalised (the LISTA-CPSS protocol for ill-conditioned A).
    """
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(m, n, generator=gen, dtype=torch.float64) / math.sqrt(m)
    if condition_number is not None and condition_number > 1:
        U, _, Vh = torch.linalg.svd(A, full_matrices=False)
        sigma = torch.logspace(0, -math.log10(condition_number), steps=min(m, n), dtype=torch.float64)
        A = U @ torch.diag(sigma) @ Vh
    return normalize_columns(A).float()


def sparse_signals(
    count: int, n: int, p: float, seed: int, mu: float = 0.0, sigma: float = 1.0, p_max: float | None = None
) -> torch.Tensor:
    """x* with i.i.d. Bernoulli(p) × N(μ, σ²) entries; with ``p_max`` each entry draws p ~ U(p, p_max)."""
    gen = torch.Generator().manual_seed(seed)
    if p_max is not None:
        prob = p + (p_max - p) * torch.rand(count, n, generator=gen)
    else:
        prob = torch.full((count, n), float(p))
    support = torch.bernoulli(prob, generator=gen)
    values = mu + sigma * torch.randn(count, n, generator=gen)
    return support * values


def measure(A: torch.Tensor, x: torch.Tensor, snr_db: float | None, seed: int) -> torch.Tensor:
    """b = A x (+ noise with per-sample std = std(A x) · 10^(−SNR/20)); ``None`` = noiseless."""
    clean = x @ A.T
    if snr_db is None:
        return clean
    gen = torch.Generator().manual_seed(seed)
    std = clean.std(dim=-1, keepdim=True) * 10 ** (-snr_db / 20)
    return clean + std * torch.randn(clean.shape, generator=gen)


@dataclass
class Split:
    x: torch.Tensor  # (count, n) true sparse codes
    b: torch.Tensor  # (count, m) measurements

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device) -> Split:
        return Split(self.x.to(device), self.b.to(device))

    def head(self, count: int) -> Split:
        return Split(self.x[:count], self.b[:count])


@dataclass
class SignalSpec:
    """What the non-zeros look like; the shift experiments change these."""

    p: float = 0.1
    p_max: float | None = None
    mu: float = 0.0
    sigma: float = 1.0
    snr_db: float | None = None


def make_split(A: torch.Tensor, count: int, signal: SignalSpec, seed: int) -> Split:
    x = sparse_signals(count, A.shape[1], signal.p, seed, signal.mu, signal.sigma, signal.p_max)
    return Split(x, measure(A, x, signal.snr_db, seed + 7919))


@dataclass
class Problem:
    A: torch.Tensor
    train: Split
    val: Split
    test: Split

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.A.shape)


def make_problem(
    A: torch.Tensor, signal: SignalSpec, n_train: int, n_val: int, n_test: int, seed: int
) -> Problem:
    """Train / validation / test splits from independent seeds (seed+1, seed+2, seed+3)."""
    return Problem(
        A=A,
        train=make_split(A, n_train, signal, seed + 1),
        val=make_split(A, n_val, signal, seed + 2),
        test=make_split(A, n_test, signal, seed + 3),
    )


# ---------------------------------------------------------------- files


def save_problem(path: str | Path, problem: Problem, meta: dict | None = None) -> Path:
    tensors = {"A": problem.A}
    for name in ("train", "val", "test"):
        split = getattr(problem, name)
        if len(split):
            tensors[f"{name}_x"], tensors[f"{name}_b"] = split.x, split.b
    return save_checkpoint(path, tensors, {"kind": "hyperlista-problem", **(meta or {})})


def load_problem(path: str | Path) -> Problem:
    require_file(path, "problem file")
    ck = load_checkpoint(path)
    A = _check_matrix(ck.tensors, path)
    splits = {}
    for name in ("train", "val", "test"):
        x, b = ck.tensors.get(f"{name}_x"), ck.tensors.get(f"{name}_b")
        if x is None or b is None:
            splits[name] = Split(torch.zeros(0, A.shape[1]), torch.zeros(0, A.shape[0]))
        else:
            splits[name] = Split(x.float(), b.float())
    return Problem(A, **splits)


def load_matrix(path: str | Path, expect: tuple[int, int] | None = None) -> torch.Tensor:
    """A user's sensing matrix: a safetensors file with a 2-D tensor ``A`` (m < n, finite)."""
    require_file(path, "matrix file")
    if Path(path).suffix != ".safetensors":
        raise UserError(f"matrix file {path} must be a .safetensors file", "save it with a tensor named 'A'")
    A = _check_matrix(load_checkpoint(path).tensors, path)
    if expect is not None and tuple(A.shape) != tuple(expect):
        raise UserError(
            f"matrix {path} has shape {tuple(A.shape)}, the recipe says m={expect[0]} n={expect[1]}",
            f"add problem.m={A.shape[0]} problem.n={A.shape[1]}",
        )
    return A


def _check_matrix(tensors: dict, path) -> torch.Tensor:
    if "A" not in tensors:
        raise UserError(f"{path} has no tensor named 'A' (found: {', '.join(sorted(tensors)) or 'none'})")
    A = tensors["A"]
    if A.ndim != 2:
        raise UserError(f"tensor A in {path} must be 2-D (m × n), got shape {tuple(A.shape)}")
    m, n = A.shape
    if not 1 <= m < n:
        raise UserError(f"tensor A in {path} has shape {m}×{n}; sparse coding needs fewer rows than columns")
    A = A.float()
    if not torch.isfinite(A).all():
        raise UserError(f"tensor A in {path} contains NaN or inf")
    if (A.norm(dim=0) == 0).any():
        raise UserError(f"tensor A in {path} has an all-zero column")
    return A
