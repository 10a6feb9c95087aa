import pytest

from vita_cli.methods.predict_pose.config import PosePredRecipe, RuleConfig, TrainConfig
from vita_cli.methods.predict_pose.pipeline import apply_rule, summarise


def _m(fde, stb):
    h = {"0.25": fde, "0.5": fde, "0.75": fde, "1.0": fde}
    return {
        "fde": fde,
        "ade": fde,
        "stb": stb,
        "bone_std_mm": 1.0,
        "pose": h,
        "path": h,
        "per_frame_mm": [fde] * 3,
    }


def test_summary_means_over_seeds_and_the_rule():
    metrics = {
        "clips": {
            0: {
                "skeleton_graph": _m(70, 10),
                "ar_gru": _m(100, 30),
                "constant_velocity": _m(90, 50),
                "skeleton_graph_gcn": _m(75, 9),
            },
            1: {"skeleton_graph": _m(90, 20), "ar_gru": _m(100, 50), "constant_velocity": _m(95, 40)},
        }
    }
    s = summarise(metrics)["clips"]
    assert (
        s["skeleton_graph"]["fde"] == 80
        and s["skeleton_graph"]["fde_std"] == 10
        and s["skeleton_graph"]["seeds"] == 2
    )
    assert s["skeleton_graph_gcn"]["seeds"] == 1
    rule = apply_rule({"clips": s}, RuleConfig(fde_vs_gru=0.2, stb_vs_gru=0.5))["clips"]
    assert rule["fde_reduction_vs_gru"] == pytest.approx(0.2) and rule[
        "stb_reduction_vs_gru"
    ] == pytest.approx(0.625)
    assert rule["fde_below_constant_velocity"] and rule["passed"]
    strict = apply_rule({"clips": s}, RuleConfig(fde_vs_gru=0.25, stb_vs_gru=0.5))["clips"]
    assert not strict["passed"]


def test_recipe_validation_names_the_key():
    with pytest.raises(ValueError, match="train.ablation_models"):
        TrainConfig(models=["skeleton_graph"], ablation_models=["skeleton_graph"])
    with pytest.raises(ValueError, match="splits"):
        PosePredRecipe(splits=["clips"])  # the clip split needs test clips
