"""Outlines, rasters, graphs and SVG files of glyphs, on fonts built in the test."""

import numpy as np
import pytest

from tests.methods.font_graph.fontmaker import LETTERS, corrupt_copy, make_font
from vita_cli.methods.font_graph.glyphs import (
    FRAME,
    FontReadError,
    glyph_graph,
    load_font_cached,
    rasterize,
    read_font,
    signed_area,
    split_contours,
)
from vita_cli.methods.font_graph.svg import GraphSvgError, graph_to_svg, parse_path, read_graph_svg


@pytest.fixture(scope="module")
def font(tmp_path_factory):
    return read_font(make_font(tmp_path_factory.mktemp("f") / "blocks.ttf"), 64)


def test_outline_sampling_of_a_ring(font):
    o = LETTERS.index("O")
    assert len(font.contours[o]) == 2
    nodes, ends = glyph_graph(font.contours[o], 150)
    assert nodes.shape == (150, 4) and ends.sum() == 2 and ends[-1]
    contours = split_contours(nodes, ends)
    assert [len(c) for c in contours] == [int(n) for n in np.diff(np.r_[-1, np.flatnonzero(ends)])]
    for c in contours:
        # closed: the gap from the last node back to the first is one ordinary step
        steps = np.linalg.norm(np.diff(np.vstack([c, c[:1]]), axis=0), axis=1)
        assert steps[-1] == pytest.approx(np.median(steps), rel=0.5)
    # direction: outer ring counter-clockwise in font units (y up) = negative area with y down; hole opposite
    outer, hole = contours
    assert signed_area(outer) < 0 < signed_area(hole)
    assert abs(signed_area(outer)) > abs(signed_area(hole))
    # the (dx, dy) channels are unit tangents pointing to the next node
    assert np.allclose(np.linalg.norm(nodes[:, 2:], axis=1), 1, atol=1e-5)
    nxt = np.roll(contours[0], -1, axis=0) - contours[0]
    assert (np.sum(nodes[: len(outer), 2:] * nxt, axis=1) > 0).mean() > 0.95


def test_truetype_and_reversed_contours_give_the_same_direction(font, tmp_path):
    # a CFF-style font (outer counter-clockwise) is normalised to the same direction
    from vita_cli.methods.font_graph.glyphs import _canonical

    ring = [
        np.array(p, float)
        for p in ([(0, 0), (0, 700), (500, 700), (500, 0)], [(100, 100), (400, 100), (400, 600), (100, 600)])
    ]
    a = _canonical(ring)
    b = _canonical([c[::-1] for c in ring])
    assert [np.sign(signed_area(c)) for c in a] == [np.sign(signed_area(c)) for c in b] == [1, -1]


def test_raster_and_graph_share_one_frame(font):
    r = 64
    for ch in "OI":  # single-piece letters (no touching contours)
        c = LETTERS.index(ch)
        img = font.glyph_image(c)
        nodes, ends = glyph_graph(font.contours[c], 150)
        px = nodes[:, :2] * r / FRAME
        inward = np.stack(
            [nodes[:, 3], -nodes[:, 2]], 1
        )  # ink side of the tangent (outer contours clockwise on screen)
        inside = np.clip(np.round(px + 2 * inward - 0.5).astype(int), 0, r - 1)
        outside = np.clip(np.round(px - 2 * inward - 0.5).astype(int), 0, r - 1)
        assert img[inside[:, 1], inside[:, 0]].mean() > 0.9
        assert img[outside[:, 1], outside[:, 0]].mean() < 0.1
        # ink centroid = area centroid of the outline
        ys, xs = np.mgrid[0:r, 0:r] + 0.5
        ink = img.sum()
        poly = rasterize(font.contours[c], 256)
        yy, xx = np.mgrid[0:256, 0:256] + 0.5
        assert (xs * img).sum() / ink * FRAME / r == pytest.approx((xx * poly).sum() / poly.sum(), abs=1.0)
        assert (ys * img).sum() / ink * FRAME / r == pytest.approx((yy * poly).sum() / poly.sum(), abs=1.0)


def test_frame_cap_height_and_baseline(font):
    h = np.concatenate(font.contours[LETTERS.index("H")])
    assert h[:, 1].max() == pytest.approx(0.80 * FRAME, abs=0.5)  # baseline
    assert h[:, 1].max() - h[:, 1].min() == pytest.approx(0.66 * FRAME, abs=0.5)  # cap height
    assert (h[:, 0].max() + h[:, 0].min()) / 2 == pytest.approx(FRAME / 2, abs=0.5)


def test_svg_round_trip(font):
    c = LETTERS.index("B")
    nodes, ends = glyph_graph(font.contours[c], 150)
    nodes[:, :2] /= FRAME
    alloc = [int(n) for n in np.diff(np.r_[-1, np.flatnonzero(ends)])]
    letter, back, back_ends, _ = read_graph_svg(graph_to_svg(nodes, ends, "B", nodes), 150, alloc)
    assert letter == "B" and (back_ends == ends).all()
    assert np.abs(back[:, :2] - nodes[:, :2]).max() < 0.01  # < 2.6 frame units
    orig = read_graph_svg(graph_to_svg(nodes, ends, "B", nodes), 150, alloc, element="original")[1]
    assert np.abs(orig[:, :2] - nodes[:, :2]).max() < 0.01


def test_svg_paths_from_an_editor_parse():
    # relative commands, H/V and a cubic, as vector editors write them
    contours = parse_path("m 10,10 h 100 v 100 c -20,10 -80,10 -100,0 z M 30 30 L 60 30 L 45 60 Z")
    assert (
        len(contours) == 2
        and np.allclose(contours[0][1], [110, 10])
        and np.allclose(contours[0][2], [110, 110])
    )


@pytest.mark.parametrize(
    "text",
    [
        "not xml at all",
        "<html><body/></html>",
        '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><path id="graph" d="M 0 0 L 5 5"/></svg>',
    ],
)
def test_svg_that_is_not_a_graph(text):
    with pytest.raises(GraphSvgError):
        read_graph_svg(text, 150)


def test_missing_glyph_corrupt_table_and_no_capitals(tmp_path):
    partial = read_font(make_font(tmp_path / "abc.ttf", letters="ABC"), 32)
    assert partial.present.sum() == 3 and partial.contours[5] == []
    with pytest.raises(FontReadError, match="corrupt|not a readable"):
        read_font(corrupt_copy(tmp_path / "abc.ttf", tmp_path / "bad.ttf"), 32)
    with pytest.raises(FontReadError, match="no Latin capitals"):
        read_font(make_font(tmp_path / "lower.ttf", lowercase_only=True), 32)
    (tmp_path / "empty.ttf").write_bytes(b"")
    with pytest.raises(FontReadError):
        read_font(tmp_path / "empty.ttf", 32)


def test_cache_is_keyed_by_font_hash(tmp_path):
    p = make_font(tmp_path / "a.ttf")
    first = load_font_cached(p, 32, tmp_path / "cache")
    files = list((tmp_path / "cache").glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith(first.sha256[:32])
    again = load_font_cached(p, 32, tmp_path / "cache")
    assert (again.images == first.images).all()
    assert all(
        np.allclose(a, b)
        for ga, gb in zip(first.contours, again.contours, strict=True)
        for a, b in zip(ga, gb, strict=True)
    )
    make_font(p, weight=140)  # new bytes at the same path: a new cache entry
    third = load_font_cached(p, 32, tmp_path / "cache")
    assert third.sha256 != first.sha256 and len(list((tmp_path / "cache").glob("*.npz"))) == 2
