"""Recipe schema for ``recipes/ticket/*.yaml``: sign-ticket, verify-ticket and attack-ticket settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vita_cli.training.config import DataSection, ModelSection, TrainConfig


@dataclass
class ThresholdSection:
    """Decision thresholds written into sig.json (see vita_cli/methods/ticket/verify.py)."""

    jaccard_min: float = 0.5  # mask overlap that counts as "the same ticket"
    trigger_accuracy_min: float = 0.5
    p_value_max: float = 1e-6
    qr_ber_reference: float = 0.03  # reported only; the QR verdict is "decodes to the payload"
    # > 0: kernels with L1 below this fraction of the host layer's median live kernel count as absent
    # when reading the QR (defeats near-zero connections added only to flip modules); 0 = the paper
    kernel_floor: float = 0.0

    def __post_init__(self):
        if not 0 < self.jaccard_min <= 1:
            raise ValueError(f"sign.thresholds.jaccard_min must lie in (0, 1], got {self.jaccard_min}")
        if not 0 < self.trigger_accuracy_min <= 1:
            raise ValueError("sign.thresholds.trigger_accuracy_min must lie in (0, 1]")
        if not 0 < self.p_value_max < 1:
            raise ValueError("sign.thresholds.p_value_max must lie in (0, 1)")
        if not 0 <= self.kernel_floor < 1:
            raise ValueError("sign.thresholds.kernel_floor must lie in [0, 1)")


@dataclass
class SignSection:
    qr_version: int = 3  # 29×29 modules
    ecc: Literal["L", "M", "Q", "H"] = "H"
    layer: str | None = None  # host layer (parameter name); None = the best-agreeing layer
    offset: list[int] | None = None  # [row, col] in the channel map; None = the best-agreeing offset
    polarity: Literal["auto", "dark-connected", "light-connected"] = "auto"
    embed_seed: int = 2
    # live weights each "on" kernel gets at least (1 = the paper); more makes the code survive
    # magnitude pruning longer, paid for by removing the smallest weights elsewhere (same sparsity)
    min_weights_per_module: int = 1
    # > 0: during retraining, push one weight of every "on" kernel above the host layer's
    # anchor_quantile of |w| (hardens the QR against magnitude pruning; a vita extension, 0 = paper)
    anchor_strength: float = 0.0
    anchor_quantile: float = 0.75
    retrain: bool = True  # retrain from the rewind point with the signed mask fixed
    compare_unsigned: bool = False  # also retrain the unsigned ticket with the same schedule
    trigger_set: bool = True
    trigger_count: int = 100
    triggers_per_batch: int = 1
    trigger_seed: int = 1234
    thresholds: ThresholdSection = field(default_factory=ThresholdSection)

    def __post_init__(self):
        if not 2 <= self.qr_version <= 6:
            raise ValueError(f"sign.qr_version must lie in [2, 6], got {self.qr_version}")
        if self.offset is not None and len(self.offset) != 2:
            raise ValueError(f"sign.offset must be [row, col], got {self.offset}")
        if self.anchor_strength < 0 or not 0 < self.anchor_quantile < 1:
            raise ValueError("sign.anchor_strength must be >= 0 and sign.anchor_quantile in (0, 1)")
        if self.min_weights_per_module < 1:
            raise ValueError("sign.min_weights_per_module must be >= 1")
        if self.trigger_count < 1 or self.triggers_per_batch < 0:
            raise ValueError("sign.trigger_count must be >= 1 and sign.triggers_per_batch >= 0")


def _default_strengths() -> dict[str, list[float]]:
    return {
        "finetune": [0, 1, 2, 4],  # epochs of fine-tuning with the mask fixed
        "prune": [0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98],  # fraction of live weights removed
        "random-prune": [0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98],
        "add-connections": [0.0, 0.001, 0.005, 0.01, 0.05, 0.1],  # probability a pruned weight returns
        "forge": [0, 1],  # retraining epochs after the forged embedding (0 = as the paper)
        # Scheme 1: weighted random-walk paths removed, then retrained; the same number of random
        # kernels is removed as the control
        "paths": [0, 25, 50, 100],
    }


@dataclass
class AttackSection:
    strengths: dict[str, list[float]] = field(default_factory=_default_strengths)
    finetune_lr: float = 0.01
    add_std: float = 0.01  # std of re-enabled weights (the paper's N(0, 0.1²) is for ResNet-20s)
    forge_payload: str = "attacker"
    forge_std: float = 0.01  # std of the re-randomised weights in the forged block
    retrain_epochs: int | None = None  # retraining after path removal / forging (None = train.epochs)

    def __post_init__(self):
        known = set(_default_strengths())
        unknown = sorted(set(self.strengths) - known)
        if unknown:
            raise ValueError(
                f"attack.strengths has unknown attack {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        for attack, values in self.strengths.items():
            check_strengths(attack, values)


# Valid strengths of each attack: fractions of weights / probabilities, or counts (epochs, paths).
STRENGTH_RANGES = {
    "prune": (0.0, 1.0, "a fraction of live weights in [0, 1]"),
    "random-prune": (0.0, 1.0, "a fraction of live weights in [0, 1]"),
    "add-connections": (0.0, 1.0, "a probability in [0, 1]"),
    "finetune": (0.0, 1000.0, "a number of epochs in [0, 1000]"),
    "forge": (0.0, 1000.0, "a number of epochs in [0, 1000]"),
    "paths": (0.0, 1.0e7, "a number of paths >= 0"),
}


def check_strengths(attack: str, values) -> None:
    """ValueError naming the attack when a strength is out of its range."""
    lo, hi, what = STRENGTH_RANGES[attack]
    for v in values:
        if not lo <= float(v) <= hi:
            raise ValueError(f"attack strength {v:g} for {attack} must be {what}")


@dataclass
class TicketRecipe:
    """``recipes/ticket/*.yaml``."""

    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=lambda: ModelSection(name="small_cnn"))
    train: TrainConfig = field(default_factory=TrainConfig)
    sign: SignSection = field(default_factory=SignSection)
    attack: AttackSection = field(default_factory=AttackSection)
