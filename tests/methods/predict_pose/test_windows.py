import numpy as np
import pytest

from vita_cli.methods.predict_pose import windows as W
from vita_cli.methods.predict_pose.mocap import Clip
from vita_cli.methods.predict_pose.skeleton import MIRROR


def test_projection_round_trip_with_known_depth():
    rng = np.random.default_rng(0)
    pts = rng.uniform([-1, -1, 2], [1, 1, 6], (50, 3))
    pix = W.project(pts, 1150.0, (960.0, 540.0))
    np.testing.assert_allclose(W.unproject(pix, pts[:, 2], 1150.0, (960.0, 540.0)), pts, atol=1e-9)


def test_look_at_puts_the_target_on_the_principal_point():
    eye = np.array([[3.0, 1.5, -2.0]])
    target = np.array([[0.0, 1.0, 0.5]])
    rot = W.look_at(eye, target)
    np.testing.assert_allclose(rot[0] @ rot[0].T, np.eye(3), atol=1e-9)
    cam = W.to_camera(target[:, None], rot, eye)[0, 0]
    assert cam[2] > 0 and abs(cam[0]) < 1e-9 and abs(cam[1]) < 1e-9
    above = W.to_camera(target[:, None] + [0, 1, 0], rot, eye)[0, 0]
    assert above[1] < 0  # y points down in the camera frame


def test_mirror_twice_is_identity_and_swaps_sides():
    pose = np.random.default_rng(1).normal(size=(4, 16, 3))
    np.testing.assert_allclose(W.mirror(W.mirror(pose)), pose)
    assert sorted(MIRROR) == list(range(16)) and MIRROR != tuple(range(16))


def _clip(name, seconds, fps=30.0):
    t = np.arange(int(seconds * fps) + 1) / fps
    pos = np.zeros((len(t), 16, 3), np.float32)
    pos[..., 1] = np.linspace(0.1, 1.7, 16)
    pos[..., 0] = t[:, None]
    return Clip(name, pos, fps, "test")


def test_time_split_segments_do_not_overlap_and_short_clips_train_only():
    clips = [_clip("long", 30.0), _clip("short", 4.0)]
    seg = W.split_segments(clips, "time", (0.1, 0.2), [], [], span=2.8)
    assert [s.clip.name for s in seg["test"]] == ["long"] and [s.clip.name for s in seg["val"]] == ["long"]
    tr, va, te = seg["train"][0], seg["val"][0], seg["test"][0]
    assert (
        tr.end == pytest.approx(va.start)
        and va.end == pytest.approx(te.start)
        and te.end == pytest.approx(30.0)
    )
    assert {s.clip.name for s in seg["train"]} == {"long", "short"}


def test_clip_split_holds_out_named_clips():
    clips = [_clip("a", 5), _clip("b", 5), _clip("c", 5)]
    seg = W.split_segments(clips, "clips", (0.1, 0.2), ["b"], ["c"], span=2.8)
    assert [[s.clip.name for s in seg[k]] for k in ("train", "val", "test")] == [["a"], ["b"], ["c"]]


def test_fixed_windows_are_reproducible_and_consistent():
    seg = [W.Segment(_clip("a", 6.0), 0.0, 6.0)]
    cam = W.Camera()
    a = W.fixed_windows(seg, 5, 10, 5.0, cam, 2, 0.0, seed=7)
    b = W.fixed_windows(seg, 5, 10, 5.0, cam, 2, 0.0, seed=7)
    assert len(a) == 2 * (int((6.0 - 14 / 5) * 5) + 1)
    np.testing.assert_array_equal(a.x, b.x)
    # the 2D inputs are the projections of the observed 3D frames
    np.testing.assert_allclose(W.project(a.obs3d, cam.focal, cam.principal), a.x, atol=1e-2)
    assert (a.x[..., 0] >= 0).all() and (a.x[..., 0] < cam.width).all()


def test_random_windows_time_warp_and_mirror_run():
    seg = [W.Segment(_clip("a", 10.0), 0.0, 10.0)]
    w = W.random_windows(
        seg, 64, 5, 10, 5.0, W.Camera(), 2.0, np.random.default_rng(0), warp=1.5, mirror_p=0.5
    )
    assert w.x.shape == (64, 5, 16, 2) and w.y.shape == (64, 10, 16, 3) and np.isfinite(w.x).all()
