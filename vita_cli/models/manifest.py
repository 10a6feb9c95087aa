"""GDP's compact models without pickle: the modules a compaction inserts and the shape manifest.

A compacted network is described by a plain-text **shape manifest** (one line per changed layer)
stored in its checkpoint's ``arch["rebuild"]``; :func:`apply_manifest` (the ``gdp_manifest``
rebuilder of :data:`vita_cli.models.registry.REBUILDERS`) replays it on a freshly built base model,
and the checkpoint's weights are loaded afterwards.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from vita_cli.core.errors import UserError

MANIFEST_HEADER = "# vita gdp shape manifest v1"


class ChannelRemap(nn.Module):
    """Runs a channel re-indexing module (option-A shortcut) on the kept channels only."""

    def __init__(self, inner: nn.Module, in_index: torch.Tensor, full_in: int, out_index: torch.Tensor):
        super().__init__()
        self.inner = inner
        self.full_in = int(full_in)
        self.register_buffer("in_index", in_index.long().clone())
        self.register_buffer("out_index", out_index.long().clone())
        self.register_buffer("spread", self._spread(), persistent=False)

    def _spread(self) -> torch.Tensor:
        # full channel c reads kept channel spread[c], or the zero channel appended at the end
        spread = torch.full(
            (self.full_in,), len(self.in_index), dtype=torch.long, device=self.in_index.device
        )
        spread[self.in_index] = torch.arange(len(self.in_index), device=self.in_index.device)
        return spread

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self.spread = self._spread()  # derived from the loaded in_index (a manifest rebuild loads it last)

    def forward(self, x):
        # one pad + one gather (no in-place scatter): cheap at batch 1 and traceable by torch.fx
        full = F.pad(x, (0, 0, 0, 0, 0, 1))[:, self.spread]
        return self.inner(full)[:, self.out_index]


class ConstantBranchBlock(nn.Module):
    """A residual block whose branch was a constant: ``act(shortcut(x) + const)``."""

    def __init__(self, shortcut_attr: str | None, shortcut: nn.Module | None, const: torch.Tensor, act: str):
        super().__init__()
        self.shortcut_attr = shortcut_attr
        if shortcut_attr is not None:
            self.add_module(shortcut_attr, shortcut)
        self.register_buffer("const", const.detach().clone().float())
        self.act = act

    def forward(self, x):
        s = getattr(self, self.shortcut_attr)(x) if self.shortcut_attr is not None else x
        out = s + self.const.to(s.dtype).view(1, -1, 1, 1)
        if self.act == "relu":
            return torch.relu(out)
        if self.act == "relu6":
            return torch.clamp(out, 0.0, 6.0)
        return out


def set_module(root: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, attr = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, attr, module)


def manifest_spec(manifest: str) -> dict:
    """The ``arch["rebuild"]`` entry of a compact model."""
    return {"rebuilder": "gdp_manifest", "manifest": manifest}


def _parse_line(line: str, lineno: int) -> tuple[str, str, dict[str, str]]:
    parts = line.split()
    if len(parts) < 2:
        raise UserError(f"shape manifest line {lineno} is malformed: {line!r}")
    fields = {}
    for item in parts[2:]:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"shape manifest line {lineno}: expected key=value, got {item!r}")
        fields[key] = value
    return parts[0], parts[1], fields


def _int(fields: dict, key: str, lineno: int) -> int:
    try:
        return int(fields[key])
    except (KeyError, ValueError):
        raise UserError(f"shape manifest line {lineno}: missing or bad integer {key!r}") from None


def apply_manifest(model: nn.Module, spec: dict) -> nn.Module:
    """Reshape a freshly built base model to the compact shapes described by ``spec["manifest"]``.

    Weights are not restored here: the caller loads the checkpoint's state dict afterwards.
    """
    text = spec.get("manifest") if isinstance(spec, dict) else None
    if not isinstance(text, str) or not text.startswith(MANIFEST_HEADER):
        raise UserError(
            "arch.rebuild has no GDP shape manifest",
            "the checkpoint was not written by vita prune --method gdp",
        )
    entries = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            entries.append((lineno, *_parse_line(line, lineno)))
    order = {"block": 0, "remap": 1, "conv": 2, "bn": 2, "linear": 2}
    for lineno, kind, path, fields in sorted(entries, key=lambda e: order.get(e[1], 3)):
        try:
            current = model.get_submodule(path)
        except AttributeError:
            raise UserError(
                f"shape manifest line {lineno}: the base model has no layer {path!r}",
                "the checkpoint's arch does not match the manifest",
            ) from None
        if kind == "block":
            attr = None if fields.get("shortcut", "-") == "-" else fields["shortcut"]
            shortcut = getattr(current, attr) if attr else None
            const = torch.zeros(_int(fields, "channels", lineno))
            set_module(model, path, ConstantBranchBlock(attr, shortcut, const, fields.get("act", "none")))
        elif kind == "remap":
            set_module(
                model,
                path,
                ChannelRemap(
                    current,
                    torch.zeros(_int(fields, "in", lineno), dtype=torch.long),
                    _int(fields, "full_in", lineno),
                    torch.zeros(_int(fields, "out", lineno), dtype=torch.long),
                ),
            )
        elif kind == "conv":
            c_in, c_out, groups = (_int(fields, k, lineno) for k in ("in", "out", "groups"))
            set_module(
                model,
                path,
                nn.Conv2d(
                    c_in,
                    c_out,
                    current.kernel_size,
                    current.stride,
                    current.padding,
                    current.dilation,
                    groups,
                    current.bias is not None,
                    current.padding_mode,
                ),
            )
        elif kind == "bn":
            set_module(
                model,
                path,
                nn.BatchNorm2d(
                    _int(fields, "features", lineno),
                    current.eps,
                    current.momentum,
                    current.affine,
                    current.track_running_stats,
                ),
            )
        elif kind == "linear":
            set_module(
                model,
                path,
                nn.Linear(_int(fields, "in", lineno), _int(fields, "out", lineno), current.bias is not None),
            )
        else:
            raise UserError(f"shape manifest line {lineno}: unknown entry {kind!r}")
    return model
