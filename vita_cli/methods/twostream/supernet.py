"""The weight-sharing two-stream network: one class for the supernet and for stand-alone models.

:class:`TwoStreamNet` is built for an *envelope* — the largest value of every variable plus the
fusion and attention operations it must hold. ``net(x, arch)`` runs any architecture inside the
envelope by **channel slicing** (prefix of output/input channels, centre crop of the depth-wise
kernel, sliced BatchNorm statistics). Built for a single architecture (``TwoStreamNet.standalone``),
every slice is the whole weight and the plain ``nn.Conv3d``/``nn.Linear`` modules are called, so
forward hooks see every multiply-accumulate (:func:`hook_macs`).

:func:`extract` copies an architecture's slices out of a supernet into a stand-alone model.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from vita_cli.methods.twostream.space import (
    ATTENTION_OPS,
    FUSION_OPS,
    TCONV_KERNEL,
    Architecture,
    Block,
    fusion_channels,
    se_hidden,
)


def _prefix(n: int):
    return slice(0, n)


class SlicedBN(nn.BatchNorm3d):
    """BatchNorm3d on the first ``c`` channels; ``recal`` > 0 switches to a cumulative average."""

    recal_step = 0  # set per batch by recalibration: momentum 1 / (step + 1)

    def forward(self, x):
        sel = _prefix(x.shape[1])  # a view: training updates the running statistics in place
        momentum = self.momentum if not self.recal_step else 1.0 / self.recal_step
        return F.batch_norm(
            x,
            self.running_mean[sel],
            self.running_var[sel],
            self.weight[sel],
            self.bias[sel],
            self.training,
            momentum,
            self.eps,
        )


def _conv(mod: nn.Conv3d, x, c_out: int, in_sel, kernel: tuple[int, int] | None = None, groups: bool = False):
    """``mod`` restricted to ``c_out`` outputs, input channels ``in_sel`` and a centred kernel."""
    w = mod.weight
    t_max, k_max = w.shape[2], w.shape[3]
    t, k = kernel if kernel is not None else (t_max, k_max)
    whole = (
        c_out == w.shape[0]
        and (groups or (isinstance(in_sel, slice) and in_sel.stop == w.shape[1]))
        and t == t_max
        and k == k_max
    )
    if whole:
        return mod(x)
    w = w[:c_out] if groups else w[:c_out][:, in_sel]
    if t != t_max or k != k_max:
        dt, dk = (t_max - t) // 2, (k_max - k) // 2
        w = w[:, :, dt : dt + t, dk : dk + k, dk : dk + k]
    pad = mod.padding if kernel is None else (t // 2, k // 2, k // 2)
    bias = mod.bias[:c_out] if mod.bias is not None else None
    return F.conv3d(x, w, bias, mod.stride, pad, 1, c_out if groups else 1)


class SuperBlock(nn.Module):
    """MBConv3D: 1×1×1 expand → t×k×k depth-wise (spatial stride) → attention → 1×1×1 project."""

    def __init__(self, c_in: int, t: int, k: int, e: int, c_out: int, attentions, stride: int):
        super().__init__()
        mid = c_in * e
        self.stride = stride
        self.expand = nn.Conv3d(c_in, mid, 1, bias=False)
        self.bn1 = SlicedBN(mid)
        self.dw = nn.Conv3d(
            mid, mid, (t, k, k), (1, stride, stride), (t // 2, k // 2, k // 2), groups=mid, bias=False
        )
        self.bn2 = SlicedBN(mid)
        self.att = set(attentions)
        if "se" in self.att:
            hidden = se_hidden(mid)
            self.se_reduce = nn.Conv3d(mid, hidden, 1)
            self.se_expand = nn.Conv3d(hidden, mid, 1)
        if "tse" in self.att:
            self.tse = nn.Conv3d(mid, mid, (3, 1, 1), padding=(1, 0, 0), groups=mid)
        self.project = nn.Conv3d(mid, c_out, 1, bias=False)
        self.bn3 = SlicedBN(c_out)

    def forward(self, x, b: Block, in_sel=None):
        c_in = x.shape[1]
        mid = c_in * b.e
        sel = _prefix(c_in) if in_sel is None else in_sel
        y = F.silu(self.bn1(_conv(self.expand, x, mid, sel)))
        # depth-wise: groups = mid, the weight has one input channel per group
        y = F.silu(self.bn2(_conv(self.dw, y, mid, None, (b.t, b.k), groups=True)))
        if b.attention == "se":
            hidden = se_hidden(mid)
            g = y.mean(dim=(2, 3, 4), keepdim=True)
            g = F.relu(_conv(self.se_reduce, g, hidden, _prefix(mid)))
            g = torch.sigmoid(_conv(self.se_expand, g, mid, _prefix(hidden)))
            y = y * g
        elif b.attention == "tse":
            g = y.mean(dim=(3, 4), keepdim=True)
            g = torch.sigmoid(_conv(self.tse, g, mid, None, (3, 1), groups=True))
            y = y * g
        elif b.attention not in ATTENTION_OPS:
            raise ValueError(f"unknown attention {b.attention!r}")
        y = self.bn3(_conv(self.project, y, b.c, _prefix(mid)))
        if self.stride == 1 and b.c == c_in:
            y = y + x
        return y


class Fusion(nn.Module):
    """Fast → slow TS-Fusion: every operation the envelope holds, each conv + BN + ReLU."""

    def __init__(self, c_fast: int, alpha: int, ops):
        super().__init__()
        self.alpha = alpha
        self.ops = [op for op in FUSION_OPS if op in set(ops) and op != "none"]
        out = fusion_channels("tconv", c_fast)
        self.convs = nn.ModuleDict()
        self.bns = nn.ModuleDict()
        for op in self.ops:
            if op == "t2c":
                self.convs[op] = nn.Conv3d(c_fast * alpha, out, 1, bias=False)
            elif op == "tsample":
                self.convs[op] = nn.Conv3d(c_fast, out, 1, bias=False)
            else:
                self.convs[op] = nn.Conv3d(
                    c_fast, out, (TCONV_KERNEL, 1, 1), (alpha, 1, 1), (TCONV_KERNEL // 2, 0, 0), bias=False
                )
            self.bns[op] = SlicedBN(out)

    def forward(self, x, op: str):
        c = x.shape[1]
        out = fusion_channels(op, c)
        if op == "t2c":
            b, _, t, h, w = x.shape
            x = x.reshape(b, c, t // self.alpha, self.alpha, h, w).permute(0, 1, 3, 2, 4, 5)
            x = x.reshape(b, c * self.alpha, t // self.alpha, h, w)
            y = _conv(self.convs[op], x, out, _prefix(c * self.alpha))
        elif op == "tsample":
            y = _conv(self.convs[op], x[:, :, :: self.alpha], out, _prefix(c))
        elif op == "tconv":
            y = _conv(self.convs[op], x, out, _prefix(c))
        else:
            raise ValueError(f"unknown fusion operation {op!r}")
        return F.relu(self.bns[op](y))


class TwoStreamNet(nn.Module):
    def __init__(self, envelope: Architecture, fusion_ops=None, attention_ops=None):
        super().__init__()
        self.envelope = envelope
        a = envelope
        fusion_ops = (
            [set(fusion_ops or ()) | {op} for op in a.fusion]
            if fusion_ops is not None
            else [{op} for op in a.fusion]
        )
        self.fusion_ops = [sorted(s, key=FUSION_OPS.index) for s in fusion_ops]
        self.slow_stem = nn.Conv3d(3, a.slow_stem, (1, 3, 3), (1, 2, 2), (0, 1, 1), bias=False)
        self.slow_stem_bn = SlicedBN(a.slow_stem)
        self.slow_blocks = nn.ModuleList()
        self.fast_blocks = nn.ModuleList()
        self.fusions = nn.ModuleList()
        two = a.two_stream
        if two:
            self.fast_stem = nn.Conv3d(3, a.fast_stem, 3, (1, 2, 2), 1, bias=False)
            self.fast_stem_bn = SlicedBN(a.fast_stem)
        c_slow, c_fast, fuse = a.slow_stem, a.fast_stem, 0
        self.slow_in = []  # channels of the slow stream entering each stage (without fusion)
        for i, stage in enumerate(a.slow):
            c = c_slow + fuse
            self.slow_in.append(c_slow)
            for j, b in enumerate(stage):
                atts = attention_ops if attention_ops is not None else {b.attention}
                self.slow_blocks.append(SuperBlock(c, b.t, b.k, b.e, b.c, atts, 2 if j == 0 else 1))
                c = b.c
            c_slow = c
            if two:
                cf = c_fast
                for j, b in enumerate(a.fast[i]):
                    atts = attention_ops if attention_ops is not None else {b.attention}
                    self.fast_blocks.append(SuperBlock(cf, b.t, b.k, b.e, b.c, atts, 2 if j == 0 else 1))
                    cf = b.c
                c_fast = cf
                if i == len(a.slow) - 1:
                    break
                self.fusions.append(Fusion(c_fast, a.alpha, self.fusion_ops[i]))
                fuse = (
                    fusion_channels("tconv", c_fast) if any(op != "none" for op in self.fusion_ops[i]) else 0
                )
        self.c_slow_last, self.c_fast_last = c_slow, (c_fast if two else 0)
        self.dropout = nn.Dropout(a.dropout)
        self.head = nn.Linear(self.c_slow_last + self.c_fast_last, a.num_classes)

    @classmethod
    def supernet(cls, largest: Architecture, fusion_ops, attention_ops) -> TwoStreamNet:
        return cls(largest, fusion_ops, set(attention_ops))

    @classmethod
    def standalone(cls, arch: Architecture) -> TwoStreamNet:
        return cls(arch)

    def forward(self, x, arch: Architecture | None = None):
        """``x``: (batch, 3, frames, height, width) in [0, 1]-ish floats."""
        a = arch or self.envelope
        slow = x[:, :, :: a.slow_stride]
        slow = F.relu(self.slow_stem_bn(_conv(self.slow_stem, slow, a.slow_stem, _prefix(3))))
        if a.two_stream:
            fast = F.relu(self.fast_stem_bn(_conv(self.fast_stem, x, a.fast_stem, _prefix(3))))
        fused = None
        k_slow = k_fast = 0
        for i, stage in enumerate(a.slow):
            for j, b in enumerate(stage):
                block = self.slow_blocks[k_slow]
                sel = None
                if j == 0 and fused is not None:
                    c_s = slow.shape[1]
                    base = self.slow_in[i]
                    sel = torch.cat([torch.arange(c_s), base + torch.arange(fused.shape[1])]).to(x.device)
                    if c_s == base and fused.shape[1] + base == block.expand.weight.shape[1]:
                        sel = slice(0, block.expand.weight.shape[1])
                    slow = torch.cat([slow, fused], dim=1)
                slow = block(slow, b, sel)
                k_slow += 1
            fused = None
            if a.two_stream:
                for b in a.fast[i]:
                    fast = self.fast_blocks[k_fast](fast, b)
                    k_fast += 1
                if i < len(a.fusion) and a.fusion[i] != "none":
                    fused = self.fusions[i](fast, a.fusion[i])
        feats = slow.mean(dim=(2, 3, 4))
        if a.two_stream:
            feats = torch.cat([feats, fast.mean(dim=(2, 3, 4))], dim=1)
            c_s = slow.shape[1]
            if c_s == self.c_slow_last and feats.shape[1] == self.head.weight.shape[1]:
                return self.head(self.dropout(feats))
            sel = torch.cat([torch.arange(c_s), self.c_slow_last + torch.arange(fast.shape[1])]).to(x.device)
        else:
            sel = _prefix(feats.shape[1])
            if feats.shape[1] == self.head.weight.shape[1]:
                return self.head(self.dropout(feats))
        return F.linear(self.dropout(feats), self.head.weight[:, sel], self.head.bias)


# ------------------------------------------------------------------------------- weights & MACs


def extract(supernet: TwoStreamNet, arch: Architecture) -> TwoStreamNet:
    """A stand-alone model of ``arch`` holding the supernet's slices (weights and BN statistics)."""
    net = TwoStreamNet.standalone(arch)
    src = dict(supernet.named_parameters()) | dict(supernet.named_buffers())
    with torch.no_grad():
        for name, dst in list(net.named_parameters()) + list(net.named_buffers()):
            w = src[name]
            if dst.ndim == 0:
                dst.copy_(w)
                continue
            dst.copy_(_slice_like(name, w, dst, supernet, net))
    return net


def _slice_like(name: str, w: torch.Tensor, dst: torch.Tensor, sup: TwoStreamNet, net: TwoStreamNet):
    """The part of supernet tensor ``w`` that the stand-alone tensor ``dst`` corresponds to."""
    idx = []
    for dim, n in enumerate(dst.shape):
        big = w.shape[dim]
        if n == big:
            idx.append(slice(None))
        elif dim >= 2:  # kernel: centre crop
            off = (big - n) // 2
            idx.append(slice(off, off + n))
        else:
            idx.append(slice(0, n))
    # input channels that skip the unused part of a concatenation (slow + fusion, head)
    if dim_concat := _concat_input(name, sup, net):
        keep, offset, extra = dim_concat
        sel = torch.cat([torch.arange(keep), offset + torch.arange(extra)])
        out = w[tuple(idx[:1])].index_select(1, sel)
        return out[(slice(None), slice(None), *idx[2:])] if w.ndim > 2 else out
    return w[tuple(idx)]


def _concat_input(name: str, sup: TwoStreamNet, net: TwoStreamNet):
    if name == "head.weight" and net.envelope.two_stream:
        return net.c_slow_last, sup.c_slow_last, net.c_fast_last
    if name.startswith("slow_blocks.") and name.endswith(".expand.weight"):
        k = int(name.split(".")[1])
        # first block of a stage i > 0
        starts = [sum(len(s) for s in net.envelope.slow[:i]) for i in range(len(net.envelope.slow))]
        if k in starts and k > 0:
            i = starts.index(k)
            own_in = net.slow_blocks[k].expand.weight.shape[1]
            keep = net.slow_in[i]
            return keep, sup.slow_in[i], own_in - keep
    return None


def hook_macs(net: nn.Module, x: torch.Tensor) -> int:
    """MACs of one forward pass counted by forward hooks on every Conv3d and Linear (batch 1)."""
    total = [0]

    def conv_hook(mod, inputs, output):
        kt, kh, kw = mod.kernel_size
        total[0] += output[0].numel() * (mod.in_channels // mod.groups) * kt * kh * kw

    def linear_hook(mod, inputs, output):
        total[0] += output[0].numel() * mod.in_features

    handles = []
    for m in net.modules():
        if isinstance(m, nn.Conv3d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(x[:1])
    finally:
        for h in handles:
            h.remove()
        net.train(was)
    return total[0]
