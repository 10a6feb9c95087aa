import numpy as np
import pytest

from vita_cli.methods.predict_pose import mocap
from vita_cli.methods.predict_pose.skeleton import INDEX, JOINTS, bone_lengths

from .helpers import HAND_BVH, HAND_BVH_POSITIONS, common_bvh, deepmimic_frame, walking_npz, write_deepmimic


def test_deepmimic_identity_pose_matches_urdf_offsets(tmp_path):
    clip = mocap.read_deepmimic(write_deepmimic(tmp_path / "still.txt", [deepmimic_frame()] * 3))
    p = clip.positions[0]
    s = mocap.URDF_SCALE
    np.testing.assert_allclose(p[INDEX["pelvis"]], [0, 0.9, 0], atol=1e-6)
    np.testing.assert_allclose(p[INDEX["spine"]], [0, 0.9 + 0.944604 * s, 0], atol=1e-6)
    np.testing.assert_allclose(p[INDEX["r_hip"]], [0, 0.9, 0.339548 * s], atol=1e-6)
    np.testing.assert_allclose(
        p[INDEX["r_ankle"]], [0, 0.9 - (1.686184 + 1.639480) * s, 0.339548 * s], atol=1e-6
    )
    np.testing.assert_allclose(p[INDEX["head"]], [0, 0.9 + (0.944604 + 0.895576 + 0.70) * s, 0], atol=1e-6)
    assert clip.fps == pytest.approx(30)


def test_deepmimic_knee_is_revolute_about_z(tmp_path):
    clip = mocap.read_deepmimic(write_deepmimic(tmp_path / "bend.txt", [deepmimic_frame(knee=np.pi / 2)] * 2))
    p = clip.positions[0]
    shin = 1.639480 * mocap.URDF_SCALE
    np.testing.assert_allclose(p[INDEX["r_ankle"]] - p[INDEX["r_knee"]], [shin, 0, 0], atol=1e-6)


def test_deepmimic_wrap_clip_is_tiled_forward(tmp_path):
    frames = [deepmimic_frame(root=(0.1 * k, 0.9, 0)) for k in range(5)]
    clip = mocap.read_deepmimic(write_deepmimic(tmp_path / "loop.txt", frames, loop="wrap"), min_seconds=0.4)
    assert len(clip.positions) == 3 * 4 + 1  # 3 cycles of 4 frames (0.133 s each) + the closing frame
    pelvis_x = clip.positions[:, INDEX["pelvis"], 0]
    np.testing.assert_allclose(np.diff(pelvis_x), 0.1, atol=1e-6)


@pytest.mark.skipif(mocap.deepmimic_dir() is None, reason="pybullet's motion clips are not installed")
def test_fk_of_walk_clip_has_constant_bones_and_plausible_heights():
    clip = mocap.read_motion(mocap.deepmimic_dir() / "humanoid3d_walk.txt")
    bones = bone_lengths(clip.positions)
    assert bones.std(axis=0).max() < 1e-5  # rigid limbs: lengths constant over time
    y = clip.positions[..., 1]
    assert 0.75 < y[:, INDEX["pelvis"]].mean() < 1.0
    assert 1.4 < y[:, INDEX["head"]].mean() < 1.8
    assert -0.05 < y[:, INDEX["r_ankle"]].min() < 0.2
    assert (y[:, INDEX["head"]] > y[:, INDEX["pelvis"]]).all() and (
        y[:, INDEX["pelvis"]] > y[:, INDEX["l_knee"]]
    ).all()


def test_bvh_hand_checked_positions(tmp_path):
    f = tmp_path / "hand.bvh"
    f.write_text(HAND_BVH)
    bvh = mocap.parse_bvh(f)
    assert bvh.names == ["Hips", "Thigh", "Shin"] and bvh.frame_time == pytest.approx(0.01)
    assert len(bvh.motion) == 2  # the line beyond the declared frame count is ignored
    np.testing.assert_allclose(mocap.bvh_positions(bvh), HAND_BVH_POSITIONS, atol=1e-9)


def test_bvh_with_fewer_frames_than_declared_is_an_error(tmp_path):
    f = tmp_path / "cut.bvh"
    f.write_text(HAND_BVH.replace("Frames: 2", "Frames: 5"))
    with pytest.raises(ValueError, match="cut.bvh.*declares 5 frames"):
        mocap.parse_bvh(f)


def test_bvh_unknown_hierarchy_needs_a_joint_map(tmp_path):
    f = common_bvh(tmp_path / "odd.bvh", {n: f"bone{i}" for i, n in enumerate(JOINTS)})
    with pytest.raises(ValueError, match="odd.bvh: unknown joint hierarchy"):
        mocap.read_bvh(f)
    clip = mocap.read_bvh(f, {**{n: f"bone{i}" for i, n in enumerate(JOINTS)}, "scale": 0.01})
    assert clip.positions.shape == (3, 16, 3)
    np.testing.assert_allclose(clip.positions[0, INDEX["head"]], [0, 0.95 + 0.75, 0], atol=1e-6)
    np.testing.assert_allclose(clip.positions[2, INDEX["pelvis"]], [0.04, 0.95, 0], atol=1e-6)


def test_bvh_known_hierarchy_and_unit_detection(tmp_path):
    from vita_cli.methods.predict_pose.skeleton import KNOWN_BVH_MAPS

    f = common_bvh(tmp_path / "mb.bvh", KNOWN_BVH_MAPS["mb-21"])
    clip = mocap.read_bvh(f)  # recognised by its joint names; centimetres detected from the rest height
    assert clip.positions[0, INDEX["pelvis"], 1] == pytest.approx(0.95)
    assert clip.fps == pytest.approx(30, rel=1e-3)


@pytest.mark.skipif(not mocap.BVH_DIR.is_dir(), reason="assimp-testmodels is not installed")
def test_assimp_cmu_bvh_reads_on_the_common_skeleton():
    clip = mocap.read_motion(mocap.BVH_DIR / "01_01.bvh")
    assert clip.positions.shape == (2752, 16, 3) and clip.fps == pytest.approx(120, rel=1e-3)
    y = clip.positions[..., 1]
    assert 0.8 < y[:, INDEX["pelvis"]].mean() < 1.1 and 1.4 < y[:, INDEX["head"]].mean() < 1.9


def test_npz_motion_reorders_joints_by_name(tmp_path):
    order = tuple(reversed(JOINTS))
    clip = mocap.read_npz_motion(walking_npz(tmp_path / "w.npz", joints=order))
    ref = mocap.read_npz_motion(walking_npz(tmp_path / "ref.npz"))
    np.testing.assert_allclose(clip.positions, ref.positions)


def test_npz_motion_with_nan_is_an_error(tmp_path):
    f = walking_npz(tmp_path / "w.npz")
    data = dict(np.load(f))
    data["positions"][3, 2, 1] = np.nan
    np.savez(f, **data)
    with pytest.raises(ValueError, match="w.npz.*NaN"):
        mocap.read_npz_motion(f)
