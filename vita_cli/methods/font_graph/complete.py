"""Few-shot completion, graph editing and interpolation with a trained model (tensors in, arrays out)."""

from __future__ import annotations

import numpy as np
import torch

from vita_cli.methods.font_graph.model import FontGraphModel


@torch.no_grad()
def encode_refs(model: FontGraphModel, refs: np.ndarray, device) -> torch.Tensor:
    """Mean style code of k reference glyphs [k, R, R] → [F]."""
    model.eval()
    return model.encode(torch.as_tensor(refs, dtype=torch.float32, device=device)).mean(0)


@torch.no_grad()
def decode_all(
    model: FontGraphModel, z: torch.Tensor, template_ends: np.ndarray, device
) -> tuple[np.ndarray, np.ndarray | None]:
    """All 26 letters from one style code: images [26, R, R] and graphs [26, N, 4] (None for img2img)."""
    model.eval()
    letters = torch.arange(26, device=device)
    zz = z.to(device).unsqueeze(0).expand(26, -1)
    ends = torch.as_tensor(template_ends, device=device)
    images, graphs = model.decode(zz, letters, ends)
    return images.float().cpu().numpy(), None if graphs is None else graphs.float().cpu().numpy()


def complete(model: FontGraphModel, refs: np.ndarray, template_ends: np.ndarray, device):
    """k reference glyphs → (images [26, R, R], graphs [26, N, 4] or None)."""
    return decode_all(model, encode_refs(model, refs, device), template_ends, device)


@torch.no_grad()
def render_graph(
    model: FontGraphModel, graph: np.ndarray, ends: np.ndarray, letter: int, device
) -> np.ndarray:
    """One glyph graph (x, y in [0, 1]) → its rendered image [R, R]."""
    model.eval()
    g = torch.as_tensor(graph, dtype=torch.float32, device=device).unsqueeze(0)
    e = torch.as_tensor(ends, device=device).unsqueeze(0)
    return model.render_graph(g, e, torch.tensor([letter], device=device))[0].float().cpu().numpy()


def interpolate(model: FontGraphModel, za: torch.Tensor, zb: torch.Tensor, steps: int, template_ends, device):
    """Sheets [steps, 26, R, R] along the straight line between two style codes."""
    out = []
    for w in np.linspace(0.0, 1.0, steps):
        images, _ = decode_all(model, (1 - w) * za + w * zb, template_ends, device)
        out.append(images)
    return np.stack(out)
