"""Learned unrolled baselines and their layer-wise training schedule.

| model      | layer k update                                               | learned per layer |
|------------|--------------------------------------------------------------|-------------------|
| LISTA      | x ← η_{θ_k}(W_k x + B b), B shared                            | W_k (n×n), θ_k    |
| LISTA-CP   | x ← η_{θ_k}(x + W_kᵀ(b − Ax))                                 | W_k (m×n), θ_k    |
| LISTA-CPSS | LISTA-CP with support selection p_k = min(1.2k, 13) %         | W_k (m×n), θ_k    |
| ALISTA     | x ← η^{ss}_{θ_k,p_k}(x − γ_k Wᵀ(Ax − b)), analytic W         | γ_k, θ_k          |
| ALISTA-MM  | ALISTA + β_k (x − x_prev) inside the shrinkage               | γ_k, θ_k, β_k     |

Training (LISTA-CPSS / ALISTA protocol): for k = 1..K, three stages with Adam on ‖x^(k) − x*‖²;
stage 1 trains layer k, stages 2 and 3 also every earlier layer (earlier layers at a learning rate
decayed by ``lr_decay_layer`` per layer of distance), with the rates × ``stage_factors``. A stage
ends after ``epochs[stage]`` epochs or when the validation NMSE has not improved for
``best_wait`` epochs; the best weights of the stage are restored (this is what keeps deep layers
from diverging on short schedules).
"""

from __future__ import annotations

import abc
import copy
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.hyperlista.analytic import Operators
from vita_cli.methods.hyperlista.problems import Split
from vita_cli.methods.hyperlista.shrink import (
    fixed_support_schedule,
    soft_threshold,
    support_selection_shrink,
)


class Unrolled(nn.Module, abc.ABC):
    """K layers; ``forward(b, depth)`` returns the iterates x^1..x^depth."""

    layers: int
    matrix_model = False  # True: every parameter trains at Schedule.lr_matrix (LISTA, LISTA-CP)

    @abc.abstractmethod
    def layer_parameters(self, k: int) -> list[nn.Parameter]:
        """The parameters that belong to layer k."""

    def shared_parameters(self) -> list[nn.Parameter]:
        return []

    @torch.no_grad()
    def warm_start(self, k: int) -> None:
        """Before training layer k: start it from layer k−1's trained values (matrix models)."""
        if self.matrix_model and k > 0:
            for new, old in zip(self.layer_parameters(k), self.layer_parameters(k - 1), strict=True):
                new.copy_(old)

    @abc.abstractmethod
    def step(self, k: int, x: torch.Tensor, x_prev: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Layer k's update of x (x_prev is the previous iterate, for momentum)."""

    def forward(self, b: torch.Tensor, depth: int | None = None) -> list[torch.Tensor]:
        depth = self.layers if depth is None else depth
        x = torch.zeros(b.shape[0], self.n, dtype=b.dtype, device=b.device)
        x_prev, out = x, []
        for k in range(depth):
            x_prev, x = x, self.step(k, x, x_prev, b)
            out.append(x)
        return out


def _shrink(v, theta, fraction: float | None):
    if fraction is None:
        return soft_threshold(v, theta)
    return support_selection_shrink(
        v, theta.view(1, 1).expand(v.shape[0], 1), torch.full(v.shape[:1], fraction, device=v.device)
    )


class LISTA(Unrolled):
    matrix_model = True

    def __init__(self, ops: Operators, layers: int, tau: float = 0.1):
        super().__init__()
        A, L = ops.A, ops.L
        self.layers, self.n = layers, A.shape[1]
        eye = torch.eye(self.n, dtype=A.dtype, device=A.device)
        self.register_buffer("A", A.clone())
        self.B = nn.Parameter(A.T.clone() / L)
        self.W = nn.ParameterList([nn.Parameter(eye - A.T @ A / L) for _ in range(layers)])
        self.theta = nn.ParameterList(
            [nn.Parameter(torch.tensor(tau / L, device=A.device)) for _ in range(layers)]
        )

    def layer_parameters(self, k):
        return [self.W[k], self.theta[k]]

    def shared_parameters(self):
        return [self.B]

    @torch.no_grad()
    def warm_start(self, k: int) -> None:
        # B is shared and already trained: W_k = I − B A keeps the fresh layer a consistent step
        # x + B(b − Ax) (with the untrained B it is ISTA's I − AᵀA/L)
        if k > 0:
            self.W[k].copy_(torch.eye(self.n, device=self.B.device) - self.B @ self.A)
            self.theta[k].copy_(self.theta[k - 1])

    def step(self, k, x, x_prev, b):
        return soft_threshold(x @ self.W[k].T + b @ self.B.T, self.theta[k])


class LISTACP(Unrolled):
    matrix_model = True

    def __init__(self, ops: Operators, layers: int, tau: float = 0.1, support_selection: bool = False):
        super().__init__()
        self.register_buffer("A", ops.A.clone())
        self.layers, self.n = layers, ops.n
        self.W = nn.ParameterList([nn.Parameter(ops.A.clone() / ops.L) for _ in range(layers)])
        self.theta = nn.ParameterList(
            [nn.Parameter(torch.tensor(tau / ops.L, device=ops.A.device)) for _ in range(layers)]
        )
        self.fractions = fixed_support_schedule(layers) if support_selection else [None] * layers

    def layer_parameters(self, k):
        return [self.W[k], self.theta[k]]

    def step(self, k, x, x_prev, b):
        v = x + (b - x @ self.A.T) @ self.W[k]
        return _shrink(v, self.theta[k], self.fractions[k])


class ALISTA(Unrolled):
    def __init__(self, ops: Operators, layers: int, tau: float = 0.1, momentum: bool = False):
        super().__init__()
        self.register_buffer("A", ops.A.clone())
        self.register_buffer("W", ops.W.clone())
        self.layers, self.n, self.momentum = layers, ops.n, momentum
        dev = ops.A.device
        self.gamma = nn.ParameterList(
            [nn.Parameter(torch.tensor(1.0 / ops.L, device=dev)) for _ in range(layers)]
        )
        self.theta = nn.ParameterList(
            [nn.Parameter(torch.tensor(tau / ops.L, device=dev)) for _ in range(layers)]
        )
        self.beta = (
            nn.ParameterList([nn.Parameter(torch.tensor(0.0, device=dev)) for _ in range(layers)])
            if momentum
            else None
        )
        self.fractions = fixed_support_schedule(layers)

    def layer_parameters(self, k):
        return [self.gamma[k], self.theta[k]] + ([self.beta[k]] if self.momentum else [])

    def step(self, k, x, x_prev, b):
        v = x - self.gamma[k] * ((x @ self.A.T - b) @ self.W)
        if self.momentum:
            v = v + self.beta[k] * (x - x_prev)
        return _shrink(v, self.theta[k], self.fractions[k])


LEARNED = {
    "lista": lambda ops, K, tau: LISTA(ops, K, tau),
    "lista_cp": lambda ops, K, tau: LISTACP(ops, K, tau, support_selection=False),
    "lista_cpss": lambda ops, K, tau: LISTACP(ops, K, tau, support_selection=True),
    "alista": lambda ops, K, tau: ALISTA(ops, K, tau, momentum=False),
    "alista_mm": lambda ops, K, tau: ALISTA(ops, K, tau, momentum=True),
}


def build_learned(name: str, ops: Operators, layers: int, tau: float = 0.1) -> Unrolled:
    if name not in LEARNED:
        raise ValueError(f"unknown learned model {name!r}; choose from {', '.join(LEARNED)}")
    return LEARNED[name](ops, layers, tau)


@dataclass
class Schedule:
    epochs: list[int] = field(default_factory=lambda: [3, 1, 1])  # max epochs of stages 1, 2, 3
    best_wait: int = 2
    lr: float = 0.1  # ALISTA / ALISTA-MM (γ, θ, β): the official rate
    lr_matrix: float = 0.01  # LISTA / LISTA-CP (weight matrices and thresholds)
    lr_decay_layer: float = 0.3
    stage_factors: list[float] = field(default_factory=lambda: [1.0, 0.2, 0.02])
    batch_size: int = 512


def _lr_for(model: Unrolled, schedule: Schedule) -> float:
    return schedule.lr_matrix if model.matrix_model else schedule.lr


@torch.no_grad()
def depth_nmse_db(model: Unrolled, split: Split, depth: int, batch: int = 2048) -> float:
    err = 0.0
    for start in range(0, len(split), batch):
        x_hat = model(split.b[start : start + batch], depth)[-1]
        err += float(((x_hat - split.x[start : start + batch]) ** 2).sum())
    return 10 * math.log10(err / float((split.x**2).sum())) if err > 0 else -math.inf


@torch.no_grad()
def learned_curve(model: Unrolled, split: Split, batch: int = 2048) -> list[float]:
    """NMSE (dB) per layer on ``split``."""
    errs = torch.zeros(model.layers, dtype=torch.float64)
    for start in range(0, len(split), batch):
        for k, x_hat in enumerate(model(split.b[start : start + batch])):
            errs[k] += float(((x_hat - split.x[start : start + batch]) ** 2).sum())
    energy = float((split.x.double() ** 2).sum())
    return [10 * math.log10(max(float(e), 1e-300) / energy) for e in errs]


def train_layerwise(
    model: Unrolled,
    train: Split,
    val: Split,
    schedule: Schedule,
    reporter: Reporter = SILENT,
    seed: int = 0,
    warm_start: bool = True,
) -> list[float]:
    """Layer-wise training; returns the best validation NMSE (dB) after each depth k."""
    gen = torch.Generator().manual_seed(seed)
    history = []
    total = model.layers * 3
    with reporter.task(f"train {type(model).__name__}", total=total) as task:
        for k in range(model.layers):
            if warm_start:
                model.warm_start(k)
            for stage in range(3):
                groups = []
                factor = schedule.stage_factors[stage]
                layers_in_stage = [k] if stage == 0 else list(range(k + 1))
                for i in layers_in_stage:
                    decay = schedule.lr_decay_layer ** (k - i)
                    for p in model.layer_parameters(i):
                        groups.append({"params": [p], "lr": _lr_for(model, schedule) * decay * factor})
                for p in model.shared_parameters():
                    groups.append(
                        {"params": [p], "lr": _lr_for(model, schedule) * schedule.lr_decay_layer**k * factor}
                    )
                optimizer = torch.optim.Adam(groups)
                best, best_state, wait = (
                    depth_nmse_db(model, val, k + 1),
                    copy.deepcopy(model.state_dict()),
                    0,
                )
                for _ in range(schedule.epochs[stage]):
                    order = torch.randperm(len(train), generator=gen)
                    for start in range(0, len(train), schedule.batch_size):
                        idx = order[start : start + schedule.batch_size]
                        x_hat = model(train.b[idx], k + 1)[-1]
                        loss = ((x_hat - train.x[idx]) ** 2).sum(-1).mean()
                        optimizer.zero_grad()
                        loss.backward()
                        optimizer.step()
                    score = depth_nmse_db(model, val, k + 1)
                    if score < best:
                        best, best_state, wait = score, copy.deepcopy(model.state_dict()), 0
                    else:
                        wait += 1
                        if wait >= schedule.best_wait:
                            break
                model.load_state_dict(best_state)
                task.advance(1, layer=k + 1, stage=stage + 1, val=f"{best:.1f}dB")
            history.append(best)
            task.log(f"{type(model).__name__} layer {k + 1}: validation {best:.2f} dB")
    return history
