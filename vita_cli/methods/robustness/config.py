"""``RobustEvalConfig``: what ``vita eval-robust`` scores a model under (one typed config, checked once)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vita_cli.core.errors import UserError
from vita_cli.core.recipe import apply_overrides
from vita_cli.methods.robustness.corruptions import STANDARD_CORRUPTIONS, check_request


@dataclass
class RobustEvalConfig:
    """The corrupted test set and how to score on it. Defaults: the training data, 1000 images, all
    15 standard corruptions at severities 1-5 with the ImageNet-C constants, generated and cached."""

    dataset: str | None = None  # default: the data set the model was trained on
    data_root: str | None = None
    n_test: int = 1000  # test images per severity (a fixed seeded subset)
    constants: str = "imagenet"  # imagenet (imagecorruptions) | cifar (CIFAR-10-C)
    corruptions: list[str] | None = None  # None: the 15 standard corruptions
    severities: list[int] | None = None  # None: 1-5
    corruptions_dir: Path | None = None  # an existing CIFAR-C layout folder instead of generating one
    cache: Path | None = None  # where generated corrupted sets are cached
    baseline: Path | None = None  # a baseline model file or its robust.json, for mCE
    arch: str | None = None  # architecture of plain state-dict files
    batch_size: int = 256
    channels: int | None = None  # default: the training data's (3 turns grey into RGB)
    image_size: int | None = None  # default: the training data's, else 32

    def __post_init__(self):
        if self.n_test < 1:
            raise UserError(f"--n-test must be >= 1, got {self.n_test}")
        if self.batch_size < 1:
            raise UserError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.severities is None:
            self.severities = [1, 2, 3, 4, 5]
        check_request(self.corruptions or STANDARD_CORRUPTIONS, self.severities, self.constants)


# `data.KEY=VALUE` overrides, named as in every other verb's recipe → the config field they set
DATA_KEYS = {"name": "dataset", "root": "data_root", "channels": "channels", "image_size": "image_size"}


def data_fields(overrides: list[str] | None) -> dict:
    """``["data.name=cifar10", "data.root=DIR"]`` → ``{"dataset": "cifar10", "data_root": "DIR"}``, checked."""
    tree = apply_overrides({}, overrides)
    unknown = sorted(set(tree) - {"data"})
    if unknown:
        raise UserError(
            f"eval-robust takes only data.* overrides, got {', '.join(unknown)}",
            f"use data.{', data.'.join(DATA_KEYS)}; the other settings are options (--help)",
        )
    data = tree.get("data", {})
    if not isinstance(data, dict):
        raise UserError("'data' is a section: give data.KEY=VALUE")
    bad = sorted(set(data) - set(DATA_KEYS))
    if bad:
        raise UserError(f"unknown key data.{bad[0]}", f"eval-robust reads data.{', data.'.join(DATA_KEYS)}")
    fields = {}
    for key, value in data.items():
        if key in ("channels", "image_size") and (isinstance(value, bool) or not isinstance(value, int)):
            raise UserError(f"data.{key} must be an integer, got {value!r}")
        if key in ("name", "root") and not isinstance(value, str):
            value = str(value)
        fields[DATA_KEYS[key]] = value
    return fields
