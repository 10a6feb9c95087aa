"""Forcing the FLOPs target never cuts a stem or a residual stream below gdp.force_floor; a target that
cannot be met above the floor is reported as not reached."""

import math

from vita_cli.methods.gdp.compact import harden
from vita_cli.methods.gdp.flops import dense_macs, hard_macs, resolve_keep
from vita_cli.methods.gdp.gates import GateBank
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.models.cifar_resnet import CifarResNet


def _graph():
    graph = build_channel_graph(CifarResNet(20, 10, 1, shortcut="A").eval(), (1, 16, 16))
    return graph, GateBank(graph)  # all gates open: any cut is forced


def test_floor_keeps_every_space_that_cannot_vanish():
    graph, bank = _graph()
    removable = graph.removable_spaces()
    on, info = harden(graph, bank.values(), 1e-3, 1, floor=0.25)
    assert info["target_reached"] is False and info["forced_off"] > 0
    for s, mask in on.items():
        if s not in removable:
            assert int(mask.sum()) >= math.ceil(0.25 * mask.numel())


def test_reachable_target_is_met_with_the_floor():
    graph, bank = _graph()
    on, info = harden(graph, bank.values(), 1e-3, 0.5 * dense_macs(graph), floor=0.25)
    assert info["target_reached"] is True
    assert hard_macs(graph, resolve_keep(graph, on)) <= 0.5 * dense_macs(graph)


def test_forcing_never_empties_a_residual_block():
    graph, bank = _graph()
    removable = graph.removable_spaces()
    assert removable
    on, info = harden(graph, bank.values(), 1e-3, 0.3 * dense_macs(graph), floor=0.25)
    for s in removable:
        assert int(on[s].sum()) >= math.ceil(0.25 * on[s].numel()), "forcing removed a whole block"


def test_a_block_whose_gates_closed_still_vanishes():
    graph, bank = _graph()
    values = bank.values()
    closed = next(iter(graph.removable_spaces()))
    values[closed] = values[closed] * 0  # the gate phase closed every gate of this block
    on, _ = harden(graph, values, 1e-3, 0.9 * dense_macs(graph), floor=0.25)
    assert int(on[closed].sum()) == 0
