import json

import numpy as np
import pytest
import torch
from torch import nn

from vita_cli.core.errors import UserError
from vita_cli.methods.robustness.cifar_c_constants import CIFAR_C_CONSTANTS
from vita_cli.methods.robustness.corruptions import (
    STANDARD_CORRUPTIONS,
    CorruptionInputError,
    check_request,
    corrupt_batch,
    generate_corrupted,
    open_corrupted,
)
from vita_cli.methods.robustness.evaluate import corruption_errors, evaluate_robustness, heatmap


def _images(n=6, c=1, size=32, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, size, size, c), np.uint8)
    x[:, 8:24, 8:24] = 200  # a bright object on black, like Fashion-MNIST
    x = np.clip(x.astype(int) + rng.integers(0, 30, x.shape), 0, 255).astype(np.uint8)
    return x, np.arange(n) % 10


def test_layout_severities_and_reuse(tmp_path):
    images, labels = _images()
    names = ["gaussian_noise", "contrast", "pixelate"]
    cset = generate_corrupted(images, labels, tmp_path / "c", names, [1, 3, 5], "imagenet", seed=1)
    for name in names:
        array = np.load(tmp_path / "c" / f"{name}.npy")
        assert array.dtype == np.uint8 and array.shape == (3 * 6, 32, 32, 1)
        # block k holds severity severities[k], computed on the same images
        for k, severity in enumerate([1, 3, 5]):
            assert np.array_equal(
                array[k * 6 : (k + 1) * 6], corrupt_batch(images, name, severity, "imagenet", 1)
            )
    assert np.array_equal(np.load(tmp_path / "c" / "labels.npy"), np.tile(labels, 3))
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    assert meta["severities"] == [1, 3, 5] and meta["layout"] == "cifar-c"
    assert (
        cset.n == 6
        and cset.corruptions == names
        and np.array_equal(cset.images("contrast", 3), array_of(tmp_path, "contrast")[6:12])
    )
    # stronger severity, larger change (contrast is deterministic)
    diffs = [np.abs(cset.images("contrast", s).astype(int) - images).mean() for s in (1, 3, 5)]
    assert diffs[0] < diffs[1] < diffs[2]
    # the cache is reused, and a different request on the same folder is refused
    generate_corrupted(images, labels, tmp_path / "c", names, [1, 3, 5], "imagenet", seed=1)
    with pytest.raises(CorruptionInputError, match="different corrupted set"):
        generate_corrupted(images, labels, tmp_path / "c", names, [1, 3, 5], "cifar", seed=1)


def array_of(root, name):
    return np.load(root / "c" / f"{name}.npy")


def test_external_folder_without_meta_is_read_as_five_severities(tmp_path):
    folder = tmp_path / "CIFAR-10-C"
    folder.mkdir()
    np.save(folder / "fog.npy", np.zeros((5 * 4, 32, 32, 3), np.uint8))
    np.save(folder / "labels.npy", np.tile(np.arange(4, dtype=np.uint8), 5))
    cset = open_corrupted(folder)
    assert cset.corruptions == ["fog"] and cset.severities == [1, 2, 3, 4, 5] and cset.n == 4
    assert cset.images("fog", 5).shape == (4, 32, 32, 3)


def test_cifar_constants_are_milder_and_deterministic():
    images, _ = _images(c=3)
    assert CIFAR_C_CONSTANTS["gaussian_noise"] == [0.04, 0.06, 0.08, 0.09, 0.10]
    for name in STANDARD_CORRUPTIONS:
        out = corrupt_batch(images[:2], name, 3, "cifar", seed=0)
        assert out.shape == images[:2].shape and out.dtype == np.uint8
        assert np.array_equal(out, corrupt_batch(images[:2], name, 3, "cifar", seed=0))
    for name in ("gaussian_noise", "contrast", "pixelate", "jpeg_compression"):
        mild = np.abs(corrupt_batch(images, name, 5, "cifar").astype(int) - images).mean()
        harsh = np.abs(corrupt_batch(images, name, 5, "imagenet").astype(int) - images).mean()
        assert mild < harsh, name


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: check_request(["gaussian_nois"], [1]), "unknown corruption 'gaussian_nois'"),
        (lambda: check_request(["fog"], [0]), "severity 0 is outside 1-5"),
        (lambda: check_request(["fog"], [6]), "severity 6 is outside 1-5"),
        (lambda: check_request(["spatter"], [1], "cifar"), "unknown corruption 'spatter'"),
        (lambda: corrupt_batch(np.zeros((2, 28, 28, 1), np.uint8), "fog", 1), "at least 32×32"),
    ],
)
def test_bad_requests_are_one_line_user_errors(call, message):
    with pytest.raises(UserError, match=message) as info:
        call()
    assert "\n" not in info.value.one_line()


class _Threshold(nn.Module):
    """Predicts class 1 when the mean brightness is high, else 0: a fixed model for exact checks."""

    def __init__(self, channels=1):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1)

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([-m, m], dim=1)


def test_evaluation_table_mce_and_heatmap(tmp_path):
    images, _ = _images(n=8)
    labels = np.ones(8, dtype=np.int64)
    cset = generate_corrupted(images, labels, tmp_path / "c", ["contrast", "brightness"], [1, 5])
    result = evaluate_robustness(_Threshold(), cset, lambda x: x - 0.1, torch.device("cpu"), images, labels)
    assert result["clean_acc"] == 100.0
    assert set(result["accuracy"]) == {"contrast", "brightness"} and len(result["accuracy"]["contrast"]) == 2
    assert result["mean_corruption_acc"] == pytest.approx(
        np.mean([v for r in result["accuracy"].values() for v in r])
    )
    assert heatmap(result, tmp_path / "h.png").is_file()


def test_mce_against_a_baseline():
    def fake(clean, rows):
        return {"corruptions": list(rows), "severities": [1, 2], "clean_acc": clean, "accuracy": rows}

    base = fake(90.0, {"fog": [80.0, 60.0], "snow": [70.0, 50.0]})
    model = fake(92.0, {"fog": [90.0, 80.0], "snow": [70.0, 50.0]})
    out = corruption_errors(model, base)
    assert out["ce"]["fog"] == pytest.approx(100 * 30 / 60) and out["ce"]["snow"] == pytest.approx(100)
    assert out["mce"] == pytest.approx(75)
    assert corruption_errors(base, base)["mce"] == pytest.approx(100)  # the anchor scores 100 against itself
    assert out["relative_ce"]["fog"] == pytest.approx(100 * (30 - 16) / (60 - 20))
    with pytest.raises(CorruptionInputError, match="different corruptions or severities"):
        corruption_errors(model, {**base, "severities": [1, 2, 3]})


def test_channel_mismatch_is_a_one_line_error(tmp_path):
    images, _ = _images(n=4)
    labels = np.ones(4, dtype=np.int64)
    cset = generate_corrupted(images, labels, tmp_path / "c", ["contrast"], [1])
    with pytest.raises(CorruptionInputError, match="3-channel"):
        evaluate_robustness(_Threshold(3), cset, lambda x: x, torch.device("cpu"), images, labels)
