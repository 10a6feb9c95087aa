"""Candidate scoring on several local CPU processes (gloo), outside torchrun: the same
:meth:`Scorer.score_many` the search uses, with the supernet and the clips handed over in files.

Used by the two-rank equality test and by the benchmark (evaluations per second, 1 vs N ranks).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from vita_cli.methods.twostream import space as S
from vita_cli.methods.twostream.data import ClipSet, Dataset
from vita_cli.methods.twostream.search import Scorer
from vita_cli.methods.twostream.supernet import TwoStreamNet


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def space_from_dict(d: dict) -> S.Space:
    return S.Space(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _worker(rank: int, world: int, port: int, job_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        job = json.loads((Path(job_dir) / "job.json").read_text())
        tensors = load_file(str(Path(job_dir) / "job.safetensors"))
        space = space_from_dict(job["space"])
        net = TwoStreamNet.supernet(space.largest(), space.fusion, space.attention)
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        train = ClipSet(tensors["train_clips"], tensors["train_labels"])
        val = ClipSet(tensors["val_clips"], tensors["val_labels"])
        data = Dataset(job["classes"], train, val, val, Path(job_dir), job["frames"], job["size"])
        calib = [tensors[f"calib_{i}"] for i in range(job["calib"])]
        archs = [S.architecture_from_dict(a) for a in job["archs"]]
        scorer = Scorer(net, data, torch.device("cpu"), calib)
        dist.barrier()
        start = time.perf_counter()
        scores = scorer.score_many(archs)
        seconds = time.perf_counter() - start
        if rank == 0:
            (Path(job_dir) / "scores.json").write_text(json.dumps({"scores": scores, "seconds": seconds}))
    finally:
        dist.destroy_process_group()


def score_on_ranks(
    net: TwoStreamNet,
    data: Dataset,
    space: S.Space,
    archs: list[S.Architecture],
    calib: list[torch.Tensor],
    world: int,
) -> tuple[list[float], float]:
    """Scores of ``archs`` computed by ``world`` spawned gloo processes; (scores, seconds of scoring)."""
    with tempfile.TemporaryDirectory() as tmp:
        tensors = {f"net.{k}": v.detach().contiguous() for k, v in net.state_dict().items()}
        tensors.update(
            train_clips=data.train.clips.contiguous(),
            train_labels=data.train.labels,
            val_clips=data.val.clips.contiguous(),
            val_labels=data.val.labels,
            **{f"calib_{i}": c.contiguous() for i, c in enumerate(calib)},
        )
        save_file(tensors, str(Path(tmp) / "job.safetensors"))
        job = {
            "space": asdict(space),
            "classes": data.classes,
            "frames": data.frames,
            "size": data.size,
            "calib": len(calib),
            "archs": [a.to_dict() for a in archs],
        }
        (Path(tmp) / "job.json").write_text(json.dumps(job))
        mp.spawn(_worker, args=(world, _free_port(), tmp), nprocs=world, join=True)
        out = json.loads((Path(tmp) / "scores.json").read_text())
    return out["scores"], out["seconds"]
