"""AugMix's operator list as batched tensor operations (CPU or GPU, one call per batch).

Every operator takes ``x`` (B×C×H×W float in [0, 1]), ``level`` (B, the per-sample strength drawn in
``[0.1, severity]``) and ``sign`` (B of ±1 for the signed geometric ops) and returns a tensor of the
same shape, still in [0, 1]. Operators are deterministic: all randomness is drawn beforehand by
:func:`sample_op_params` from one generator, so a seed reproduces a chain exactly.

Strength mappings follow AugMix at severity 3 (level ~ U(0.1, 3)):
posterize keeps 4 − ⌊level·4/10⌋ bits, rotate ±⌊level·3⌋°, solarize threshold 256 − ⌊level·25.6⌋,
shear ±level·0.03, translate ±⌊level·(S/3)/10⌋ px. The four operators that overlap with the -C
corruptions (color, contrast, brightness, sharpness) are left out, as in AugMix and AugMax.
Geometric operators use bilinear resampling with black fill, about the image centre.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

Op = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _per_sample(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def _quantize(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] float → integer levels 0..255 (as long), like an 8-bit image."""
    return (x.clamp(0, 1) * 255).round().long()


# ---------------------------------------------------------------- pixel operators


def autocontrast(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """Stretch each channel of each image to the full [0, 1] range (flat channels unchanged)."""
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    flat = hi <= lo
    scale = torch.where(flat, torch.ones_like(hi), 1.0 / (hi - lo).clamp_min(1e-12))
    offset = torch.where(flat, torch.zeros_like(lo), lo)
    return ((x - offset) * scale).clamp(0, 1)


def equalize(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation per image and channel on 256 levels (PIL's rule, batched)."""
    b, c, h, w = x.shape
    q = _quantize(x).view(b * c, h * w)
    hist = torch.zeros(b * c, 256, device=x.device, dtype=torch.long)
    hist.scatter_add_(1, q, torch.ones_like(q))
    # PIL: step = (pixels - count of the last occupied level) // 255; lut[i] = (cdf_before_i + step//2) // step
    last_index = 255 - (hist.flip(1) > 0).long().argmax(dim=1, keepdim=True)
    last_count = hist.gather(1, last_index)
    step = (h * w - last_count) // 255
    cdf_before = hist.cumsum(1) - hist
    lut = ((cdf_before + step // 2) // step.clamp_min(1)).clamp(0, 255)
    out = torch.where(step > 0, lut.gather(1, q), q)
    return out.view(b, c, h, w).to(x.dtype) / 255.0


def posterize(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """Keep the top ``4 − ⌊level·4/10⌋`` bits of each 8-bit value."""
    bits = (4 - torch.floor(level * 4 / 10)).clamp(1, 8).long()
    divisor = (2 ** (8 - bits)).to(x.device).view(-1, 1, 1, 1)
    q = _quantize(x)
    return ((q // divisor) * divisor).to(x.dtype) / 255.0


def solarize(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """Invert every pixel at or above the threshold ``256 − ⌊level·25.6⌋`` (on the 8-bit scale)."""
    threshold = _per_sample(256 - torch.floor(level * 256 / 10), x)
    return torch.where(_quantize(x).to(x.dtype) >= threshold, 1.0 - x, x)


# ---------------------------------------------------------------- geometric operators


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample ``x`` with per-sample 2×3 matrices mapping output to input (normalized coords)."""
    grid = F.affine_grid(theta.to(device=x.device, dtype=x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp(0, 1)


def _eye(n: int) -> torch.Tensor:
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    return theta


def rotate(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    degrees = torch.floor(level * 30 / 10) * sign
    rad = degrees.cpu().float() * math.pi / 180
    theta = torch.zeros(x.shape[0], 2, 3)
    theta[:, 0, 0] = torch.cos(rad)
    theta[:, 0, 1] = -torch.sin(rad)
    theta[:, 1, 0] = torch.sin(rad)
    theta[:, 1, 1] = torch.cos(rad)
    return _affine(x, theta)


def shear_x(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    theta = _eye(x.shape[0])
    theta[:, 0, 1] = (level * 0.3 / 10 * sign).cpu().float()
    return _affine(x, theta)


def shear_y(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    theta = _eye(x.shape[0])
    theta[:, 1, 0] = (level * 0.3 / 10 * sign).cpu().float()
    return _affine(x, theta)


def _translate_pixels(level: torch.Tensor, size: int) -> torch.Tensor:
    return torch.floor(level * (size / 3) / 10)


def translate_x(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    theta = _eye(x.shape[0])
    width = x.shape[3]
    theta[:, 0, 2] = (_translate_pixels(level, width) * sign * 2 / width).cpu().float()
    return _affine(x, theta)


def translate_y(x: torch.Tensor, level: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    theta = _eye(x.shape[0])
    height = x.shape[2]
    theta[:, 1, 2] = (_translate_pixels(level, height) * sign * 2 / height).cpu().float()
    return _affine(x, theta)


OPERATORS: dict[str, Op] = {
    "autocontrast": autocontrast,
    "equalize": equalize,
    "posterize": posterize,
    "rotate": rotate,
    "solarize": solarize,
    "shear_x": shear_x,
    "shear_y": shear_y,
    "translate_x": translate_x,
    "translate_y": translate_y,
}


def sample_op_params(
    n: int, severity: float = 3.0, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (level, sign): level ~ U(0.1, severity), sign ±1 with probability 1/2 (on the CPU)."""
    level = 0.1 + (severity - 0.1) * torch.rand(n, generator=generator)
    sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    return level, sign
