"""One optimisation step of every method: plain, dual sampler, EWC and GEM (on tensors and modules)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import quadprog
import torch

from vita_cli.core.device import autocast
from vita_cli.methods.tts_lifelong.config import TrainConfig
from vita_cli.methods.tts_lifelong.model import Tacotron, tacotron_loss


@dataclass
class StepContext:
    cfg: TrainConfig
    sigma: float | None  # guided-attention width this step (None: off)
    device: torch.device
    amp: bool = False


def batch_loss(model: Tacotron, batch: dict, heads: str, sc: StepContext) -> torch.Tensor:
    with autocast(sc.device, sc.amp):
        out = model(batch["text"], batch["text_lens"], batch["lang"], batch["mels"], heads=heads)
    out = tuple(o.float() for o in out)
    cfg = sc.cfg
    return tacotron_loss(out, batch, model.cfg.reduction, cfg.stop_frames, cfg.stop_pos_weight, sc.sigma)


def _finish(model, optimizer, scaler, clip: float) -> None:
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    scaler.step(optimizer)
    scaler.update()


def plain_step(model, optimizer, scaler, batch, sc: StepContext, penalty=None) -> dict:
    """Ordinary supervised step with the main heads (fine-tune, random/weighted replay, joint, EWC)."""
    optimizer.zero_grad(set_to_none=True)
    loss = batch_loss(model, batch, "main", sc)
    total = loss + penalty(model) if penalty is not None else loss
    scaler.scale(total).backward()
    _finish(model, optimizer, scaler, sc.cfg.clip)
    return {"loss": loss.item()}


def dual_step(model, optimizer, scaler, rrs_batch, cbs_batch, sc: StepContext) -> dict:
    """λ_rrs·L(RRS batch, auxiliary heads) + λ_cbs·L(CBS batch, main heads), one optimiser step."""
    optimizer.zero_grad(set_to_none=True)
    l_rrs = batch_loss(model, rrs_batch, "rrs", sc)
    scaler.scale(sc.cfg.lambda_rrs * l_rrs).backward()
    l_cbs = batch_loss(model, cbs_batch, "main", sc)
    scaler.scale(sc.cfg.lambda_cbs * l_cbs).backward()
    _finish(model, optimizer, scaler, sc.cfg.clip)
    return {"loss": l_cbs.item(), "loss_rrs": l_rrs.item()}


# ---------------------------------------------------------------- EWC


def fisher_diagonal(model: Tacotron, batches, sc: StepContext) -> dict[str, torch.Tensor]:
    """Empirical diagonal Fisher: Σ_batches (∂L_batch/∂θ)² / N_samples (teacher-forced loss)."""
    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters() if p.requires_grad}
    samples = 0
    model.train()
    for batch in batches:
        model.zero_grad(set_to_none=True)
        batch_loss(model, batch, "main", StepContext(sc.cfg, sc.sigma, sc.device, False)).backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                fisher[n] += p.grad.detach() ** 2
        samples += batch["text"].shape[0]
    model.zero_grad(set_to_none=True)
    return {n: f / max(samples, 1) for n, f in fisher.items()}


def ewc_penalty(fisher: dict[str, torch.Tensor], star: dict[str, torch.Tensor], strength: float):
    """λ Σ_i F_i (θ_i − θ*_i)² (no ½, as the official code)."""

    def penalty(model: Tacotron) -> torch.Tensor:
        total = 0.0
        for n, p in model.named_parameters():
            if n in fisher:
                total = total + (fisher[n] * (p - star[n]) ** 2).sum()
        return strength * total

    return penalty


# ---------------------------------------------------------------- GEM


def _flat_grad(model) -> torch.Tensor:
    return torch.cat(
        [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in model.parameters()]
    )


def _set_grad(model, flat: torch.Tensor) -> None:
    offset = 0
    for p in model.parameters():
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def project_gem(g: np.ndarray, memories: np.ndarray, margin: float, eps: float) -> np.ndarray:
    """GEM's dual QP: min_v ½vᵀ(GGᵀ + εI)v + gᵀGᵀv s.t. v ≥ margin; returns g̃ = Gᵀv + g."""
    t = memories.shape[0]
    p = memories @ memories.T
    p = 0.5 * (p + p.T) + eps * np.eye(t)
    q = -(memories @ g)
    v = quadprog.solve_qp(p, q, np.eye(t), np.full(t, margin))[0]
    return memories.T @ v + g


def gem_step(model, optimizer, batch, memory_batches: list[dict], sc: StepContext) -> dict:
    """Gradient of each earlier language's memory, then the current gradient, projected when it
    conflicts with any of them (no mixed precision: the projection needs exact gradients)."""
    exact = StepContext(sc.cfg, sc.sigma, sc.device, False)
    memories = []
    for mem in memory_batches:
        optimizer.zero_grad(set_to_none=True)
        batch_loss(model, mem, "main", exact).backward()
        memories.append(_flat_grad(model).double().cpu().numpy())
    optimizer.zero_grad(set_to_none=True)
    loss = batch_loss(model, batch, "main", exact)
    loss.backward()
    projected = False
    if memories:
        g = _flat_grad(model)
        mem = np.stack(memories)
        if (mem @ g.double().cpu().numpy() < 0).any():
            new = project_gem(g.double().cpu().numpy(), mem, sc.cfg.gem_margin, sc.cfg.gem_eps)
            _set_grad(model, torch.from_numpy(new).to(g.dtype).to(g.device))
            projected = True
    torch.nn.utils.clip_grad_norm_(model.parameters(), sc.cfg.clip)
    optimizer.step()
    return {"loss": loss.item(), "projected": projected}
