"""`vita train` and `vita evaluate` through the real CLI on a few Fashion-MNIST images."""

import json

import pytest

FAST = [
    "data.train_subset=128",
    "data.val_size=64",
    "data.test_subset=64",
    "model.options.width=4",
    "train.max_steps_per_epoch=2",
]


def _one_line_error(r, code=2):
    assert r.exit_code == code, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    return lines[0]


def test_train_then_resume_then_evaluate(vita, tmp_path):
    out = tmp_path / "run"
    r = vita("train", "--recipe", "train/tiny", "--out", out, "--json", "--device", "cpu", *FAST)
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["epochs"] == 1 and (out / "model.safetensors").is_file() and (out / "curves.png").is_file()
    assert (out / "last.pt").is_file() and (out / "recipe.yaml").is_file()
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    # resume the same run directory with one more epoch: only epoch 2 is trained
    r = vita(
        "train",
        "--recipe",
        "train/tiny",
        "--out",
        out,
        "--resume",
        "auto",
        "--json",
        "--device",
        "cpu",
        *FAST,
        "train.epochs=2",
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["epochs"] == 2
    assert [json.loads(x)["epoch"] for x in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    r = vita(
        "evaluate",
        out / "model.safetensors",
        "--out",
        tmp_path / "ev",
        "--json",
        "--device",
        "cpu",
        "data.test_subset=64",
    )
    assert r.exit_code == 0, r.stderr
    ev = json.loads(r.stdout)
    assert (
        ev["count"] == 64
        and len(ev["per_class_accuracy"]) == 10
        and (tmp_path / "ev" / "confusion.png").is_file()
    )
    assert sum(map(sum, ev["confusion"])) == 64


def test_resume_auto_with_nothing_to_resume_starts_fresh(vita, tmp_path):
    r = vita(
        "train",
        "--recipe",
        "train/tiny",
        "--out",
        tmp_path / "new",
        "--resume",
        "auto",
        "--quiet",
        "--device",
        "cpu",
        *FAST,
    )
    assert r.exit_code == 0, r.stderr


def test_missing_dataset_path(vita, tmp_path):
    r = vita(
        "train",
        "--recipe",
        "train/tiny",
        "--out",
        tmp_path / "r",
        "--device",
        "cpu",
        "data.name=cifar10",
        f"data.root={tmp_path / 'no-such-dir'}",
    )
    line = _one_line_error(r)
    assert "hint" in line


def test_unknown_recipe_key(vita, tmp_path):
    line = _one_line_error(vita("train", "--recipe", "train/tiny", "--out", tmp_path / "r", "train.bogus=1"))
    assert "train.bogus" in line and "hint" in line


def test_wrong_arch(vita, tmp_path):
    line = _one_line_error(
        vita("train", "--recipe", "train/tiny", "--out", tmp_path / "r", "--arch", "resnet-nope")
    )
    assert "resnet-nope" in line


@pytest.mark.parametrize("content", [b"", b"garbage" * 10])
def test_corrupt_checkpoint(vita, tmp_path, content):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(content)
    line = _one_line_error(vita("evaluate", bad, "--out", tmp_path / "ev"))
    assert "model.safetensors" in line
    resume = tmp_path / "last.pt"
    resume.write_bytes(content or b"x")
    line = _one_line_error(
        vita("train", "--recipe", "train/tiny", "--out", tmp_path / "r", "--resume", resume, *FAST)
    )
    assert "corrupt" in line and "hint" in line


def test_bad_train_value(vita, tmp_path):
    line = _one_line_error(vita("train", "--recipe", "train/tiny", "--out", tmp_path / "r", "train.lr=-1"))
    assert "train.lr" in line
