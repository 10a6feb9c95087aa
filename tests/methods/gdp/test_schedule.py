"""``gdp.schedule: continuous``: one cosine runs through the gate phase and the fine-tune (no restart)."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from vita_cli.methods.gdp import engine
from vita_cli.methods.gdp.config import GdpConfig
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.models.cifar_resnet import CifarResNet
from vita_cli.training import TrainConfig
from vita_cli.training.setup import Loaders


def test_continued_cosine_picks_up_where_the_first_part_stopped():
    whole = engine.continued_cosine(0, 100)
    rest = engine.continued_cosine(30, 100)
    assert whole(0) == 1.0 and whole(100) == pytest.approx(0.0, abs=1e-12)
    assert all(rest(s) == pytest.approx(whole(s + 30)) for s in range(0, 71, 7))
    assert rest(500) == pytest.approx(0.0, abs=1e-12)  # past the horizon: stays at the end


def _loaders():
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randn(32, 1, 16, 16, generator=g), torch.randint(0, 10, (32,), generator=g)
    loader = DataLoader(TensorDataset(images, labels), batch_size=8)  # 4 steps per epoch
    return Loaders(bundle=None, train=loader, val=None, test=loader)


def test_the_fine_tune_continues_the_gate_phase_cosine_at_the_gate_phase_lr(monkeypatch):
    torch.manual_seed(0)
    model = CifarResNet(20, 10, 1, shortcut="A")
    graph = build_channel_graph(model, (1, 16, 16))
    cfg = GdpConfig(flops_target=0.9, epochs=2, finetune_epochs=3, schedule="continuous", weight_lr=0.02)
    train_cfg = TrainConfig(epochs=1, lr=0.1, amp=False)
    seen = {}

    def spy(model, train_loader, val_loader, cfg_, epochs, device, reporter=None, **kw):
        seen.update(lr=cfg_.lr, epochs=epochs, schedule=kw["lr_lambda"])
        return []

    monkeypatch.setattr(engine, "train_plain", spy)
    arm, phase, _, _ = engine.run_gdp_arm(model, graph, _loaders(), cfg, train_cfg, "cpu", budget=None)
    run = phase.epochs_run
    horizon_steps = (cfg.epochs + cfg.finetune_epochs) * 4
    # the gate phase's lr followed the first part of the one cosine ...
    for record in phase.history:
        expected = 0.02 * 0.5 * (1 + math.cos(math.pi * record["epoch"] * 4 / horizon_steps))
        assert record["lr"] == pytest.approx(expected)
    # ... and the fine-tune gets the rest of the planned epochs, starting where the phase stopped
    assert seen["epochs"] == cfg.epochs + cfg.finetune_epochs - run
    assert seen["lr"] == 0.02
    assert seen["schedule"](0) == pytest.approx(0.5 * (1 + math.cos(math.pi * run * 4 / horizon_steps)))
    assert seen["schedule"](seen["epochs"] * 4) == pytest.approx(0.0, abs=1e-12)
    assert arm.epochs == cfg.epochs + cfg.finetune_epochs


@pytest.mark.parametrize("before, after, diverged", [(80.0, 20.0, True), (80.0, 78.0, False)])
def test_a_fine_tune_that_loses_validation_accuracy_is_flagged(monkeypatch, before, after, diverged):
    torch.manual_seed(0)
    model = CifarResNet(20, 10, 1, shortcut="A")
    graph = build_channel_graph(model, (1, 16, 16))
    cfg = GdpConfig(flops_target=0.9, epochs=1, finetune_epochs=1)
    readings = iter([before, after])
    monkeypatch.setattr(engine, "train_plain", lambda *a, **k: [])
    monkeypatch.setattr(engine, "_val_accuracy", lambda *a: next(readings))
    arm, _, _, checks = engine.run_gdp_arm(
        model, graph, _loaders(), cfg, TrainConfig(epochs=1, lr=0.1, amp=False), "cpu", budget=None
    )
    assert checks["val_acc_before_finetune"] == before and arm.val_acc == after
    assert checks["finetune_diverged"] is diverged
