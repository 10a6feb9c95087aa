"""Windows of motion seen by virtual cameras: 2D pixel inputs, 3D camera-frame targets.

A window is ``T_obs + T_pred`` frames sampled at ``fps`` from a clip (linear interpolation between source
frames, so any start time and any playback speed work). A seeded pinhole camera (``W×H`` pixels, focal
``f``) stands at a random bearing, distance and height around the window's mean pelvis position and looks
at it with a small jitter; it is static within the window. Targets are the joints in the camera frame
(x right, y down, z forward, metres); inputs are their pixel projections plus optional Gaussian noise.
A camera that sees a joint behind it or outside the image is redrawn.

Splits (:func:`split_segments`): ``time`` cuts every clip into train / val / test time ranges; ``clips``
holds whole clips out for val and test. Training windows are drawn afresh each epoch (random start,
camera, mirroring and time warp); val/test windows are fixed by a data seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vita_cli.methods.predict_pose.mocap import Clip
from vita_cli.methods.predict_pose.skeleton import INDEX, MIRROR


@dataclass(frozen=True)
class Camera:
    width: int = 1920
    height: int = 1080
    focal: float = 1150.0
    distance: tuple[float, float] = (3.0, 6.0)
    elevation: tuple[float, float] = (0.8, 2.5)  # camera height above the clip's floor (m)
    jitter: float = 0.3  # look-at point jitter (m)

    @property
    def principal(self) -> tuple[float, float]:
        return self.width / 2.0, self.height / 2.0


# ------------------------------------------------------------------------------------ projection


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World→camera rotations ``(N, 3, 3)`` whose rows are the camera's right, down, forward axes."""
    f = target - eye
    f /= np.linalg.norm(f, axis=-1, keepdims=True)
    up = np.broadcast_to(np.array([0.0, 1.0, 0.0]), f.shape)
    right = np.cross(f, up)
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    down = np.cross(f, right)
    return np.stack([right, down, f], axis=-2)


def to_camera(points: np.ndarray, rotation: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """World points ``(N, ..., 3)`` → camera frame with per-window ``rotation (N,3,3)`` and ``eye (N,3)``."""
    shape = (len(points),) + (1,) * (points.ndim - 2) + (3,)
    rel = points - eye.reshape(shape)
    return np.einsum("nij,n...j->n...i", rotation, rel)


def project(cam_points: np.ndarray, focal: float, principal: tuple[float, float]) -> np.ndarray:
    """Pinhole projection of camera-frame points ``(..., 3)`` → pixels ``(..., 2)``."""
    z = cam_points[..., 2:3]
    return cam_points[..., :2] * focal / z + np.asarray(principal)


def unproject(
    pixels: np.ndarray, depth: np.ndarray, focal: float, principal: tuple[float, float]
) -> np.ndarray:
    """Inverse of :func:`project` given each point's depth ``z`` ``(...)`` → camera-frame points."""
    xy = (pixels - np.asarray(principal)) * depth[..., None] / focal
    return np.concatenate([xy, depth[..., None]], axis=-1)


# ------------------------------------------------------------------------------------ sampling


def sample_frames(clip: Clip, start: float, speed: float, n: int, fps: float) -> np.ndarray:
    """``n`` frames at ``fps`` from time ``start`` (s), playing at ``speed`` → ``(n, J, 3)``."""
    t = (start + np.arange(n) * speed / fps) * clip.fps
    t = np.clip(t, 0, len(clip.positions) - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, len(clip.positions) - 1)
    w = (t - lo)[:, None, None]
    return (1 - w) * clip.positions[lo] + w * clip.positions[hi]


def floor_height(clip: Clip) -> float:
    return float(np.percentile(clip.positions[:, :, 1].min(axis=1), 5))


def place_cameras(world: np.ndarray, floors: np.ndarray, camera: Camera, rng: np.random.Generator):
    """A random camera per window ``world (N, T, J, 3)`` → (rotation, eye, camera-frame points, pixels, ok)."""
    n = len(world)
    centre = world[:, :, INDEX["pelvis"]].mean(axis=1)
    bearing = rng.uniform(0, 2 * np.pi, n)
    dist = rng.uniform(*camera.distance, n)
    eye = centre + np.stack([np.cos(bearing) * dist, np.zeros(n), np.sin(bearing) * dist], -1)
    eye[:, 1] = floors + rng.uniform(*camera.elevation, n)
    target = centre + rng.normal(0.0, camera.jitter / 2, (n, 3))
    rotation = look_at(eye, target)
    cam = to_camera(world, rotation, eye)
    ok = (cam[..., 2] > 0.3).all(axis=(1, 2))
    pix = project(np.where(cam[..., 2:3] > 0.3, cam, 1.0), camera.focal, camera.principal)
    inside = (
        (pix[..., 0] >= 0) & (pix[..., 0] < camera.width) & (pix[..., 1] >= 0) & (pix[..., 1] < camera.height)
    )
    ok &= inside.all(axis=(1, 2))
    return rotation, eye, cam, pix, ok


def view(world: np.ndarray, floors: np.ndarray, camera: Camera, rng: np.random.Generator, tries: int = 8):
    """Camera-frame 3D and pixel 2D for windows ``(N, T, J, 3)``; windows no camera sees are dropped."""
    n = len(world)
    cam = np.zeros_like(world)
    pix = np.zeros(world.shape[:-1] + (2,))
    done = np.zeros(n, dtype=bool)
    for _ in range(tries):
        todo = np.flatnonzero(~done)
        if not len(todo):
            break
        _, _, c, p, ok = place_cameras(world[todo], floors[todo], camera, rng)
        cam[todo[ok]], pix[todo[ok]] = c[ok], p[ok]
        done[todo[ok]] = True
    return cam[done], pix[done], done


def mirror(world: np.ndarray) -> np.ndarray:
    """Left/right mirror image of world poses ``(..., J, 3)`` (negate z, swap sides)."""
    out = world[..., MIRROR, :].copy()
    out[..., 2] *= -1
    return out


# ------------------------------------------------------------------------------------ splits


@dataclass
class Segment:
    clip: Clip
    start: float  # seconds
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


def split_segments(
    clips: list[Clip], mode: str, fractions: tuple[float, float], val_clips, test_clips, span: float
) -> dict[str, list[Segment]]:
    """Train / val / test time segments. ``time``: the last ``fractions[1]`` of every clip is test and the
    ``fractions[0]`` before it val (a clip too short to hold a test window goes to training whole);
    ``clips``: the clips named in ``val_clips`` / ``test_clips`` are held out whole."""
    out: dict[str, list[Segment]] = {"train": [], "val": [], "test": []}
    for clip in clips:
        d = clip.duration
        if mode == "time":
            t_test = d * (1 - fractions[1])
            t_val = t_test - d * fractions[0]
            if d - t_test >= span and t_test - t_val >= span and t_val >= span:
                out["train"].append(Segment(clip, 0.0, t_val))
                out["val"].append(Segment(clip, t_val, t_test))
                out["test"].append(Segment(clip, t_test, d))
            elif d - t_test >= span and t_test >= span:
                out["train"].append(Segment(clip, 0.0, t_test))
                out["test"].append(Segment(clip, t_test, d))
            else:
                out["train"].append(Segment(clip, 0.0, d))
        else:
            key = "test" if clip.name in test_clips else "val" if clip.name in val_clips else "train"
            out[key].append(Segment(clip, 0.0, d))
    for key in out:
        out[key] = [s for s in out[key] if s.length >= span]
    return out


@dataclass
class Windows:
    """``x`` (N, T_obs, J, 2) pixels, ``y`` (N, T_pred, J, 3) camera metres, ``obs3d`` (N, T_obs, J, 3)."""

    x: np.ndarray
    y: np.ndarray
    obs3d: np.ndarray
    clip: np.ndarray  # clip name per window

    def __len__(self) -> int:
        return len(self.x)


def _finish(world, floors, names, t_obs, camera, noise_px, rng) -> Windows:
    cam, pix, kept = view(world, floors, camera, rng)
    if noise_px > 0:
        pix = pix + rng.normal(0.0, noise_px, pix.shape)
    return Windows(
        pix[:, :t_obs].astype(np.float32),
        cam[:, t_obs:].astype(np.float32),
        cam[:, :t_obs].astype(np.float32),
        np.asarray(names)[kept],
    )


def fixed_windows(
    segments: list[Segment],
    t_obs: int,
    t_pred: int,
    fps: float,
    camera: Camera,
    cameras: int,
    noise_px: float,
    seed: int,
) -> Windows:
    """Evaluation windows: every start at stride one frame (1/fps) in each segment, ``cameras`` views each."""
    rng = np.random.default_rng(seed)
    n = t_obs + t_pred
    span = (n - 1) / fps
    world, floors, names = [], [], []
    for seg in segments:
        floor = floor_height(seg.clip)
        for start in np.arange(seg.start, seg.end - span + 1e-9, 1.0 / fps):
            frames = sample_frames(seg.clip, float(start), 1.0, n, fps)
            for _ in range(cameras):
                world.append(frames)
                floors.append(floor)
                names.append(seg.clip.name)
    if not world:
        return Windows(
            *(np.zeros((0, k, 16, d), np.float32) for k, d in ((t_obs, 2), (t_pred, 3), (t_obs, 3))),
            np.array([]),
        )
    return _finish(np.stack(world), np.array(floors), names, t_obs, camera, noise_px, rng)


def random_windows(
    segments: list[Segment],
    count: int,
    t_obs: int,
    t_pred: int,
    fps: float,
    camera: Camera,
    noise_px: float,
    rng: np.random.Generator,
    warp: float = 1.0,
    mirror_p: float = 0.0,
) -> Windows:
    """Training windows: clip segment ∝ its length, uniform start, speed in [1/warp, warp], mirroring."""
    n = t_obs + t_pred
    lengths = np.array([s.length for s in segments])
    picks = rng.choice(len(segments), size=count, p=lengths / lengths.sum())
    seg_floor = [floor_height(s.clip) for s in segments]
    speeds = np.exp(rng.uniform(-np.log(warp), np.log(warp), count)) if warp > 1 else np.ones(count)
    world, floors, names = [], [], []
    for seg_i, speed in zip(picks, speeds, strict=True):
        seg = segments[seg_i]
        span = (n - 1) * speed / fps
        if span > seg.length:
            speed, span = 1.0, (n - 1) / fps
        start = rng.uniform(seg.start, seg.end - span)
        world.append(sample_frames(seg.clip, start, float(speed), n, fps))
        floors.append(seg_floor[seg_i])
        names.append(seg.clip.name)
    world = np.stack(world)
    if mirror_p > 0:
        flip = rng.random(count) < mirror_p
        world[flip] = mirror(world[flip])
    return _finish(world, np.array(floors), names, t_obs, camera, noise_px, rng)
