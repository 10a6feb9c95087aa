"""Scheme 1, extreme-ticket fragility: remove weighted random-walk paths (or random kernels), retrain.

A path walks the masked convs in module order. At layer ℓ with kernel-L1 scores
``S[j, i] = Σ|W ⊙ M|[j, i]`` (rewind-point weights, original mask), it enters at input channel ``i``
(the previous step's output channel, or a uniform start), picks an output channel ``j`` with
probability ``S[j, i] / Σ_j S[j, i]`` and removes kernel ``(j, i)``. Columns without live kernels
restart at a random column that has some. Scores come from the unmodified mask, so paths may repeat
(as in the paper's code). The control removes the same number of distinct kernels uniformly at
random among the live ones. After either, the ticket is rewound and retrained with its new mask.
"""

from __future__ import annotations

import torch

from vita_cli.core.progress import SILENT
from vita_cli.methods.ticket.embed import channel_map
from vita_cli.methods.ticket.engine import retrain, test_accuracy


def kernel_scores(
    weights: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Cout×Cin kernel L1 norms of the masked conv weights."""
    out = {}
    for name, m in masks.items():
        if m.dim() != 4:
            continue
        w = weights[name].detach().float().cpu() * m.float().cpu()
        out[name] = w.abs().sum(dim=(2, 3))
    return out


def remove_paths(
    weights: dict[str, torch.Tensor],
    masks: dict[str, torch.Tensor],
    n_paths: int,
    gen: torch.Generator,
    weighted: bool = True,
) -> tuple[dict[str, torch.Tensor], int]:
    """New masks with ``n_paths`` random-walk paths removed; also the number of distinct kernels removed."""
    scores = kernel_scores(weights, masks)
    layers = list(scores)
    removed = {n: torch.zeros_like(s, dtype=torch.bool) for n, s in scores.items()}
    for _ in range(n_paths):
        j = None
        for name in layers:
            s = scores[name] if weighted else (scores[name] > 0).float()
            cin = s.shape[1]
            i = j if j is not None and j < cin else int(torch.randint(cin, (1,), generator=gen))
            column = s[:, i]
            if float(column.sum()) <= 0:
                live_cols = torch.nonzero(s.sum(0) > 0).squeeze(1)
                if len(live_cols) == 0:
                    j = None
                    continue
                i = int(live_cols[torch.randint(len(live_cols), (1,), generator=gen)])
                column = s[:, i]
            j = int(torch.multinomial(column / column.sum(), 1, generator=gen))
            removed[name][j, i] = True
    new = {n: m.clone().bool() for n, m in masks.items()}
    for name, r in removed.items():
        new[name][r] = False
    return new, int(sum(int(r.sum()) for r in removed.values()))


def remove_random_kernels(
    masks: dict[str, torch.Tensor], n_kernels: int, gen: torch.Generator
) -> dict[str, torch.Tensor]:
    """New masks with ``n_kernels`` live kernels (over all masked convs) emptied uniformly at random."""
    live = []
    for name, m in masks.items():
        if m.dim() == 4:
            live += [(name, int(j), int(i)) for j, i in torch.nonzero(channel_map(m))]
    pick = torch.randperm(len(live), generator=gen)[: min(n_kernels, len(live))]
    new = {n: m.clone().bool() for n, m in masks.items()}
    for k in pick.tolist():
        name, j, i = live[k]
        new[name][j, i] = False
    return new


def run_fragility(
    model,
    masks: dict[str, torch.Tensor],
    rewind_state: dict[str, torch.Tensor] | None,
    strengths: list[float],
    loaders,
    train_cfg,
    device,
    reporter=None,
    seed: int = 0,
) -> dict:
    """Accuracy after removing ``n`` weighted paths vs the same number of random kernels, each retrained.

    Strength 0 retrains the unperturbed ticket: the reference for the drops.
    """

    reporter = reporter or SILENT
    score_weights = rewind_state if rewind_state is not None else dict(model.named_parameters())
    live_kernels = sum(int(channel_map(m).sum()) for m in masks.values() if m.dim() == 4)
    total = sum(m.numel() for m in masks.values())
    remaining = sum(int(m.sum()) for m in masks.values()) / max(1, total)
    points, reference = [], None
    with reporter.task("path removal", total=len(strengths)) as task:
        for n_paths in strengths:
            n_paths = int(n_paths)
            if n_paths == 0:
                acc = test_accuracy(
                    retrain(model, rewind_state, masks, loaders, train_cfg, device), loaders, device
                )
                reference = acc
                points.append(
                    {"strength": 0, "kernels_removed": 0, "test_acc_paths": acc, "test_acc_random": acc}
                )
                task.advance(1)
                continue
            gen = torch.Generator().manual_seed(seed + n_paths)
            by_paths, kernels = remove_paths(score_weights, masks, n_paths, gen)
            by_random = remove_random_kernels(masks, kernels, gen)
            acc_p = test_accuracy(
                retrain(model, rewind_state, by_paths, loaders, train_cfg, device), loaders, device
            )
            acc_r = test_accuracy(
                retrain(model, rewind_state, by_random, loaders, train_cfg, device), loaders, device
            )
            points.append(
                {
                    "strength": n_paths,
                    "kernels_removed": kernels,
                    "kernels_removed_frac": kernels / max(1, live_kernels),
                    "weights_removed_paths": sum(int(masks[n].sum() - by_paths[n].sum()) for n in masks),
                    "weights_removed_random": sum(int(masks[n].sum() - by_random[n].sum()) for n in masks),
                    "test_acc_paths": acc_p,
                    "test_acc_random": acc_r,
                }
            )
            task.advance(1, paths=f"{acc_p:.1f}", random=f"{acc_r:.1f}")
    if reference is not None:
        for p in points:
            p["drop_paths"] = reference - p["test_acc_paths"]
            p["drop_random"] = reference - p["test_acc_random"]
    return {
        "attack": "paths",
        "remaining": remaining,
        "live_kernels": live_kernels,
        "rewind_point": rewind_state is not None,
        "points": points,
    }
