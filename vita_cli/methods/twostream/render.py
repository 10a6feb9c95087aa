"""Action clips rendered from real motion capture: pybullet's humanoid driven by DeepMimic clips.

No physics: every frame the humanoid's base and joints are set from the motion file (quaternions
reordered wxyz → xyzw), then pybullet's CPU renderer (TinyRenderer) draws it from a seeded random
camera. The grey body is tinted with a random colour and composited over a random static background
(using the renderer's segmentation mask); playback speed and start phase are random too. Every clip
is drawn from its own generator seeded by (seed, split, class, index), so a set is deterministic.

Two sets:

* ``actions`` — one class per motion (appearance and motion both informative);
* ``order`` — the same motions forward and time-reversed (get up ↔ lie down, ...): identical frames
  in opposite order, so only temporal order separates the classes.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# (joint index in humanoid.urdf, values in a DeepMimic frame) in the frame's order after the root
_JOINTS = (
    (1, 4),
    (2, 4),
    (9, 4),
    (10, 1),
    (11, 4),
    (3, 4),
    (4, 1),
    (12, 4),
    (13, 1),
    (14, 4),
    (6, 4),
    (7, 1),
)
SCALE = 0.25  # the URDF loaded at a quarter size, as the motion files' positions are scaled
FPS = 15.0  # clip frame rate at speed 1

ACTIONS = ("walk", "run", "jump", "kick", "punch", "cartwheel", "backflip", "crawl")
ORDER_MOTIONS = ("getup_faceup", "getup_facedown", "jump", "roll")


def motions_dir() -> Path:
    import pybullet_data

    return Path(pybullet_data.getDataPath()) / "data" / "motions"


@dataclass
class Motion:
    frames: np.ndarray  # (F, 43): root pos, root quat (wxyz), joints
    times: np.ndarray  # (F,) start time of every frame
    loop: bool

    @property
    def duration(self) -> float:
        return float(self.times[-1])


def load_motion(name: str) -> Motion:
    path = motions_dir() / f"humanoid3d_{name}.txt"
    data = json.loads(path.read_text())
    raw = np.asarray(data["Frames"], dtype=np.float64)
    times = np.concatenate([[0.0], np.cumsum(raw[:-1, 0])])
    return Motion(raw[:, 1:], times, data.get("Loop", "none") == "wrap")


def _nlerp(q0: np.ndarray, q1: np.ndarray, w: float) -> np.ndarray:
    if np.dot(q0, q1) < 0:
        q1 = -q1
    q = (1 - w) * q0 + w * q1
    return q / np.linalg.norm(q)


def pose_at(m: Motion, t: float) -> np.ndarray:
    """The pose at time ``t`` (looping motions wrap, others hold their ends), interpolated."""
    if m.loop:
        t = t % m.duration
    t = min(max(t, 0.0), m.duration)
    i = int(np.searchsorted(m.times, t, side="right") - 1)
    i = min(max(i, 0), len(m.times) - 2)
    w = (t - m.times[i]) / max(m.times[i + 1] - m.times[i], 1e-9)
    a, b = m.frames[i], m.frames[i + 1]
    out = (1 - w) * a + w * b
    out[3:7] = _nlerp(a[3:7], b[3:7], w)
    k = 7
    for _, n in _JOINTS:
        if n == 4:
            out[k : k + 4] = _nlerp(a[k : k + 4], b[k : k + 4], w)
        k += n
    return out


@contextmanager
def _quiet_stdio():
    """pybullet's URDF importer prints warnings from C; silence file descriptors 1 and 2."""
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


class Renderer:
    """One pybullet DIRECT connection with the humanoid loaded."""

    def __init__(self):
        import pybullet_data

        with _quiet_stdio():
            import pybullet as p  # heavy C extension, needed only to render; prints its build time

            self.p = p
            self.client = p.connect(p.DIRECT)
            urdf = Path(pybullet_data.getDataPath()) / "humanoid" / "humanoid.urdf"
            self.body = p.loadURDF(str(urdf), [0, 0, 0], globalScaling=SCALE, physicsClientId=self.client)

    def close(self):
        self.p.disconnect(self.client)

    def set_pose(self, f: np.ndarray) -> np.ndarray:
        p, c = self.p, self.client
        pos = f[0:3] * SCALE
        q = f[3:7]
        p.resetBasePositionAndOrientation(
            self.body, pos.tolist(), [q[1], q[2], q[3], q[0]], physicsClientId=c
        )
        k = 7
        for joint, n in _JOINTS:
            if n == 4:
                q = f[k : k + 4]
                p.resetJointStateMultiDof(self.body, joint, [q[1], q[2], q[3], q[0]], physicsClientId=c)
            else:
                p.resetJointStateMultiDof(self.body, joint, [f[k]], physicsClientId=c)
            k += n
        return pos

    def render(self, target, yaw, pitch, distance, size):
        p = self.p
        view = p.computeViewMatrixFromYawPitchRoll(list(map(float, target)), distance, yaw, pitch, 0, 1)
        proj = p.computeProjectionMatrixFOV(55, 1, 0.05, 20)
        _, _, rgb, _, seg = p.getCameraImage(
            size, size, view, proj, renderer=p.ER_TINY_RENDERER, physicsClientId=self.client
        )
        rgb = np.reshape(np.asarray(rgb, dtype=np.uint8), (size, size, 4))[:, :, :3]
        mask = np.reshape(np.asarray(seg), (size, size)) >= 0
        return rgb, mask


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(0, 255, 3)
    other = rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(ramp.max() - ramp.min(), 1e-9)
    img = base[None, None] * (1 - ramp[..., None]) + other[None, None] * ramp[..., None]
    img += rng.normal(0, 12, (size, size, 1))
    return img


def render_clip(
    renderer: Renderer,
    motion: Motion,
    rng: np.random.Generator,
    frames: int,
    size: int,
    reverse: bool,
    fps: float = FPS,
) -> np.ndarray:
    """One (frames, size, size, 3) uint8 clip with random camera, colours, speed and phase."""
    speed = rng.uniform(0.75, 1.35)
    span = (frames - 1) * speed / fps
    latest = motion.duration if motion.loop else max(motion.duration - span, 0.0)
    start = rng.uniform(0, latest)
    times = start + np.arange(frames) * speed / fps
    poses = [pose_at(motion, t) for t in times]
    if reverse:
        poses = poses[::-1]
    roots = np.stack([p[0:3] * SCALE for p in poses])
    target = roots.mean(axis=0) + np.array([0, 0.02, 0])
    yaw, pitch = rng.uniform(0, 360), rng.uniform(-30, -5)
    distance = rng.uniform(0.9, 1.3) + 0.5 * float(np.ptp(roots[:, [0, 2]], axis=0).max())
    tint = rng.uniform(0.35, 1.0, 3)
    background = _background(rng, size)
    clip = np.empty((frames, size, size, 3), dtype=np.uint8)
    for i, pose in enumerate(poses):
        renderer.set_pose(pose)
        rgb, mask = renderer.render(target, yaw, pitch, distance, size)
        body = rgb.astype(np.float64) * tint[None, None]
        img = np.where(mask[..., None], body, background)
        clip[i] = np.clip(img, 0, 255).astype(np.uint8)
    return clip


def class_list(name: str) -> list[tuple[str, str, bool]]:
    """(class name, motion, reversed) for the set ``name``."""
    if name == "actions":
        return [(m, m, False) for m in ACTIONS]
    if name == "order":
        return [(f"{m}{'_reversed' if r else ''}", m, r) for m in ORDER_MOTIONS for r in (False, True)]
    raise ValueError(f"unknown clip set {name!r} (actions or order)")


def render_set(
    name: str, counts: dict[str, int], frames: int, size: int, seed: int, progress=None, fps: float = FPS
) -> dict[str, list[tuple[str, np.ndarray]]]:
    """{split: [(class, clip), ...]} for every split in ``counts`` (clips per class)."""
    classes = class_list(name)
    motions = {m: load_motion(m) for _, m, _ in classes}
    renderer = Renderer()
    out: dict[str, list] = {}
    try:
        for s_idx, (split, n) in enumerate(counts.items()):
            rows = []
            for c_idx, (cls, motion, reverse) in enumerate(classes):
                for i in range(n):
                    rng = np.random.default_rng([seed, s_idx, c_idx, i])
                    rows.append(
                        (cls, render_clip(renderer, motions[motion], rng, frames, size, reverse, fps))
                    )
                    if progress is not None:
                        progress()
            out[split] = rows
    finally:
        renderer.close()
    return out
