import math

import numpy as np
import pytest
import torch

from vita_cli.methods.predict_pose import metrics


def test_horizon_frames_match_the_released_code():
    assert [metrics.horizon_frames(10, h) for h in metrics.HORIZONS] == [2, 5, 7, 10]
    assert [metrics.horizon_frames(4, h) for h in metrics.HORIZONS] == [1, 2, 3, 4]
    assert metrics.horizon_frames(2, 0.25) == 1


def test_metrics_on_a_hand_made_sequence():
    # 4 future frames, 2 joints (joint 0 = torso). Torso error 125·k mm at frame k, joint 1 a constant 250 mm.
    target = np.zeros((1, 4, 2, 3))
    pred = target.copy()
    pred[0, :, 0, 0] = [0.125, 0.25, 0.375, 0.5]
    pred[0, :, 1, 1] = 0.25
    m = metrics.horizon_metrics(pred, target, torso=0)
    # per-frame pose errors 187.5, 250, 312.5, 375 → cumulative means 187.5, 218.75, 250, 281.25 → int
    assert list(m["pose"].values()) == [187, 218, 250, 281]
    assert list(m["path"].values()) == [125, 187, 250, 312]
    assert m["fde"] == 296.5  # (281 + 312) / 2
    assert m["ade"] == 226.25  # (234 + 218.5) / 2
    # Var(187, 218, 250, 281) = 1232.5, Var(125, 187, 250, 312) = 4867.25
    assert m["stb"] == pytest.approx(math.sqrt(0.5 * 1232.5 + 0.5 * 4867.25))


def test_flat_error_has_zero_divergence():
    target = np.zeros((3, 10, 5, 3))
    pred = target + np.array([0.0, 0.0, 0.25])
    m = metrics.horizon_metrics(pred, target, torso=2)
    assert m["stb"] == 0.0 and m["fde"] == 250.0 and m["ade"] == 250.0


def test_per_frame_error_and_bone_std():
    target = np.zeros((1, 3, 2, 3))
    pred = target.copy()
    pred[0, :, :, 0] = np.array([0.1, 0.2, 0.3])[:, None]
    assert metrics.per_frame_error_mm(pred, target) == pytest.approx([100, 200, 300])
    pose = np.zeros((1, 3, 2, 3))
    pose[0, :, 1, 1] = [1.0, 1.0, 1.0]
    assert metrics.bone_std_mm(pose, [(0, 1)]) == 0.0
    pose[0, 2, 1, 1] = 1.3
    assert metrics.bone_std_mm(pose, [(0, 1)]) > 100


def test_consistency_losses():
    y = torch.randn(2, 3, 16, 3)
    assert metrics.distance_consistency(y + 5.0, y) == pytest.approx(
        0.0, abs=1e-5
    )  # translation keeps distances
    assert metrics.distance_consistency(2 * y, y) > 0
    assert metrics.angle_consistency(y, y) == pytest.approx(0.0, abs=1e-5)
    assert (
        metrics.angle_consistency(y + 1.0, y) > 0
    )  # cosines of position vectors are not translation-invariant
    loss = metrics.skeleton_graph_loss(y + 0.1, y, 0.1, 0.1)
    assert loss == pytest.approx(0.01 + 0.1 * float(metrics.angle_consistency(y + 0.1, y)), rel=1e-4)


def test_error_parts_split_depth_from_pose():
    target = np.zeros((2, 3, 4, 3))
    target[..., 2] = 4.0
    pred = target.copy()
    pred[..., 2] += 0.5  # the whole body 0.5 m too far: pose relative to the torso is exact
    parts = metrics.error_parts_mm(pred, target, torso=0)
    assert parts["root_relative_mm"] == pytest.approx(0.0) and parts["torso_depth_mm"] == pytest.approx(500.0)
    assert parts["torso_lateral_mm"] == pytest.approx(0.0)
