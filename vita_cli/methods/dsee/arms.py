"""The four arms: DSEE (low-rank + sparse), LoRA (low-rank only), full fine-tuning, head only.

The task head (every parameter outside the pretrained backbone, e.g. ``classifier``) always trains;
the backbone's pooler stays frozen in the adapter arms, as in the official code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from vita_cli.methods.dsee.adapter import DseeLinear, find_targets, set_submodule
from vita_cli.methods.dsee.omega import choose_omega


@dataclass
class ArmSpec:
    method: str = "dsee"  # dsee | lora | full | head
    r: int = 16
    alpha: float = 32.0
    n_sparse: int = 16
    omega: str = "grebsmo"
    targets: list[str] = field(default_factory=lambda: ["query", "value"])
    init_std: float = 0.02
    grebsmo: dict = field(default_factory=dict)


def is_head_parameter(model: nn.Module, name: str) -> bool:
    prefix = getattr(model, "base_model_prefix", "")
    return not (prefix and name.startswith(prefix + "."))


def check_arm(model: nn.Module, spec: ArmSpec) -> list[tuple[str, nn.Linear]]:
    """The target layers; ValueError when none match or r / N do not fit a matrix."""
    if spec.method not in ("dsee", "lora"):
        return []
    targets = find_targets(model, spec.targets)
    if not targets:
        raise ValueError(f"no linear layer named {', '.join(spec.targets)} in the model (adapter.targets)")
    for name, lin in targets:
        out_f, in_f = lin.weight.shape
        if spec.r > min(out_f, in_f):
            raise ValueError(f"adapter.r={spec.r} is larger than the {out_f}x{in_f} matrix {name}")
        if spec.method == "dsee" and spec.n_sparse > out_f * in_f:
            raise ValueError(
                f"adapter.n_sparse={spec.n_sparse} is larger than the {out_f}x{in_f}={out_f * in_f} entries of {name}"
            )
    return targets


def build_arm(model: nn.Module, spec: ArmSpec, seed: int = 0, on_layer=None) -> nn.Module:
    """Freeze / wrap ``model`` in place for the arm; ``on_layer(i, n)`` reports Ω progress."""
    targets = check_arm(model, spec)
    for name, p in model.named_parameters():
        p.requires_grad_(spec.method == "full" or is_head_parameter(model, name))
    gen = torch.Generator().manual_seed(seed)
    for i, (name, lin) in enumerate(targets):
        omega = None
        if spec.method == "dsee":
            omega = choose_omega(lin.weight, spec.n_sparse, spec.omega, generator=gen, **spec.grebsmo)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 1009 + i)
            layer = DseeLinear(lin, spec.r, spec.alpha, omega, init_std=spec.init_std)
        set_submodule(model, name, layer)
        if on_layer is not None:
            on_layer(i + 1, len(targets))
    return model
