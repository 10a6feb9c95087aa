"""Motion readers: DeepMimic clips (joint rotations → forward kinematics), BVH files, ``.npz`` arrays.

Every reader returns a :class:`Clip`: joint positions ``(T, 16, 3)`` in metres on the common skeleton
(:mod:`.skeleton`), world y-up, at the source frame rate. Readers raise ``ValueError`` with the file
name on malformed input; the pipeline turns that into a user error.

**DeepMimic** (``pybullet_data/data/motions/humanoid3d_*.txt``): JSON ``{"Loop", "Frames"}``, each frame
44 numbers ``[dt, root_pos(3), root_quat wxyz(4), chest(4), neck(4), r_hip(4), r_knee(1), r_ankle(4),
r_shoulder(4), r_elbow(1), l_hip(4), l_knee(1), l_ankle(4), l_shoulder(4), l_elbow(1)]``. Forward
kinematics uses the joint offsets of the bundled ``humanoid/humanoid.urdf`` scaled by 0.25 (the scale the
clips were made for): ``p_child = p_parent + R_parent · offset``, ``R_child = R_parent · R_local``;
knees and elbows are revolute about the local z axis. The head point is the centre of the neck link's
collision sphere. Clips marked ``"Loop": "wrap"`` may be tiled into several cycles (the root advancing by
one cycle's horizontal displacement per repeat).

**BVH**: a small parser for the Biovision hierarchy format (``HIERARCHY`` with ``ROOT``/``JOINT``/
``End Site``, ``OFFSET``, ``CHANNELS``; ``MOTION`` with ``Frames``, ``Frame Time`` and one line of
channel values per frame). Rotation channels compose in the order listed (``Zrotation Xrotation
Yrotation`` → ``R = Rz·Rx·Ry``), degrees. Lines beyond the declared frame count are ignored (one of
the assimp test files carries an extra line); fewer is an error. Units are detected from the rest pose
height (metres, centimetres, inches or the cgspeed CMU unit, whichever gives a body closest to 1.7 m)
unless the joint map gives ``scale``. A file whose hierarchy is recognised (or, for ``.npz``, whose joints
already carry the common names) ignores the joint map: the map is for the files that are not.

**NPZ**: ``positions`` (T, J, 3) metres y-up, ``joints`` (J names) and ``fps``; names must be the
common joints or be mapped by a joint map.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vita_cli.methods.predict_pose.skeleton import INDEX, JOINTS, check_joint_map, find_known_map


@dataclass
class Clip:
    name: str
    positions: np.ndarray  # (T, J, 3) metres, world y-up, common skeleton
    fps: float
    source: str

    @property
    def duration(self) -> float:
        return (len(self.positions) - 1) / self.fps


# ------------------------------------------------------------------------------------ rotations


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Quaternions ``(..., 4)`` in w, x, y, z order → rotation matrices ``(..., 3, 3)``."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotations about a principal axis ``x|y|z`` by ``degrees`` ``(T,)`` → ``(T, 3, 3)``."""
    a = np.radians(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    o, i = np.zeros_like(a), np.ones_like(a)
    rows = {
        "x": [[i, o, o], [o, c, -s], [o, s, c]],
        "y": [[c, o, s], [o, i, o], [-s, o, c]],
        "z": [[c, -s, o], [s, c, o], [o, o, i]],
    }[axis]
    return np.stack([np.stack(r, -1) for r in rows], -2)


# ------------------------------------------------------------------------------------ DeepMimic

URDF_SCALE = 0.25
# (joint, parent, offset in URDF units, kind, slice of the frame vector); order = evaluation order
_DM_CHAIN = (
    ("chest", "root", (0.0, 0.944604, 0.0), "sph", slice(8, 12)),
    ("neck", "chest", (0.0, 0.895576, 0.0), "sph", slice(12, 16)),
    ("r_hip", "root", (0.0, 0.0, 0.339548), "sph", slice(16, 20)),
    ("r_knee", "r_hip", (0.0, -1.686184, 0.0), "rev", slice(20, 21)),
    ("r_ankle", "r_knee", (0.0, -1.639480, 0.0), "sph", slice(21, 25)),
    ("r_shoulder", "chest", (-0.0962, 0.974, 0.73244), "sph", slice(25, 29)),
    ("r_elbow", "r_shoulder", (0.0, -1.099152, 0.0), "rev", slice(29, 30)),
    ("l_hip", "root", (0.0, 0.0, -0.339548), "sph", slice(30, 34)),
    ("l_knee", "l_hip", (0.0, -1.686184, 0.0), "rev", slice(34, 35)),
    ("l_ankle", "l_knee", (0.0, -1.639480, 0.0), "sph", slice(35, 39)),
    ("l_shoulder", "chest", (-0.0962, 0.974, -0.73244), "sph", slice(39, 43)),
    ("l_elbow", "l_shoulder", (0.0, -1.099152, 0.0), "rev", slice(43, 44)),
)
_DM_WRIST = (0.0, -1.035788, 0.0)  # fixed joint below each elbow
_DM_HEAD = (0.0, 0.70, 0.0)  # neck link's collision sphere centre
_DM_TO_COMMON = {
    "pelvis": "root",
    "spine": "chest",
    "neck": "neck",
    "head": "head",
    "r_shoulder": "r_shoulder",
    "r_elbow": "r_elbow",
    "r_wrist": "r_wrist",
    "l_shoulder": "l_shoulder",
    "l_elbow": "l_elbow",
    "l_wrist": "l_wrist",
    "r_hip": "r_hip",
    "r_knee": "r_knee",
    "r_ankle": "r_ankle",
    "l_hip": "l_hip",
    "l_knee": "l_knee",
    "l_ankle": "l_ankle",
}


def deepmimic_fk(frames: np.ndarray) -> np.ndarray:
    """``(T, 44)`` DeepMimic frames → ``(T, 16, 3)`` common-skeleton joint positions (metres)."""
    frames = np.asarray(frames, dtype=np.float64)
    pos = {"root": frames[:, 1:4]}
    rot = {"root": quat_to_matrix(frames[:, 4:8])}
    for name, parent, offset, kind, sl in _DM_CHAIN:
        off = np.asarray(offset) * URDF_SCALE
        pos[name] = pos[parent] + rot[parent] @ off
        local = (
            quat_to_matrix(frames[:, sl])
            if kind == "sph"
            else axis_rotation("z", np.degrees(frames[:, sl.start]))
        )
        rot[name] = rot[parent] @ local
    for side in ("r", "l"):
        pos[f"{side}_wrist"] = pos[f"{side}_elbow"] + rot[f"{side}_elbow"] @ (
            np.asarray(_DM_WRIST) * URDF_SCALE
        )
    pos["head"] = pos["neck"] + rot["neck"] @ (np.asarray(_DM_HEAD) * URDF_SCALE)
    return np.stack([pos[_DM_TO_COMMON[n]] for n in JOINTS], axis=1)


def read_deepmimic(path: str | Path, min_seconds: float = 0.0) -> Clip:
    """A DeepMimic motion file; a ``wrap`` clip is tiled until it lasts at least ``min_seconds``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        frames = np.asarray(data["Frames"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a DeepMimic motion file ({exc})") from exc
    if frames.ndim != 2 or frames.shape[1] != 44 or len(frames) < 2:
        raise ValueError(f"{path}: expected frames of 44 numbers, got shape {frames.shape}")
    dt = float(np.median(frames[:-1, 0]))
    positions = deepmimic_fk(frames)
    if data.get("Loop") == "wrap" and min_seconds > 0:
        cycle = positions[:-1]  # the last frame repeats the first pose
        shift = positions[-1, INDEX["pelvis"]] - positions[0, INDEX["pelvis"]]
        shift[1] = 0.0  # horizontal displacement only
        reps = max(1, math.ceil(min_seconds / (len(cycle) * dt)))
        positions = np.concatenate(
            [cycle + k * shift for k in range(reps)] + [positions[-1:] + (reps - 1) * shift]
        )
    return Clip(path.stem.replace("humanoid3d_", ""), positions.astype(np.float32), 1.0 / dt, "deepmimic")


# ------------------------------------------------------------------------------------ BVH


@dataclass
class BvhJoint:
    name: str
    parent: int  # -1 for the root
    offset: np.ndarray
    channels: list[str]


@dataclass
class Bvh:
    joints: list[BvhJoint]
    frame_time: float
    motion: np.ndarray  # (T, total channels)

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]


def parse_bvh(path: str | Path) -> Bvh:
    """Parse a BVH file (see the module docstring). End Sites are dropped (no channels, no names)."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from exc
    head, sep, motion_text = text.partition("MOTION")
    if not sep or "HIERARCHY" not in head:
        raise ValueError(f"{path}: not a BVH file (needs HIERARCHY and MOTION sections)")
    tokens = head.split("HIERARCHY", 1)[1].split()
    joints: list[BvhJoint] = []
    stack: list[int] = []  # open braces: joint index, or -2 for an End Site
    pending: tuple[str, int] | None = None
    i = 0
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                parent = next((s for s in reversed(stack) if s >= 0), -1)
                pending = (tokens[i + 1], parent)
                i += 2
            elif tok == "End":
                pending = ("__end__", -2)
                i += 2
            elif tok == "{":
                if pending is None:
                    raise ValueError("'{' without a joint")
                if pending[1] == -2:
                    stack.append(-2)
                else:
                    joints.append(BvhJoint(pending[0], pending[1], np.zeros(3), []))
                    stack.append(len(joints) - 1)
                pending = None
                i += 1
            elif tok == "}":
                stack.pop()
                i += 1
            elif tok == "OFFSET":
                offset = np.array([float(t) for t in tokens[i + 1 : i + 4]])
                if stack and stack[-1] >= 0:
                    joints[stack[-1]].offset = offset
                i += 4
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                if stack and stack[-1] >= 0:
                    joints[stack[-1]].channels = tokens[i + 2 : i + 2 + n]
                i += 2 + n
            else:
                raise ValueError(f"unexpected token {tok!r} in HIERARCHY")
    except (IndexError, ValueError) as exc:
        raise ValueError(f"{path}: malformed BVH hierarchy ({exc})") from exc
    if not joints or stack:
        raise ValueError(f"{path}: malformed BVH hierarchy (no joints or unbalanced braces)")
    lines = [ln for ln in motion_text.splitlines() if ln.strip()]
    try:
        n_frames = int(lines[0].split(":")[1])
        frame_time = float(lines[1].split(":")[1])
        n_channels = sum(len(j.channels) for j in joints)
        rows = [np.array(ln.split(), dtype=np.float64) for ln in lines[2 : 2 + n_frames]]
    except (IndexError, ValueError) as exc:
        raise ValueError(f"{path}: malformed BVH MOTION section ({exc})") from exc
    if len(rows) < n_frames:
        raise ValueError(f"{path}: declares {n_frames} frames but holds {len(rows)}")
    if any(len(r) != n_channels for r in rows):
        raise ValueError(
            f"{path}: a frame does not have the {n_channels} channel values the hierarchy declares"
        )
    if frame_time <= 0:
        raise ValueError(f"{path}: Frame Time must be positive")
    motion = np.stack(rows) if rows else np.zeros((0, n_channels))
    return Bvh(joints, frame_time, motion)


def bvh_positions(bvh: Bvh) -> np.ndarray:
    """Forward kinematics: ``(T, n_joints, 3)`` positions in the file's units."""
    T = len(bvh.motion)
    pos = np.zeros((T, len(bvh.joints), 3))
    rot = np.zeros((T, len(bvh.joints), 3, 3))
    col = 0
    for k, joint in enumerate(bvh.joints):
        local_t = np.broadcast_to(joint.offset, (T, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (T, 3, 3)).copy()
        for ch in joint.channels:
            values = bvh.motion[:, col]
            col += 1
            axis, kind = ch[0].lower(), ch[1:].lower()
            if kind == "position":
                local_t[:, "xyz".index(axis)] += values
            elif kind == "rotation":
                local_r = local_r @ axis_rotation(axis, values)
            else:
                raise ValueError(f"unknown BVH channel {ch!r}")
        if joint.parent < 0:
            pos[:, k], rot[:, k] = local_t, local_r
        else:
            p = joint.parent
            pos[:, k] = pos[:, p] + np.einsum("tij,tj->ti", rot[:, p], local_t)
            rot[:, k] = rot[:, p] @ local_r
    return pos


UNIT_CANDIDATES = {"m": 1.0, "cm": 0.01, "inch": 0.0254, "cmu-cgspeed": 0.056444}


def rest_height(bvh: Bvh) -> float:
    rest = Bvh(bvh.joints, bvh.frame_time, np.zeros((1, bvh.motion.shape[1])))
    p = bvh_positions(rest)[0]
    return float(p[:, 1].max() - p[:, 1].min())


def read_bvh(path: str | Path, joint_map: dict | None = None) -> Clip:
    """A BVH file on the common skeleton. ``joint_map``: common → source names (+ optional ``scale``)."""
    path = Path(path)
    bvh = parse_bvh(path)
    user = dict(joint_map) if joint_map else {}
    scale = user.pop("scale", None)
    mapping = find_known_map(bvh.names)  # a recognised hierarchy wins; the joint map is for the others
    if mapping is None:
        if not user:
            raise ValueError(
                f"{path}: unknown joint hierarchy ({len(bvh.names)} joints: {', '.join(bvh.names[:6])}, ...) "
                "and no joint map; give a joint map (common joint → BVH joint name)"
            )
        mapping = user
    mapping = check_joint_map(mapping, str(path))
    absent = [v for v in mapping.values() if v not in bvh.names]
    if absent:
        raise ValueError(f"{path}: the joint map names joints the file does not have: {', '.join(absent)}")
    if scale is None:
        height = rest_height(bvh)
        scale = min(UNIT_CANDIDATES.values(), key=lambda s: abs(math.log(max(height * s, 1e-9) / 1.7)))
    positions = bvh_positions(bvh)[:, [bvh.names.index(mapping[n]) for n in JOINTS]] * float(scale)
    return Clip(path.stem, positions.astype(np.float32), 1.0 / bvh.frame_time, "bvh")


# ------------------------------------------------------------------------------------ NPZ


def read_npz_motion(path: str | Path, joint_map: dict | None = None) -> Clip:
    """``positions`` (T, J, 3) metres y-up, ``joints`` names, ``fps``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            positions = np.asarray(data["positions"], dtype=np.float64)
            names = [str(n) for n in data["joints"]] if "joints" in data else list(JOINTS)
            fps = float(data["fps"]) if "fps" in data else None
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: not a motion .npz with 'positions', 'joints' and 'fps' ({exc})") from exc
    if fps is None or fps <= 0:
        raise ValueError(f"{path}: needs a positive 'fps'")
    if positions.ndim != 3 or positions.shape[2] != 3 or positions.shape[1] != len(names):
        raise ValueError(f"{path}: 'positions' must be (T, {len(names)}, 3), got {positions.shape}")
    if not np.isfinite(positions).all():
        raise ValueError(f"{path}: 'positions' holds NaN or infinite values")
    user = {k: v for k, v in (joint_map or {}).items() if k != "scale"}
    if set(JOINTS) <= set(names) or not user:
        mapping = {n: n for n in JOINTS}  # already on the common skeleton; the joint map is for other files
    else:
        mapping = check_joint_map(user, str(path))
    absent = [v for v in mapping.values() if v not in names]
    if absent:
        raise ValueError(f"{path}: joints {', '.join(absent)} are missing and no joint map maps them")
    positions = positions[:, [names.index(mapping[n]) for n in JOINTS]]
    return Clip(path.stem, positions.astype(np.float32), fps, "npz")


def read_motion(path: str | Path, joint_map: dict | None = None, min_seconds: float = 0.0) -> Clip:
    """Any supported motion file, by suffix (.bvh, .npz, DeepMimic .txt/.json)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: motion file not found")
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return read_bvh(path, joint_map)
    if suffix == ".npz":
        return read_npz_motion(path, joint_map)
    if suffix in (".txt", ".json"):
        return read_deepmimic(path, min_seconds)
    raise ValueError(f"{path}: unsupported motion format {suffix!r} (use .bvh, .npz or a DeepMimic .txt)")


def read_joint_map(path: str | Path) -> dict:
    """A joint map file: JSON or YAML mapping common joint → source joint (and optional ``scale``)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the joint map ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a joint map is a mapping common joint → source joint")
    scale = data.pop("scale", None)
    mapping = check_joint_map(data, str(path))
    if scale is not None:
        mapping["scale"] = float(scale)
    return mapping


# ------------------------------------------------------------------------------------ built-in clips


def deepmimic_dir() -> Path | None:
    """``pybullet_data/data/motions`` when the pybullet wheel is installed (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("pybullet_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "motions"
    return path if path.is_dir() else None


BVH_DIR = Path("/usr/share/assimp/models/BVH")


def builtin_sources() -> dict[str, Path]:
    """Name → file of every built-in clip that is installed (DeepMimic humanoid clips, assimp BVH)."""
    out: dict[str, Path] = {}
    dm = deepmimic_dir()
    if dm is not None:
        for f in sorted(dm.glob("humanoid3d_*.txt")):
            out[f.stem.replace("humanoid3d_", "")] = f
    if BVH_DIR.is_dir():
        for f in sorted(BVH_DIR.glob("*.bvh")):
            out[f.stem] = f
    return out
