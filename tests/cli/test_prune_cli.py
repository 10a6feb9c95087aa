"""`vita prune --method magnitude|imp|gdp` through the real CLI."""

import json

import pytest
import torch

from vita_cli.models import build_model, load_model, save_model
from vita_cli.sparsity import from_torch_prune_layout

FAST = [
    "data.train_subset=128",
    "data.val_size=64",
    "data.test_subset=64",
    "train.max_steps_per_epoch=2",
]


def _one_line_error(r, code=2):
    assert r.exit_code == code, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    return lines[0]


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(0)
    arch = {"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": 4}
    path = tmp_path / "model.safetensors"
    save_model(
        path,
        build_model(arch),
        arch,
        meta={"data": {"name": "fashion-mnist", "val_size": 64, "train_subset": 128, "test_subset": 64}},
    )
    return path


def test_magnitude_prune_and_torch_layout(vita, tmp_path, model_file):
    out = tmp_path / "p"
    r = vita(
        "prune",
        "--method",
        "magnitude",
        model_file,
        "--sparsity",
        "0.7",
        "--out",
        out,
        "--json",
        "--torch-prune-layout",
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["masked_sparsity"] == pytest.approx(0.7, abs=1e-3)
    loaded = load_model(out / "pruned.safetensors")
    assert set(loaded.masks) == {"conv2.weight", "conv3.weight", "conv4.weight"}  # stem + classifier kept
    for name, mask in loaded.masks.items():
        assert torch.count_nonzero(dict(loaded.model.named_parameters())[name][~mask]) == 0
    # the torch.nn.utils.prune export loads back with the same masks
    state, masks = from_torch_prune_layout(torch.load(out / "pruned_torch_prune.pt", weights_only=True))
    assert "conv2.weight_orig" not in state and all(
        torch.equal(masks[k], loaded.masks[k]) for k in loaded.masks
    )
    fresh = build_model(loaded.arch)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.conv2.weight, loaded.model.conv2.weight)


def test_imp_from_scratch_saves_the_flow(vita, tmp_path):
    out = tmp_path / "imp"
    r = vita(
        "prune",
        "--method",
        "imp",
        "--recipe",
        "prune/imp-tiny",
        "--out",
        out,
        "--json",
        "--device",
        "cpu",
        *FAST,
        "model.options.width=4",
        "imp.rounds=2",
        "imp.random_baseline=last",
    )
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert [round(x["remaining"], 2) for x in result["rounds"]] == [1.0, 0.5, 0.25]
    assert result["rounds"][-1]["random_test_acc"] is not None
    for n in range(3):
        for kind in ("trained", "rewound"):
            assert (out / "imp" / f"round_{n:02d}" / f"{kind}.safetensors").is_file()
    assert (out / "imp" / "rewind.safetensors").is_file() and (out / "imp.png").is_file()
    ticket = load_model(out / "ticket.safetensors")
    kept = sum(int(m.sum()) for m in ticket.masks.values()) / sum(m.numel() for m in ticket.masks.values())
    assert kept == pytest.approx(0.25, abs=0.01)
    # --resume with one more round continues after round 2
    r = vita(
        "prune",
        "--method",
        "imp",
        "--recipe",
        "prune/imp-tiny",
        "--out",
        out,
        "--json",
        "--device",
        "cpu",
        "--resume",
        *FAST,
        "model.options.width=4",
        "imp.rounds=3",
        "imp.random_baseline=none",
    )
    assert r.exit_code == 0, r.stderr
    rounds = json.loads(r.stdout)["rounds"]
    assert len(rounds) == 4 and rounds[2] == result["rounds"][2]


@pytest.mark.parametrize("value", ["1.5", "-0.1", "1"])
def test_out_of_range_sparsity(vita, tmp_path, model_file, value):
    line = _one_line_error(
        vita("prune", "--method", "magnitude", model_file, "--sparsity", value, "--out", tmp_path / "p")
    )
    assert "sparsity" in line


def test_bad_inputs(vita, tmp_path, model_file):
    line = _one_line_error(
        vita("prune", "--method", "magnitude", tmp_path / "missing.safetensors", "--out", tmp_path / "p")
    )
    assert "not found" in line
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    _one_line_error(vita("prune", "--method", "magnitude", bad, "--out", tmp_path / "p"))
    # a state dict of one architecture loaded as another: shape/tensor mismatch, named
    pt = tmp_path / "sd.pt"
    torch.save(
        build_model({"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": 4}).state_dict(), pt
    )
    line = _one_line_error(
        vita("prune", "--method", "magnitude", pt, "--arch", "resnet20", "--out", tmp_path / "p")
    )
    assert "resnet20" in line or "does not match" in line
    line = _one_line_error(
        vita("prune", "--method", "magnitude", pt, "--arch", "no-such-net", "--out", tmp_path / "p")
    )
    assert "no-such-net" in line
    line = _one_line_error(vita("prune", "--method", "pruney", model_file, "--out", tmp_path / "p"))
    assert "pruney" in line
    line = _one_line_error(vita("prune", "--method", "imp", "--out", tmp_path / "p", "imp.bogus=2"))
    assert "imp.bogus" in line
