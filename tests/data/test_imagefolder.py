import pytest

from tests.data.vision_data_formats import write_image_folder
from vita_cli.core.errors import UserError
from vita_cli.data import DataConfig, load_data


def test_single_folder_split(tmp_path):
    write_image_folder(tmp_path / "imgs", per_class=5, size=20)
    cfg = DataConfig(name="imagefolder", root=str(tmp_path / "imgs"), channels=3, val_size=2)
    data = load_data(cfg, seed=0)
    assert data.class_names == ["cat", "dog", "fox"] and data.num_classes == 3
    assert len(data.train) + len(data.val) + len(data.test) == 15 and len(data.test) == 3
    x, _ = data.train[0]
    assert x.shape == (3, 32, 32)  # 20 px images are resized to image_size
    assert len(data.mean) == 3 and all(s > 0 for s in data.std)


def test_train_test_layout_jpeg_grey(tmp_path):
    write_image_folder(tmp_path / "d" / "train", classes=("a", "b"), per_class=4, ext=".jpg")
    write_image_folder(tmp_path / "d" / "test", classes=("a", "b"), per_class=2, ext=".png", seed=1)
    cfg = DataConfig(name="imagefolder", root=str(tmp_path / "d"), channels=1, image_size=16, val_size=2)
    data = load_data(cfg, seed=0)
    assert (len(data.train), len(data.val), len(data.test)) == (6, 2, 4)
    assert data.test[0][0].shape == (1, 16, 16)


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(UserError, match="image folder not found"):
        load_data(DataConfig(name="imagefolder", root=str(tmp_path / "none")))
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(UserError, match="need at least 2"):
        load_data(DataConfig(name="imagefolder", root=str(tmp_path / "one")))


def test_val_size_too_large_names_the_key(tmp_path):
    write_image_folder(tmp_path / "imgs", per_class=2)
    with pytest.raises(UserError, match="data.val_size"):
        load_data(DataConfig(name="imagefolder", root=str(tmp_path / "imgs"), channels=3))
