"""``run(recipe, ctx)``: train one robust arm (standard, AugMix, AugMax with BN/DuBN/DuBIN) of an
:class:`AugMaxRecipe`; writes model.safetensors and results.json into ``ctx.run_dir``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from vita_cli.core.context import RunContext
from vita_cli.methods.augmax.config import AugMaxRecipe
from vita_cli.methods.augmax.engine import build_for_recipe, train_robust
from vita_cli.models import save_model


@dataclass
class AugmaxTrainResult:
    method: str
    best_val_acc: float | None
    final_val_acc: float | None
    test_acc: float
    test_loss: float
    model: str
    arch: dict
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def run(recipe: AugMaxRecipe, ctx: RunContext, resume: str | None = None) -> AugmaxTrainResult:
    """Train the recipe's arm; ``resume``: ``"auto"`` or a ``train/last.pt`` to continue from."""
    bundle, model, arch = build_for_recipe(recipe, ctx.seed)
    label = recipe.method.label
    ctx.log(
        f"{label}: {recipe.model.name} on {recipe.data.name} ({len(bundle.train)} train / {len(bundle.val)} val / "
        f"{len(bundle.test)} test, {bundle.in_channels}×{bundle.image_size}²), {recipe.train.epochs} epochs"
    )
    trained = train_robust(
        model,
        bundle,
        recipe.method,
        recipe.train,
        ctx.device,
        ctx.reporter,
        seed=ctx.seed,
        batch_size=recipe.data.batch_size,
        checkpoint_dir=ctx.run_dir / "train",
        resume=resume,
    )
    meta = {
        "verb": "augmax-train",
        "method": label,
        "data": asdict(recipe.data),
        "test_acc": trained["test_acc"],
        "seed": ctx.seed,
    }
    path = save_model(ctx.run_dir / "model.safetensors", model, arch, meta=meta)
    result = AugmaxTrainResult(
        method=trained["method"],
        best_val_acc=trained["best_val_acc"],
        final_val_acc=trained["final_val_acc"],
        test_acc=trained["test_acc"],
        test_loss=trained["test_loss"],
        model=str(path),
        arch=arch,
        history=trained["history"],
    )
    ctx.run_dir.write_json("results.json", result.to_dict())
    return result
