"""The depth study: the two declared rules on known numbers, the recipe checks, and a tiny study
(ResNet-14 and ResNet-20, elastic tickets moved both ways) that resumes without retraining."""

import gzip
import json
import struct

import numpy as np
import pytest
import torch

from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.core.recipe import from_dict, load_recipe
from vita_cli.methods.ticket_flow import depth, pipeline
from vita_cli.methods.ticket_flow.config import TicketFlowRecipe

DEPTHS = {"resnet14": 14, "resnet20": 20, "resnet32": 32}


def write_idx(folder, n_train=120, n_test=40):
    """Fashion-MNIST IDX files (gzip) with class-dependent blobs."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, y in enumerate(labels):
            images[i, 2 * y : 2 * y + 8, 4:24] = 220
        with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + labels.tobytes())
    return folder


def _diag(values):
    """diagnostics of flows model/task/s{seed} from {model: (std, spread)} (two seeds, one task)."""
    out = {}
    for m, (a, b) in values.items():
        for s, bump in ((0, 0.0), (1, 0.002)):
            out[depth.flow_key(m, "t", s)] = {
                "layer_leading_modulus_std": a + bump,
                "layer_spectra_spread": b - bump,
            }
    return out


def test_uniformity_rule():
    models = list(DEPTHS)
    ordered = depth.uniformity(
        _diag({"resnet14": (0.01, 0.1), "resnet20": (0.02, 0.2), "resnet32": (0.03, 0.3)}),
        models,
        ["t"],
        [0, 1],
    )
    assert ordered["resnet14"]["layer_leading_modulus_std"] == pytest.approx(0.011)
    assert ordered["resnet14"]["layer_spectra_spread_seed_std"] == pytest.approx(0.001)
    assert depth.uniformity_rule(ordered, DEPTHS)["holds"]
    # one measure out of order for one pair: the rule fails and says which pair
    mixed = depth.uniformity(
        _diag({"resnet14": (0.01, 0.1), "resnet20": (0.02, 0.35), "resnet32": (0.03, 0.3)}),
        models,
        ["t"],
        [0, 1],
    )
    rule = depth.uniformity_rule(mixed, DEPTHS)
    assert not rule["holds"]
    bad = [p for p in rule["pairs"] if not p["holds"]]
    assert [(p["shallower"], p["deeper"]) for p in bad] == [("resnet20", "resnet32")]
    assert bad[0]["layer_leading_modulus_std"] and not bad[0]["layer_spectra_spread"]


def test_elt_rule():
    models = ["resnet14", "resnet20"]
    acc = {
        "0": {
            "t": {
                "resnet14": {"resnet14": 80.0, "resnet20": 79.5},
                "resnet20": {"resnet20": 82.0, "resnet14": 80.0},
            }
        },
        "1": {
            "t": {
                "resnet14": {"resnet14": 82.0, "resnet20": 81.5},
                "resnet20": {"resnet20": 84.0, "resnet14": 82.0},
            }
        },
    }
    rnd = {"0": {"t": {"resnet14": 70.0, "resnet20": 78.0}}, "1": {"t": {"resnet14": 72.0, "resnet20": 78.0}}}
    rule = depth.elt_rule(acc, rnd, models, DEPTHS, margin=1.0)
    pairs = {(p["source"], p["target"]): p for p in rule["pairs"]}
    squeeze = pairs[("resnet20", "resnet14")]  # 80.5 vs own 81 and random 71: holds
    assert squeeze["kind"] == "squeeze" and squeeze["holds"] and squeeze["gap"] == pytest.approx(-0.5)
    stretch = pairs[("resnet14", "resnet20")]  # 81 vs own 83: 2 points below
    assert stretch["kind"] == "stretch" and not stretch["within_margin"] and not stretch["holds"]
    assert stretch["moved_seed_std"] == pytest.approx(1.0)
    assert not rule["holds"]
    assert depth.elt_rule(acc, rnd, models, DEPTHS, margin=2.0)["holds"]
    rnd_high = {s: {"t": {"resnet14": 90.0, "resnet20": 90.0}} for s in ("0", "1")}
    assert not depth.elt_rule(acc, rnd_high, models, DEPTHS, margin=5.0)["holds"]  # not above random


def test_depth_section_checks():
    with pytest.raises(UserError, match="at least two distinct tasks"):
        from_dict(TicketFlowRecipe, {"tasks": ["clothing"], "related": [], "unrelated": []})
    base = {"tasks": ["clothing", "footwear"], "related": [], "unrelated": []}
    ok = from_dict(TicketFlowRecipe, {**base, "depth": {"models": ["resnet14", "resnet32"]}})
    assert ok.depth.models == ["resnet14", "resnet32"] and ok.depth.margin == 1.0
    for models, message in (
        (["resnet14", "small_cnn"], "small_cnn"),
        (["resnet14", "resnet8"], "resnet8"),
        (["resnet14", "resnet15"], "resnet15"),
        (["resnet20"], "at least two"),
        (["resnet20", "resnet20"], "distinct"),
    ):
        with pytest.raises(UserError, match=message):
            from_dict(TicketFlowRecipe, {**base, "depth": {"models": models}})


def test_shipped_depth_recipe_is_the_three_depth_protocol():
    recipe, _ = load_recipe("ticket-flow/depth", TicketFlowRecipe)
    assert recipe.depth.models == ["resnet14", "resnet20", "resnet32"]
    assert recipe.seeds == [0, 1, 2] and recipe.transfer.enabled and recipe.depth.margin == 1.0


@pytest.fixture(scope="module")
def tiny_depth(tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("depth")
    root = write_idx(tmp / "fashion")
    recipe = from_dict(
        TicketFlowRecipe,
        {
            "analysis": {"observable": "layers"},
            "observables": ["layers"],
            "tasks": ["clothing"],
            "seeds": [0],
            "related": [],
            "unrelated": [],
            "data": {
                "fashion_root": str(root),
                "train_per_task": 64,
                "val_per_task": 0,
                "test_per_task": 32,
                "image_size": 8,
                "batch_size": 32,
            },
            "model": {"name": "resnet20", "options": {"width": 2}},
            "train": {"epochs": 1, "lr": 0.05},
            "imp": {"rounds": 3, "rate": 0.3, "rewind_iteration": 1},
            "transfer": {"bootstrap": 10},
            "depth": {"models": ["resnet14", "resnet20"]},
        },
    )
    out = tmp / "study"
    result = pipeline.run_study(recipe, RunContext(out=out))
    return recipe, out, result


def test_tiny_depth_study(tiny_depth):
    recipe, out, result = tiny_depth
    assert isinstance(result, pipeline.DepthStudyResult)
    assert set(result.imp) == {"resnet14/clothing/s0", "resnet20/clothing/s0"}
    for m in ("resnet14", "resnet20"):
        assert (out / "flows" / m / "clothing" / "s0" / "imp" / "round_03" / "trained.safetensors").is_file()
        u = result.uniformity[m]
        assert u["layer_leading_modulus_std"] >= 0 and u["layer_spectra_spread"] >= 0
    acc = result.accuracy["0"]["clothing"]
    assert set(acc) == {"resnet14", "resnet20"} and set(acc["resnet14"]) == {"resnet14", "resnet20"}
    assert all(0 <= v <= 100 for row in acc.values() for v in row.values())
    assert set(result.random["0"]["clothing"]) == {"resnet14", "resnet20"}
    assert {p["kind"] for p in result.elt_rule["pairs"]} == {"stretch", "squeeze"}
    assert result.block_maps == {"resnet14->resnet20": "0:0;1:1,2", "resnet20->resnet14": "0:0;1:1"}
    # the own ticket is the last round's mask: density (1 - p)^3 over the pruned layers
    assert result.density["resnet14->resnet14"] == pytest.approx(0.7**3, abs=0.01)
    assert json.loads((out / "study.json").read_text())["models"] == ["resnet14", "resnet20"]
    for name in ("uniformity.png", "elastic_transfer.png"):
        assert (out / "analysis" / name).is_file()


def test_tiny_depth_study_resumes_without_retraining(tiny_depth):
    recipe, out, result = tiny_depth
    cache = (out / "transfer_cache.jsonl").read_text()
    assert len(cache.splitlines()) == 2 * 3  # 2 targets × (2 tickets + random)
    again = pipeline.run_study(recipe, RunContext(out=out, resume=True))
    assert again.accuracy == result.accuracy and again.uniformity == result.uniformity
    assert (out / "transfer_cache.jsonl").read_text() == cache
