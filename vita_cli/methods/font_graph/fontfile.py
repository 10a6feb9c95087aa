"""Completed glyph graphs → a TrueType font file (quadratic outlines) that text renderers load.

Every graph node becomes an off-curve point of a closed quadratic B-spline (TrueType places the
on-curve points implicitly half-way between consecutive off-curve points), so the outline is smooth
and passes near the nodes. Outer contours are written clockwise and holes counter-clockwise (TrueType's convention).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from matplotlib.path import Path as MplPath

from vita_cli.methods.font_graph import LETTERS
from vita_cli.methods.font_graph.glyphs import BASELINE, CAP_SHARE, FRAME, signed_area, split_contours

UPM = 1000
CAP = 700
SIDE_BEARING = 50


def _units(contours: list[np.ndarray]) -> list[np.ndarray]:
    """Frame units (y down) → font units (y up, baseline 0, cap height CAP)."""
    k = CAP / (CAP_SHARE * FRAME)
    return [np.stack([c[:, 0] * k, (BASELINE * FRAME - c[:, 1]) * k], 1) for c in contours]


def build_font(
    graphs: np.ndarray, ends: np.ndarray, path: str | Path, family: str = "Vita Completed"
) -> Path:
    """graphs [26, N, 4] (x, y in [0, 1] of the frame), ends [26, N] → a .ttf at ``path``."""
    order = [".notdef", "space", *LETTERS]
    glyphs, metrics = {}, {}
    empty = TTGlyphPen(None)
    glyphs[".notdef"] = empty.glyph()
    glyphs["space"] = TTGlyphPen(None).glyph()
    metrics[".notdef"] = (500, 0)
    metrics["space"] = (250, 0)
    for i, ch in enumerate(LETTERS):
        g = np.asarray(graphs[i], np.float64).copy()
        g[:, :2] *= FRAME
        contours = _units(split_contours(g, ends[i]))
        xmin = min(float(c[:, 0].min()) for c in contours)
        xmax = max(float(c[:, 0].max()) for c in contours)
        shift = SIDE_BEARING - xmin
        pen = TTGlyphPen(None)
        for j, c in enumerate(contours):
            pts = [(int(round(x + shift)), int(round(y))) for x, y in c]
            # outer contours clockwise, holes (inside an odd number of others) counter-clockwise
            depth = sum(MplPath(o).contains_point(c[0]) for m, o in enumerate(contours) if m != j)
            clockwise = signed_area(np.asarray(pts, np.float64)) < 0
            if clockwise != (depth % 2 == 0):
                pts = pts[::-1]
            dedup = [p for j, p in enumerate(pts) if p != pts[j - 1]]
            if len(dedup) < 3:
                continue
            pen.qCurveTo(*dedup, None)  # all off-curve: a closed quadratic B-spline
            pen.closePath()
        glyphs[ch] = pen.glyph()
        metrics[ch] = (int(round(xmax - xmin + 2 * SIDE_BEARING)), SIDE_BEARING)
    fb = FontBuilder(UPM, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({32: "space", **{ord(ch): ch for ch in LETTERS}})
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=900, descent=-250)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=900, sTypoDescender=-250, usWinAscent=900, usWinDescent=250, sCapHeight=CAP)
    fb.setupPost()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fb.save(str(path))
    return path
