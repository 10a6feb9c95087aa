"""Two probes of what moves GDP's gates (why GDP's channel allocation follows the FLOPs prices).

    .venv/bin/python experiments/gdp_gate_probes.py --recipe prune/gdp-quality-full --drift-epochs 2

* **radial**: for every gated channel space, the loss's derivative along a common factor on all of the
  space's gates, d/dα L(α·g) at α = 1 = Σ_c g_c ∂L/∂g_c, beside Σ_c |g_c ∂L/∂g_c| (one training batch,
  train-mode BN, gates spread uniformly in x ∈ [0.1, 1]). Where every reader of a space is a conv followed
  by batch-statistics BN the first is ~0: the task loss cannot resist the penalty shrinking a whole space.
* **drift**: the gate phase with λ = 0 (the recipe's gate lr, schedule and ε) for a few epochs: how far the
  task gradient alone moves the gate scalars x, per space.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
import torch.nn.functional as F

from vita_cli.core.recipe import load_recipe
from vita_cli.core.seed import seed_everything
from vita_cli.methods import gdp
from vita_cli.methods.imp import PruneRecipe
from vita_cli.models import build_model
from vita_cli.training.setup import arch_spec, build_loaders


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="prune/gdp-quality-full")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--train-subset", type=int, default=8000, help="images for the drift probe")
    parser.add_argument("--drift-epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("overrides", nargs="*", help="recipe overrides, e.g. gdp.gate_lr=0.1")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    rec, _ = load_recipe(
        args.recipe, PruneRecipe, overrides=[f"data.train_subset={args.train_subset}", *args.overrides]
    )
    cfg = gdp.gdp_config(rec)
    seed_everything(args.seed)
    loaders = build_loaders(rec.data, seed=args.seed)
    model = build_model(arch_spec(rec.model, loaders.bundle))
    shape = (loaders.bundle.in_channels, loaders.bundle.image_size, loaders.bundle.image_size)
    graph = gdp.build_channel_graph(model, shape)
    names = {s: graph.spaces[s].producers[0] for s in graph.gated_spaces}

    bank = gdp.GateBank(graph, init=cfg.gate_init, eps=cfg.eps_start)
    with torch.no_grad():
        for s in bank.space_ids:
            bank.raw(s).uniform_(0.1, 1.0)
    images, labels = next(iter(loaders.train))
    model.train()
    with gdp.GateHooks(model, graph, bank):
        F.cross_entropy(model(images), labels).backward()
    print("radial: d/dα L(α·g) vs Σ|g ∂L/∂g| per space (one batch, train-mode BN)")
    for s in bank.space_ids:
        x = bank.raw(s).detach()
        slope = 2 * bank.eps * x / (x * x + bank.eps) ** 2  # dg/dx
        g_dl_dg = bank.gate(s).detach() * bank.raw(s).grad / slope
        print(
            f"  space {s:>3} ({names[s]:<16} {graph.spaces[s].size:>3} ch)"
            f"  radial {float(g_dl_dg.sum()):+.2e}   Σ|·| {float(g_dl_dg.abs().sum()):.2e}"
        )

    seed_everything(args.seed)
    model = build_model(arch_spec(rec.model, loaders.bundle))
    bank = gdp.GateBank(graph, init=cfg.gate_init, eps=cfg.eps_start)
    start = {s: bank.raw(s).detach().clone() for s in bank.space_ids}
    free = dataclasses.replace(cfg, lam_start=0.0, epochs=args.drift_epochs, min_epochs=args.drift_epochs)
    gdp.gdp_phase(model, graph, bank, loaders.train, loaders.val, free, rec.train, torch.device("cpu"))
    print(
        f"drift: λ = 0, {args.drift_epochs} epochs on {args.train_subset} images, x₀ = {cfg.gate_init},"
        f" gate lr {cfg.gate_lr or rec.train.lr}"
    )
    for s in bank.space_ids:
        moved = (bank.raw(s).detach() - start[s]).abs()
        print(
            f"  space {s:>3} ({names[s]:<16} {graph.spaces[s].size:>3} ch)"
            f"  mean |Δx| {float(moved.mean()):.4f}   max |Δx| {float(moved.max()):.4f}"
        )


if __name__ == "__main__":
    main()
