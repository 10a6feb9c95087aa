"""Exact folding, FLOPs accounting and manifest rebuild for every supported architecture family."""

import pytest
import torch
import torch.nn as nn
import torchvision

from vita_cli.core.errors import UserError
from vita_cli.methods.gdp.compact import compact_model, harden
from vita_cli.methods.gdp.engine import conv_linear_macs
from vita_cli.methods.gdp.flops import (
    channel_costs,
    dense_macs,
    gate_prices,
    hard_macs,
    resolve_keep,
    smooth_counts,
    smooth_macs,
)
from vita_cli.methods.gdp.gates import GateBank, GateHooks, smoothed_l0
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.models.cifar_resnet import CifarResNet
from vita_cli.models.manifest import apply_manifest


class PlainCNN(nn.Module):
    """VGG-style chain with a flatten of a 4×4 map into a two-layer head."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 24), nn.ReLU(), nn.Linear(24, 10))

    def forward(self, x):
        return self.head(self.features(x))


def _vgg():
    from vita_cli.models import build_model

    return build_model({"name": "vgg16_bn", "num_classes": 10, "in_channels": 3})


FAMILIES = {
    "plain_cnn": (PlainCNN, (1, 16, 16)),
    "resnet20_optionA": (lambda: CifarResNet(20, 10, 1, shortcut="A"), (1, 16, 16)),
    "resnet20_optionB": (lambda: CifarResNet(20, 10, 1, shortcut="B"), (1, 16, 16)),
    "torchvision_resnet18": (lambda: torchvision.models.resnet18(num_classes=10), (3, 32, 32)),
    "torchvision_resnet50": (lambda: torchvision.models.resnet50(num_classes=10), (3, 32, 32)),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(num_classes=10), (3, 32, 32)),
    "vgg16_bn": (_vgg, (3, 32, 32)),
}
SLOW = {"torchvision_resnet50", "mobilenet_v2", "vgg16_bn"}


def _randomize_bn(model):
    # non-trivial eval-mode BN so removed channels and block constants really matter
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)


def _random_gates(bank, graph, kill_first_block=True):
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for s in bank.space_ids:
            x = bank.raw(s)
            x.copy_(torch.randn(x.shape, generator=gen) * 0.3)
            x[torch.rand(x.shape, generator=gen) < 0.4] = 0
        if kill_first_block and graph.blocks:
            bank.raw(graph.blocks[0].inner_space).zero_()


@pytest.mark.parametrize(
    "family", [pytest.param(f, marks=pytest.mark.slow) if f in SLOW else f for f in FAMILIES]
)
def test_fold_remove_is_exact_and_macs_match(family):
    torch.manual_seed(0)
    make, shape = FAMILIES[family]
    model = make()
    _randomize_bn(model)
    model.eval()
    graph = build_channel_graph(model, shape)
    bank = GateBank(graph)
    _random_gates(bank, graph)
    on, _ = harden(graph, bank.values(), 1e-3)
    bank.switch_off(on)
    plan = resolve_keep(graph, on)
    images = torch.randn(4, *shape)
    with torch.no_grad(), GateHooks(model, graph, bank):
        gated = model(images)
    compact, manifest = compact_model(model, graph, bank.values(), plan)
    compact.eval()
    with torch.no_grad():
        got = compact(images)
    # (1) exact folding: the compact network computes the gated, thresholded network
    assert (gated - got).abs().max().item() < 1e-4
    # (2) MACs by forward hooks on the compact model = the bilinear formula, and fewer than dense
    assert conv_linear_macs(compact, shape) == hard_macs(graph, plan) < dense_macs(graph)
    assert dense_macs(graph) == conv_linear_macs(model, shape)
    if graph.blocks:
        assert plan.dead_blocks == [graph.blocks[0].path]
    # physically smaller: the compact convs have as many channels as on-gates (plus option-A closure)
    assert sum(p.numel() for p in compact.parameters()) < sum(p.numel() for p in model.parameters())
    # rebuild from the plain-text manifest (no pickle) and the state dict
    rebuilt = apply_manifest(make(), {"manifest": manifest})
    rebuilt.load_state_dict(compact.state_dict())
    rebuilt.eval()
    with torch.no_grad():
        assert torch.equal(rebuilt(images), got)


def test_hardening_meets_a_flops_target_and_hooks_agree():
    model = CifarResNet(20, 10, 1, shortcut="A").eval()
    graph = build_channel_graph(model, (1, 16, 16))
    bank = GateBank(graph)  # all gates ≈ 0.99: the target is reached only by forcing gates off
    for rho in (0.5, 0.3):
        on, forced = harden(graph, bank.values(), 1e-3, rho * dense_macs(graph))
        plan = resolve_keep(graph, on)
        assert hard_macs(graph, plan) <= rho * dense_macs(graph)
        assert forced["forced_off"] > 0
        compact, _ = compact_model(model, graph, bank.values(), plan)
        assert conv_linear_macs(compact, (1, 16, 16)) == hard_macs(graph, plan)


def test_graph_shares_one_gate_per_residual_stage():
    graph = build_channel_graph(CifarResNet(20, 10, 1, shortcut="B"), (1, 16, 16))
    streams = [graph.spaces[s] for s in graph.gated_spaces if len(graph.spaces[s].consumers) > 1]
    # three stages: stage-1 stream read by 3 conv1 + next stage's conv1 and 1×1 shortcut; last read by fc
    assert len(streams) == 3
    assert any(name == "fc" for name, _ in streams[-1].consumers)
    assert len(graph.blocks) == 9


def test_option_a_shortcut_is_an_index_map():
    graph = build_channel_graph(CifarResNet(20, 10, 1, shortcut="A"), (1, 16, 16))
    assert len(graph.remaps) == 2
    r = graph.remaps[0]
    assert r.index[:8] == [-1] * 8 and r.index[8:24] == list(range(16)) and r.index[24:] == [-1] * 8


def test_smoothed_l0_and_bilinear_penalty_gradient():
    x = torch.tensor([0.0, 1e-4, 1.0, 10.0])
    g = smoothed_l0(x, 1e-2)
    assert g[0] == 0 and g[1] < 1e-5 and 0.98 < g[2] < 1 and g[3] > 0.999
    model = CifarResNet(20, 10, 1, shortcut="B")
    graph = build_channel_graph(model, (1, 16, 16))
    bank = GateBank(graph, init=1e3)  # g ≈ 1: smoothed FLOPs ≈ dense FLOPs
    f = smooth_macs(graph, bank.gates())
    assert abs(f.item() / dense_macs(graph) - 1) < 1e-3
    f.backward()
    assert all(bank.raw(s).grad is not None for s in bank.space_ids)


def test_gate_prices_follow_option_a_shortcuts():
    """A source channel whose shortcut destination is open costs nothing to close (it is still produced
    and read); once its gate is closed, closing the destination frees it too."""
    graph = build_channel_graph(CifarResNet(20, 10, 1, shortcut="A"), (1, 16, 16))
    torch.manual_seed(0)
    gates = {s: torch.rand(graph.spaces[s].size) for s in graph.gated_spaces}
    r = graph.remaps[0]
    mapped = [j for j, i in enumerate(r.index) if i >= 0]
    gates[r.dst][mapped] = 1.0
    prices = gate_prices(graph, gates)
    costs = channel_costs(graph, {s: float(n) for s, n in smooth_counts(graph, gates).items()})
    linked = {x for rem in graph.remaps for x in (rem.src, rem.dst)}
    for s in graph.gated_spaces:
        if s not in linked:
            assert torch.allclose(prices[s], torch.full_like(prices[s], costs[s]), rtol=1e-5)
    assert torch.all(prices[r.src] == 0)

    gates[r.src][:] = 0.0
    nxt = graph.remaps[1]
    assert nxt.src == r.dst
    gates[nxt.dst][:] = 0.0  # nothing downstream holds the stage-2 stream open
    prices = gate_prices(graph, gates)
    costs = channel_costs(graph, {s: float(n) for s, n in smooth_counts(graph, gates).items()})
    unmapped = [j for j, i in enumerate(r.index) if i < 0]
    both = torch.full((len(mapped),), costs[r.dst] + costs[r.src])
    assert torch.allclose(prices[r.dst][mapped], both, rtol=1e-5)
    assert torch.allclose(prices[r.dst][unmapped], torch.full((len(unmapped),), costs[r.dst]), rtol=1e-5)


class _Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(3, 4, 3, padding=1)
        self.c = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        return self.c(torch.cat([self.a(x), self.b(x)], 1)).mean((2, 3))


class _Grouped(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.g = nn.Conv2d(8, 8, 3, padding=1, groups=2)

    def forward(self, x):
        return self.g(self.a(x)).mean((2, 3))


@pytest.mark.parametrize("model, words", [(_Concat(), "concatenat"), (_Grouped(), "grouped convolution")])
def test_unsupported_layers_are_user_errors_naming_the_layer(model, words):
    with pytest.raises(UserError) as err:
        build_channel_graph(model, (3, 8, 8))
    assert words in err.value.message and ("cat" in err.value.message or "g" in err.value.message)
