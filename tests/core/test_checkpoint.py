import pytest
import torch

from vita_cli.core.checkpoint import load_checkpoint, save_checkpoint, tensors_sha256
from vita_cli.core.errors import UserError


def test_round_trip_with_metadata(tmp_path):
    tensors = {"a": torch.randn(3, 4), "mask": torch.rand(5) > 0.5}
    path = save_checkpoint(tmp_path / "m.safetensors", tensors, {"verb": "test", "arch": {"name": "x"}})
    ck = load_checkpoint(path)
    assert torch.equal(ck.tensors["a"], tensors["a"]) and ck.tensors["mask"].dtype == torch.bool
    assert ck.meta["verb"] == "test" and ck.arch == {"name": "x"}
    assert ck.meta["sha256"] == tensors_sha256(tensors)
    assert not list(tmp_path.glob(".*.tmp")), "temp file left behind"


def test_corrupt_file_is_user_error(tmp_path):
    path = save_checkpoint(tmp_path / "m.safetensors", {"a": torch.randn(100)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(path)


def test_tampered_tensor_fails_integrity(tmp_path):
    path = save_checkpoint(tmp_path / "m.safetensors", {"a": torch.zeros(64)})
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # flip bits inside the tensor payload
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="integrity"):
        load_checkpoint(path)


class Evil:
    """Any class: unpickling it would run code, so weights_only loading must refuse it."""


def test_pt_loaded_weights_only(tmp_path):
    good = tmp_path / "sd.pt"
    torch.save({"w": torch.ones(2)}, good)
    assert torch.equal(load_checkpoint(good).tensors["w"], torch.ones(2))

    bad = tmp_path / "pickle.pt"
    torch.save({"w": Evil()}, bad)
    with pytest.raises(UserError, match="trust-pickle"):
        load_checkpoint(bad)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_checkpoint(tmp_path / "nothing.safetensors")
