"""A GDP arm stopped inside its gate phase resumes from the last epoch: gates, λ, ε and weights as if it
had never stopped."""

import pytest
import torch

from tests.methods.gdp.test_schedule import _loaders
from vita_cli.core.progress import Reporter
from vita_cli.methods.gdp import engine
from vita_cli.methods.gdp.config import GdpConfig
from vita_cli.methods.gdp.gates import GateBank
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.models.cifar_resnet import CifarResNet
from vita_cli.training import TrainConfig

CFG = GdpConfig(flops_target=0.6, epochs=3, min_epochs=3, lam_start=50.0, gate_lr=0.05)
TRAIN = TrainConfig(epochs=1, lr=0.05, amp=False)


class _KilledAt(Reporter):
    def __init__(self, epoch: int):
        self.epoch = epoch

    def log(self, message: str) -> None:
        if message.startswith(f"gdp epoch {self.epoch}:"):  # after the previous epoch's checkpoint
            raise KeyboardInterrupt


def _phase(reporter=None, **kw):
    torch.manual_seed(0)
    model = CifarResNet(8, 10, 1, shortcut="A")
    graph = build_channel_graph(model, (1, 16, 16))
    bank = GateBank(graph, CFG.gate_init, CFG.eps_start)
    loaders = _loaders()
    args = (model, graph, bank, loaders.train, loaders.val, CFG, TRAIN, "cpu")
    phase = engine.gdp_phase(*args, reporter or Reporter(), **kw)
    return model, bank, phase


def test_gate_phase_resumes_where_it_was_killed(tmp_path):
    model, bank, phase = _phase()
    assert phase.epochs_run == 3
    with pytest.raises(KeyboardInterrupt):
        _phase(_KilledAt(3), checkpoint_dir=tmp_path)
    model2, bank2, phase2 = _phase(checkpoint_dir=tmp_path, resume="auto")
    assert [r["epoch"] for r in phase2.history] == [1, 2, 3]
    assert phase2.final_lam == phase.final_lam and phase2.final_eps == phase.final_eps
    assert len(phase2.snapshots) == len(phase.snapshots) == 4
    assert all(torch.equal(a, b) for a, b in zip(phase.snapshots, phase2.snapshots, strict=True))
    for s in bank.space_ids:
        assert torch.equal(bank.raw(s), bank2.raw(s))
    for (name, a), b in zip(model.state_dict().items(), model2.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
