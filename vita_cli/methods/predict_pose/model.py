"""Skeleton-Graph (ST-GCNN stack + time-extrapolator CNN) and the baselines, all ``(B,T_obs,J,2) → (B,T_pred,J,3)``.

Faithful port of the released layer (``aggregation="faithful"``): the "graph convolution" is
``einsum('bfjy,bsjv->bfjs', x, A)``, which factorises into a time-pooled per-joint feature times the
learned per-frame row sum of A (:func:`faithful_aggregate`). ``aggregation="gcn"`` aggregates features of
neighbouring joints over the (learned) adjacency instead: ``Y[:, :, j, s] = x[:, :, j, s] + Σ_v A_s[j, v]
x[:, :, v, s]`` on a time-padded feature. ``learn_adjacency=False`` keeps the binary limb adjacency fixed.
"""

from __future__ import annotations

import torch
from torch import nn


def faithful_aggregate(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The released layer's product: ``x [B,F,J,Y]``, ``a [B,S,J,V]`` → ``[B,F,J,S]``."""
    return torch.einsum("bfjy,bsjv->bfjs", x, a)


def factorised_aggregate(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The same product written as the notes factorise it: (Σ_y x) · (Σ_v A) — no mixing across joints."""
    return x.sum(dim=3, keepdim=True) * a.sum(dim=3).unsqueeze(1).transpose(2, 3)


def gcn_aggregate(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Neighbour aggregation with self loop: ``x [B,F,J,S]``, ``a [B,S,J,V]`` → ``[B,F,J,S]``."""
    return x + torch.einsum("bsjv,bfvs->bfjs", a, x)


class _TimeConv(nn.Sequential):
    """BN over the time channels → PReLU → 3×3 conv (replicate padding) → BN: the residual branches."""

    def __init__(self, t: int, pre_bn: bool = True, dropout: float = 0.0):
        layers = [nn.BatchNorm2d(t)] if pre_bn else []
        layers += [
            nn.PReLU(),
            nn.Conv2d(t, t, 3, padding=1, padding_mode="replicate"),
            nn.BatchNorm2d(t),
        ]
        if dropout:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class STGCNN(nn.Module):
    """One spatio-temporal graph layer: ``V [B,T,J,C_in], A [B,T,J,J]`` → ``V' [B,T,J,C_out], A'``."""

    def __init__(
        self, c_in: int, c_out: int, t: int, aggregation: str = "faithful", learn_adjacency: bool = True
    ):
        super().__init__()
        if aggregation not in ("faithful", "gcn"):
            raise ValueError(f"aggregation must be faithful or gcn, got {aggregation!r}")
        self.aggregation = aggregation
        self.adjacency = _TimeConv(t) if learn_adjacency else None
        pad = (0, 1) if aggregation == "gcn" else 0  # gcn keeps T frames so frame s meets A_s
        self.feature = nn.Conv2d(
            c_in, c_out, (1, 3), padding=pad, padding_mode="replicate" if pad else "zeros"
        )
        self.temporal = _TimeConv(t)

    def forward(self, v: torch.Tensor, a: torch.Tensor):
        if self.adjacency is not None:
            a = self.adjacency(a)
        x = self.feature(v.permute(0, 3, 2, 1))  # [B, C_out, J, T-2 or T]
        y = faithful_aggregate(x, a) if self.aggregation == "faithful" else gcn_aggregate(x, a)
        y = y.permute(0, 3, 2, 1)  # [B, T, J, C_out]
        return y + self.temporal(y), a


class SkeletonGraph(nn.Module):
    """``n_stgcnn`` ST-GCNN layers (2→3, then 3→3 residual) and ``n_txpcnn`` time-extrapolator layers."""

    def __init__(
        self,
        adjacency: torch.Tensor,
        t_obs: int = 5,
        t_pred: int = 10,
        n_stgcnn: int = 5,
        n_txpcnn: int = 11,
        aggregation: str = "faithful",
        learn_adjacency: bool = True,
        width: int = 3,
    ):
        super().__init__()
        if n_stgcnn < 1 or n_txpcnn < 1:
            raise ValueError("n_stgcnn and n_txpcnn must be at least 1")
        self.register_buffer("A", adjacency.float().clone())
        self.t_obs = t_obs
        self.layers = nn.ModuleList(
            [
                STGCNN(2 if k == 0 else width, width, t_obs, aggregation, learn_adjacency)
                for k in range(n_stgcnn)
            ]
        )
        self.head = nn.Sequential(nn.Conv2d(t_obs, t_pred, 3, padding=1), nn.BatchNorm2d(t_pred), nn.PReLU())
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(t_pred, t_pred, 3, padding=1), nn.BatchNorm2d(t_pred), nn.PReLU())
            for _ in range(max(0, n_txpcnn - 2))
        )
        self.out = nn.Conv2d(t_pred, t_pred, 3, padding=1)
        self.to3d = nn.Identity() if width == 3 else nn.Linear(width, 3)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        a = self.A.expand(v.shape[0], self.t_obs, *self.A.shape)
        for k, layer in enumerate(self.layers):
            v_k, a_k = layer(v, a)
            v, a = (v_k, a_k) if k == 0 else (v + v_k, a + a_k)
        v = self.head(v)  # time as channels: [B, T_pred, J, 3]
        for block in self.blocks:
            v = block(v) + v
        return self.to3d(self.out(v))


class Lifter(nn.Module):
    """Per-frame 2D→3D lifting MLP (the lift of the zero- and constant-velocity baselines)."""

    def __init__(self, joints: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 * joints, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 3 * joints),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [..., J, 2] → [..., J, 3]
        return self.net(x.flatten(-2)).unflatten(-1, (x.shape[-2], 3))


class LiftExtrapolate(nn.Module):
    """Lift observed frames, then hold the last pose (``velocity=False``) or continue its last velocity."""

    def __init__(self, lifter: Lifter, t_pred: int, velocity: bool):
        super().__init__()
        self.lifter, self.t_pred, self.velocity = lifter, t_pred, velocity

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        last = self.lifter(v[:, -1])
        steps = torch.arange(1, self.t_pred + 1, device=v.device, dtype=v.dtype).view(1, -1, 1, 1)
        if not self.velocity:
            return last.unsqueeze(1).expand(-1, self.t_pred, -1, -1)
        vel = last - self.lifter(v[:, -2])
        return last.unsqueeze(1) + steps * vel.unsqueeze(1)


class ARGRU(nn.Module):
    """Autoregressive GRU: encode the 2D history, lift the last pose, then predict one 3D frame at a time
    from its own previous output (residual steps). ``teacher`` (training only): the true previous frame
    replaces the prediction with that probability."""

    def __init__(self, joints: int, t_pred: int, hidden: int = 128):
        super().__init__()
        self.t_pred = t_pred
        self.encoder = nn.GRU(2 * joints, hidden, batch_first=True)
        self.lift = nn.Linear(hidden, 3 * joints)
        self.cell = nn.GRUCell(3 * joints, hidden)
        self.delta = nn.Linear(hidden, 3 * joints)

    def forward(self, v: torch.Tensor, target: torch.Tensor | None = None, teacher: float = 0.0):
        b, _, j, _ = v.shape
        _, h = self.encoder(v.flatten(2))
        h = h[0]
        pose = self.lift(h)
        outputs = []
        for k in range(self.t_pred):
            h = self.cell(pose, h)
            pose = pose + self.delta(h)
            outputs.append(pose)
            if target is not None and teacher > 0:
                use = (torch.rand(b, 1, device=v.device) < teacher).to(v.dtype)
                pose = use * target[:, k].flatten(1) + (1 - use) * pose
        return torch.stack(outputs, 1).view(b, self.t_pred, j, 3)


class Denormalise(nn.Module):
    """Wraps a model that works on per-coordinate standardised 3D: outputs ``net(·)·std + mean`` metres
    (and standardises a teacher-forcing target on the way in)."""

    def __init__(self, net: nn.Module, mean, std):
        super().__init__()
        self.net = net
        self.register_buffer("y_mean", torch.as_tensor(mean, dtype=torch.float32).view(3))
        self.register_buffer("y_std", torch.as_tensor(std, dtype=torch.float32).view(3))

    def forward(
        self, v: torch.Tensor, target: torch.Tensor | None = None, teacher: float = 0.0
    ) -> torch.Tensor:
        if target is not None:
            return self.net(v, (target - self.y_mean) / self.y_std, teacher) * self.y_std + self.y_mean
        return self.net(v) * self.y_std + self.y_mean


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
