import json

import pytest
import torch
import torch.nn.utils.prune as torch_prune

from vita_cli.core.errors import UserError
from vita_cli.models import build_model, export_prune_state_dict, load_model, save_model

ARCH = {"name": "resnet20", "num_classes": 10, "in_channels": 1}


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(ARCH)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_vita_checkpoint_round_trip_with_masks(tmp_path, model):
    mask = torch.rand(16, 16, 3, 3) > 0.3
    with torch.no_grad():
        model.layer1[0].conv1.weight.mul_(mask)
    path = save_model(tmp_path / "m.safetensors", model, ARCH, {"layer1.0.conv1.weight": mask}, {"epoch": 3})
    loaded = load_model(path)
    assert loaded.arch == ARCH and loaded.meta["epoch"] == 3 and loaded.source_format == "vita"
    assert list(loaded.masks) == ["layer1.0.conv1.weight"]
    assert loaded.masks["layer1.0.conv1.weight"].dtype == torch.bool
    assert torch.equal(loaded.masks["layer1.0.conv1.weight"], mask)
    assert _same_weights(loaded.model, model)


def test_save_rejects_bad_mask(tmp_path, model):
    with pytest.raises(ValueError, match="unknown parameter"):
        save_model(tmp_path / "m.safetensors", model, ARCH, {"nope.weight": torch.ones(1, dtype=torch.bool)})


def test_state_dict_with_arch_infers_dims(tmp_path, model):
    torch.save(model.state_dict(), tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt", arch_name="resnet20")
    assert loaded.arch == ARCH and loaded.source_format == "state_dict" and not loaded.masks
    assert _same_weights(loaded.model, model)
    # DDP-prefixed keys and training-checkpoint dicts load too (still weights-only)
    torch.save(
        {"epoch": 5, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}},
        tmp_path / "c.pth",
    )
    assert _same_weights(load_model(tmp_path / "c.pth", "resnet20").model, model)
    torch.save({"epoch": 5, "model": model.state_dict(), "best": 0.5}, tmp_path / "d.pth")
    assert _same_weights(load_model(tmp_path / "d.pth", "resnet20").model, model)


def test_no_arch_and_wrong_arch(tmp_path, model):
    torch.save(model.state_dict(), tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")  # no --arch: read off the tensor names and shapes
    assert loaded.arch["name"] == "resnet20" and loaded.inferred_arch
    torch.save({"w": torch.zeros(3, 3)}, tmp_path / "odd.pt")
    with pytest.raises(UserError) as err:
        load_model(tmp_path / "odd.pt")
    assert "pass --arch NAME" in err.value.hint
    with pytest.raises(UserError, match="does not match the architecture"):
        load_model(tmp_path / "m.pt", "resnet32")


def test_shape_mismatch_names_tensor_and_shapes(tmp_path, model):
    torch.save(model.state_dict(), tmp_path / "m.pt")
    with pytest.raises(UserError) as err:
        load_model(tmp_path / "m.pt", "resnet20", num_classes=100)
    message = err.value.message
    assert "'fc.weight'" in message and "(100, 64)" in message and "(10, 64)" in message


def test_pickled_module_needs_trust(tmp_path, model):
    torch.save(model, tmp_path / "whole.pt")
    with pytest.raises(UserError) as err:
        load_model(tmp_path / "whole.pt", "resnet20")
    assert "arbitrary code" in err.value.message and "--trust-pickle" in err.value.hint
    loaded = load_model(tmp_path / "whole.pt", trust_pickle=True)
    assert loaded.source_format == "pickle" and _same_weights(loaded.model, model)


def test_torch_prune_layout_round_trip(tmp_path, model):
    convs = [(m, "weight") for m in (model.layer1[0].conv1, model.layer2[1].conv2)]
    torch_prune.global_unstructured(convs, pruning_method=torch_prune.L1Unstructured, amount=0.6)
    torch.save(model.state_dict(), tmp_path / "ticket.pth")
    loaded = load_model(tmp_path / "ticket.pth", "resnet20")
    assert loaded.source_format == "prune"
    assert set(loaded.masks) == {"layer1.0.conv1.weight", "layer2.1.conv2.weight"}
    conv = loaded.model.layer1[0].conv1.weight
    assert torch.equal(conv, model.layer1[0].conv1.weight)  # weight = orig * mask
    assert torch.equal(loaded.masks["layer1.0.conv1.weight"], model.layer1[0].conv1.weight_mask.bool())
    # and back out: the exported layout loads into a pruned torch model unchanged
    exported = export_prune_state_dict(loaded.model, loaded.masks)
    fresh = build_model(ARCH)
    for m, n in [(fresh.layer1[0].conv1, "weight"), (fresh.layer2[1].conv2, "weight")]:
        torch_prune.identity(m, n)
    fresh.load_state_dict(exported)
    conv_pruned = fresh.layer1[0].conv1  # torch recomputes .weight in the next forward; compare its parts
    assert torch.equal(conv_pruned.weight_orig * conv_pruned.weight_mask, conv)
    assert torch.equal(conv_pruned.weight_mask.bool(), loaded.masks["layer1.0.conv1.weight"])


def test_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(UserError):
        load_model(bad)
    with pytest.raises(UserError, match="not found"):
        load_model(tmp_path / "missing.pt", "resnet20")
    (tmp_path / "junk.pt").write_text(json.dumps({"a": 1}))
    with pytest.raises(UserError):
        load_model(tmp_path / "junk.pt", "resnet20")
