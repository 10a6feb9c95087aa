"""Family split, templates, model shapes, metrics and the exported font."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from tests.methods.font_graph.fontmaker import make_font
from vita_cli.methods.font_graph.config import DataConfig, ModelConfig
from vita_cli.methods.font_graph.dataset import build_dataset, family_key, split_groups
from vita_cli.methods.font_graph.fontfile import build_font
from vita_cli.methods.font_graph.glyphs import FRAME, glyph_graph, read_font
from vita_cli.methods.font_graph.metrics import graph_error, image_metrics
from vita_cli.methods.font_graph.model import FontGraphModel


def test_family_key_drops_style_words():
    assert family_key("Noto Sans Bold Italic") == family_key("NotoSans") == "notosans"
    assert family_key("Liberation Serif") != family_key("Liberation Sans")


def test_duplicates_never_cross_the_split(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    make_font(fonts / "a.ttf", "Alpha", weight=60)
    make_font(fonts / "a-bold.ttf", "Alpha Bold", weight=150)  # same family, bold
    make_font(fonts / "clone.ttf", "Clone", weight=60)  # same glyphs as Alpha under another name
    make_font(fonts / "b.ttf", "Beta", weight=100)
    (fonts / "sub").mkdir()
    make_font(fonts / "sub" / "c.ttf", "Gamma", weight=120)
    make_font(fonts / "partial.ttf", "Partial", letters="ABC")
    cfg = DataConfig(
        font_dirs=[str(fonts)], cache_dir=str(tmp_path / "cache"), image_size=32, points=60, test_fraction=0.5
    )
    ds = build_dataset(cfg)
    names = [f.family for f in ds.fonts]
    assert sorted(names) == ["Alpha", "Alpha Bold", "Beta", "Clone", "Gamma"]
    group = {n: g for n, g in zip(names, ds.groups, strict=True)}
    assert (
        len({g for n, g in zip(names, ds.groups, strict=True) if n in ("Alpha", "Alpha Bold", "Clone")}) == 1
    )
    assert group["Beta"] != group["Alpha"] != group["Gamma"]
    for g in set(ds.groups):
        assert len({s for s, gg in zip(ds.split, ds.groups, strict=True) if gg == g}) == 1
    assert {"train", "test"} <= set(ds.split)
    assert any("missing capitals" in r for _, r in ds.skipped)
    a = ds.arrays
    assert a["images"].shape == (5, 26, 32, 32) and a["graphs"].shape == (5, 26, 60, 4)
    assert a["graphs"][..., :2].min() >= 0 and a["graphs"][..., :2].max() <= 1
    # templates: O has two contours (ring), I one
    assert ds.templates[14].contours == 2 and ds.templates[8].contours == 1
    assert sum(ds.templates[14].alloc) == 60


def test_split_is_seeded_and_by_group():
    groups = [0, 0, 1, 2, 2, 3, 4, 5, 6, 7]
    a, b = split_groups(groups, 0.25, 3), split_groups(groups, 0.25, 3)
    assert a == b and a[0] == a[1] and a[3] == a[4] and a.count("test") >= 2


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("kind", ["graph", "img2img"])
def test_model_output_shapes(kind, size):
    cfg = ModelConfig(latent=16, width=8, hidden=16, node_dim=8, embed=8)
    model = FontGraphModel(cfg, size, 60, 5, kind).eval()
    x = torch.rand(3, size, size)
    letters = torch.tensor([0, 7, 25])
    z = model.encode(x)
    assert z.shape == (3, 16)
    img, graph = model.decode(z, letters, torch.zeros(3, 60, dtype=torch.bool))
    assert img.shape == (3, size, size) and 0 <= img.min() and img.max() <= 1
    if kind == "graph":
        assert graph.shape == (3, 60, 4)
        # the letter conditions the output
        other, _ = model.decode(z, torch.tensor([1, 8, 24]), torch.zeros(3, 60, dtype=torch.bool))
        assert not torch.allclose(img, other)
    else:
        assert graph is None


def test_metrics_on_known_images():
    a = np.zeros((2, 16, 16))
    a[:, 4:12, 4:12] = 1
    perfect = image_metrics(a, a)
    assert perfect["l1"] == 0 and perfect["iou"] == 1 and perfect["ssim"] == pytest.approx(1)
    shifted = np.roll(a, 4, axis=2)
    m = image_metrics(shifted, a)
    assert m["iou"] == pytest.approx(1 / 3) and m["mse"] == pytest.approx(64 / 256)
    assert m["psnr"] == pytest.approx(10 * np.log10(256 / 64))
    g = np.zeros((1, 10, 4))
    assert graph_error(g + 1 / FRAME, g) == pytest.approx(1.0)


def test_exported_font_loads_and_renders_a_word(tmp_path):
    src = read_font(make_font(tmp_path / "blocks.ttf"), 32)
    graphs, ends = zip(*(glyph_graph(c, 150) for c in src.contours), strict=True)
    graphs = np.stack(graphs)
    graphs[..., :2] /= FRAME
    path = build_font(graphs, np.stack(ends), tmp_path / "out.ttf", family="Vita Test")
    from fontTools.ttLib import TTFont

    tt = TTFont(str(path))
    assert tt["name"].getDebugName(1) == "Vita Test"
    assert all(ord(ch) in tt.getBestCmap() for ch in "AZ")
    back = read_font(path, 32)  # vita's own reader: the O keeps its hole
    o = back.images[14].astype(float) / 255
    assert o[16, 16] < 0.2 and o.mean() > 0.05
    img = Image.new("L", (400, 80), 0)
    ImageDraw.Draw(img).text((4, 4), "HOLA", font=ImageFont.truetype(str(path), 48), fill=255)
    ink = np.asarray(img) > 128
    assert ink.mean() > 0.05
    cols = np.flatnonzero(ink.any(axis=0))
    assert cols.max() - cols.min() > 100  # four glyphs side by side
