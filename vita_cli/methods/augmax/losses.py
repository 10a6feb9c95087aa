"""The AugMix / AugMax consistency loss.

    JS(p₁, …, p_k) = (1/k)·Σⱼ KL(pⱼ ‖ M),   M = clamp(mean(pⱼ), 1e-7, 1)

with KL averaged over the batch (PyTorch ``kl_div(log M, p, reduction="batchmean")``), as in AugMix and
AugMax. The training loss is CE(clean) + λ·JS(clean, AugMax, AugMix).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def js_divergence(*logits: torch.Tensor) -> torch.Tensor:
    """Jensen–Shannon divergence among the softmax distributions of two or more logit tensors."""
    if len(logits) < 2:
        raise ValueError("js_divergence needs at least two distributions")
    probs = [F.softmax(z, dim=1) for z in logits]
    log_mixture = torch.clamp(torch.stack(probs).mean(dim=0), 1e-7, 1).log()
    return sum(F.kl_div(log_mixture, p, reduction="batchmean") for p in probs) / len(probs)
