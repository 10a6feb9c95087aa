"""Which convolutions read which channel groups: a channel graph traced with torch.fx.

Every tensor between layers is given a *channel space*. Regular convolutions (groups = 1) and
linear layers read a space (they are its **consumers**, and the gate sits in front of them) and
create a new one (regular convs are its **producers**). Batch norm, depth-wise convolutions,
activations, pooling and dropout keep the space (**followers**: the parametric ones are sliced with
it). An addition merges the spaces of its two inputs (union-find): that is how a ResNet stage's
residual stream becomes *one* space read by every block, the next stage's first block, and the
classifier — one shared gate. A parameter-free module that re-indexes channels (the option-A
zero-padding shortcut) becomes a **remap** from one space into another; its index map is found by
probing the module, so removing channels stays exact.

Anything else raises a :class:`UserError` naming the layer and why GDP cannot follow its channels.
Residual **blocks** whose branch can be deleted as a whole are recognised structurally: a module
whose forward is ``act?(bn?(last_conv(...)) + shortcut(x))`` with ``shortcut`` a child module or the
identity.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from vita_cli.core.errors import UserError

_ACT_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.Hardtanh,
    nn.SiLU,
    nn.GELU,
    nn.LeakyReLU,
    nn.ELU,
    nn.Hardswish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Mish,
    nn.PReLU,
)
_SAME_SPACE_MODULES = _ACT_MODULES + (
    nn.Dropout,
    nn.Dropout2d,
    nn.Identity,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
)
_SAME_SPACE_FUNCTIONS = {
    F.relu,
    torch.relu,
    F.relu6,
    F.hardtanh,
    F.silu,
    F.gelu,
    F.leaky_relu,
    F.elu,
    F.hardswish,
    torch.tanh,
    torch.sigmoid,
    F.dropout,
    F.dropout2d,
    F.max_pool2d,
    F.avg_pool2d,
    F.adaptive_avg_pool2d,
    F.adaptive_max_pool2d,
    F.interpolate,
    torch.Tensor.contiguous,
}
_SAME_SPACE_METHODS = {"relu", "relu_", "sigmoid", "tanh", "contiguous", "clone", "float", "to", "detach"}
_ADD_FUNCTIONS = {operator.add, operator.iadd, torch.add}
_SCALAR_FUNCTIONS = {operator.mul, operator.imul, operator.truediv, operator.sub, torch.mul}
_RELU_KINDS = {nn.ReLU: "relu", nn.ReLU6: "relu6", F.relu: "relu", torch.relu: "relu", F.relu6: "relu6"}


@dataclass
class Layer:
    """A layer with MACs: ``kind`` is 'conv' (regular), 'dw' (depth-wise) or 'linear'."""

    name: str
    kind: str
    in_space: int
    out_space: int
    coeff: int  # MACs = coeff · n_in · n_out (conv, linear) or coeff · n (dw)
    repeat: int = 1  # linear reading a flattened C×k map: k features per channel


@dataclass
class Remap:
    """``module`` maps channels of ``src`` into ``dst``: dst channel j = src channel index[j] (or 0 if -1)."""

    module: str
    src: int
    dst: int
    index: list[int]


@dataclass
class Block:
    """A residual block ``act(branch(x) + shortcut(x))`` whose branch ends in ``last_conv`` (+ ``last_bn``)."""

    path: str
    last_conv: str
    last_bn: str | None
    inner_space: int  # the input space of last_conv: all gates zero ⇒ the branch is a constant
    out_space: int
    branch_layers: list[str]  # every conv/linear/bn of the branch (removed with it)
    shortcut_attr: str | None  # child attribute holding the shortcut; None = identity
    act: str  # 'relu', 'relu6' or 'none'


@dataclass
class Space:
    id: int
    size: int
    producers: list[str] = field(default_factory=list)
    followers: list[str] = field(default_factory=list)  # bn and depth-wise convs sliced with the channels
    consumers: list[tuple[str, int]] = field(default_factory=list)  # (module, repeat)
    pinned: str | None = None  # why these channels cannot be removed

    @property
    def gated(self) -> bool:
        return self.pinned is None and bool(self.producers) and bool(self.consumers)


@dataclass
class ChannelGraph:
    spaces: dict[int, Space]
    layers: list[Layer]
    remaps: list[Remap]
    blocks: list[Block]
    input_shape: tuple[int, ...]

    @property
    def gated_spaces(self) -> list[int]:
        return [s for s, sp in self.spaces.items() if sp.gated]

    def layer(self, name: str) -> Layer:
        return next(lay for lay in self.layers if lay.name == name)

    def pin_residual_streams(self) -> int:
        """Keep every residual stream whole (a space with several producers is one merged by an addition);
        returns how many spaces that pins."""
        pinned = 0
        for sp in self.spaces.values():
            if sp.gated and len(sp.producers) > 1:
                sp.pinned = "residual stream (gdp.gate_streams is false)"
                pinned += 1
        for r in self.remaps:  # an option-A shortcut's copy of a pinned stream is pinned with it
            if self.spaces[r.src].pinned and not self.spaces[r.dst].pinned:
                self.spaces[r.dst].pinned = f"re-indexed copy of {self.spaces[r.src].pinned}"
                pinned += 1
        return pinned

    def removable_spaces(self) -> set[int]:
        """Spaces that may lose every channel (the inner space of a removable residual block)."""
        return {b.inner_space for b in self.blocks}

    def remap_order(self) -> list[Remap]:
        """Remaps ordered so that a remap into space T comes before any remap out of T (for closure)."""
        pending, ordered = list(self.remaps), []
        while pending:
            sources = {r.src for r in pending}
            ready = [r for r in pending if r.dst not in sources]
            if not ready:
                raise UserError("channel re-indexing modules form a cycle; GDP cannot order them")
            ordered += ready
            pending = [r for r in pending if r not in ready]
        return ordered


class _UnionFind:
    def __init__(self):
        self.parent: list[int] = []
        self.size: list[int] = []

    def new(self, size: int) -> int:
        self.parent.append(len(self.parent))
        self.size.append(size)
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int, where: str) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] != self.size[rb]:
            raise UserError(
                f"GDP cannot handle {where}: it adds tensors with {self.size[ra]} and {self.size[rb]} channels"
            )
        self.parent[rb] = ra
        return ra


class _Tracer(fx.Tracer):
    """torch.nn modules are leaves; so are childless parameter-free custom modules (probed later)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if isinstance(m, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
            return False
        if type(m).__module__.startswith("torch.nn"):
            return True
        return not any(True for _ in m.children()) and not any(True for _ in m.parameters(recurse=False))


def trace(module: nn.Module) -> fx.GraphModule:
    try:
        graph = _Tracer().trace(module)
    except Exception as exc:  # fx raises many kinds of errors on dynamic control flow
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"GDP cannot trace {type(module).__name__} with torch.fx: {first}",
            "GDP needs a model whose forward has no data-dependent control flow",
        ) from exc
    return fx.GraphModule(module, graph)


def _shape_prop(gm: fx.GraphModule, example: torch.Tensor) -> None:
    from torch.fx.passes.shape_prop import ShapeProp  # lazy: torch.fx.passes is slow to import

    with torch.no_grad():
        ShapeProp(gm).propagate(example)


def _shape(node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _owner(node: fx.Node) -> str:
    """The module whose forward made ``node`` (for error messages)."""
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path, (_, cls) = list(stack.items())[-1]
        return f"{path} ({getattr(cls, '__name__', cls)})"
    return "the model's forward"


def _fn_name(target) -> str:
    return getattr(target, "__name__", str(target))


def build_channel_graph(model: nn.Module, input_shape: tuple[int, ...]) -> ChannelGraph:
    """Trace ``model`` on an input of ``input_shape`` = (C, H, W) and return its channel graph."""
    was_training = model.training
    model.eval()
    try:
        gm = trace(model)
        _shape_prop(gm, torch.zeros(1, *input_shape, device=_device_of(model)))
        graph = _Builder(model, gm).run()
        graph.input_shape = tuple(input_shape)
        graph.blocks = _find_blocks(model, graph)
    finally:
        model.train(was_training)
    return graph


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@dataclass
class _Info:
    space: int  # raw union-find id
    vec: bool = False  # (N, C·k) after flatten/global pooling
    repeat: int = 1


class _Builder:
    def __init__(self, model: nn.Module, gm: fx.GraphModule):
        self.model, self.gm = model, gm
        self.uf = _UnionFind()
        self.info: dict[fx.Node, _Info] = {}
        self.layers: list[Layer] = []
        self.remaps: list[Remap] = []
        self.producers: dict[int, list[str]] = {}
        self.followers: dict[int, list[str]] = {}
        self.consumers: dict[int, list[tuple[str, int]]] = {}
        self.pinned: dict[int, str] = {}
        self.seen_modules: set[str] = set()

    # -- helpers
    def fail(self, where: str, why: str):
        raise UserError(f"GDP cannot handle layer {where}: {why}")

    def tensor_arg(self, node: fx.Node, index: int = 0) -> _Info:
        arg = node.args[index] if len(node.args) > index else None
        if not isinstance(arg, fx.Node) or arg not in self.info:
            self.fail(str(node.target), "its input is not a feature map GDP can follow")
        return self.info[arg]

    def new_space(self, size: int) -> int:
        return self.uf.new(size)

    def run(self) -> ChannelGraph:
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                shape = _shape(node)
                sid = self.new_space(shape[1])
                self.pinned[sid] = "model input"
                self.info[node] = _Info(sid)
            elif node.op == "call_module":
                self.on_module(node)
            elif node.op == "call_function":
                self.on_function(node, node.target, _fn_name(node.target))
            elif node.op == "call_method":
                self.on_method(node)
            elif node.op == "get_attr":
                self.fail(str(node.target), "the forward reads a parameter directly (functional layer)")
            elif node.op == "output":
                out = node.args[0]
                if isinstance(out, fx.Node) and out in self.info:
                    self.pinned[self.info[out].space] = "network output"
                elif isinstance(out, (tuple, list)):
                    self.fail("output", "the model returns several tensors")
        return self.finish()

    def on_module(self, node: fx.Node):
        name = str(node.target)
        module = self.gm.get_submodule(name)
        shape_out = _shape(node)
        if isinstance(module, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)):
            if name in self.seen_modules:
                self.fail(name, "the module is called more than once (shared weights)")
            self.seen_modules.add(name)
        if isinstance(module, nn.Conv2d):
            src = self.tensor_arg(node)
            if src.vec:
                self.fail(name, "a conv reads a flattened tensor")
            coeff = module.kernel_size[0] * module.kernel_size[1] * shape_out[2] * shape_out[3]
            if module.groups == 1:
                dst = self.new_space(module.out_channels)
                self.producers.setdefault(dst, []).append(name)
                self.consumers.setdefault(src.space, []).append((name, 1))
                self.layers.append(Layer(name, "conv", src.space, dst, coeff))
                self.info[node] = _Info(dst)
            elif module.groups == module.in_channels == module.out_channels:
                self.followers.setdefault(src.space, []).append(name)
                self.layers.append(Layer(name, "dw", src.space, src.space, coeff))
                self.info[node] = _Info(src.space)
            else:
                self.fail(
                    name,
                    f"grouped convolution (groups={module.groups}, {module.in_channels}→{module.out_channels}) "
                    "ties channels in groups; only regular and depth-wise convs are supported",
                )
        elif isinstance(module, nn.BatchNorm2d):
            src = self.tensor_arg(node)
            self.followers.setdefault(src.space, []).append(name)
            self.info[node] = _Info(src.space, src.vec, src.repeat)
        elif isinstance(module, nn.Linear):
            src = self.tensor_arg(node)
            shape_in = _shape(node.args[0])
            if not src.vec and len(shape_in) != 2:
                self.fail(name, "a linear layer on a feature map's last dimension")
            dst = self.new_space(module.out_features)
            self.pinned[dst] = f"output of linear layer {name}"
            self.consumers.setdefault(src.space, []).append((name, src.repeat))
            self.layers.append(Layer(name, "linear", src.space, dst, src.repeat))
            self.info[node] = _Info(dst, True, 1)
        elif isinstance(module, nn.Flatten):
            self.on_flatten(node, name)
        elif isinstance(module, _SAME_SPACE_MODULES):
            src = self.tensor_arg(node)
            self.info[node] = _Info(src.space, src.vec, src.repeat)
        elif type(module).__module__.startswith("torch.nn"):
            self.fail(name, f"{type(module).__name__} is not supported by GDP's channel tracking")
        else:
            self.on_custom_leaf(node, name, module)

    def on_custom_leaf(self, node: fx.Node, name: str, module: nn.Module):
        src = self.tensor_arg(node)
        shape_in, shape_out = _shape(node.args[0]), _shape(node)
        index = probe_channel_map(module, shape_in, shape_out) if shape_in and shape_out else None
        if src.vec or index is None:
            self.fail(
                name,
                f"{type(module).__name__} is a custom parameter-free layer that does not just re-index channels",
            )
        if index == list(range(shape_in[1])):
            self.info[node] = _Info(src.space)
            return
        dst = self.new_space(shape_out[1])
        self.remaps.append(Remap(name, src.space, dst, index))
        self.info[node] = _Info(dst)

    def on_flatten(self, node: fx.Node, where: str):
        src = self.tensor_arg(node)
        shape_in, shape_out = _shape(node.args[0]), _shape(node)
        if src.vec:
            if shape_out != shape_in:
                self.fail(where, "reshapes a flattened tensor")
            self.info[node] = _Info(src.space, True, src.repeat)
            return
        if (
            len(shape_in) != 4
            or len(shape_out) != 2
            or shape_out[1] != shape_in[1] * shape_in[2] * shape_in[3]
        ):
            self.fail(where, f"reshape {shape_in}→{shape_out} mixes channels with the batch or splits them")
        self.info[node] = _Info(src.space, True, shape_in[2] * shape_in[3])

    def on_function(self, node: fx.Node, fn, label: str):
        where = f"{label} in {_owner(node)}"
        if _shape(node) is None:
            return  # sizes and other Python values
        if fn in _ADD_FUNCTIONS:
            tensors = [a for a in node.args if isinstance(a, fx.Node) and a in self.info]
            if len(tensors) == 2:
                a, b = self.info[tensors[0]], self.info[tensors[1]]
                if a.vec != b.vec or a.repeat != b.repeat:
                    self.fail(where, "adds a feature map to a flattened tensor")
                self.info[node] = _Info(self.uf.union(a.space, b.space, where), a.vec, a.repeat)
                return
            if len(tensors) == 1:
                self.info[node] = self.info[tensors[0]]
                return
        if fn in _SCALAR_FUNCTIONS:
            tensors = [a for a in node.args if isinstance(a, fx.Node) and a in self.info]
            if len(tensors) == 1:
                self.info[node] = self.info[tensors[0]]
                return
            self.fail(
                where,
                "multiplies two feature maps (e.g. squeeze-excitation): channel scaling by data is not supported",
            )
        if fn in _SAME_SPACE_FUNCTIONS:
            self.info[node] = self.tensor_arg(node)
            return
        if fn is torch.flatten:
            self.on_flatten(node, where)
            return
        if fn is operator.getitem:
            src = self.tensor_arg(node)
            idx = node.args[1]
            idx = idx if isinstance(idx, tuple) else (idx,)
            full = slice(None, None, None)
            if src.vec or len(idx) < 2 or idx[0] != full or idx[1] != full:
                self.fail(where, "indexes the channel dimension")
            self.info[node] = src
            return
        if fn is torch.mean:
            self.on_mean(node, where, node.args[1] if len(node.args) > 1 else node.kwargs.get("dim"))
            return
        if fn is torch.cat:
            self.fail(where, "concatenates channel groups; GDP does not track concatenations")
        self.fail(where, "this operation is not supported by GDP's channel tracking")

    def on_mean(self, node, where, dims):
        src = self.tensor_arg(node)
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        shape_out = _shape(node)
        if src.vec or sorted(d % 4 for d in dims) != [2, 3]:
            self.fail(where, "averages over the channel or batch dimension")
        self.info[node] = _Info(src.space, len(shape_out) == 2, 1)

    def on_method(self, node: fx.Node):
        method = node.target
        where = f"Tensor.{method} in {_owner(node)}"
        if _shape(node) is None:
            return
        if method in _SAME_SPACE_METHODS:
            self.info[node] = self.tensor_arg(node)
        elif method in ("view", "reshape", "flatten"):
            self.on_flatten(node, where)
        elif method == "mean":
            dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
            self.on_mean(node, where, dims)
        elif method in ("add", "add_"):
            self.on_function(node, operator.add, method)
        elif method in ("mul", "mul_", "div", "div_"):
            self.on_function(node, operator.mul, method)
        else:
            self.fail(where, "this tensor method is not supported by GDP's channel tracking")

    def finish(self) -> ChannelGraph:
        find = self.uf.find
        spaces: dict[int, Space] = {}

        def space(raw: int) -> Space:
            root = find(raw)
            if root not in spaces:
                spaces[root] = Space(root, self.uf.size[root])
            return spaces[root]

        for raw in range(len(self.uf.parent)):
            space(raw)
        for raw, names in self.producers.items():
            space(raw).producers += names
        for raw, names in self.followers.items():
            space(raw).followers += names
        for raw, names in self.consumers.items():
            space(raw).consumers += names
        for raw, why in self.pinned.items():
            sp = space(raw)
            sp.pinned = sp.pinned or why
        layers = [
            Layer(la.name, la.kind, find(la.in_space), find(la.out_space), la.coeff, la.repeat)
            for la in self.layers
        ]
        remaps = [Remap(r.module, find(r.src), find(r.dst), r.index) for r in self.remaps]
        for r in remaps:
            if spaces[r.src].pinned and not spaces[r.dst].pinned:
                spaces[r.dst].pinned = f"re-indexed copy of {spaces[r.src].pinned}"
        # a remap target inherits nothing else; a space reached only through remaps has no producer of its own
        kept = {
            s: sp
            for s, sp in spaces.items()
            if sp.producers or sp.consumers or sp.pinned or any(r.src == s or r.dst == s for r in remaps)
        }
        return ChannelGraph(kept, layers, remaps, [], ())


def probe_channel_map(module: nn.Module, shape_in, shape_out) -> list[int] | None:
    """If ``module`` only re-indexes channels (output channel j = input channel index[j], or zeros when
    index[j] = -1, with the same spatial operation for every channel), return ``index``; else None."""
    if len(shape_in) != 4 or len(shape_out) != 4:
        return None
    c_in = shape_in[1]
    try:
        with torch.no_grad():
            labels = torch.arange(1, c_in + 1, dtype=torch.float64).view(1, c_in, 1, 1)
            out = module(labels.expand(1, c_in, *shape_in[2:]).clone())
            if tuple(out.shape[1:]) != tuple(shape_out[1:]):
                return None
            flat = out.reshape(out.shape[1], -1)
            if not torch.all(flat == flat[:, :1]):
                return None
            values = flat[:, 0]
            if not torch.all((values == values.round()) & (values >= 0) & (values <= c_in)):
                return None
            index = [int(v) - 1 for v in values]
            # the map must be linear and the same for every channel: check it on random data
            x = torch.randn(2, *shape_in[1:], dtype=torch.float64)
            y = module(x)
            for j, i in enumerate(index):
                if i < 0:
                    if torch.any(y[:, j] != 0):
                        return None
                    continue
                single = torch.zeros_like(x)
                single[:, i] = x[:, i]
                if not torch.allclose(y[:, j], module(single)[:, j]):
                    return None
    except Exception:
        return None
    return index


# ---------------------------------------------------------------- residual blocks


def _find_blocks(model: nn.Module, graph: ChannelGraph) -> list[Block]:
    """Residual blocks whose branch can be replaced by its constant when its inner gate is all zero."""
    blocks, traced = [], {}
    conv_names = {lay.name for lay in graph.layers if lay.kind == "conv"}
    for lay in graph.layers:
        if lay.kind != "conv":
            continue
        parts = lay.name.split(".")
        for depth in range(len(parts) - 1, 0, -1):
            path = ".".join(parts[:depth])
            if path not in traced:
                traced[path] = _match_block(model.get_submodule(path))
            match = traced[path]
            if match is None:
                continue
            last_conv, last_bn, shortcut_attr, act, branch = match
            if f"{path}.{last_conv}" != lay.name:
                continue
            inner = graph.spaces.get(lay.in_space)
            branch_full = [f"{path}.{b}" for b in branch]
            if inner is None or not inner.gated:
                break
            owned = set(branch_full)
            if not set(inner.producers) <= owned or not {c for c, _ in inner.consumers} <= owned:
                break
            if any(
                n in conv_names and graph.layer(n).in_space == lay.in_space and n != lay.name for n in owned
            ):
                break
            blocks.append(
                Block(
                    path,
                    lay.name,
                    f"{path}.{last_bn}" if last_bn else None,
                    lay.in_space,
                    lay.out_space,
                    branch_full,
                    shortcut_attr,
                    act,
                )
            )
            break
    return blocks


def _match_block(module: nn.Module):
    """``(last_conv, last_bn, shortcut_attr, act, branch_modules)`` if ``module`` is a residual block."""
    try:
        gm = _Tracer().trace(module)
    except Exception:
        return None
    nodes = list(gm.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    output = next((n for n in nodes if n.op == "output"), None)
    if len(placeholders) != 1 or output is None or not isinstance(output.args[0], fx.Node):
        return None
    x, top = placeholders[0], output.args[0]
    act = "none"
    kind = _relu_kind(module, top)
    if kind is not None:
        act, top = kind, top.args[0]
    if not (top.op == "call_function" and top.target in _ADD_FUNCTIONS and len(top.args) == 2):
        return None
    for branch_end, short_end in ((top.args[0], top.args[1]), (top.args[1], top.args[0])):
        if not isinstance(branch_end, fx.Node) or not isinstance(short_end, fx.Node):
            continue
        last_bn, node = None, branch_end
        if node.op == "call_module" and isinstance(module.get_submodule(node.target), nn.BatchNorm2d):
            last_bn, node = node.target, node.args[0]
        if not (node.op == "call_module" and isinstance(module.get_submodule(node.target), nn.Conv2d)):
            continue
        if module.get_submodule(node.target).groups != 1:
            continue
        shortcut_attr = _shortcut_attr(short_end, x)
        if shortcut_attr is False:
            continue
        branch = _ancestor_modules(branch_end, x)
        if shortcut_attr is not None and any(b.split(".")[0] == shortcut_attr for b in branch):
            continue
        return node.target, last_bn, shortcut_attr, act, branch
    return None


def _relu_kind(module: nn.Module, node: fx.Node) -> str | None:
    if node.op == "call_module":
        return _RELU_KINDS.get(type(module.get_submodule(node.target)))
    if node.op == "call_function":
        return _RELU_KINDS.get(node.target)
    if node.op == "call_method" and node.target in ("relu", "relu_"):
        return "relu"
    return None


def _shortcut_attr(node: fx.Node, x: fx.Node):
    """None for the identity, the child attribute for a shortcut made of one child's modules, else False."""
    if node is x:
        return None
    attrs = set()
    while node is not x:
        if node.op != "call_module" or len(node.args) != 1 or not isinstance(node.args[0], fx.Node):
            return False
        attrs.add(node.target.split(".")[0])
        node = node.args[0]
    return attrs.pop() if len(attrs) == 1 else False


def _ancestor_modules(node: fx.Node, x: fx.Node) -> list[str]:
    seen, stack, out = set(), [node], []
    while stack:
        n = stack.pop()
        if n in seen or n is x:
            continue
        seen.add(n)
        if n.op == "call_module":
            out.append(n.target)
        stack += [a for a in n.all_input_nodes]
    return sorted(set(out))
