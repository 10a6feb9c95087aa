"""Small motion files in the real formats (DeepMimic JSON, BVH, npz) for the predict-pose tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vita_cli.methods.predict_pose.skeleton import JOINTS

IDENTITY = [1.0, 0.0, 0.0, 0.0]


def deepmimic_frame(dt=1 / 30, root=(0.0, 0.9, 0.0), knee=0.0, root_quat=IDENTITY, chest=IDENTITY):
    """44 numbers: dt, root pos, root quat, chest, neck, r_hip, r_knee, r_ankle, r_shoulder, r_elbow, left side."""
    side = IDENTITY + [knee] + IDENTITY + IDENTITY + [0.0]
    return [dt, *root, *root_quat, *chest, *IDENTITY, *side, *side]


def write_deepmimic(path: Path, frames, loop="none") -> Path:
    path.write_text(json.dumps({"Loop": loop, "Frames": frames}))
    return path


def walking_npz(path: Path, seconds=6.0, fps=30.0, joints=JOINTS, speed=1.0) -> Path:
    """A stick figure walking along x with swinging limbs, on the common skeleton (metres, y up)."""
    t = np.arange(int(seconds * fps)) / fps
    rest = {
        "pelvis": (0, 0.95, 0),
        "spine": (0, 1.2, 0),
        "neck": (0, 1.5, 0),
        "head": (0, 1.7, 0),
        "r_shoulder": (0, 1.45, 0.18),
        "r_elbow": (0, 1.17, 0.2),
        "r_wrist": (0, 0.92, 0.2),
        "l_shoulder": (0, 1.45, -0.18),
        "l_elbow": (0, 1.17, -0.2),
        "l_wrist": (0, 0.92, -0.2),
        "r_hip": (0, 0.9, 0.1),
        "r_knee": (0, 0.5, 0.1),
        "r_ankle": (0, 0.08, 0.1),
        "l_hip": (0, 0.9, -0.1),
        "l_knee": (0, 0.5, -0.1),
        "l_ankle": (0, 0.08, -0.1),
    }
    pos = np.array([rest[n] for n in JOINTS], dtype=np.float64)[None].repeat(len(t), 0)
    pos[:, :, 0] += speed * t[:, None]
    swing = 0.25 * np.sin(2 * np.pi * t)
    for name, sign in (
        ("r_knee", 1),
        ("r_ankle", 2),
        ("l_knee", -1),
        ("l_ankle", -2),
        ("r_wrist", -1),
        ("l_wrist", 1),
    ):
        pos[:, JOINTS.index(name), 0] += sign * swing * 0.5
    order = [JOINTS.index(n) for n in joints] if joints is not JOINTS else list(range(len(JOINTS)))
    np.savez(path, positions=pos[:, order], joints=np.array(list(joints)), fps=np.array(fps))
    return path


HAND_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0.0 0.0 0.0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Thigh
  {
    OFFSET 0.0 -40.0 0.0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Shin
    {
      OFFSET 0.0 -40.0 0.0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0.0 -5.0 0.0
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.01
10.0 90.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0
10.0 90.0 0.0 90.0 0.0 0.0 0.0 90.0 0.0 0.0 0.0 0.0
0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0 0.0
"""
# frame 0: Hips (10, 90, 0), Thigh (10, 50, 0), Shin (10, 10, 0)
# frame 1: Hips Zrotation 90 turns local -y into +x: Thigh (10+40, 90, 0) = (50, 90, 0); the Thigh's
#          Xrotation 90 then turns -y into -z in the Thigh's frame, which the root's Rz leaves on -z:
#          Shin = Thigh + Rz(90)·Rx(90)·(0, -40, 0) = (50, 90, 0) + (0, 0, -40) = (50, 90, -40)
HAND_BVH_POSITIONS = np.array(
    [[[10, 90, 0], [10, 50, 0], [10, 10, 0]], [[10, 90, 0], [50, 90, 0], [50, 90, -40]]], dtype=float
)


def common_bvh(path: Path, names: dict[str, str] | None = None, frames: int = 3) -> Path:
    """A BVH with one joint per common joint (a chain per limb), named by ``names`` (default: common names)."""
    names = names or {n: n for n in JOINTS}
    parent = {
        "spine": "pelvis",
        "neck": "spine",
        "head": "neck",
        "r_shoulder": "neck",
        "r_elbow": "r_shoulder",
        "r_wrist": "r_elbow",
        "l_shoulder": "neck",
        "l_elbow": "l_shoulder",
        "l_wrist": "l_elbow",
        "r_hip": "pelvis",
        "r_knee": "r_hip",
        "r_ankle": "r_knee",
        "l_hip": "pelvis",
        "l_knee": "l_hip",
        "l_ankle": "l_knee",
    }
    offsets = {
        "spine": (0, 25, 0),
        "neck": (0, 30, 0),
        "head": (0, 20, 0),
        "r_shoulder": (18, 0, 0),
        "r_elbow": (28, 0, 0),
        "r_wrist": (25, 0, 0),
        "l_shoulder": (-18, 0, 0),
        "l_elbow": (-28, 0, 0),
        "l_wrist": (-25, 0, 0),
        "r_hip": (10, -5, 0),
        "r_knee": (0, -42, 0),
        "r_ankle": (0, -42, 0),
        "l_hip": (-10, -5, 0),
        "l_knee": (0, -42, 0),
        "l_ankle": (0, -42, 0),
    }
    lines = ["HIERARCHY"]

    def emit(joint, depth):
        pad = "  " * depth
        kind = "ROOT" if joint == "pelvis" else "JOINT"
        lines.append(f"{pad}{kind} {names[joint]}")
        lines.append(pad + "{")
        off = (0, 95, 0) if joint == "pelvis" else offsets[joint]
        lines.append(f"{pad}  OFFSET {off[0]} {off[1]} {off[2]}")
        channels = (
            "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
            if joint == "pelvis"
            else "3 Zrotation Xrotation Yrotation"
        )
        lines.append(f"{pad}  CHANNELS {channels}")
        for child in [c for c in JOINTS if parent.get(c) == joint]:
            emit(child, depth + 1)
        lines.append(pad + "}")

    emit("pelvis", 0)
    n_channels = 6 + 3 * (len(JOINTS) - 1)
    lines += ["MOTION", f"Frames: {frames}", "Frame Time: 0.0333333"]
    for f in range(frames):
        values = [0.0] * n_channels
        values[0] = f * 2.0
        lines.append(" ".join(f"{v:g}" for v in values))
    path.write_text("\n".join(lines) + "\n")
    return path
