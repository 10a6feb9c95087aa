"""Shipped GDP recipes parse into GdpConfig; the controller's proximal step and ε schedule behave."""

import pytest
import torch

from vita_cli.core.errors import UserError
from vita_cli.core.recipe import from_dict, list_recipes, load_recipe
from vita_cli.methods.gdp.config import GdpConfig, GdpExperimental
from vita_cli.methods.gdp.controller import GdpController
from vita_cli.methods.gdp.flops import dense_macs
from vita_cli.methods.gdp.gates import GateBank
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.methods.imp import PruneRecipe
from vita_cli.models.cifar_resnet import CifarResNet

GDP_RECIPES = [name for name, _ in list_recipes() if name.startswith("prune/gdp-")]


@pytest.mark.parametrize("name", GDP_RECIPES)
def test_shipped_gdp_recipes_parse(name):
    rec, path = load_recipe(name, PruneRecipe)
    assert path.read_text().startswith(f"# vita prune --method gdp --recipe {name}")
    cfg = from_dict(GdpConfig, dict(rec.gdp), "gdp")
    assert 0 < cfg.flops_target < 1


def test_gdp_section_rejects_unknown_keys_and_bad_values():
    with pytest.raises(UserError, match="gdp.lamda"):
        from_dict(GdpConfig, {"lamda": 1}, "gdp")
    with pytest.raises(UserError, match="flops_target"):
        from_dict(GdpConfig, {"flops_target": 1.0}, "gdp")
    with pytest.raises(UserError, match="baselines"):
        from_dict(GdpConfig, {"baselines": ["random"]}, "gdp")


def _controller(**kw):
    graph = build_channel_graph(CifarResNet(20, 10, 1, shortcut="A"), (1, 16, 16))
    bank = GateBank(graph, init=0.3, eps=1e-2)
    cfg = GdpConfig(**kw)
    return (
        graph,
        bank,
        GdpController(cfg, graph, bank, dense_macs(graph), total_steps=100, steps_per_epoch=10),
    )


def test_proximal_step_closes_small_gates_and_spares_large_ones():
    graph, bank, ctl = _controller(lam_start=50.0)
    s = bank.space_ids[0]
    with torch.no_grad():
        bank.raw(s)[:2] = torch.tensor([1e-3, 5.0])
    for _ in range(20):
        ctl.proximal_step(0.1)
    x = bank.raw(s).detach()
    assert abs(x[0]) < 1e-6  # in the quadratic basin: geometric decay to (numerically) zero, no overshoot
    assert x[1] > 4.99  # |x| ≫ √ε: the penalty has no grip
    assert torch.all(x[2:] < 0.3)  # in between: pulled towards zero


def test_eps_anneals_only_after_the_target_is_met_and_lambda_grows_until_then():
    graph, bank, ctl = _controller(
        lam_start=1.0,
        lam_growth=0.5,
        controller_every=1,
        anneal_epochs=1.0,
        experimental=GdpExperimental(lam_backoff=False),
    )
    ctl.before_step(1, 0.0)
    assert ctl.lam == 1.5 and bank.eps == pytest.approx(1e-2)
    with torch.no_grad():  # close most gates: the hard FLOPs meet the target
        for s in bank.space_ids:
            bank.raw(s)[1:] = 0
    ctl.before_step(2, 0.0)
    assert ctl.lam == 1.5 and ctl.reached_at == 2
    ctl.before_step(7, 0.0)
    assert bank.eps == pytest.approx(1e-2 * (1e-2) ** 0.5)
    ctl.before_step(12, 0.0)
    assert ctl.annealed


def test_lambda_backs_off_when_far_below_the_target():
    graph, bank, ctl = _controller(lam_start=4.0, lam_growth=1.0, controller_every=1)
    with torch.no_grad():
        for s in bank.space_ids:
            bank.raw(s)[1:] = 0
    ctl.before_step(1, 0.0)
    assert ctl.lam == 4.0 / 2**4
