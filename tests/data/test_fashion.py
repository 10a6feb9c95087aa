import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.data.vision_data_formats import write_fashion, write_idx
from vita_cli.core.errors import UserError
from vita_cli.data import DataConfig, load_data
from vita_cli.data.fashion import DEFAULT_ROOT, read_idx

REAL = Path(DEFAULT_ROOT) / "train-labels-idx1-ubyte.gz"


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / ("x.gz" if compress else "x"), array, compress)
    assert np.array_equal(read_idx(path), array)


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x12\x34\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(UserError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(UserError, match="truncated"):
        read_idx(short)


@pytest.mark.parametrize("channels", [1, 3])
def test_load_generated_fashion(tmp_path, channels):
    arrays = write_fashion(tmp_path / "fm", n_train=60, n_test=20)
    cfg = DataConfig(root=str(tmp_path / "fm"), channels=channels, val_size=10)
    data = load_data(cfg, seed=1)
    assert (len(data.train), len(data.val), len(data.test)) == (50, 10, 20)
    assert data.num_classes == 10 and data.in_channels == channels and data.image_size == 32
    assert len(data.mean) == channels and data.class_names[0] == "T-shirt/top"
    x, y = data.test[3]
    assert x.shape == (channels, 32, 32) and x.dtype == torch.float32 and isinstance(y, int)
    # 28x28 is zero-padded by 2 pixels on every side; the test set keeps the file order
    raw, labels = data.raw_test()
    assert raw.shape == (20, 32, 32, channels) and raw.dtype == np.uint8
    assert np.array_equal(raw[:, 2:30, 2:30, 0], arrays["t10k-images-idx3-ubyte"])
    assert raw[:, :2].max() == 0 and np.array_equal(labels, arrays["t10k-labels-idx1-ubyte"])
    # normalize() reproduces what the dataset yields for un-augmented images
    batch = torch.from_numpy(raw[:4]).permute(0, 3, 1, 2).float() / 255
    assert torch.allclose(data.normalize(batch)[3], x, atol=1e-6)


def test_uncompressed_files_and_resize(tmp_path):
    write_fashion(tmp_path / "fm", n_train=30, n_test=10, compress=False)
    data = load_data(DataConfig(root=str(tmp_path / "fm"), val_size=5, image_size=64), seed=0)
    assert data.train[0][0].shape == (1, 64, 64)


def test_subsets(tmp_path):
    write_fashion(tmp_path / "fm", n_train=60, n_test=20)
    cfg = DataConfig(root=str(tmp_path / "fm"), val_size=10, train_subset=7, test_subset=5)
    data = load_data(cfg, seed=0)
    assert (len(data.train), len(data.val), len(data.test)) == (7, 10, 5)
    # the test subset does not depend on the run seed: every run is scored on the same images
    assert torch.equal(load_data(cfg, seed=5).test.labels, data.test.labels)


def test_missing_directory_and_files(tmp_path):
    with pytest.raises(UserError) as err:
        load_data(DataConfig(root=str(tmp_path / "nowhere")))
    assert "not found" in err.value.message and "dataset-fashion-mnist" in err.value.hint
    (tmp_path / "partial").mkdir()
    write_idx(tmp_path / "partial" / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    with pytest.raises(UserError, match="t10k-images-idx3-ubyte.gz"):
        load_data(DataConfig(root=str(tmp_path / "partial")))


@pytest.mark.skipif(not REAL.exists(), reason="Debian dataset-fashion-mnist not installed")
def test_real_debian_files():
    data = load_data(DataConfig(val_size=5000), seed=0)
    assert (len(data.train), len(data.val), len(data.test)) == (55000, 5000, 10000)
    counts = torch.bincount(data.test.labels, minlength=10)
    assert counts.tolist() == [1000] * 10
    # the published statistics match the real pixels (padding excluded)
    raw = data.test.images[:, :, 2:30, 2:30].float() / 255
    assert abs(raw.mean().item() - data.mean[0]) < 0.01
