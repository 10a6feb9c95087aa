import json

import numpy as np
import pytest

from vita_cli.core.recipe import list_recipes
from vita_cli.schemas import load_any_recipe


def test_augmax_recipes_validate():
    names = [n for n, _ in list_recipes() if n.startswith("augmax/")]
    assert {"augmax/default", "augmax/paper", "augmax/tiny"} <= set(names)
    for name in names:
        recipe, path = load_any_recipe(name)
        assert path.read_text().startswith("# vita augmax-train")
    paper, _ = load_any_recipe("augmax/paper")
    assert (paper.train.epochs, paper.method.steps, paper.method.step_size, paper.method.lam) == (
        200,
        5,
        0.1,
        10.0,
    )


@pytest.fixture(scope="module")
def grey_model(tmp_path_factory):
    """An untrained 1-channel ResNet-20 (width 4) saved the way augmax-train saves models."""
    from vita_cli.methods.augmax.config import RobustMethod
    from vita_cli.methods.augmax.engine import robust_arch
    from vita_cli.models import build_model, save_model

    arch = robust_arch({"name": "resnet20", "num_classes": 10, "in_channels": 1, "width": 4}, RobustMethod())
    path = tmp_path_factory.mktemp("m") / "model.safetensors"
    data = {"name": "fashion-mnist", "channels": 1, "image_size": 32}
    return save_model(path, build_model(arch), arch, meta={"data": data})


@pytest.mark.parametrize(
    "args, message",
    [
        (["--corruptions", "fogg"], "unknown corruption 'fogg'"),
        (["--severities", "0,1"], "severity 0 is outside 1-5"),
        (["--severities", "6"], "severity 6 is outside 1-5"),
        (["data.image_size=28"], "at least 32×32"),
        (["data.channels=3"], "takes 1-channel images but the fashion-mnist test images have 3"),
        (["data.nope=1"], "unknown key data.nope"),
        (["train.lr=0.1"], "takes only data.* overrides"),
        (["data.channels=three"], "data.channels must be an integer"),
    ],
)
def test_eval_robust_bad_input_is_one_line(vita, grey_model, tmp_path, args, message):
    r = vita(
        "eval-robust",
        grey_model,
        "--n-test",
        8,
        "--device",
        "cpu",
        "--out",
        tmp_path,
        "--cache",
        tmp_path / "c",
        *args,
    )
    assert r.exit_code == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # ~20 s alone, ~60 s on a busy 2-core machine
def test_tiny_end_to_end(vita, tmp_path):
    r = vita(
        "augmax-train",
        "-r",
        "augmax/tiny",
        "--device",
        "cpu",
        "--out",
        tmp_path / "train",
        "--json",
        "--quiet",
    )
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["method"] == "augmax-dubin" and result["arch"]["rebuild"]["norm"] == "dubin"
    first = result["history"][0]
    assert first["ce_augmax"] > 0 and first["ce_augmix"] > 0 and "seconds_attack" in first
    model = tmp_path / "train" / "model.safetensors"
    assert model.is_file()

    r = vita(
        "eval-robust",
        model,
        "--n-test",
        16,
        "--corruptions",
        "gaussian_noise,contrast",
        "--severities",
        "1,5",
        "--cache",
        tmp_path / "c",
        "--baseline",
        model,
        "--device",
        "cpu",
        "--out",
        tmp_path / "eval",
        "--json",
        "--quiet",
    )
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["corruptions"] == ["gaussian_noise", "contrast"] and out["severities"] == [1, 5]
    assert 0 <= out["clean_acc"] <= 100 and out["mce"] == pytest.approx(100)
    assert (tmp_path / "eval" / "robust.png").is_file() and (tmp_path / "eval" / "robust.json").is_file()
    assert np.load(tmp_path / "c" / "contrast.npy").shape == (2 * 16, 32, 32, 1)

    # the baselines run through the same verb
    r = vita(
        "augmax-train",
        "-r",
        "augmax/tiny",
        "--method",
        "augmix",
        "--device",
        "cpu",
        "--out",
        tmp_path / "augmix",
        "--json",
        "--quiet",
        "train.max_steps_per_epoch=1",
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["method"] == "augmix"
