import sys
import types

import pytest
import torch
import torch.nn as nn

from vita_cli.core.errors import UserError
from vita_cli.models import MODEL_NAMES, MODELS, build_model
from vita_cli.models.registry import REBUILDERS

# 1-channel builds are checked where the stem differs; the rest run once with 3 channels to stay fast
BOTH_CHANNELS = {"small_cnn", "resnet20", "wrn10_1", "torchvision:resnet18"}


@pytest.mark.parametrize(
    "name", sorted(MODELS) + ["wrn10_1", "torchvision:resnet18", "torchvision:mobilenet_v3_small"]
)
def test_every_name_builds_and_runs(name):
    channels = (1, 3) if name in BOTH_CHANNELS else (3,)
    for c in channels:
        model = build_model({"name": name, "num_classes": 7, "in_channels": c}).eval()
        with torch.no_grad():
            assert model(torch.randn(2, c, 32, 32)).shape == (2, 7)


def test_known_parameter_counts():
    def count(arch):
        return sum(p.numel() for p in build_model(arch).parameters())

    # He et al. 2016 Table 6: ResNet-20 0.27M, ResNet-56 0.85M (option A, CIFAR-10)
    assert count({"name": "resnet20", "num_classes": 10, "in_channels": 3}) == 269_722
    assert count({"name": "resnet56", "num_classes": 10, "in_channels": 3}) == 853_018
    option_b = count({"name": "resnet20", "num_classes": 10, "in_channels": 3, "shortcut": "B"})
    assert option_b > 269_722  # the 1×1 projection shortcuts add parameters


def test_option_b_uses_projection_and_cifar_resnet18_has_small_stem():
    model = build_model({"name": "resnet20", "shortcut": "B"})
    assert isinstance(model.layer2[0].shortcut[0], nn.Conv2d)
    r18 = build_model({"name": "resnet18_cifar", "num_classes": 10, "in_channels": 3})
    assert (
        r18.conv1.kernel_size == (3, 3)
        and r18.conv1.stride == (1, 1)
        and isinstance(r18.maxpool, nn.Identity)
    )


def test_small_cnn_has_a_wide_conv():
    model = build_model({"name": "small_cnn", "num_classes": 10, "in_channels": 1})
    assert any(
        m.in_channels >= 32 and m.out_channels >= 32 for m in model.modules() if isinstance(m, nn.Conv2d)
    )


def test_unknown_names_and_options():
    with pytest.raises(UserError) as err:
        build_model({"name": "resnet21"})
    assert (
        "resnet21" in err.value.message
        and "resnet20" in err.value.hint
        and "torchvision:NAME" in err.value.hint
    )
    assert "small_cnn" in MODEL_NAMES
    with pytest.raises(UserError, match="no option 'depth'"):
        build_model({"name": "resnet20", "depth": 3})
    with pytest.raises(UserError, match="unknown torchvision"):
        build_model({"name": "torchvision:not_a_model"})
    with pytest.raises(UserError, match="6n\\+4"):
        build_model({"name": "wrn15_2"})
    with pytest.raises(UserError, match="shortcut"):
        build_model({"name": "resnet20", "shortcut": "C"})


def test_rebuilders_are_a_fixed_table(monkeypatch):
    def halve_fc(model, spec):
        model.fc = nn.Linear(model.fc.in_features, spec["classes"])
        return model

    monkeypatch.setitem(REBUILDERS, "halve_fc", halve_fc)
    arch = {"name": "resnet20", "rebuild": {"rebuilder": "halve_fc", "classes": 3}}
    assert build_model(arch).fc.out_features == 3
    # a checkpoint never names code to import: a module path is just an unknown name
    module = types.ModuleType("vita_cli._rebuild_for_test")
    module.halve_fc = halve_fc
    monkeypatch.setitem(sys.modules, "vita_cli._rebuild_for_test", module)
    for spec in ({"fn": "vita_cli._rebuild_for_test:halve_fc"}, {"fn": "os:system"}, {"rebuilder": "nope"}):
        with pytest.raises(UserError, match="unknown model rebuilder"):
            build_model({"name": "resnet20", "rebuild": spec})


def test_legacy_rebuild_paths_still_load():
    from vita_cli.models.dubin import DuBIN

    model = build_model(
        {
            "name": "resnet20",
            "width": 4,
            "rebuild": {"fn": "vita_cli.methods.augmax.dubin:rebuild", "norm": "dubin"},
        }
    )
    assert any(isinstance(m, DuBIN) for m in model.modules())
