"""TorchScript export: a model file that runs with plain PyTorch, without vita, BatchNorm folded.

TorchScript is deprecated upstream in favour of ``torch.export``, but it is still what runs these small
convolutional networks fastest on a CPU (docs/results/gdp.md: an AOTInductor package of a GDP-compacted
ResNet-20 ran *slower* than the dense one at batch 1), so vita keeps it for deployment and silences the
deprecation notice.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn


@torch.no_grad()
def to_torchscript(model: nn.Module, example: torch.Tensor) -> tuple[torch.jit.ScriptModule, float]:
    """Trace ``model`` in eval mode on ``example`` and freeze it (constants inlined, BN folded into the
    convolutions, no per-module Python overhead: how CPU models are usually deployed).

    Returns the frozen module and max |eager − frozen| on ``example``, so a caller can refuse an export
    whose graph does not reproduce the model (data-dependent control flow is not traced).
    """
    model = model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)
        frozen = torch.jit.freeze(torch.jit.trace(model, example))
    gap = float((frozen(example).float() - model(example).float()).abs().max())
    return frozen, gap


def save_torchscript(module: torch.jit.ScriptModule, path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(module, str(path))
