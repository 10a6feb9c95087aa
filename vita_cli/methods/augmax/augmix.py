"""Random augmentation chains and the AugMix / AugMax mixing formula, batched.

A batch gets ``width`` chains; chain i applies ``depth`` operators (per sample, 1–3 when depth is −1)
drawn uniformly with replacement from :data:`ops.OPERATORS`. Samples that draw the same operator at the
same position are processed together, so a chain costs at most depth × |ops| batched calls.

    mix(x, chains, m, w) = (1 − m)·x + m·Σᵢ wᵢ·chainᵢ(x)

AugMix draws w ~ Dirichlet(1, …, 1) and m ~ Beta(1, 1); AugMax optimises them (see ``augmax.py``).
"""

from __future__ import annotations

import torch

from vita_cli.methods.augmax.ops import OPERATORS, sample_op_params


def augment_chains(
    x: torch.Tensor,
    width: int = 3,
    depth: int = -1,
    severity: float = 3.0,
    operators: list[str] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``width`` independently augmented copies of ``x`` (B×C×H×W in [0, 1]) → B×width×C×H×W."""
    names = list(operators or OPERATORS)
    unknown = [n for n in names if n not in OPERATORS]
    if unknown:
        raise ValueError(f"unknown augmentation operator {unknown[0]!r}; choices: {', '.join(OPERATORS)}")
    ops = [OPERATORS[n] for n in names]
    b = x.shape[0]
    max_depth = 3 if depth <= 0 else depth
    chains = []
    for _ in range(width):
        if depth <= 0:
            sample_depth = torch.randint(1, 4, (b,), generator=generator)
        else:
            sample_depth = torch.full((b,), depth)
        out = x.clone()
        for position in range(max_depth):
            op_index = torch.randint(0, len(ops), (b,), generator=generator)
            level, sign = sample_op_params(b, severity, generator)
            active = position < sample_depth
            for j, op in enumerate(ops):
                chosen = (active & (op_index == j)).nonzero().squeeze(1)
                if chosen.numel() == 0:
                    continue
                idx = chosen.to(x.device)
                out[idx] = op(out[idx], level[chosen], sign[chosen])
        chains.append(out)
    return torch.stack(chains, dim=1)


def mix(x: torch.Tensor, chains: torch.Tensor, m: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(1 − m)·x + m·Σᵢ wᵢ·chainᵢ: x B×C×H×W, chains B×K×C×H×W, m (B,), w (B, K)."""
    mixed_chains = (w.view(*w.shape, 1, 1, 1) * chains).sum(dim=1)
    m = m.view(-1, 1, 1, 1)
    return (1 - m) * x + m * mixed_chains


def random_mixing_weights(
    n: int, width: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """AugMix's (m, w): m ~ Beta(1, 1) = U(0, 1), w ~ Dirichlet(1, …, 1) = normalised Exp(1) draws."""
    m = torch.rand(n, generator=generator)
    exp = -torch.log(torch.rand(n, width, generator=generator).clamp_min(1e-12))
    return m, exp / exp.sum(dim=1, keepdim=True)


def augmix(
    x: torch.Tensor,
    width: int = 3,
    depth: int = -1,
    severity: float = 3.0,
    operators: list[str] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One AugMix image per input: random chains mixed with random (m, w)."""
    chains = augment_chains(x, width, depth, severity, operators, generator)
    m, w = random_mixing_weights(x.shape[0], width, generator)
    return mix(x, chains, m.to(x.device, x.dtype), w.to(x.device, x.dtype))
