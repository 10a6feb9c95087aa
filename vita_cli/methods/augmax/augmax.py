"""AugMax's inner maximisation: adversarial mixing weights (m, q) for fixed random chains.

    x_adv = (1 − m)·x + m·Σᵢ softmax(q)ᵢ·chainᵢ(x),   m, q ~ U[0, 1) at the start

then ``steps`` sign-gradient *ascent* steps of size ``step_size`` on the summed cross-entropy, with
m clipped to [0, 1] and q free. Early stopping follows friendly adversarial training (FAT): each sample
has a budget of ``tau`` misclassifications; a sample whose budget is spent keeps its (m, q), and the
loop ends once every budget is spent. The official code meant to freeze finished samples but zeroed a
copy of the gradient, so every sample kept moving; ``legacy_fat=True`` reproduces that behaviour.
``tau=None`` disables early stopping (plain PGD-style, a fixed number of steps).

The caller passes ``forward(images01) -> logits`` (normalisation and normalisation route included)
and is responsible for the model's mode; gradients are taken with respect to (m, q) only, so the
model's parameter gradients are untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vita_cli.methods.augmax.augmix import mix


@dataclass
class AugMaxResult:
    images: torch.Tensor  # B×C×H×W in [0, 1], detached
    m: torch.Tensor  # (B,)
    w: torch.Tensor  # (B, K) on the simplex
    steps_taken: int
    loss_start: float  # summed CE at the random (m, q)
    loss_end: float  # summed CE at the returned (m, q) (nan unless measured)
    frozen: int  # samples whose FAT budget was spent


def augmax_attack(
    forward: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    chains: torch.Tensor,
    labels: torch.Tensor,
    steps: int = 5,
    step_size: float = 0.1,
    tau: int | None = 1,
    legacy_fat: bool = False,
    generator: torch.Generator | None = None,
    measure_end_loss: bool = True,
) -> AugMaxResult:
    b, k = chains.shape[:2]
    dtype, device = x.dtype, x.device
    m = torch.rand(b, generator=generator).to(device, dtype)
    q = torch.rand(b, k, generator=generator).to(device, dtype)
    budget = torch.full((b,), tau if tau is not None else steps + 1, device=device)
    x = x.detach()
    chains = chains.detach()
    loss_start = None
    steps_taken = 0
    for _ in range(steps):
        m.requires_grad_(True)
        q.requires_grad_(True)
        logits = forward(mix(x, chains, m, torch.softmax(q, dim=1)))
        loss = F.cross_entropy(logits, labels, reduction="sum")
        if loss_start is None:
            loss_start = float(loss.detach())
        if tau is not None:
            wrong = logits.detach().argmax(dim=1) != labels
            budget = budget - (wrong & (budget > 0)).to(budget.dtype)
            if bool((budget <= 0).all()):
                m, q = m.detach(), q.detach()
                break
        grad_m, grad_q = torch.autograd.grad(loss, [m, q])
        # intended FAT: samples that used their budget stop moving (legacy: everybody moves)
        moving = torch.ones_like(budget) if legacy_fat else (budget > 0).to(budget.dtype)
        moving = moving.to(dtype)
        with torch.no_grad():
            m = (m + step_size * grad_m.sign() * moving).clamp(0, 1)
            q = q + step_size * grad_q.sign() * moving.view(-1, 1)
        steps_taken += 1
    m, q = m.detach(), q.detach()
    w = torch.softmax(q, dim=1)
    images = mix(x, chains, m, w).detach()
    loss_end = float("nan")
    if measure_end_loss:  # one extra forward; training skips it
        with torch.no_grad():
            loss_end = float(F.cross_entropy(forward(images), labels, reduction="sum"))
    if loss_start is None:  # steps == 0
        loss_start = loss_end
    return AugMaxResult(images, m, w, steps_taken, loss_start, loss_end, int((budget <= 0).sum()))
