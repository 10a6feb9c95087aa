"""Device resolution (auto / cpu / cuda / cuda:N) and mixed precision on CUDA."""

from __future__ import annotations

import contextlib
import re

import torch

from vita_cli.core.errors import UserError

_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without one is a user error."""
    spec = (spec or "auto").strip().lower()
    if not _DEVICE_RE.match(spec):
        raise UserError(f"unknown device {spec!r}", "use auto, cpu, cuda or cuda:N")
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device {spec!r} requested but CUDA is not available", "use --device cpu")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise UserError(
                f"device {spec!r} does not exist ({torch.cuda.device_count()} CUDA devices)",
                "pick an index below the device count",
            )
        return torch.device("cuda", index)
    return torch.device("cpu")


def autocast(device: torch.device, enabled: bool = True):
    """bfloat16/float16 autocast on CUDA; a no-op context on the CPU (keeps CPU runs exact)."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def grad_scaler(device: torch.device, enabled: bool = True):
    return torch.amp.GradScaler("cuda", enabled=enabled and device.type == "cuda")


@contextlib.contextmanager
def exact_float32():
    """Full float32 arithmetic on CUDA (TF32 off) for checks that compare two networks' outputs.

    TF32 convolutions round to a 10-bit mantissa, so two algebraically equal networks with different
    layer shapes differ by ~1e-3 in their logits on a GPU; an equality check must not see that.
    """
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def describe() -> dict:
    info = {
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cuda_version": torch.version.cuda,
        "threads": torch.get_num_threads(),
        "auto_device": str(resolve_device("auto")),
    }
    if torch.cuda.is_available():
        info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info
