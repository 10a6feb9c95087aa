"""gdp.gate_streams false: every residual stream stays whole, the channels inside blocks stay prunable."""

import pytest
import torchvision

from vita_cli.methods.gdp.baselines import l1_scores, per_space_ratio_masks
from vita_cli.methods.gdp.flops import dense_macs, hard_macs, resolve_keep
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.models.cifar_resnet import CifarResNet


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_resnet_streams_pinned_inner_spaces_gated(shortcut):
    graph = build_channel_graph(CifarResNet(20, 10, 1, shortcut=shortcut).eval(), (1, 16, 16))
    streams = {s for s, sp in graph.spaces.items() if sp.gated and len(sp.producers) > 1}
    inner = {b.inner_space for b in graph.blocks}
    assert streams and inner and not streams & inner
    pinned = graph.pin_residual_streams()
    assert pinned >= len(streams)
    gated = set(graph.gated_spaces)
    assert not gated & streams
    assert inner <= gated  # each block's own channels are still pruned


def test_mobilenet_baseline_prunes_only_block_channels():
    model = torchvision.models.mobilenet_v2(num_classes=10).eval()
    graph = build_channel_graph(model, (3, 32, 32))
    graph.pin_residual_streams()
    streams = [sp for sp in graph.spaces.values() if len(sp.producers) > 1]
    assert len(streams) == 5  # the stages of MobileNetV2 that repeat a block: 24, 32, 64, 96, 160 channels
    assert sorted(sp.size for sp in streams) == [24, 32, 64, 96, 160]
    target = 0.6 * dense_macs(graph)
    on = per_space_ratio_masks(graph, l1_scores(model, graph), target)
    assert hard_macs(graph, resolve_keep(graph, on)) <= target
    for sp in streams:
        assert sp.id not in on or bool(on[sp.id].all())
