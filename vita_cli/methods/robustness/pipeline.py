"""``run(cfg, model_path, ctx)``: accuracy of a model under corruption (and mCE against a baseline).

The corrupted test set is generated offline from the data set's test split (the first ``n_test``
images of a fixed seeded subset) and cached as ``<corruption>.npy`` + ``labels.npy`` (CIFAR-10-C
layout), or read from an existing folder. Writes robust.json and robust.png into ``ctx.run_dir``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.core.rundir import RunDir
from vita_cli.data import DataConfig, load_data
from vita_cli.methods.robustness import corruptions as C
from vita_cli.methods.robustness.config import RobustEvalConfig
from vita_cli.methods.robustness.evaluate import (
    check_channels,
    corruption_errors,
    evaluate_robustness,
    heatmap,
    model_in_channels,
)
from vita_cli.models import load_model

CORRUPTION_SEED = 0  # one fixed corrupted test set, whatever seed the models were trained with
NATIVE_CHANNELS = {"fashion-mnist": 1, "cifar10": 3, "cifar100": 3}
DEFAULT_CACHE = Path(".cache/vita/corruptions")


@dataclass
class RobustResult:
    """robust.json: per corruption × severity accuracy, means, and (with a baseline) CE / mCE."""

    values: dict

    def to_dict(self) -> dict:
        return dict(self.values)


def _score(model, corrupted, bundle, device, clean, batch_size, reporter, label) -> dict:
    total = len(corrupted.corruptions) * len(corrupted.severities)
    with reporter.task(f"evaluate {label}", total=total) as task:
        return evaluate_robustness(
            model,
            corrupted,
            bundle.normalize,
            device,
            clean[0],
            clean[1],
            batch_size,
            progress=lambda name, k: task.advance(k, corruption=name),
        )


def _data_config(cfg: RobustEvalConfig, loaded, n_test) -> DataConfig:
    data_meta = dict(loaded.meta.get("data") or {})
    name = cfg.dataset or data_meta.get("name", "fashion-mnist")
    channels = cfg.channels
    if channels is None:  # the training data's channels, else the data set's own
        same = name == data_meta.get("name")
        channels = (
            int(data_meta["channels"]) if same and data_meta.get("channels") else NATIVE_CHANNELS.get(name)
        )
        channels = channels or int(model_in_channels(loaded.model) or 3)
    size = int(cfg.image_size or data_meta.get("image_size") or 32)
    if size < C.MIN_SIZE:
        raise UserError(
            f"images are {size}×{size} px but the corruption code needs at least {C.MIN_SIZE}×{C.MIN_SIZE}",
            "train at data.image_size=32 or larger",
        )
    try:
        return DataConfig(
            name=name,
            root=cfg.data_root or data_meta.get("root"),
            channels=channels,
            image_size=size,
            val_size=0,
            test_subset=n_test,
            augment=False,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run(
    cfg: RobustEvalConfig,
    model_path: Path,
    ctx: RunContext,
    out_dir: Path | None = None,
    trust_pickle: bool = False,
) -> RobustResult:
    """Score ``model_path`` (and ``cfg.baseline``) under corruption; files go to ``out_dir`` or ``ctx.run_dir``.
    ``trust_pickle``: the model file may hold pickled objects (runs their code)."""
    loaded = load_model(model_path, arch_name=cfg.arch, trust_pickle=trust_pickle)
    external = (
        C.open_corrupted(cfg.corruptions_dir, cfg.corruptions) if cfg.corruptions_dir is not None else None
    )
    n_test = cfg.n_test
    if external is not None:  # official files hold the whole test split, in order
        n_test = int(external.meta["n"]) if "n" in external.meta else None
    data_cfg = _data_config(cfg, loaded, n_test)
    name = data_cfg.name
    bundle = load_data(data_cfg, seed=0)
    clean = bundle.raw_test()
    check_channels(loaded.model, clean[0], f"the {name} test images")
    if external is not None:
        corrupted = external
        if corrupted.n != len(clean[1]) or not np.array_equal(corrupted.labels, clean[1]):
            ctx.log(
                f"note: the labels in {cfg.corruptions_dir} do not match the first {len(clean[1])} {name} test "
                "images; clean accuracy is measured on the latter"
            )
    else:
        cache = cfg.cache or DEFAULT_CACHE / (
            f"{name}-{data_cfg.channels}x{data_cfg.image_size}-{cfg.constants}-n{len(clean[1])}"
        )
        todo = len(cfg.corruptions or C.STANDARD_CORRUPTIONS) * len(cfg.severities)
        with ctx.reporter.task(f"corrupt {len(clean[1])} images", total=todo) as task:
            corrupted = C.generate_corrupted(
                clean[0],
                clean[1],
                cache,
                cfg.corruptions,
                cfg.severities,
                cfg.constants,
                CORRUPTION_SEED,
                progress=lambda c, k: task.advance(k, corruption=c),
                source=f"{name} test, {len(clean[1])} images",
            )
        ctx.log(f"corrupted set: {cache}")
    args = (corrupted, bundle, ctx.device, clean, cfg.batch_size, ctx.reporter)
    result = _score(loaded.model, *args, "model")
    result.update(
        model=str(model_path),
        dataset=name,
        constants=corrupted.meta.get("constants", "external"),
        corruptions_dir=str(corrupted.path),
    )
    if cfg.baseline is not None:
        if cfg.baseline.suffix == ".json":
            base = json.loads(cfg.baseline.read_text())
        else:
            base = _score(load_model(cfg.baseline).model, *args, "baseline")
            base["model"] = str(cfg.baseline)
        result["baseline"] = {k: base.get(k) for k in ("model", "clean_acc", "mean_corruption_acc")}
        result.update(corruption_errors(result, base))
    folder = ctx.run_dir.path if out_dir is None else Path(out_dir)
    RunDir(folder).write_json("robust.json", result)
    title = f"{Path(model_path).name}: accuracy (%)"
    result["plot"] = str(heatmap(result, folder / "robust.png", title=title))
    return RobustResult(result)
