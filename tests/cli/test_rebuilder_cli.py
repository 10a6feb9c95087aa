"""A checkpoint names its model rebuilder by a short key of a fixed table, never by code to import."""

import pytest
import torch

from vita_cli.models import build_model, save_model

ARCH = {"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": 4}


@pytest.mark.parametrize(
    "rebuild",
    [
        {"rebuilder": "not_a_rebuilder"},
        {"fn": "os:system"},  # an old-style code path is read as a name, and refused
        {"fn": "vita_cli.models.registry:build_model"},
    ],
)
@pytest.mark.parametrize("verb", ["inspect", "evaluate", "export"])
def test_unknown_rebuilder_is_one_line_exit_2(vita, tmp_path, rebuild, verb):
    torch.manual_seed(0)
    path = save_model(tmp_path / "m.safetensors", build_model(ARCH), {**ARCH, "rebuild": rebuild})
    r = vita(verb, path, "--out", tmp_path / "run")
    assert r.exit_code == 2, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: unknown model rebuilder"), r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "run").exists()
