"""The common 16-joint skeleton every motion source is mapped onto, its limbs and joint maps.

All sources (DeepMimic clips, BVH files, ``.npz`` arrays) end up as ``(T, 16, 3)`` joint positions in
metres, world y-up, in the order of :data:`JOINTS`. A *joint map* says which source joint becomes
which common joint; the known hierarchies (CMU/cgspeed BVH, the Motion-Builder style of
``Boxing_Toes.bvh``) are recognised by their joint names, anything else needs a map file.
"""

from __future__ import annotations

import numpy as np

JOINTS = (
    "pelvis",
    "spine",
    "neck",
    "head",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
)
INDEX = {name: i for i, name in enumerate(JOINTS)}
J = len(JOINTS)

LIMBS = (
    ("pelvis", "spine"),
    ("spine", "neck"),
    ("neck", "head"),
    ("neck", "r_shoulder"),
    ("r_shoulder", "r_elbow"),
    ("r_elbow", "r_wrist"),
    ("neck", "l_shoulder"),
    ("l_shoulder", "l_elbow"),
    ("l_elbow", "l_wrist"),
    ("pelvis", "r_hip"),
    ("r_hip", "r_knee"),
    ("r_knee", "r_ankle"),
    ("pelvis", "l_hip"),
    ("l_hip", "l_knee"),
    ("l_knee", "l_ankle"),
)
EDGES = tuple((INDEX[a], INDEX[b]) for a, b in LIMBS)
TORSO = INDEX["pelvis"]  # the joint whose error is the "path" error


def _mirror_permutation() -> tuple[int, ...]:
    swap = {"r_": "l_", "l_": "r_"}
    return tuple(INDEX[swap[n[:2]] + n[2:]] if n[:2] in swap else INDEX[n] for n in JOINTS)


MIRROR = _mirror_permutation()  # joint order after a left/right swap


def adjacency() -> np.ndarray:
    """Binary, symmetric, no-self-loop ``(J, J)`` limb adjacency (the paper's input A)."""
    a = np.zeros((J, J), dtype=np.float32)
    for i, k in EDGES:
        a[i, k] = a[k, i] = 1.0
    return a


def bone_lengths(positions: np.ndarray) -> np.ndarray:
    """``(..., J, 3)`` → ``(..., n_limbs)`` limb lengths."""
    i, k = np.array(EDGES).T
    return np.linalg.norm(positions[..., i, :] - positions[..., k, :], axis=-1)


# Known BVH hierarchies: common joint → source joint. A BVH file whose joint names contain every
# source name of one of these maps is read with it.
KNOWN_BVH_MAPS: dict[str, dict[str, str]] = {
    # CMU motion capture as converted by cgspeed (31 joints, e.g. 01_01.bvh)
    "cmu-cgspeed": {
        "pelvis": "Hips",
        "spine": "Spine1",
        "neck": "Neck1",
        "head": "Head",
        "r_shoulder": "RightArm",
        "r_elbow": "RightForeArm",
        "r_wrist": "RightHand",
        "l_shoulder": "LeftArm",
        "l_elbow": "LeftForeArm",
        "l_wrist": "LeftHand",
        "r_hip": "RightUpLeg",
        "r_knee": "RightLeg",
        "r_ankle": "RightFoot",
        "l_hip": "LeftUpLeg",
        "l_knee": "LeftLeg",
        "l_ankle": "LeftFoot",
    },
    # Motion-Builder style 21-joint skeleton (e.g. Boxing_Toes.bvh)
    "mb-21": {
        "pelvis": "Hips",
        "spine": "Chest",
        "neck": "Neck",
        "head": "Head",
        "r_shoulder": "RightShoulder",
        "r_elbow": "RightElbow",
        "r_wrist": "RightWrist",
        "l_shoulder": "LeftShoulder",
        "l_elbow": "LeftElbow",
        "l_wrist": "LeftWrist",
        "r_hip": "RightHip",
        "r_knee": "RightKnee",
        "r_ankle": "RightAnkle",
        "l_hip": "LeftHip",
        "l_knee": "LeftKnee",
        "l_ankle": "LeftAnkle",
    },
}


def find_known_map(names) -> dict[str, str] | None:
    present = set(names)
    for mapping in KNOWN_BVH_MAPS.values():
        if set(mapping.values()) <= present:
            return mapping
    return None


def check_joint_map(mapping: dict, where: str) -> dict[str, str]:
    """A joint map must name a source joint for every common joint (extra keys are an error)."""
    if not isinstance(mapping, dict):
        raise ValueError(f"{where}: a joint map is a mapping common joint → source joint")
    unknown = sorted(set(mapping) - set(JOINTS))
    if unknown:
        raise ValueError(
            f"{where}: unknown common joint {unknown[0]!r}; the common joints are {', '.join(JOINTS)}"
        )
    missing = [n for n in JOINTS if n not in mapping]
    if missing:
        raise ValueError(f"{where}: the joint map lacks {', '.join(missing)}")
    return {k: str(v) for k, v in mapping.items()}
