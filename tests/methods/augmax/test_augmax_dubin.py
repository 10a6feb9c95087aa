import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vita_cli.methods.augmax.augmax import augmax_attack
from vita_cli.methods.augmax.augmix import augment_chains, mix, random_mixing_weights
from vita_cli.methods.augmax.losses import js_divergence
from vita_cli.models.dubin import (
    ROUTE_AUGMAX,
    DualBatchNorm2d,
    DuBIN,
    convert_to_dubin,
    dubin_targets,
    use_route,
)

sys.path.insert(0, str(Path(__file__).parent))
from augmax_tiny_models import TinyResNet  # noqa: E402


def _fixed_model(seed=0):
    torch.manual_seed(seed)
    model = TinyResNet(in_channels=3)
    model.eval()
    return model


def _data(b=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (b,), generator=g)
    return x, y


def test_inner_maximisation_increases_the_loss_over_random_mixing():
    model = _fixed_model()
    x, y = _data()
    chains = augment_chains(x, generator=torch.Generator().manual_seed(1))
    result = augmax_attack(
        model, x, chains, y, steps=5, step_size=0.1, tau=None, generator=torch.Generator().manual_seed(2)
    )
    assert result.steps_taken == 5
    assert result.loss_end > result.loss_start
    # and above AugMix's random mixture of the same chains
    m, w = random_mixing_weights(x.shape[0], 3, torch.Generator().manual_seed(3))
    with torch.no_grad():
        loss_random = F.cross_entropy(model(mix(x, chains, m, w)), y, reduction="sum").item()
    assert result.loss_end > loss_random
    assert ((result.m >= 0) & (result.m <= 1)).all()
    assert torch.allclose(result.w.sum(1), torch.ones(x.shape[0]))
    assert result.images.min() >= 0 and result.images.max() <= 1 and not result.images.requires_grad
    assert all(p.grad is None for p in model.parameters())


def test_fat_freezes_finished_samples_and_legacy_does_not():
    model = _fixed_model()
    x, y = _data(b=32)
    with torch.no_grad():
        wrong0 = model(x).argmax(1) != y  # most samples are already wrong for a random model
    chains = augment_chains(x, generator=torch.Generator().manual_seed(1))

    def run(legacy):
        return augmax_attack(
            model, x, chains, y, steps=5, tau=2, legacy_fat=legacy, generator=torch.Generator().manual_seed(2)
        )

    start = torch.rand(32, generator=torch.Generator().manual_seed(2))  # the attack's first draw is m
    fat, legacy = run(False), run(True)
    assert fat.frozen > 0
    # a sample misclassified at both of its first two steps used its budget of 2 after step 1: its m moved once at most
    moved_fat = (fat.m - start).abs()
    moved_legacy = (legacy.m - start).abs()
    assert moved_fat.sum() < moved_legacy.sum()
    assert wrong0.any()


def test_js_divergence_zero_for_equal_and_positive_otherwise():
    z = torch.randn(4, 10)
    assert js_divergence(z, z, z).abs() < 1e-6
    assert js_divergence(z, torch.randn(4, 10), z) > 0


def test_dubin_conversion_by_name():
    model = TinyResNet(in_channels=1, width=8)
    targets = dubin_targets(model)
    assert targets == ["layer1.0.bn1"]  # first BN of each block, all stages but the last
    convert_to_dubin(model)
    layer = model.layer1[0].bn1
    assert isinstance(layer, DuBIN) and layer.in_channels == 4
    assert isinstance(model.bn1, DualBatchNorm2d) and isinstance(model.layer2[0].bn1, DualBatchNorm2d)
    assert isinstance(model.layer2[0].shortcut[1], DualBatchNorm2d)
    inner = {
        id(b) for d in model.modules() if isinstance(d, DualBatchNorm2d) for b in (d.bn_main, d.bn_augmax)
    }
    assert all(id(m) in inner for m in model.modules() if type(m) is nn.BatchNorm2d)


def test_dubin_eval_uses_clean_statistics_and_routes_separate_them():
    torch.manual_seed(0)
    model = convert_to_dubin(TinyResNet(in_channels=1, width=8))
    clean = torch.rand(8, 1, 32, 32)
    shifted = clean * 3 + 2
    model.train()
    dual = model.bn1
    with use_route(model, ROUTE_AUGMAX):
        model(shifted)
    assert dual.bn_main.num_batches_tracked == 0 and dual.bn_augmax.num_batches_tracked == 1
    model(clean)
    assert dual.bn_main.num_batches_tracked == 1 and dual.bn_augmax.num_batches_tracked == 1
    assert not torch.allclose(dual.bn_main.running_mean, dual.bn_augmax.running_mean)
    model.eval()
    assert all(m.route == "main" for m in model.modules() if isinstance(m, DualBatchNorm2d))
    out_eval = model(clean)
    # evaluation equals a plain-BN model that carries the main statistics
    for m in model.modules():
        if isinstance(m, DualBatchNorm2d):
            m.bn_augmax.load_state_dict(m.bn_main.state_dict())
    with use_route(model, ROUTE_AUGMAX):
        assert torch.allclose(model(clean), out_eval, atol=1e-6)


def test_conversion_of_a_trained_model_keeps_its_outputs_without_dubin():
    torch.manual_seed(0)
    model = TinyResNet(in_channels=1, width=8)
    model.train()
    model(torch.rand(16, 1, 32, 32))  # populate statistics
    model.eval()
    x = torch.rand(4, 1, 32, 32)
    before = model(x)
    after = convert_to_dubin(model, norm="dubn")(x)
    assert torch.allclose(before, after, atol=1e-6)
