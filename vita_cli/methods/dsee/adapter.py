"""The sparsity-embedded low-rank update ΔW = (α/r)(B·A + S⊙Ω) on a frozen linear layer.

S is stored as its N values and their flat positions Ω in the (out × in) weight, never as a dense
masked matrix: the sparse term of the output is gathered from the input columns of Ω and scattered
into the output rows with ``index_add``, so it costs N multiply-adds per token (no d×d product).

After unstructured pruning a layer carries a 0/1 mask M of its weight; its effective weight is then
(W + ΔW) ⊙ M, so the pruned entries stay exactly zero in the merged model (the official code left
the update unmasked).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class DseeLinear(nn.Module):
    """y = x (W⊙M)ᵀ + b + (α/r)·[(x Aᵀ) Bᵀ + sparse(x)]; only A, B and the values of S train."""

    def __init__(
        self,
        base: nn.Linear,
        r: int,
        alpha: float,
        omega: torch.Tensor | None = None,
        init_std: float = 0.02,
    ):
        super().__init__()
        out_f, in_f = base.weight.shape
        if r > min(out_f, in_f):
            raise ValueError(f"rank r={r} exceeds the {out_f}x{in_f} matrix")
        self.in_features, self.out_features = in_f, out_f
        self.r, self.alpha = r, float(alpha)
        self.weight = nn.Parameter(base.weight.detach().clone(), requires_grad=False)
        self.bias = (
            nn.Parameter(base.bias.detach().clone(), requires_grad=False) if base.bias is not None else None
        )
        dev, dt = self.weight.device, self.weight.dtype
        self.lora_A = nn.Parameter(torch.randn(r, in_f, device=dev, dtype=dt) * init_std)
        self.lora_B = nn.Parameter(torch.zeros(out_f, r, device=dev, dtype=dt))
        index = torch.zeros(0, dtype=torch.long, device=dev) if omega is None else omega.to(dev, torch.long)
        if index.numel() > out_f * in_f:
            raise ValueError(f"N={index.numel()} sparse entries exceed the {out_f}x{in_f} matrix")
        self.register_buffer("sparse_index", index.clone())
        self.sparse_values = nn.Parameter(torch.zeros(index.numel(), device=dev, dtype=dt))
        self.register_buffer("weight_mask", None)

    @property
    def scale(self) -> float:
        return self.alpha / self.r

    @property
    def n_sparse(self) -> int:
        return int(self.sparse_index.numel())

    def sparse_rows_cols(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.sparse_index // self.in_features, self.sparse_index % self.in_features

    def sparse_dense(self) -> torch.Tensor:
        """S⊙Ω as a dense matrix (for merging, scoring and tests only)."""
        s = torch.zeros(
            self.out_features * self.in_features, device=self.weight.device, dtype=self.weight.dtype
        )
        s = s.index_put((self.sparse_index,), self.sparse_values)
        return s.view(self.out_features, self.in_features)

    def delta(self) -> torch.Tensor:
        """ΔW = (α/r)(B·A + S⊙Ω), dense, unmasked."""
        d = self.lora_B @ self.lora_A
        if self.n_sparse:
            d = d + self.sparse_dense()
        return d * self.scale

    def merged_weight(self) -> torch.Tensor:
        w = self.weight + self.delta()
        return w if self.weight_mask is None else w * self.weight_mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight_mask is not None:
            # pruned: the update must respect the mask, so it is merged (and masked) here
            return F.linear(x, self.merged_weight(), self.bias)
        y = F.linear(x, self.weight, self.bias)
        low = F.linear(F.linear(x, self.lora_A), self.lora_B)
        if self.n_sparse:
            # S x: gather the N input columns of Ω, scale by S's values, scatter-add into their output rows
            rows, cols = self.sparse_rows_cols()
            # under autocast `low` is half precision while S stays float32: add in `low`'s dtype
            source = (x.index_select(-1, cols) * self.sparse_values).to(low.dtype)
            low = low.index_add(-1, rows, source)
        return torch.add(y, low, alpha=self.scale)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Fix a 0/1 mask of the weight: W ← W⊙M and ΔW is masked from now on."""
        mask = mask.to(self.weight.device, self.weight.dtype)
        with torch.no_grad():
            self.weight.mul_(mask)
        self.weight_mask = mask

    def keep_outputs(self, keep: torch.Tensor) -> None:
        """Keep only the output rows ``keep`` (head removal): W, b, B, S rows and the mask."""
        keep = keep.to(self.weight.device)
        self.weight = nn.Parameter(self.weight.detach()[keep].clone(), requires_grad=False)
        if self.bias is not None:
            self.bias = nn.Parameter(self.bias.detach()[keep].clone(), requires_grad=False)
        self.lora_B = nn.Parameter(self.lora_B.detach()[keep].clone())
        if self.weight_mask is not None:
            self.weight_mask = self.weight_mask[keep].clone()
        rows, cols = self.sparse_rows_cols()
        new_row = torch.full((self.out_features,), -1, dtype=torch.long, device=keep.device)
        new_row[keep] = torch.arange(keep.numel(), device=keep.device)
        alive = new_row[rows] >= 0
        self.sparse_index = new_row[rows[alive]] * self.in_features + cols[alive]
        self.sparse_values = nn.Parameter(self.sparse_values.detach()[alive].clone())
        self.out_features = int(keep.numel())

    def keep_inputs(self, keep: torch.Tensor) -> None:
        """Keep only the input columns ``keep``: W, A, S columns and the mask."""
        keep = keep.to(self.weight.device)
        self.weight = nn.Parameter(self.weight.detach()[:, keep].clone(), requires_grad=False)
        self.lora_A = nn.Parameter(self.lora_A.detach()[:, keep].clone())
        if self.weight_mask is not None:
            self.weight_mask = self.weight_mask[:, keep].clone()
        rows, cols = self.sparse_rows_cols()
        new_col = torch.full((self.in_features,), -1, dtype=torch.long, device=keep.device)
        new_col[keep] = torch.arange(keep.numel(), device=keep.device)
        alive = new_col[cols] >= 0
        self.in_features = int(keep.numel())
        self.sparse_index = rows[alive] * self.in_features + new_col[cols[alive]]
        self.sparse_values = nn.Parameter(self.sparse_values.detach()[alive].clone())

    def to_linear(self) -> nn.Linear:
        """A plain ``nn.Linear`` holding the merged (and masked) weight."""
        lin = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None)
        lin = lin.to(self.weight.device, self.weight.dtype)
        with torch.no_grad():
            lin.weight.copy_(self.merged_weight())
            if self.bias is not None:
                lin.bias.copy_(self.bias)
        return lin

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, r={self.r}, alpha={self.alpha}, N={self.n_sparse}"


# ---------------------------------------------------------------- module-tree helpers


def find_targets(model: nn.Module, targets: list[str]) -> list[tuple[str, nn.Linear]]:
    """Linear layers whose last name component is one of ``targets`` (e.g. query, value)."""
    found = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in targets:
            found.append((name, module))
    return found


def set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def adapted_layers(model: nn.Module) -> list[tuple[str, DseeLinear]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, DseeLinear)]


def merge_adapters(model: nn.Module) -> nn.Module:
    """Replace every DseeLinear by an nn.Linear with the merged weight (in place)."""
    for name, module in adapted_layers(model):
        set_submodule(model, name, module.to_linear())
    return model


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def total_parameters(model: nn.Module) -> int:
    """Parameters of the deployed model: adapters count as their merged weight (not A, B, S)."""
    total = 0
    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in ("lora_A", "lora_B", "sparse_values"):
            continue
        total += p.numel()
    return total


def expected_trainable(shapes: list[tuple[int, int]], r: int, n_sparse: int, head: int) -> int:
    """The formula: Σ over adapted (out × in) matrices of r·(in + out) + N, plus the head."""
    return sum(r * (o + i) + n_sparse for o, i in shapes) + head


def lora_fraction(total: int, trainable: int) -> float:
    return 100.0 * trainable / total if total else math.nan
