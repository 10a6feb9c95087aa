import json

import pytest
import torch

from vita_cli.models import build_model, save_model

ARCH = {"name": "resnet20", "num_classes": 10, "in_channels": 1}


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = build_model(ARCH)
    masks = {}
    for name, p in model.named_parameters():
        if p.ndim == 4 and name != "conv1.weight":
            masks[name] = torch.rand(p.shape) > 0.5
            with torch.no_grad():
                p.mul_(masks[name])
    return save_model(tmp_path / "ticket.safetensors", model, ARCH, masks, {"verb": "prune"}), model


def test_inspect_json_reports_sparsity_macs_masks(vita, checkpoint):
    path, _ = checkpoint
    r = vita("inspect", path, "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["arch"] == ARCH and data["format"] == "vita" and data["params"] == 269_434
    assert data["masks"]["present"] and data["masks"]["count"] == 18
    assert 0.45 < data["masks"]["density"] < 0.55 and 0.4 < data["global_sparsity"] < 0.55
    assert data["input_size"] == [1, 32, 32]
    assert 40e6 < data["macs_dense"] < 41e6 and data["macs_sparse"] < 0.6 * data["macs_dense"]
    layer = {row["name"]: row for row in data["layers"]}
    assert layer["conv1.weight"]["mask"] is False and layer["layer1.0.conv1.weight"]["mask"] is True
    assert data["meta"]["verb"] == "prune"


def test_inspect_state_dict_needs_arch(vita, checkpoint, tmp_path):
    _, model = checkpoint
    torch.save(model.state_dict(), tmp_path / "plain.pt")
    r = vita("inspect", tmp_path / "plain.pt", "--json")  # no --arch: inferred from the tensors
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["arch"]["name"] == "resnet20"
    torch.save({"w": torch.zeros(2, 2)}, tmp_path / "odd.pt")
    r = vita("inspect", tmp_path / "odd.pt", "--json")
    assert r.exit_code == 2 and "--arch" in r.stderr and "Traceback" not in r.stderr
    r = vita("inspect", tmp_path / "plain.pt", "--arch", "resnet20", "--input-size", "1x64x64", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["format"] == "state_dict" and not data["masks"]["present"]
    assert data["macs_dense"] > 4 * 40e6  # four times the pixels
    r = vita("inspect", tmp_path / "plain.pt", "--arch", "resnet20")  # the rich table
    assert r.exit_code == 0 and "layer1.0.conv1.weight" in r.stdout


def test_inspect_bad_inputs(vita, tmp_path, checkpoint):
    path, _ = checkpoint
    assert vita("inspect", tmp_path / "nope.safetensors").exit_code == 2
    r = vita("inspect", path, "--input-size", "32x32")
    assert r.exit_code == 2 and "CxHxW" in r.stderr
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(path.read_bytes()[:1000])
    r = vita("inspect", corrupt)
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    r = vita("inspect", path, "--arch", "resnet99")
    assert r.exit_code == 2 and "unknown architecture" in r.stderr
