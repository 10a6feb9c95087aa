"""``vita predict-pose`` actions: one ``run_*`` per verb action, each returning a Result dataclass.

Inputs are read and checked by ``load_*`` functions *before* the run folder exists, so a bad file leaves
nothing behind; the ``run_*`` functions then write into ``ctx.run_dir``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from vita_cli.core.checkpoint import load_checkpoint, save_checkpoint
from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.methods.predict_pose import engine, figures
from vita_cli.methods.predict_pose.config import PosePredRecipe
from vita_cli.methods.predict_pose.metrics import HORIZONS
from vita_cli.methods.predict_pose.mocap import Clip, read_joint_map
from vita_cli.methods.predict_pose.model import count_parameters
from vita_cli.methods.predict_pose.skeleton import JOINTS

# ------------------------------------------------------------------------------------ train


@dataclass
class Inputs:
    clips: list[Clip]


def load_inputs(recipe: PosePredRecipe) -> Inputs:
    """Read every clip and motion file of the recipe; a bad file is a UserError naming it."""
    try:
        joint_map = read_joint_map(recipe.data.joint_map) if recipe.data.joint_map else None
        clips = engine.load_clips(recipe.data, joint_map)
        for split in recipe.splits:
            engine.check_split(clips, recipe.data, split)
    except ValueError as exc:
        raise UserError(str(exc), "check the motion files, data.clips and the split settings") from exc
    return Inputs(clips)


@dataclass
class TrainResult:
    run_dir: str
    splits: list[str]
    seeds: list[int]
    clips: dict  # split → {train, val, test: [clip names]}
    parameters: dict  # model → parameter count
    metrics: dict  # split → seed → predictor → metrics
    summary: dict  # split → predictor → mean/std over seeds
    rule: dict  # split → the declared rule's numbers and verdict
    figures: list[str]
    checkpoints: list[str]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def _meta(recipe: PosePredRecipe, spec: dict, data: engine.SplitData, split: str, seed: int, fit) -> dict:
    c = recipe.data.camera
    return {
        "verb": "predict-pose train",
        "arch": spec,
        "norm": {"mean": data.mean, "std": data.std},
        "fps": recipe.data.fps,
        "joints": list(JOINTS),
        "camera": {"width": c.width, "height": c.height, "focal": c.focal},
        "split": split,
        "seed": seed,
        "best_epoch": fit.best_epoch,
        "train_seconds": round(fit.seconds, 1),
    }


def summarise(metrics: dict) -> dict:
    """split → seed → predictor → metrics  ⇒  split → predictor → mean and std over seeds."""
    out = {}
    for split, by_seed in metrics.items():
        names = list(next(iter(by_seed.values())))
        out[split] = {}
        for name in names:
            runs = [by_seed[s][name] for s in by_seed if name in by_seed[s]]
            row = {}
            for key in (
                "fde",
                "ade",
                "stb",
                "bone_std_mm",
                "root_relative_mm",
                "torso_depth_mm",
                "torso_lateral_mm",
            ):
                if key not in runs[0]:
                    continue
                values = np.array([r[key] for r in runs], dtype=float)
                row[key] = round(float(values.mean()), 1)
                row[key + "_std"] = round(float(values.std()), 1)
            for key in ("pose", "path"):
                row[key] = {h: round(float(np.mean([r[key][h] for r in runs])), 1) for h in runs[0][key]}
            row["per_frame_mm"] = [list(r["per_frame_mm"]) for r in runs]
            row["seeds"] = len(runs)
            out[split][name] = row
    return out


def apply_rule(summary: dict, rule) -> dict:
    out = {}
    for split, rows in summary.items():
        if not {"skeleton_graph", "ar_gru"} <= set(rows):
            continue
        sg, gru = rows["skeleton_graph"], rows["ar_gru"]
        fde_red = round(1 - sg["fde"] / gru["fde"], 3) if gru["fde"] else 0.0
        stb_red = round(1 - sg["stb"] / gru["stb"], 3) if gru["stb"] else 0.0
        entry = {"fde_reduction_vs_gru": fde_red, "stb_reduction_vs_gru": stb_red}
        checks = [fde_red >= rule.fde_vs_gru, stb_red >= rule.stb_vs_gru]
        if "constant_velocity" in rows:
            entry["fde_below_constant_velocity"] = bool(sg["fde"] < rows["constant_velocity"]["fde"])
            checks.append(entry["fde_below_constant_velocity"])
        entry["passed"] = bool(all(checks))
        out[split] = entry
    return out


def run_train(recipe: PosePredRecipe, ctx: RunContext, inputs: Inputs | None = None) -> TrainResult:
    """Train every model of the recipe on every split and seed; evaluate on test; figures; the rule."""
    start = time.perf_counter()
    inputs = inputs or load_inputs(recipe)
    cfg = recipe.data
    seeds = list(recipe.seeds) if recipe.seeds is not None else [ctx.seed]
    models_dir = ctx.run_dir / "models"
    all_metrics: dict = {}
    clips_used: dict = {}
    params: dict = {}
    checkpoints: list[str] = []
    example = None
    for split in recipe.splits:
        data = engine.build_split(inputs.clips, cfg, split)
        clips_used[split] = {k: sorted({s.clip.name for s in v}) for k, v in data.segments.items()}
        ctx.log(
            f"split {split}: {len(data.test)} test windows ({', '.join(clips_used[split]['test'])}), "
            f"{len(data.val)} val windows"
        )
        all_metrics[split] = {}
        for n_seed, seed in enumerate(seeds):
            pool = engine.training_pool(data, cfg, recipe.train.epochs, seed)
            results = {}
            in_split = recipe.train.ablation_splits is None or split in recipe.train.ablation_splits
            ablations = (
                recipe.train.ablation_models if n_seed < recipe.train.ablation_seeds and in_split else []
            )
            for kind in list(recipe.train.models) + list(ablations):
                torch.manual_seed(seed)
                target = (data.y_mean, data.y_std) if cfg.target_norm else None
                spec = engine.model_spec(kind, recipe.model, cfg.t_obs, cfg.t_pred, target)
                model = engine.build_model(spec)
                params[kind] = count_parameters(model)
                fit = engine.fit(
                    kind,
                    model,
                    data,
                    pool,
                    recipe.train,
                    ctx.device,
                    ctx.reporter,
                    f"{kind} [{split}, seed {seed}]",
                )
                path = models_dir / f"{split}-s{seed}-{kind}.safetensors"
                save_checkpoint(path, fit.model.state_dict(), _meta(recipe, spec, data, split, seed, fit))
                checkpoints.append(str(path))
                ctx.run_dir.append_metrics(
                    {"split": split, "seed": seed, "model": kind, "history": fit.history}
                )
                for name, predictor in engine.predictors(kind, fit.model, cfg.t_pred).items():
                    results[name] = engine.evaluate(predictor, data.test, data.mean, data.std, ctx.device)
                    results[name]["best_epoch"] = fit.best_epoch
                    ctx.log(
                        f"  {split} seed {seed} {name}: FDE {results[name]['fde']:.1f} mm, ADE {results[name]['ade']:.1f}, "
                        f"STB {results[name]['stb']:.1f} ({fit.seconds:.0f} s, best epoch {fit.best_epoch})"
                    )
                    if example is None or (split == example[0] and seed == example[1]):
                        example = (split, seed, data, {**(example[3] if example else {}), name: predictor})
            all_metrics[split][seed] = results
    summary = summarise(all_metrics)
    rule = apply_rule(summary, recipe.rule)
    figs = []
    for split, rows in summary.items():
        curves = {name: row["per_frame_mm"] for name, row in rows.items()}
        figs.append(
            str(
                figures.horizon_plot(
                    curves,
                    cfg.fps,
                    ctx.run_dir / f"horizon-{split}.png",
                    f"test error over the horizon ({split} split)",
                )
            )
        )
    if example is not None:
        figs += _example_figures(example, cfg, ctx)
    result = TrainResult(
        str(ctx.run_dir.path),
        list(recipe.splits),
        seeds,
        clips_used,
        params,
        all_metrics,
        summary,
        rule,
        figs,
        checkpoints,
        round(time.perf_counter() - start, 1),
    )
    ctx.run_dir.write_json("results.json", result.to_dict())
    return result


def _example_figures(example, cfg, ctx) -> list[str]:
    """The skeleton strip of one test window and that window as a 2D track file for ``predict``."""
    split, seed, data, preds = example
    i = len(data.test) // 2
    x = data.test.x[i : i + 1]
    out = {name: engine.predict(p, x, data.mean, data.std, ctx.device)[0] for name, p in preds.items()}
    keep = {k: out[k] for k in ("skeleton_graph", "ar_gru", "constant_velocity") if k in out} or out
    strip = figures.skeleton_strip(
        x[0],
        keep,
        data.test.y[i],
        cfg.fps,
        ctx.run_dir / "skeletons.png",
        title=f"test window from '{data.test.clip[i]}' ({split} split, seed {seed}); grey dashed: ground truth",
    )
    c = cfg.camera
    np.savez(
        ctx.run_dir / "example_track.npz",
        keypoints=x[0],
        joints=np.array(JOINTS),
        future_3d=data.test.y[i],
        image_size=np.array([c.width, c.height]),
        focal=np.array(c.focal),
    )
    return [str(strip)]


# ------------------------------------------------------------------------------------ eval


@dataclass
class EvalResult:
    run_dir: str
    metrics: dict
    summary: dict
    rule: dict
    figures: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def load_models(folder: Path) -> list:
    files = sorted(Path(folder).glob("models/*.safetensors"))
    if not files:
        raise UserError(
            f"no checkpoints under {folder}/models", "pass the folder of a `vita predict-pose train` run"
        )
    return [load_checkpoint(f) for f in files]


def run_eval(recipe: PosePredRecipe, checkpoints: list, ctx: RunContext, inputs: Inputs) -> EvalResult:
    """Evaluate trained checkpoints on the test windows the recipe defines (e.g. with data.noise_px=3)."""
    all_metrics: dict = {}
    data_by_split = {}
    for ckpt in checkpoints:
        meta = ckpt.meta
        split, seed, spec = meta["split"], meta["seed"], meta["arch"]
        if split not in data_by_split:
            data_by_split[split] = engine.build_split(inputs.clips, recipe.data, split)
        data = data_by_split[split]
        model = engine.build_model(spec)
        model.load_state_dict(ckpt.tensors)
        model.to(ctx.device)
        for name, predictor in engine.predictors(spec["kind"], model, spec["t_pred"]).items():
            res = engine.evaluate(predictor, data.test, meta["norm"]["mean"], meta["norm"]["std"], ctx.device)
            all_metrics.setdefault(split, {}).setdefault(seed, {})[name] = res
    summary = summarise(all_metrics)
    figs = [
        str(
            figures.horizon_plot(
                {n: r["per_frame_mm"] for n, r in rows.items()},
                recipe.data.fps,
                ctx.run_dir / f"horizon-{split}.png",
                f"test error over the horizon ({split} split)",
            )
        )
        for split, rows in summary.items()
    ]
    result = EvalResult(str(ctx.run_dir.path), all_metrics, summary, apply_rule(summary, recipe.rule), figs)
    ctx.run_dir.write_json("results.json", result.to_dict())
    return result


# ------------------------------------------------------------------------------------ predict


@dataclass
class Track:
    keypoints: np.ndarray  # (T_obs, J, 2) pixels in the model's camera
    truth: np.ndarray | None  # (T_pred, J, 3)
    path: Path


def read_track(path: Path, t_obs: int, t_pred: int, camera: dict) -> Track:
    """A 2D track: ``.npz`` or ``.json`` with ``keypoints`` (T, J, 2) pixels; optional ``joints`` (names,
    reordered onto the common skeleton), ``image_size`` [w, h] and ``focal`` (pixels are re-mapped onto
    the training camera) and ``future_3d`` (T_pred, J, 3) ground truth. The last T_obs frames are used."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"track file not found: {path}", "check the path")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
        elif path.suffix.lower() == ".json":
            data = json.loads(path.read_text())
        else:
            raise UserError(f"{path}: unsupported track format {path.suffix!r}", "use .npz or .json")
        if "keypoints" not in data:
            raise UserError(
                f"{path}: no 'keypoints' array", "store the 2D joints as keypoints (T, J, 2) in pixels"
            )
        kp = np.asarray(data["keypoints"], dtype=np.float64)
    except (ValueError, OSError, TypeError) as exc:
        raise UserError(f"{path}: unreadable track ({str(exc).splitlines()[0]})") from exc
    if kp.ndim != 3 or kp.shape[2] != 2:
        raise UserError(f"{path}: 'keypoints' must be (T, J, 2), got shape {kp.shape}")
    if kp.shape[1] != len(JOINTS):
        raise UserError(
            f"{path}: the track has {kp.shape[1]} joints, the model expects {len(JOINTS)}",
            f"map your detector's joints onto {', '.join(JOINTS)}",
        )
    if "joints" in data:
        names = [str(n) for n in np.asarray(data["joints"]).tolist()]
        if sorted(names) != sorted(JOINTS):
            raise UserError(f"{path}: 'joints' must name the common joints {', '.join(JOINTS)}")
        kp = kp[:, [names.index(n) for n in JOINTS]]
    if len(kp) < t_obs:
        raise UserError(
            f"{path}: the track has {len(kp)} frames, the model observes {t_obs}",
            f"give at least {t_obs} frames",
        )
    kp = kp[-t_obs:]
    if not np.isfinite(kp).all():
        frame = int(np.flatnonzero(~np.isfinite(kp).all(axis=(1, 2)))[0])
        raise UserError(
            f"{path}: the track holds NaN or infinite values (frame {frame} of the last {t_obs})",
            "fill or drop missing detections first",
        )
    if "focal" in data or "image_size" in data:
        w, h = np.asarray(data.get("image_size", [camera["width"], camera["height"]]), dtype=float).tolist()
        f = float(np.asarray(data.get("focal", camera["focal"])))
        kp = (kp - [w / 2, h / 2]) * (camera["focal"] / f) + [camera["width"] / 2, camera["height"] / 2]
    truth = None
    if "future_3d" in data:
        truth = np.asarray(data["future_3d"], dtype=np.float64)
        if truth.shape != (t_pred, len(JOINTS), 3):
            raise UserError(f"{path}: 'future_3d' must be ({t_pred}, {len(JOINTS)}, 3), got {truth.shape}")
    return Track(kp.astype(np.float32), truth, path)


@dataclass
class PredictInputs:
    track: Track
    model: torch.nn.Module
    meta: dict
    checkpoint: Path


def load_predict_inputs(track: Path, checkpoint: Path) -> PredictInputs:
    ckpt = load_checkpoint(checkpoint)
    meta = ckpt.meta
    if "arch" not in meta or meta.get("verb") != "predict-pose train":
        raise UserError(f"{checkpoint} is not a predict-pose checkpoint", "use a file from runs/.../models/")
    spec = meta["arch"]
    model = engine.build_model(spec)
    model.load_state_dict(ckpt.tensors)
    tr = read_track(track, spec["t_obs"], spec["t_pred"], meta["camera"])
    return PredictInputs(tr, model, meta, Path(checkpoint))


@dataclass
class PredictResult:
    track: str
    checkpoint: str
    model: str
    t_pred: int
    fps: float
    prediction: str
    figures: list[str]
    fde_mm: float | None = None
    per_frame_mm: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def run_predict(inputs: PredictInputs, ctx: RunContext) -> PredictResult:
    """Predict the next T_pred 3D frames; write prediction.npz/.json, a PNG strip and a GIF."""
    from vita_cli.methods.predict_pose.metrics import horizon_metrics, per_frame_error_mm
    from vita_cli.methods.predict_pose.skeleton import TORSO

    meta, spec = inputs.meta, inputs.meta["arch"]
    norm = meta["norm"]
    x = inputs.track.keypoints[None]
    preds = {
        name: engine.predict(p.to(ctx.device), x, norm["mean"], norm["std"], ctx.device)[0]
        for name, p in engine.predictors(spec["kind"], inputs.model, spec["t_pred"]).items()
    }
    name, pred = next(iter(preds.items()))
    fps = float(meta["fps"])
    np.savez(ctx.run_dir / "prediction.npz", positions_cam=pred, joints=np.array(JOINTS), fps=np.array(fps))
    (ctx.run_dir / "prediction.json").write_text(
        json.dumps(
            {
                "joints": list(JOINTS),
                "fps": fps,
                "frame": "camera (x right, y down, z forward), metres",
                "positions_cam": np.round(pred, 4).tolist(),
            }
        )
    )
    truth = inputs.track.truth
    figs = [
        str(
            figures.skeleton_strip(
                inputs.track.keypoints,
                {name: pred},
                truth,
                fps,
                ctx.run_dir / "prediction.png",
                title=f"{figures.LABELS.get(name, name)}: {inputs.track.path.name}",
            )
        ),
        str(figures.skeleton_gif(inputs.track.keypoints, pred, truth, fps, ctx.run_dir / "prediction.gif")),
    ]
    result = PredictResult(
        str(inputs.track.path),
        str(inputs.checkpoint),
        name,
        len(pred),
        fps,
        str(ctx.run_dir / "prediction.npz"),
        figs,
    )
    if truth is not None:
        result.fde_mm = horizon_metrics(pred[None], truth[None], TORSO)["fde"]
        result.per_frame_mm = [round(v, 1) for v in per_frame_error_mm(pred[None], truth[None])]
    ctx.run_dir.write_json("results.json", result.to_dict())
    return result


__all__ = [
    "HORIZONS",
    "load_inputs",
    "run_train",
    "run_eval",
    "run_predict",
    "load_predict_inputs",
    "load_models",
]
