import pytest
import torch

from tests.data.vision_data_formats import write_fashion
from vita_cli.data import DataConfig, SeededShuffleSampler, load_data, make_loader
from vita_cli.data.splits import train_val_indices
from vita_cli.data.transforms import random_crop_flip


def test_split_is_deterministic_and_disjoint():
    a_train, a_val = train_val_indices(100, 20, seed=3)
    b_train, b_val = train_val_indices(100, 20, seed=3)
    assert torch.equal(a_train, b_train) and torch.equal(a_val, b_val)
    assert len(set(a_train.tolist()) | set(a_val.tolist())) == 100 and len(a_val) == 20
    assert not torch.equal(train_val_indices(100, 20, seed=4)[1], a_val)


def test_load_data_split_depends_only_on_seed(tmp_path):
    write_fashion(tmp_path / "fm", n_train=60, n_test=10)
    cfg = DataConfig(root=str(tmp_path / "fm"), val_size=10)
    one, two = load_data(cfg, seed=7), load_data(cfg, seed=7)
    assert torch.equal(one.val.images, two.val.images) and torch.equal(one.train.labels, two.train.labels)


def test_loader_order_is_seeded_and_batched(tmp_path):
    write_fashion(tmp_path / "fm", n_train=60, n_test=10)
    data = load_data(DataConfig(root=str(tmp_path / "fm"), val_size=10, augment=False), seed=0)

    def labels(seed, epoch=None):
        loader = make_loader(data.train, 16, shuffle=True, seed=seed)
        if epoch is not None:
            loader.sampler.set_epoch(epoch)
        return torch.cat([y for _, y in loader])

    assert torch.equal(labels(1), labels(1)) and not torch.equal(labels(1), labels(2))
    loader = make_loader(data.train, 16, shuffle=True, seed=1)
    first, second = [torch.cat([y for _, y in loader]) for _ in range(2)]
    assert not torch.equal(first, second)  # a new permutation every epoch
    assert torch.equal(labels(1, epoch=1), second)  # and set_epoch reproduces it after a resume
    x, y = next(iter(make_loader(data.train, 16, shuffle=False, drop_last=True)))
    assert x.shape == (16, 1, 32, 32) and y.dtype == torch.int64
    assert len(make_loader(data.train, 16, shuffle=False, drop_last=True)) == 3


def test_augmentation(tmp_path):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(random_crop_flip(images, padding=0, flip=False), images)
    out = random_crop_flip(images, padding=2, flip=True)
    assert out.shape == images.shape and out.dtype == torch.uint8 and not torch.equal(out, images)
    flipped = random_crop_flip(images, padding=0, flip=True)
    same = (flipped == images).flatten(1).all(1)
    mirrored = (flipped == images.flip(3)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 10 < int(mirrored.sum()) < 54
    # every crop is a (possibly mirrored) window of the zero-padded image
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for i in range(8):
        windows = [padded[i, :, r : r + 8, c : c + 8] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], win) or torch.equal(out[i], win.flip(2)) for win in windows)
    g = torch.Generator().manual_seed(0)
    a = random_crop_flip(images, 2, True, generator=g)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(a, random_crop_flip(images, 2, True, generator=g))


def test_sampler_len_and_config_validation():
    assert sorted(SeededShuffleSampler(10, 0)) == list(range(10))
    for kwargs, key in [
        ({"channels": 2}, "data.channels"),
        ({"name": "mnist"}, "data.name"),
        ({"val_size": -1}, "data.val_size"),
        ({"train_subset": 0}, "data.train_subset"),
    ]:
        with pytest.raises(ValueError, match=key):
            DataConfig(**kwargs)
