"""Data assembly, model construction from a spec, training loops and evaluation (no printing, no paths)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vita_cli.core.device import autocast
from vita_cli.core.errors import RunError
from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.predict_pose import metrics
from vita_cli.methods.predict_pose.config import DataConfig, ModelConfig, TrainConfig
from vita_cli.methods.predict_pose.mocap import Clip, builtin_sources, read_motion
from vita_cli.methods.predict_pose.model import ARGRU, Denormalise, Lifter, LiftExtrapolate, SkeletonGraph
from vita_cli.methods.predict_pose.skeleton import EDGES, JOINTS, TORSO, adjacency
from vita_cli.methods.predict_pose.windows import (
    Camera,
    Windows,
    fixed_windows,
    random_windows,
    split_segments,
)

# ------------------------------------------------------------------------------------ data


def camera_of(cfg: DataConfig) -> Camera:
    c = cfg.camera
    return Camera(c.width, c.height, c.focal, tuple(c.distance), tuple(c.elevation), c.jitter)


def span_seconds(cfg: DataConfig) -> float:
    return (cfg.t_obs + cfg.t_pred - 1) / cfg.fps


def load_clips(cfg: DataConfig, joint_map: dict | None = None) -> list[Clip]:
    """The recipe's built-in clips and files. Raises ValueError naming a missing clip or a bad file."""
    sources = builtin_sources()
    names = list(sources) if cfg.clips is None else cfg.clips
    missing = [n for n in names if n not in sources]
    if missing:
        raise ValueError(
            f"built-in clip {missing[0]!r} is not installed (have: {', '.join(sources) or 'none'}); "
            "install pybullet and assimp-testmodels (make system-deps venv)"
        )
    clips = [read_motion(sources[n], None, cfg.loop_seconds) for n in names]
    span = span_seconds(cfg)
    for f in cfg.files:
        clip = read_motion(f, joint_map, cfg.loop_seconds)
        if clip.duration < span:
            raise ValueError(
                f"{f}: {len(clip.positions)} frames at {clip.fps:g} fps last {clip.duration:.2f} s, shorter than "
                f"one window of {cfg.t_obs}+{cfg.t_pred} frames at {cfg.fps:g} fps ({span:.2f} s)"
            )
        clips.append(clip)
    names = [c.name for c in clips]
    for key in ("val_clips", "test_clips"):
        absent = [n for n in getattr(cfg, key) if n not in names]
        if absent:
            raise ValueError(f"data.{key}: clip {absent[0]!r} is not among the loaded clips")
    return clips


@dataclass
class SplitData:
    segments: dict  # train/val/test → list[Segment]
    val: Windows
    test: Windows
    mean: float  # scalar normalisation of the 2D inputs (pixels)
    std: float
    y_mean: list[float]  # per-coordinate statistics of the 3D targets (camera metres)
    y_std: list[float]


def check_split(clips: list[Clip], cfg: DataConfig, split: str) -> dict:
    """The split's train / val / test segments; ValueError when train or test would be empty."""
    seg = split_segments(
        clips, split, tuple(cfg.time_fractions), cfg.val_clips, cfg.test_clips, span_seconds(cfg)
    )
    if not seg["train"] or not seg["test"]:
        raise ValueError(
            f"split {split!r} leaves no {'training' if not seg['train'] else 'test'} segment long enough for "
            f"a {span_seconds(cfg):.1f} s window"
        )
    return seg


def build_split(clips: list[Clip], cfg: DataConfig, split: str) -> SplitData:
    seg = check_split(clips, cfg, split)
    cam = camera_of(cfg)
    val = fixed_windows(
        seg["val"], cfg.t_obs, cfg.t_pred, cfg.fps, cam, cfg.eval_cameras, cfg.noise_px, cfg.data_seed
    )
    test = fixed_windows(
        seg["test"], cfg.t_obs, cfg.t_pred, cfg.fps, cam, cfg.eval_cameras, cfg.noise_px, cfg.data_seed + 1
    )
    probe = random_windows(
        seg["train"],
        2048,
        cfg.t_obs,
        cfg.t_pred,
        cfg.fps,
        cam,
        cfg.noise_px,
        np.random.default_rng(cfg.data_seed),
    )
    y = np.concatenate([probe.obs3d, probe.y], axis=1).reshape(-1, 3)
    return SplitData(
        seg, val, test, float(probe.x.mean()), float(probe.x.std()), y.mean(0).tolist(), y.std(0).tolist()
    )


def training_pool(data: SplitData, cfg: DataConfig, epochs: int, seed: int) -> list[Windows]:
    """One fresh set of augmented training windows per epoch (shared by every model of a run)."""
    rng = np.random.default_rng(seed)
    cam = camera_of(cfg)
    return [
        random_windows(
            data.segments["train"],
            cfg.train_windows,
            cfg.t_obs,
            cfg.t_pred,
            cfg.fps,
            cam,
            cfg.noise_px,
            rng,
            warp=cfg.warp,
            mirror_p=cfg.mirror,
        )
        for _ in range(epochs)
    ]


# ------------------------------------------------------------------------------------ models


def model_spec(kind: str, mcfg: ModelConfig, t_obs: int, t_pred: int, target: tuple | None = None) -> dict:
    """The architecture spec stored in a checkpoint (plain values, rebuilt by :func:`build_model`).
    ``target``: (mean, std) per coordinate when the model works on standardised 3D targets."""
    spec = {"kind": kind, "t_obs": t_obs, "t_pred": t_pred, "joints": len(JOINTS)}
    if target is not None:
        spec["target_mean"], spec["target_std"] = [float(v) for v in target[0]], [float(v) for v in target[1]]
    if kind.startswith("skeleton_graph"):
        aggregation = {"skeleton_graph_gcn": "gcn", "skeleton_graph_fixed": "faithful"}.get(
            kind, mcfg.aggregation
        )
        learn = False if kind == "skeleton_graph_fixed" else mcfg.learn_adjacency
        spec.update(
            n_stgcnn=mcfg.n_stgcnn, n_txpcnn=mcfg.n_txpcnn, aggregation=aggregation, learn_adjacency=learn
        )
    elif kind == "ar_gru":
        spec["hidden"] = mcfg.gru_hidden
    elif kind == "lift":
        spec["hidden"] = mcfg.lifter_hidden
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    return spec


def build_model(spec: dict) -> nn.Module:
    net = _build_net(spec)
    if "target_mean" in spec:
        return Denormalise(net, spec["target_mean"], spec["target_std"])
    return net


def _build_net(spec: dict) -> nn.Module:
    kind = spec["kind"]
    if kind.startswith("skeleton_graph"):
        return SkeletonGraph(
            torch.tensor(adjacency()),
            spec["t_obs"],
            spec["t_pred"],
            spec["n_stgcnn"],
            spec["n_txpcnn"],
            spec["aggregation"],
            spec["learn_adjacency"],
        )
    if kind == "ar_gru":
        return ARGRU(spec["joints"], spec["t_pred"], spec["hidden"])
    if kind == "lift":
        return Lifter(spec["joints"], spec["hidden"])
    raise ValueError(f"unknown model kind {kind!r}")


def predictors(kind: str, model: nn.Module, t_pred: int) -> dict[str, nn.Module]:
    """What a trained model is evaluated as: the lifter gives the two lift baselines."""
    if kind == "lift":
        return {
            "zero_velocity": LiftExtrapolate(model, t_pred, velocity=False),
            "constant_velocity": LiftExtrapolate(model, t_pred, velocity=True),
        }
    return {kind: model}


# ------------------------------------------------------------------------------------ training


def _tensors(w: Windows, mean: float, std: float, device):
    x = torch.from_numpy((w.x - mean) / std).float().to(device)
    return x, torch.from_numpy(w.y).to(device), torch.from_numpy(w.obs3d).to(device)


@torch.no_grad()
def predict(
    model: nn.Module, x_pixels: np.ndarray, mean: float, std: float, device, batch: int = 1024
) -> np.ndarray:
    """``(N, T_obs, J, 2)`` pixels → ``(N, T_pred, J, 3)`` metres (camera frame)."""
    model.eval()
    out = []
    for i in range(0, len(x_pixels), batch):
        x = torch.from_numpy((x_pixels[i : i + batch] - mean) / std).float().to(device)
        out.append(model(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0,))


def evaluate(model: nn.Module, w: Windows, mean: float, std: float, device) -> dict:
    pred = predict(model, w.x, mean, std, device)
    out = metrics.horizon_metrics(pred, w.y, TORSO)
    out["per_frame_mm"] = [round(v, 1) for v in metrics.per_frame_error_mm(pred, w.y)]
    out["bone_std_mm"] = round(metrics.bone_std_mm(pred, EDGES), 2)
    out.update({k: round(v, 1) for k, v in metrics.error_parts_mm(pred, w.y, TORSO).items()})
    out["windows"] = len(w)
    return out


@dataclass
class FitResult:
    model: nn.Module
    best_epoch: int
    history: list[dict]
    seconds: float


def fit(
    kind: str,
    model: nn.Module,
    data: SplitData,
    pool: list[Windows],
    tcfg: TrainConfig,
    device,
    reporter: Reporter = SILENT,
    label: str = "",
) -> FitResult:
    """Train one model on the per-epoch pool; keep the state with the best selection FDE."""
    model.to(device)
    params = list(model.parameters())
    opt = (
        torch.optim.SGD(params, lr=tcfg.lr)
        if tcfg.optimizer == "sgd"
        else torch.optim.Adam(params, lr=tcfg.lr)
    )
    sched = torch.optim.lr_scheduler.StepLR(
        opt, step_size=max(1, round(tcfg.lr_step * tcfg.epochs)), gamma=tcfg.lr_gamma
    )
    select = {"val": data.val, "test": data.test}.get(tcfg.select_on)
    if select is not None and not len(select):
        select = None  # no validation windows (e.g. clips too short): keep the last epoch
    t_pred = pool[0].y.shape[1]
    best, best_state, best_epoch, history = float("inf"), None, len(pool), []
    start = time.perf_counter()
    with reporter.task(f"train {label or kind}", total=len(pool)) as task:
        for epoch, windows in enumerate(pool, 1):
            model.train()
            x, y, obs3d = _tensors(windows, data.mean, data.std, device)
            order = torch.randperm(len(x), device=device)
            total, batches = 0.0, 0
            for i in range(0, len(x), tcfg.batch_size):
                idx = order[i : i + tcfg.batch_size]
                if len(idx) < 2:
                    continue
                with autocast(device):
                    if kind == "lift":
                        loss = nn.functional.mse_loss(model(x[idx]).float(), obs3d[idx])
                    elif kind == "ar_gru":
                        loss = nn.functional.mse_loss(
                            model(x[idx], y[idx], tcfg.teacher_forcing).float(), y[idx]
                        )
                    else:
                        loss = metrics.skeleton_graph_loss(
                            model(x[idx]).float(), y[idx], tcfg.l_norm, tcfg.l_cos
                        )
                if not torch.isfinite(loss):
                    raise RunError(
                        f"{label or kind}: the training loss diverged at epoch {epoch}", "lower train.lr"
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach())
                batches += 1
            sched.step()
            record = {"epoch": epoch, "loss": total / max(batches, 1)}
            if select is not None and (epoch % tcfg.eval_every == 0 or epoch == len(pool)):
                scores = [
                    evaluate(p, select, data.mean, data.std, device)["fde"]
                    for p in predictors(kind, model, t_pred).values()
                ]
                score = min(scores)
                record["select_fde"] = score
                if score < best:
                    best, best_epoch, best_state = score, epoch, copy.deepcopy(model.state_dict())
            history.append(record)
            task.advance(
                1,
                loss=f"{record['loss']:.4f}",
                **({"fde": f"{record['select_fde']:.0f}"} if "select_fde" in record else {}),
            )
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(model, best_epoch, history, time.perf_counter() - start)
