"""`vita complete-font`: the real CLI on fonts and a model built in the test."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.methods.font_graph.fontmaker import corrupt_copy, make_font
from vita_cli.methods.font_graph.config import ModelConfig
from vita_cli.methods.font_graph.dataset import Template
from vita_cli.methods.font_graph.model import FontGraphModel
from vita_cli.methods.font_graph.pipeline import save_model

CFG = ModelConfig(latent=16, width=8, hidden=16, node_dim=8, embed=8)


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    d = tmp_path_factory.mktemp("cf")
    torch.manual_seed(0)
    templates = [
        Template(2, [40, 20]) if ch in "ODQ" else Template(1, [60]) for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ]
    run = d / "model"
    run.mkdir()
    for kind in ("graph", "img2img"):
        model = FontGraphModel(CFG, 32, 60, 3, kind).eval()
        name = "graph-sum" if kind == "graph" else "img2img"
        save_model(run / f"{name}.safetensors", model, CFG, 3, templates, {"seed": 0})
    fonts = {
        "good": make_font(d / "good.ttf"),
        "other": make_font(d / "other.ttf", "Other", weight=160),
        "abc": make_font(d / "abc.ttf", letters="ABC"),
        "lower": make_font(d / "lower.ttf", lowercase_only=True),
    }
    fonts["corrupt"] = corrupt_copy(fonts["good"], d / "corrupt.ttf")
    return {"run": run, "cache": d / "cache", **fonts}


def _one_error_line(result, *words):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    for w in words:
        assert w in lines[0]


def test_complete_writes_sheet_graphs_and_a_font(vita, assets, tmp_path):
    out = tmp_path / "done"
    r = vita(
        "complete-font",
        "complete",
        "--model",
        assets["run"],
        "--font",
        assets["good"],
        "--refs",
        "A,H,O",
        "--cache",
        assets["cache"],
        "--out",
        out,
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["refs"] == "A,H,O" and res["arm"] == "graph" and len(res["svgs"]) == 26
    assert Image.open(res["sheet"]).size[0] > 26 * 32
    assert set(res["metrics"]) == {"l1", "mse", "psnr", "ssim", "iou"}
    from fontTools.ttLib import TTFont

    assert ord("Z") in TTFont(res["font_file"]).getBestCmap()
    # the baseline in the same verb, and the edit of one of the written graphs
    r = vita(
        "complete-font",
        "complete",
        "--model",
        assets["run"],
        "--font",
        assets["good"],
        "--refs",
        "B",
        "--arm",
        "img2img",
        "--cache",
        assets["cache"],
        "--out",
        tmp_path / "base",
        "--json",
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["svgs"] == []
    svg = out / "graphs" / "O.svg"
    text = svg.read_text().replace('id="graph" d="M ', 'id="graph" d="M 20 20 L ', 1)  # move the first node
    (tmp_path / "O-edit.svg").write_text(text)
    r = vita(
        "complete-font",
        "edit",
        "--model",
        assets["run"],
        "--svg",
        tmp_path / "O-edit.svg",
        "--out",
        tmp_path / "ed",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["letter"] == "O" and 0 <= res["iou_edited"] <= 1 and res["iou_original"] is not None


def test_complete_from_images(vita, assets, tmp_path):
    from vita_cli.methods.font_graph.glyphs import read_font

    g = read_font(assets["good"], 64)
    for i, ch in enumerate("AB"):
        Image.fromarray(255 - g.images[i]).save(tmp_path / f"{ch}.png")  # dark ink on white
    r = vita(
        "complete-font",
        "complete",
        "--model",
        assets["run"],
        "--images",
        f"{tmp_path / 'A.png'},{tmp_path / 'B.png'}",
        "--refs",
        "A,B",
        "--out",
        tmp_path / "img",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["metrics"] is None


def test_interpolate(vita, assets, tmp_path):
    r = vita(
        "complete-font",
        "interpolate",
        assets["good"],
        assets["other"],
        "--model",
        assets["run"],
        "--steps",
        "3",
        "--cache",
        assets["cache"],
        "--out",
        tmp_path / "i",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert len(res["mean_ink"]) == 3 and (tmp_path / "i" / "interpolation.png").is_file()


@pytest.mark.parametrize(
    "case,args,words",
    [
        ("corrupt", ["--font", "{corrupt}", "--refs", "A"], ["corrupt.ttf", "corrupt"]),
        ("no-latin", ["--font", "{lower}", "--refs", "A"], ["lower.ttf", "Latin capitals"]),
        ("missing-ref", ["--font", "{abc}", "--refs", "A,Q"], ["reference letter Q", "abc.ttf"]),
        ("bad-letter", ["--font", "{good}", "--refs", "A,7"], ["--refs", "'7'"]),
        ("no-font", ["--font", "{good}.nope", "--refs", "A"], ["not found"]),
    ],
)
def test_bad_complete_inputs_exit_2_and_write_nothing(vita, assets, tmp_path, case, args, words):
    out = tmp_path / case
    args = [a.format(**{k: str(v) for k, v in assets.items()}) for a in args]
    r = vita(
        "complete-font", "complete", "--model", assets["run"], *args, "--cache", assets["cache"], "--out", out
    )
    _one_error_line(r, *words)
    assert not out.exists()


@pytest.mark.parametrize(
    "content,words",
    [
        ("<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>", ["not a glyph graph", "bad.svg"]),
        ("this is not svg", ["not a glyph graph", "bad.svg"]),
        (
            "<svg xmlns='http://www.w3.org/2000/svg' data-letter='A'><path id='graph' d='M 1 1 A 5 5 0 0 1 9 9 Z'/></svg>",
            ["arcs"],
        ),
    ],
)
def test_svg_that_is_not_a_glyph_graph(vita, assets, tmp_path, content, words):
    (tmp_path / "bad.svg").write_text(content)
    out = tmp_path / "edit"
    r = vita("complete-font", "edit", "--model", assets["run"], "--svg", tmp_path / "bad.svg", "--out", out)
    _one_error_line(r, *words)
    assert not out.exists()


def test_prepare_and_bad_model(vita, assets, tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for name in ("good", "other", "corrupt", "lower", "abc"):
        (fonts / assets[name].name).write_bytes(assets[name].read_bytes())
    r = vita(
        "complete-font", "prepare", fonts, "-r", "complete-font/tiny", "--out", tmp_path / "prep", "--json"
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["summary"]["fonts"] == 2 and len(res["skipped"]) == 3
    assert any("corrupt.ttf" in s for s in res["skipped"])
    r = vita("complete-font", "prepare", tmp_path / "nowhere", "--out", tmp_path / "p2")
    _one_error_line(r, "not found")
    assert not (tmp_path / "p2").exists()
    r = vita(
        "complete-font",
        "complete",
        "--model",
        tmp_path / "nomodel",
        "--font",
        assets["good"],
        "--refs",
        "A",
        "--out",
        tmp_path / "c2",
    )
    _one_error_line(r, "model not found")


@pytest.mark.slow
def test_tiny_recipe_trains_and_evaluates(vita, tmp_path):
    out = tmp_path / "tiny"
    r = vita("complete-font", "train", "-r", "complete-font/tiny", "--out", out, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert set(res["arms"]) == {"graph-sum", "img2img"}
    for arm in res["arms"]:
        for k in ("1", "3", "5"):
            m = res["summary"][arm][k]
            assert 0 <= m["ssim"] <= 1 and 0 <= m["iou"] <= 1 and np.isfinite(m["psnr"])
    assert "graph_error" in res["summary"]["graph-sum"]["1"]
    assert (out / "graph-sum.safetensors").is_file() and (out / "comparison.png").is_file()
