import pickle

import numpy as np
import pytest

from tests.data.vision_data_formats import write_cifar10, write_cifar100
from vita_cli.core.errors import UserError
from vita_cli.data import DataConfig, load_data
from vita_cli.data.cifar import read_batch


@pytest.mark.parametrize("bytes_keys", [True, False])
def test_cifar10_batches(tmp_path, bytes_keys):
    write_cifar10(tmp_path / "c10", per_batch=6, n_test=8, bytes_keys=bytes_keys)
    data = load_data(DataConfig(name="cifar10", root=str(tmp_path / "c10"), channels=3, val_size=5), seed=0)
    assert (len(data.train), len(data.val), len(data.test)) == (25, 5, 8)
    assert data.num_classes == 10 and data.class_names[:2] == ["c0", "c1"]
    assert data.mean == pytest.approx((0.4914, 0.4822, 0.4465))
    raw, _ = data.raw_test()
    # the row layout of the batch (R plane, G plane, B plane) becomes H×W×C
    batch = read_batch(tmp_path / "c10" / "test_batch")
    assert np.array_equal(raw[0], batch["data"][0].reshape(3, 32, 32).transpose(1, 2, 0))
    x, _ = data.train[0]
    assert x.shape == (3, 32, 32)


def test_cifar10_in_standard_subdirectory_and_grey(tmp_path):
    write_cifar10(tmp_path / "root" / "cifar-10-batches-py")
    data = load_data(DataConfig(name="cifar10", root=str(tmp_path / "root"), channels=1, val_size=5), seed=0)
    assert data.train[0][0].shape == (1, 32, 32) and len(data.mean) == 1


def test_cifar100_fine_labels(tmp_path):
    write_cifar100(tmp_path / "c100", n_train=30, n_test=10)
    data = load_data(DataConfig(name="cifar100", root=str(tmp_path / "c100"), channels=3, val_size=5), seed=0)
    assert data.num_classes == 100 and data.class_names[7] == "fine7"
    assert (len(data.train), len(data.test)) == (25, 10)
    assert int(data.train.labels.max()) < 100


def test_missing_cifar_says_what_to_put_where(tmp_path):
    with pytest.raises(UserError) as err:
        load_data(DataConfig(name="cifar10", channels=3))
    assert "data.root" in err.value.message and "data_batch_1" in err.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError) as err:
        load_data(DataConfig(name="cifar100", root=str(tmp_path / "empty"), channels=3))
    assert "train, test" in err.value.message and "never downloads" in err.value.hint


def test_pickle_with_code_is_refused(tmp_path):
    write_cifar10(tmp_path / "c10")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "c10" / "test_batch", "wb") as f:
        pickle.dump({"data": Evil(), "labels": [0]}, f)
    with pytest.raises(UserError, match="only numpy arrays are allowed"):
        load_data(DataConfig(name="cifar10", root=str(tmp_path / "c10"), channels=3, val_size=5))
