"""Architecture inference for plain state dicts."""

import pytest
import torch
import torchvision

from vita_cli.core.errors import UserError
from vita_cli.models import infer
from vita_cli.models.infer import TORCHVISION_TENSORS, describe_arch, infer_arch
from vita_cli.models.registry import build_model


def _state(arch):
    with torch.device("meta"):  # inference reads only names and shapes
        return build_model(arch).state_dict()


@pytest.mark.parametrize(
    "arch",
    [
        {"name": "small_cnn", "width": 8, "in_channels": 1, "num_classes": 10},
        {"name": "small_cnn", "in_channels": 3, "num_classes": 4},
        {"name": "resnet20", "in_channels": 3, "num_classes": 10},
        {"name": "resnet32", "shortcut": "B", "width": 8, "in_channels": 1, "num_classes": 10},
        {"name": "wrn16_2", "in_channels": 3, "num_classes": 10},
        {"name": "wrn22_3", "in_channels": 3, "num_classes": 100},
        {"name": "vgg16_bn", "in_channels": 1, "num_classes": 10},
        {"name": "resnet18_cifar", "in_channels": 3, "num_classes": 10},
    ],
    ids=describe_arch,
)
def test_vita_models_are_found_with_their_options(arch):
    assert infer_arch(_state(arch)) == arch


@pytest.mark.parametrize(
    "name,num_classes",
    [
        ("resnet18", 10),
        ("resnet34", 10),
        ("resnet50", 10),
        ("mobilenet_v2", 10),
        ("vgg16", 10),
        ("squeezenet1_1", 7),
    ],
)
def test_torchvision_models_are_found(name, num_classes):
    with torch.device("meta"):
        state = torchvision.models.get_model(name, weights=None, num_classes=num_classes).state_dict()
    assert infer_arch(state) == {"name": f"torchvision:{name}", "in_channels": 3, "num_classes": num_classes}


def test_resnet18_and_its_cifar_variant_are_told_apart_by_the_stem():
    cifar = _state({"name": "resnet18_cifar", "num_classes": 10})
    with torch.device("meta"):
        plain = torchvision.models.resnet18(num_classes=10).state_dict()
    assert infer_arch(cifar)["name"] == "resnet18_cifar"
    assert infer_arch(plain)["name"] == "torchvision:resnet18"


def test_only_restricts_the_search_but_still_reads_options():
    state = _state({"name": "small_cnn", "width": 8, "num_classes": 10, "in_channels": 1})
    assert infer_arch(state, only="small_cnn")["width"] == 8
    with pytest.raises(UserError, match="does not match architecture 'resnet20'"):
        infer_arch(state, only="resnet20")


def test_several_matches_are_listed(monkeypatch):
    # dropout changes no tensor: a state dict cannot tell these two apart
    monkeypatch.setattr(
        infer,
        "_vita_candidates",
        lambda shapes: [{"name": "small_cnn"}, {"name": "small_cnn", "dropout": 0.5}],
    )
    state = _state({"name": "small_cnn", "num_classes": 10, "in_channels": 1})
    with pytest.raises(UserError, match=r"several architectures: small_cnn, small_cnn\(dropout=0.5\)") as exc:
        infer_arch(state)
    assert "--arch" in exc.value.hint


def test_no_match_names_the_closest_and_the_remedy():
    state = _state({"name": "small_cnn", "num_classes": 10, "in_channels": 1})
    state["fc.weight"] = torch.zeros(10, 7)
    with pytest.raises(UserError, match="matches none") as exc:
        infer_arch(state)
    assert "closest: small_cnn (fc.weight" in exc.value.message
    assert "--arch NAME" in exc.value.hint
    with pytest.raises(UserError, match="holds no tensors"):
        infer_arch({})


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "vgg19_bn", "squeezenet1_0"])
def test_tensor_count_table_matches_torchvision(name):
    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None)
    count = sum(1 for k in model.state_dict() if not k.endswith("num_batches_tracked"))
    assert TORCHVISION_TENSORS[name] == count


def test_table_covers_the_installed_torchvision():
    known = set(torchvision.models.list_models(module=torchvision.models))
    # regnet_y_128gf is left out: its tensor count is only known by allocating 2.6 GB
    assert known - set(TORCHVISION_TENSORS) <= {"regnet_y_128gf"}
