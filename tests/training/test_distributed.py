"""Two CPU processes with gloo: after a few DDP steps both ranks hold identical weights."""

import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from tests.training.helpers import ddp_worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_ranks_agree(tmp_path, monkeypatch):
    # spawned workers unpickle ddp_worker by module name: they need the repository root on sys.path
    # (``python -m pytest`` puts the working directory there, the ``pytest`` script does not)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    try:
        mp.spawn(ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    except mp.ProcessRaisedException as exc:
        # the free port can be taken by another process between probing and binding: retry once
        if "address" not in str(exc).lower() and "connect" not in str(exc).lower():
            raise
        mp.spawn(ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for name, tensor in a["state"].items():
        assert torch.equal(tensor, b["state"][name]), name
    # metrics were reduced over both ranks: each epoch saw 2 ranks x 3 steps x 16 images
    assert a["history"][0]["train_loss"] == b["history"][0]["train_loss"]
    assert (tmp_path / "ckpt" / "last.pt").is_file()
    # the model changed from rank 0's init, and pruned weights stayed zero
    assert torch.count_nonzero(a["state"]["3.weight"]) <= a["state"]["3.weight"].numel() // 2
