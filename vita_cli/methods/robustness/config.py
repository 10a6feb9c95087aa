"""``RobustEvalConfig``: what ``vita eval-robust`` scores a model under (one typed config, checked once)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vita_cli.core.errors import UserError
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
