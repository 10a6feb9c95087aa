"""The real ``vita predict-pose`` CLI: bad inputs (exit 2, one error line, no run folder), predict, tiny train."""

import json

import numpy as np
import pytest
import torch

from tests.methods.predict_pose.helpers import common_bvh, walking_npz
from vita_cli.core.checkpoint import save_checkpoint
from vita_cli.methods.predict_pose import engine
from vita_cli.methods.predict_pose.config import ModelConfig
from vita_cli.methods.predict_pose.skeleton import JOINTS

ONE_LINE = 1


def _error_line(result):
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == ONE_LINE and lines[0].startswith("error:"), result.stderr
    return lines[0]


@pytest.fixture
def checkpoint(tmp_path):
    """An (untrained) Skeleton-Graph checkpoint in the real format."""
    spec = engine.model_spec(
        "skeleton_graph", ModelConfig(n_stgcnn=1, n_txpcnn=2), 5, 10, ([0, 0, 4.5], [0.4, 0.4, 0.9])
    )
    model = engine.build_model(spec)
    meta = {
        "verb": "predict-pose train",
        "arch": spec,
        "norm": {"mean": 750.0, "std": 240.0},
        "fps": 5.0,
        "joints": list(JOINTS),
        "camera": {"width": 1920, "height": 1080, "focal": 1150.0},
        "split": "time",
        "seed": 0,
    }
    return save_checkpoint(tmp_path / "sg.safetensors", model.state_dict(), meta)


def _track(path, frames=6, joints=16, nan=False, future=True):
    rng = np.random.default_rng(0)
    kp = rng.uniform([800, 300], [1100, 800], (frames, joints, 2))
    if nan:
        kp[-2, 3, 0] = np.nan
    data = {"keypoints": kp}
    if future:
        data["future_3d"] = rng.normal([0, 0, 4.5], 0.3, (10, joints, 3))
    np.savez(path, **data)
    return path


def test_help_lists_actions(vita):
    r = vita("predict-pose", "--help")
    assert r.exit_code == 0
    for action in ("train", "eval", "predict"):
        assert action in r.stdout


def test_predict_writes_sequence_and_figures(vita, tmp_path, checkpoint):
    out = tmp_path / "run"
    r = vita(
        "predict-pose",
        "predict",
        _track(tmp_path / "t.npz"),
        "-c",
        checkpoint,
        "--out",
        out,
        "--json",
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    pred = np.load(out / "prediction.npz")["positions_cam"]
    assert pred.shape == (10, 16, 3) and np.isfinite(pred).all()
    assert res["fde_mm"] is not None and len(res["per_frame_mm"]) == 10
    assert (out / "prediction.png").stat().st_size > 1000 and (out / "prediction.gif").stat().st_size > 1000
    assert len(json.loads((out / "prediction.json").read_text())["positions_cam"]) == 10


def test_predict_reads_a_json_track(vita, tmp_path, checkpoint):
    kp = np.random.default_rng(1).uniform(300, 900, (5, 16, 2))
    track = tmp_path / "t.json"
    track.write_text(
        json.dumps(
            {"keypoints": kp.tolist(), "joints": list(JOINTS), "image_size": [1280, 720], "focal": 800}
        )
    )
    r = vita("predict-pose", "predict", track, "-c", checkpoint, "--out", tmp_path / "run", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["fde_mm"] is None


@pytest.mark.parametrize(
    "kind,expected",
    [
        ("nan", "NaN"),
        ("joints", "has 17 joints, the model expects 16"),
        ("short", "has 3 frames, the model observes 5"),
    ],
)
def test_predict_bad_tracks_exit_2_without_run_folder(vita, tmp_path, checkpoint, kind, expected):
    track = tmp_path / f"{kind}.npz"
    _track(
        track,
        frames=3 if kind == "short" else 6,
        joints=17 if kind == "joints" else 16,
        nan=kind == "nan",
        future=False,
    )
    out = tmp_path / "run"
    r = vita("predict-pose", "predict", track, "-c", checkpoint, "--out", out)
    assert r.exit_code == 2
    line = _error_line(r)
    assert str(track) in line and expected in line
    assert not out.exists()


def test_train_bvh_of_unknown_hierarchy_exit_2(vita, tmp_path):
    bvh = common_bvh(tmp_path / "odd.bvh", {n: f"bone{i}" for i, n in enumerate(JOINTS)})
    out = tmp_path / "run"
    r = vita(
        "predict-pose", "train", "-r", "predict-pose/tiny", "--motion", bvh, "--out", out, "data.clips=[]"
    )
    assert r.exit_code == 2
    line = _error_line(r)
    assert "odd.bvh" in line and "unknown joint hierarchy" in line
    assert not out.exists()


def test_train_motion_shorter_than_a_window_exit_2(vita, tmp_path):
    short = walking_npz(tmp_path / "short.npz", seconds=1.0)
    out = tmp_path / "run"
    r = vita(
        "predict-pose", "train", "-r", "predict-pose/tiny", "--motion", short, "--out", out, "data.clips=[]"
    )
    assert r.exit_code == 2
    line = _error_line(r)
    assert "short.npz" in line and "shorter than one window" in line
    assert not out.exists()


@pytest.mark.slow
def test_train_on_user_motion_files_end_to_end(vita, tmp_path):
    """Two generated clips (npz + BVH with a joint map), one split, one short epoch: files, rule, predict, eval."""
    walk = walking_npz(tmp_path / "walk.npz", seconds=20.0)
    names = {n: f"bone{i}" for i, n in enumerate(JOINTS)}
    bvh = common_bvh(tmp_path / "odd.bvh", names, frames=600)
    jmap = tmp_path / "map.json"
    jmap.write_text(json.dumps({**names, "scale": 0.01}))
    out = tmp_path / "run"
    r = vita(
        "predict-pose",
        "train",
        "-r",
        "predict-pose/tiny",
        "--motion",
        walk,
        "--motion",
        bvh,
        "--joint-map",
        jmap,
        "--out",
        out,
        "--json",
        "--quiet",
        "data.clips=[]",
        "data.train_windows=64",
        "train.epochs=1",
        "train.models=[skeleton_graph,ar_gru,lift]",
        "model.n_stgcnn=1",
        "model.n_txpcnn=2",
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    rows = res["summary"]["time"]
    assert set(rows) == {"skeleton_graph", "ar_gru", "zero_velocity", "constant_velocity"}
    assert res["clips"]["time"]["test"] == ["odd", "walk"]
    assert "fde_reduction_vs_gru" in res["rule"]["time"]
    assert (out / "skeletons.png").stat().st_size > 1000 and (out / "horizon-time.png").is_file()
    ckpt = out / "models" / "time-s0-skeleton_graph.safetensors"
    p = vita(
        "predict-pose", "predict", out / "example_track.npz", "-c", ckpt, "--out", tmp_path / "pred", "--json"
    )
    assert p.exit_code == 0, p.stderr
    assert json.loads(p.stdout)["fde_mm"] > 0
    e = vita("predict-pose", "eval", out, "--out", tmp_path / "ev", "--json", "data.noise_px=3")
    assert e.exit_code == 0, e.stderr
    assert set(json.loads(e.stdout)["summary"]["time"]) == set(rows)


@pytest.mark.slow
def test_tiny_recipe_runs(vita, tmp_path):
    torch.set_num_threads(2)
    r = vita(
        "predict-pose", "train", "-r", "predict-pose/tiny", "--out", tmp_path / "run", "--json", "--quiet"
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert {"skeleton_graph", "skeleton_graph_gcn", "skeleton_graph_fixed", "ar_gru"} <= set(
        res["summary"]["time"]
    )
