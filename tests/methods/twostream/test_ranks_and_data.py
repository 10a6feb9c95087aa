"""Two gloo ranks score like one process; rendered clips are deterministic; clip folders and bad inputs."""

import json
import random

import numpy as np
import pytest
import torch

from tests.methods.twostream.helpers import fake_data, tiny_space
from vita_cli.core.errors import UserError
from vita_cli.methods.twostream import render
from vita_cli.methods.twostream import search as E
from vita_cli.methods.twostream import space as S
from vita_cli.methods.twostream.data import load_folder, read_clip, write_folder
from vita_cli.methods.twostream.ranks import score_on_ranks
from vita_cli.methods.twostream.supernet import TwoStreamNet


@pytest.mark.slow  # spawns two processes (~10 s on a shared machine)
def test_two_gloo_ranks_give_the_same_scores_as_one():
    torch.manual_seed(0)
    space = tiny_space()
    data = fake_data()
    net = TwoStreamNet.supernet(space.largest(), space.fusion, space.attention)
    calib = E.calibration_indices(len(data.train), 2, 6)
    rng = random.Random(0)
    archs = [S.sample(space, space.largest(), S.variables_of("joint"), rng) for _ in range(5)]
    one = E.Scorer(net, data, torch.device("cpu"), calib).score_many(archs)
    two, _ = score_on_ranks(net, data, space, archs, calib, world=2)
    assert two == pytest.approx(one, abs=1e-9)


def test_rendered_clips_deterministic_by_seed():
    a = render.render_set("order", {"train": 1}, frames=4, size=16, seed=3)
    b = render.render_set("order", {"train": 1}, frames=4, size=16, seed=3)
    c = render.render_set("order", {"train": 1}, frames=4, size=16, seed=4)
    assert len(a["train"]) == 8 and a["train"][0][1].shape == (4, 16, 16, 3)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a["train"], b["train"], strict=True))
    assert not np.array_equal(a["train"][0][1], c["train"][0][1])
    assert [cls for cls, _ in a["train"]][:2] == ["getup_faceup", "getup_faceup_reversed"]


def test_write_then_load_folder_with_split_file(tmp_path):
    rng = np.random.default_rng(0)
    splits = {
        s: [(c, rng.integers(0, 255, (6, 20, 20, 3), dtype=np.uint8)) for c in ("a", "b") for _ in range(2)]
        for s in ("train", "val", "test")
    }
    write_folder(tmp_path, splits, ["a", "b"], {"set": "test"})
    ds = load_folder(tmp_path, frames=4, size=16)
    assert len(ds.train) == 4 and ds.train.clips.shape == (4, 4, 16, 16, 3) and ds.classes == ["a", "b"]
    assert json.loads((tmp_path / "split.json").read_text())["train"][0] == "a/train_0000.npy"


def test_user_video_folder_without_split_file(tmp_path):
    cv2 = pytest.importorskip("cv2")
    for cls in ("wave", "clap"):
        (tmp_path / cls).mkdir()
        for i in range(4):
            writer = cv2.VideoWriter(
                str(tmp_path / cls / f"v{i}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (24, 24)
            )
            for t in range(5):
                writer.write(np.full((24, 24, 3), 40 * t + i, dtype=np.uint8))
            writer.release()
    ds = load_folder(tmp_path, frames=4, size=16, val_fraction=0.25, test_fraction=0.25)
    assert ds.classes == ["clap", "wave"] and len(ds.train) + len(ds.val) + len(ds.test) == 8


def test_bad_folders_name_the_culprit(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
    np.save(tmp_path / "a" / "x.npy", np.zeros((4, 8, 8, 3), np.uint8))
    with pytest.raises(UserError, match=r"empty class folder .*b"):
        load_folder(tmp_path, 4, 8)
    (tmp_path / "b" / "broken.mp4").write_bytes(b"not a video at all")
    with pytest.raises(UserError, match="broken.mp4"):
        read_clip(tmp_path / "b" / "broken.mp4")
