"""HyperLISTA: ALISTA + heavy-ball momentum whose per-layer threshold θ, momentum β and
support-selection fraction ρ are computed from the current iterate; three constants (c_β, c_θ,
c_ss) plus the step γ are tuned without back-propagation.

Every function is batched over *grid points* G and problems B: iterates have shape (G, B, n), so
a whole grid (or a chunk of it) costs a few large matrix products per layer instead of a Python
loop over constants.

Per layer k (every quantity per sample; with the symmetric weight b̃ = Gb and Ã = W̃ = GA):
    r = Ã x − b̃,  z = x − γ·W̃ᵀ r + β (x − x_prev),  β = c_β · #{i: |xᵢ| > mag_ratio·max|x|}
    e = ‖A⁺ r‖₁,  θ = c_θ · γ · e,  ρ = clamp(c_ss · ln(‖A⁺ b̃‖₁ / e), 0, 1)
    x_next = η^{ss}_{θ, ρ}(z)        (k = 0: plain soft threshold, β = ρ = 0)
Every threshold scales with ‖A⁺r‖₁ and β, ρ are scale-free, hence HyperLISTA(c·b) = c·HyperLISTA(b).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import torch

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.hyperlista.analytic import Operators
from vita_cli.methods.hyperlista.shrink import soft_threshold, support_selection_shrink

AXES = ("c_beta", "c_theta", "c_ss", "gamma")


@dataclass
class HyperConstants:
    c_beta: float
    c_theta: float
    c_ss: float
    gamma: float = 1.0

    def as_row(self) -> list[float]:
        return [self.c_beta, self.c_theta, self.c_ss, self.gamma]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class HyperOutput:
    x: torch.Tensor  # (G, B, n) the last layer's estimates
    sq_error: torch.Tensor | None  # (G, K) summed squared error per layer (when x_true was given)
    iterates: list[torch.Tensor] | None = None  # K tensors (G, B, n) when asked for


def hyperlista_forward(
    b: torch.Tensor,
    ops: Operators,
    constants: torch.Tensor,
    layers: int,
    x_true: torch.Tensor | None = None,
    symmetric: bool = False,
    mag_ratio: float = 0.0,
    keep_iterates: bool = False,
    error_at_last_layer_only: bool = False,
) -> HyperOutput:
    """Run K layers for G constant sets at once. ``constants``: (G, 4) rows (c_β, c_θ, c_ss, γ);
    ``b``: (B, m). Returns the final estimates and, given ``x_true`` (B, n), the per-layer error."""
    constants = constants.to(device=b.device, dtype=b.dtype)
    if symmetric:
        if ops.G is None or ops.W_symmetric is None:
            raise ValueError("symmetric=True needs operators built with weight='symmetric'")
        system, target = ops.W_symmetric, b @ ops.G.T
        # W̃ᵀr and A⁺r from one product: r @ [W̃ | A⁺ᵀ]
        both = torch.cat([ops.W_symmetric, ops.pinv.T], dim=1)
    else:
        system, target = ops.A, b
        both = None if ops.w_scale is not None else torch.cat([ops.W, ops.pinv.T], dim=1)
    n = system.shape[1]

    def products(x: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The gradient W̃ᵀr and the error proxy ‖A⁺r‖₁ of r = Ãx − b̃ (x = None: x = 0), and a
        scratch tensor shaped like the gradient that the caller may overwrite."""
        residual = -target if x is None else (x @ system.T).sub_(target)
        if both is None:
            # analytic ALISTA W = (A⁺)ᵀ diag(w_scale): the gradient step reuses A⁺r
            back = residual @ ops.pinv.T
            step = back * ops.w_scale
        else:
            out = residual @ both
            step, back = out[..., :n], out[..., n:]
        error_proxy = back.abs_().sum(-1, keepdim=True)  # ‖A⁺r‖₁ ≈ ‖x − x*‖₁
        return step, error_proxy, back

    signal_l1 = (target @ ops.pinv.T).abs().sum(-1).view(1, -1, 1)  # ‖A⁺b̃‖₁ per sample
    # x⁰ = 0 for every grid point, and x¹ = η_θ(−γ W̃ᵀ(−b̃)) depends on (c_θ, γ) only: the products
    # of layers 0 and 1 run once per distinct (c_θ, γ) and are then copied to the grid points
    pairs, to_points = torch.unique(constants[:, 1::2], dim=0, return_inverse=True)
    sq_error = [] if x_true is not None else None
    iterates = [] if keep_iterates else None
    x = x_prev = None
    for k in range(layers):
        step, error_proxy, scratch = products(x)
        if k == 0:
            c_theta, gamma = (pairs[:, i].view(-1, 1, 1) for i in range(2))
            x_next = soft_threshold(-gamma * step, c_theta * gamma * error_proxy)
        else:
            if k == 1:
                x, step, error_proxy = x[to_points], step[to_points], error_proxy[to_points]
                scratch = torch.empty_like(x)
                c_beta, c_theta, c_ss, gamma = (constants[:, i].view(-1, 1, 1) for i in range(4))
            z = x - step.mul_(gamma)
            # momentum β = c_β · #{i: |xᵢ| > mag_ratio · max|x|}, counted through a float mask (fast)
            if mag_ratio:
                magnitude = torch.abs(x, out=scratch)
                support = torch.gt(magnitude, mag_ratio * magnitude.amax(-1, keepdim=True), out=scratch)
            else:
                support = torch.ne(x, 0.0, out=scratch)  # = |xᵢ| > 0
            coefficient = c_beta * support.sum(-1, keepdim=True)
            # not addcmul_: its fused multiply-add would round differently
            if x_prev is None:
                z += torch.mul(x, coefficient, out=scratch)  # x⁰ = 0
            else:
                z += torch.sub(x, x_prev, out=scratch).mul_(coefficient)
            ratio = signal_l1 / error_proxy
            fraction = (c_ss * torch.log(ratio)).clamp(0.0, 1.0).nan_to_num(1.0).squeeze(-1)
            x_next = support_selection_shrink(z, c_theta * gamma * error_proxy, fraction)
        x_prev, x = (None if k == 0 else x), x_next
        at_points = x if k > 0 else x[to_points]
        if sq_error is not None and (k == layers - 1 or not error_at_last_layer_only):
            sq_error.append(((at_points - x_true) ** 2).sum(dim=(1, 2)))
        if iterates is not None:
            iterates.append(at_points)
    final = x if layers > 1 else x[to_points]
    return HyperOutput(final, torch.stack(sq_error, dim=1) if sq_error is not None else None, iterates)


def nmse_db(sq_error: torch.Tensor | float, x_true: torch.Tensor) -> torch.Tensor:
    """10·log10(Σ‖x̂ − x*‖² / Σ‖x*‖²) over the whole set (the paper's metric)."""
    return 10 * torch.log10(
        torch.as_tensor(sq_error, dtype=torch.float64) / float((x_true.double() ** 2).sum())
    )


def hyperlista_curve(
    b: torch.Tensor,
    x_true: torch.Tensor,
    ops: Operators,
    constants: HyperConstants,
    layers: int,
    symmetric: bool = False,
    mag_ratio: float = 0.0,
    batch: int = 4096,
) -> list[float]:
    """NMSE (dB) per layer k = 1..K for one constant set, in batches of problems."""
    row = torch.tensor([constants.as_row()])
    total = torch.zeros(layers, dtype=torch.float64)
    for start in range(0, b.shape[0], batch):
        out = hyperlista_forward(
            b[start : start + batch], ops, row, layers, x_true[start : start + batch], symmetric, mag_ratio
        )
        total += out.sq_error[0].double().cpu()
    return [float(v) for v in nmse_db(total, x_true)]


def hyperlista_solve(
    b: torch.Tensor, ops: Operators, constants: HyperConstants, layers: int, symmetric: bool = False
) -> torch.Tensor:
    """Estimates x̂ (B, n) after K layers for one constant set."""
    row = torch.tensor([constants.as_row()])
    return hyperlista_forward(b, ops, row, layers, symmetric=symmetric).x[0]


# ---------------------------------------------------------------- tuning without back-propagation


def grid_points(axes: dict[str, list[float]]) -> torch.Tensor:
    """Cartesian product of per-axis values, rows (c_β, c_θ, c_ss, γ)."""
    values = [axes[name] for name in AXES]
    return torch.tensor(list(itertools.product(*values)), dtype=torch.float32)


def score_points(
    points: torch.Tensor,
    b: torch.Tensor,
    x_true: torch.Tensor,
    ops: Operators,
    layers: int,
    symmetric: bool = False,
    mag_ratio: float = 0.0,
    chunk: int = 4,
    reporter: Reporter = SILENT,
    description: str = "grid search",
) -> torch.Tensor:
    """The official objective for every point: mean over problems of ‖x^(K) − x*‖² (NaN → inf)."""
    scores = torch.empty(points.shape[0], dtype=torch.float64)
    best = math.inf
    with reporter.task(description, total=points.shape[0]) as task:
        for start in range(0, points.shape[0], chunk):
            part = points[start : start + chunk]
            out = hyperlista_forward(
                b, ops, part, layers, x_true, symmetric, mag_ratio, error_at_last_layer_only=True
            )
            value = (out.sq_error[:, -1] / b.shape[0]).double().cpu()
            value = torch.where(torch.isfinite(value), value, torch.full_like(value, math.inf))
            scores[start : start + part.shape[0]] = value
            best = min(best, float(value.min()))
            task.advance(part.shape[0], best=f"{float(nmse_db(best * b.shape[0], x_true)):.1f}dB")
    return scores


@dataclass
class SearchResult:
    best: HyperConstants
    best_score: float  # mean squared error at layer K on the tuning problems
    best_nmse_db: float
    points: torch.Tensor  # every scored point (P, 4)
    scores: torch.Tensor  # (P,)


def _result(points, scores, x_true, count) -> SearchResult:
    i = int(torch.argmin(scores))
    best = HyperConstants(*[round(float(v), 7) for v in points[i]])
    return SearchResult(best, float(scores[i]), float(nmse_db(scores[i] * count, x_true)), points, scores)


def grid_search(axes, b, x_true, ops, layers, symmetric=False, mag_ratio=0.0, chunk=4, reporter=SILENT):
    """Exhaustive search over the product of ``axes`` (dict name -> values)."""
    points = grid_points(axes)
    scores = score_points(points, b, x_true, ops, layers, symmetric, mag_ratio, chunk, reporter)
    return _result(points, scores, x_true, b.shape[0])


def random_search(
    bounds: dict[str, tuple[float, float]],
    trials: int,
    b,
    x_true,
    ops,
    layers,
    symmetric=False,
    mag_ratio=0.0,
    chunk=4,
    rounds: int = 2,
    seed: int = 0,
    reporter=SILENT,
) -> SearchResult:
    """Random search in ``rounds``: each round spends trials/rounds points uniformly in a box that
    shrinks (by half per axis) around the best point so far — a cheap, derivative-free stand-in for
    Bayesian optimisation with the same budget as a small grid."""
    gen = torch.Generator().manual_seed(seed)
    low = torch.tensor([bounds[a][0] for a in AXES], dtype=torch.float32)
    high = torch.tensor([bounds[a][1] for a in AXES], dtype=torch.float32)
    all_points, all_scores = [], []
    per_round = max(1, trials // rounds)
    for r in range(rounds):
        pts = low + (high - low) * torch.rand(per_round, 4, generator=gen)
        scores = score_points(
            pts,
            b,
            x_true,
            ops,
            layers,
            symmetric,
            mag_ratio,
            chunk,
            reporter,
            f"random search {r + 1}/{rounds}",
        )
        all_points.append(pts)
        all_scores.append(scores)
        best = torch.cat(all_points)[int(torch.argmin(torch.cat(all_scores)))]
        half = (high - low) / 4
        low, high = torch.maximum(best - half, low), torch.minimum(best + half, high)
    return _result(torch.cat(all_points), torch.cat(all_scores), x_true, b.shape[0])


def refine_axes(
    axes: dict[str, list[float]], best: HyperConstants, points_per_axis: int = 5
) -> dict[str, list[float]]:
    """A finer grid spanning one original grid step either side of ``best`` on every axis."""
    out = {}
    for name in AXES:
        values = sorted(axes[name])
        center = getattr(best, name)
        if len(values) < 2:
            out[name] = [center]
            continue
        step = (values[-1] - values[0]) / (len(values) - 1)
        lo, hi = max(center - step, 0.0), center + step
        out[name] = torch.linspace(lo, hi, points_per_axis).tolist()
    return out
