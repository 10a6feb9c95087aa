import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from tests.training.helpers import loaders, tiny_cnn
from vita_cli.core.errors import UserError
from vita_cli.sparsity import (
    MaskCallback,
    apply_masks,
    from_torch_prune_layout,
    magnitude_prune,
    prunable_names,
    random_masks_like,
    sparsity_report,
    to_torch_prune_layout,
)
from vita_cli.training import TrainConfig, fit


def test_default_excludes_stem_and_classifier():
    model = tiny_cnn()
    assert prunable_names(model) == ["3.weight", "7.weight"]
    assert prunable_names(model, exclude=[]) == ["0.weight", "3.weight", "7.weight", "9.weight"]
    assert prunable_names(model, include=["3*"], exclude=[]) == ["3.weight"]
    assert prunable_names(model, exclude=["7"]) == ["0.weight", "3.weight", "9.weight"]


@pytest.mark.parametrize("scope", ["global", "layerwise"])
def test_magnitude_prune_hits_target_and_keeps_largest(scope):
    torch.manual_seed(0)
    model = tiny_cnn()
    masks = magnitude_prune(model, 0.6, scope=scope)
    kept = sum(int(m.sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    assert kept == total - round(0.6 * total) or scope == "layerwise"
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        assert mask.dtype == torch.bool
        if scope == "layerwise":
            assert int((~mask).sum()) == round(0.6 * mask.numel())
            w = params[name].detach().abs()
            assert w[mask].min() >= w[~mask].max()
    if scope == "global":
        w = torch.cat([params[n].detach().abs().flatten() for n in masks])
        m = torch.cat([masks[n].flatten() for n in masks])
        assert w[m].min() >= w[~m].max()


def test_iterative_pruning_keeps_removed_weights_removed():
    torch.manual_seed(0)
    model = tiny_cnn()
    m1 = magnitude_prune(model, 0.2)
    with torch.no_grad():  # make a pruned weight huge: it must stay pruned
        name = next(iter(m1))
        idx = (~m1[name]).nonzero()[0]
        dict(model.named_parameters())[name][tuple(idx)] = 100.0
    m2 = magnitude_prune(model, 0.36, masks=m1)
    for n in m1:
        assert not (m2[n] & ~m1[n]).any()
    total = sum(m.numel() for m in m2.values())
    assert sum(int((~m).sum()) for m in m2.values()) == round(0.36 * total)


def test_bad_sparsity_is_user_error():
    with pytest.raises(UserError):
        magnitude_prune(tiny_cnn(), 1.2)


@pytest.mark.parametrize("opt", ["sgd", "adamw"])
def test_masked_weights_stay_exactly_zero_through_training(opt):
    torch.manual_seed(0)
    model = tiny_cnn()
    masks = magnitude_prune(model, 0.7, exclude=[])
    apply_masks(model, masks)
    train, val = loaders()
    cfg = TrainConfig(
        epochs=2,
        optimizer=opt,
        lr=0.05 if opt == "sgd" else 1e-2,
        momentum=0.9,
        weight_decay=5e-3,
        nesterov=opt == "sgd",
        amp=False,
    )
    fit(model, train, val, cfg, "cpu", callbacks=[MaskCallback(masks)])
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        assert torch.count_nonzero(params[name][~mask]) == 0, name
        assert torch.count_nonzero(params[name][mask]) == int(mask.sum())  # survivors still train
    report = sparsity_report(model, masks)
    assert report["masked_sparsity"] == pytest.approx(0.7, abs=1e-3)


def test_random_masks_keep_layerwise_counts():
    torch.manual_seed(0)
    masks = magnitude_prune(tiny_cnn(), 0.5, scope="global")
    rnd = random_masks_like(masks, torch.Generator().manual_seed(1))
    for n in masks:
        assert int(rnd[n].sum()) == int(masks[n].sum())
        assert not torch.equal(rnd[n], masks[n])


def test_torch_prune_layout_round_trip():
    torch.manual_seed(0)
    model = tiny_cnn()
    prune.l1_unstructured(model[3], "weight", amount=0.5)
    prune.random_unstructured(model[7], "weight", amount=0.3)
    foreign = {k: v.clone() for k, v in model.state_dict().items()}
    assert "3.weight_orig" in foreign and "7.weight_mask" in foreign
    # import: a plain model gets the effective weights and bool masks
    plain, masks = from_torch_prune_layout(foreign)
    fresh = tiny_cnn()
    fresh.load_state_dict(plain)
    assert set(masks) == {"3.weight", "7.weight"}
    assert torch.equal(fresh[3].weight, model[3].weight)
    assert torch.equal(masks["3.weight"], model[3].weight_mask.bool())
    x = torch.randn(2, 1, 8, 8)
    model.eval(), fresh.eval()
    assert torch.allclose(fresh(x), model(x))
    # export: loads into modules prepared the torch way
    exported = to_torch_prune_layout(fresh.state_dict(), masks)
    target = tiny_cnn()
    prune.identity(target[3], "weight")
    prune.identity(target[7], "weight")
    target.load_state_dict(exported)
    target.eval()
    assert torch.equal(target[3].weight_mask, model[3].weight_mask)
    assert torch.allclose(target(x), model(x))
    # and back again: identical
    again, masks2 = from_torch_prune_layout(exported)
    assert all(torch.equal(masks[k], masks2[k]) for k in masks)
    assert all(torch.equal(plain[k], again[k]) for k in plain)


def test_mask_shape_mismatch_is_user_error():
    model = tiny_cnn()
    with pytest.raises(UserError, match="shape"):
        apply_masks(model, {"3.weight": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(UserError, match="no parameter"):
        apply_masks(model, {"nope.weight": torch.ones(2, dtype=torch.bool)})
    assert isinstance(model, nn.Module)
