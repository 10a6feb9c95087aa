"""``vita export``: TorchScript files that plain PyTorch loads and that reproduce the model."""

import json

import torch

from vita_cli.methods.gdp.compact import compact_model, harden
from vita_cli.methods.gdp.flops import dense_macs, resolve_keep
from vita_cli.methods.gdp.gates import GateBank
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.models import build_model, save_model
from vita_cli.models.manifest import manifest_spec


def _export(vita, model_file, tmp_path, *extra):
    target = tmp_path / "m.torchscript.pt"
    r = vita(
        "export",
        model_file,
        "--torchscript",
        target,
        "--device",
        "cpu",
        "--json",
        "--out",
        tmp_path / "run",
        *extra,
    )
    assert r.exit_code == 0, r.stderr
    return target, json.loads(r.stdout)


def test_dense_model_round_trip(vita, tmp_path):
    arch = {"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": 8}
    model = build_model(arch).eval()
    path = save_model(tmp_path / "dense.safetensors", model, arch)
    target, out = _export(vita, path, tmp_path, "data.image_size=16")
    assert out["input_shape"] == [1, 1, 16, 16] and out["max_abs_diff"] < 1e-5
    scripted = torch.jit.load(str(target))
    x = torch.randn(3, 1, 16, 16)  # another batch size than the tracing example
    with torch.no_grad():
        assert torch.allclose(scripted(x), model(x), atol=1e-5)


def test_gdp_compact_model_round_trip(vita, tmp_path):
    # a GDP-compacted ResNet-20 (option A: the channel remap must survive tracing), rebuilt from its manifest
    torch.manual_seed(0)
    arch = {"name": "resnet20", "num_classes": 10, "in_channels": 1, "shortcut": "A"}
    dense = build_model(arch).eval()
    graph = build_channel_graph(dense, (1, 32, 32))
    bank = GateBank(graph)
    priority = {s: torch.rand(graph.spaces[s].size) for s in graph.gated_spaces}
    on, _ = harden(graph, bank.values(), 1e-3, 0.5 * dense_macs(graph), priority=priority)
    compact, manifest = compact_model(dense, graph, bank.values(), resolve_keep(graph, on))
    path = save_model(tmp_path / "compact.safetensors", compact, {**arch, "rebuild": manifest_spec(manifest)})
    target, out = _export(vita, path, tmp_path, "--batch", "2")
    assert out["input_shape"] == [2, 1, 32, 32] and out["max_abs_diff"] < 1e-4
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(torch.jit.load(str(target))(x), compact.eval()(x), atol=1e-4)


def test_missing_model_file_is_exit_2(vita, tmp_path):
    r = vita("export", tmp_path / "nope.safetensors", "--out", tmp_path / "run")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
