"""The ``recipes/hyperlista/*.yaml`` schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LEARNED_METHODS = ("lista", "lista_cp", "lista_cpss", "alista", "alista_mm")
CLASSIC_METHODS = ("ista", "fista")
ALL_METHODS = CLASSIC_METHODS + LEARNED_METHODS + ("hyperlista",)


@dataclass
class ProblemConfig:
    """b = A x* + ε with A m×n Gaussian (unit-norm columns) and x* Bernoulli(p)·N(μ, σ²)."""

    m: int = 250
    n: int = 500
    p: float = 0.1
    p_max: float | None = None  # per-entry p ~ U(p, p_max) when set (mixed sparsity)
    mu: float = 0.0
    sigma: float = 1.0
    snr_db: float | None = None  # None: noiseless
    condition_number: float | None = None  # ill-conditioned A (singular values 1 .. 1/κ)
    matrix: str | None = None  # your own A: a .safetensors file with a tensor named "A"
    n_train: int = 8192
    n_val: int = 1024
    n_test: int = 2048
    seed: int = 118

    def __post_init__(self):
        if not 0 < self.m < self.n:
            raise ValueError(f"problem.m must be positive and below problem.n, got m={self.m} n={self.n}")
        if not 0 < self.p <= 1:
            raise ValueError(f"problem.p must lie in (0, 1], got {self.p}")
        if self.p_max is not None and not self.p <= self.p_max <= 1:
            raise ValueError(f"problem.p_max must lie in [problem.p, 1], got {self.p_max}")
        if self.sigma <= 0:
            raise ValueError(f"problem.sigma must be positive, got {self.sigma}")
        if min(self.n_train, self.n_val, self.n_test) < 1:
            raise ValueError("problem.n_train, n_val and n_test must be at least 1")


@dataclass
class Axis:
    """``num`` evenly spaced values from ``start`` to ``stop`` (num = 1: just ``start``)."""

    start: float
    stop: float
    num: int = 1

    def values(self) -> list[float]:
        if self.num == 1:
            return [self.start]
        step = (self.stop - self.start) / (self.num - 1)
        return [self.start + i * step for i in range(self.num)]

    def __post_init__(self):
        if self.num < 1:
            raise ValueError(f"a grid axis needs num >= 1, got {self.num}")


@dataclass
class TuneConfig:
    """HyperLISTA: K layers, the weight, and the search over (c_β, c_θ, c_ss, γ)."""

    layers: int = 16
    weight: Literal["alista", "symmetric"] = "alista"
    gamma: Axis = field(default_factory=lambda: Axis(1.0, 1.0, 1))
    gamma_unit: Literal["1", "1/L"] = "1"  # "1/L": gamma values are multiples of 1/L (the official code)
    c_beta: Axis = field(default_factory=lambda: Axis(0.0, 0.02, 11))
    c_theta: Axis = field(default_factory=lambda: Axis(0.001, 0.021, 11))
    c_ss: Axis = field(default_factory=lambda: Axis(0.1, 1.0, 10))
    search: Literal["grid", "random"] = "grid"
    trials: int = 120  # random search budget
    refine: bool = False  # a finer 5×5×5 grid around the best point afterwards
    mag_ratio: float = 0.0
    tune_samples: int = 512  # the official objective: first training batch of 512
    chunk: int = 4  # grid points per batched forward pass (4: fastest of 2-12 on 2 CPU cores, re-measured)

    def __post_init__(self):
        if self.layers < 1:
            raise ValueError(f"tune.layers must be at least 1, got {self.layers}")
        if self.tune_samples < 1 or self.chunk < 1 or self.trials < 1:
            raise ValueError("tune.tune_samples, tune.chunk and tune.trials must be at least 1")


@dataclass
class BaselineConfig:
    """ISTA/FISTA (λ) and the learned baselines' layer-wise schedule."""

    lam: float = 0.1
    tau: float = 0.1  # threshold init τ/L of the learned models
    epochs: list[int] = field(default_factory=lambda: [2, 1, 1])  # max epochs of stages 1, 2, 3
    best_wait: int = 2
    lr: float = 0.1  # ALISTA / ALISTA-MM: γ, θ, β (the official rate)
    lr_matrix: float = 0.01  # LISTA / LISTA-CP: weight matrices and thresholds
    batch_size: int = 512

    def __post_init__(self):
        if len(self.epochs) != 3 or min(self.epochs) < 0:
            raise ValueError(f"baselines.epochs must be three non-negative numbers, got {self.epochs}")
        if self.lam <= 0:
            raise ValueError(f"baselines.lam must be positive, got {self.lam}")


@dataclass
class EvalConfig:
    methods: list[str] = field(default_factory=lambda: ["ista", "fista", "alista", "hyperlista"])

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in ALL_METHODS]
        if unknown:
            raise ValueError(f"eval.methods: unknown {unknown[0]!r}; choose from {', '.join(ALL_METHODS)}")


@dataclass
class CompareConfig:
    """Train/tune on ``problem``, test under a shift of one property."""

    shift: Literal["sparsity", "magnitude", "noise"] = "sparsity"
    values: list[float] | None = None  # default per shift: p, σ or SNR dB values
    methods: list[str] = field(default_factory=lambda: ["alista", "lista", "hyperlista"])

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in ALL_METHODS]
        if unknown:
            raise ValueError(f"compare.methods: unknown {unknown[0]!r}; choose from {', '.join(ALL_METHODS)}")


@dataclass
class HyperlistaRecipe:
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)
    baselines: BaselineConfig = field(default_factory=BaselineConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
