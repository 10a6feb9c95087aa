"""Small TrueType fonts built in the test (real .ttf files the real loaders read)."""

from __future__ import annotations

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def box(x0, y0, x1, y1, clockwise=True):
    pts = [(x0, y0), (x0, y1), (x1, y1), (x1, y0)]  # clockwise in y-up (TrueType outer)
    return pts if clockwise else pts[::-1]


def letter_shape(ch: str, weight: int = 100) -> list[list[tuple[int, int]]]:
    """Blocky capitals: a stem, an O-like ring for round letters, an H-like bar otherwise."""
    i = LETTERS.index(ch)
    width = 400 + 10 * i
    if ch in "OQDCG":
        rings = [box(0, 0, width, 700), box(weight, weight, width - weight, 700 - weight, clockwise=False)]
        if ch == "Q":
            rings.append(box(width - 120, -120, width, 0))
        return rings
    if ch == "I":
        return [box(0, 0, weight, 700)]
    return [
        box(0, 0, weight, 700),
        box(weight, 300, width - weight, 300 + weight),
        box(width - weight, 0, width, 700),
    ]


def make_font(
    path: Path,
    family: str = "Test Blocks",
    letters: str = LETTERS,
    weight: int = 100,
    lowercase_only: bool = False,
) -> Path:
    names = [".notdef"] + (["a"] if lowercase_only else list(letters))
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    cmap = {ord("a"): "a"} if lowercase_only else {ord(ch): ch for ch in letters}
    fb.setupCharacterMap(cmap)
    glyphs, metrics = {".notdef": TTGlyphPen(None).glyph()}, {".notdef": (500, 0)}
    for name in names[1:]:
        pen = TTGlyphPen(None)
        for contour in letter_shape("H" if name == "a" else name, weight):
            pen.moveTo(contour[0])
            for p in contour[1:]:
                pen.lineTo(p)
            pen.closePath()
        glyphs[name] = pen.glyph()
        metrics[name] = (800, 0)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=900, descent=-200)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    path = Path(path)
    fb.save(str(path))
    return path


def corrupt_copy(src: Path, dst: Path) -> Path:
    """The same font with its table directory overwritten: fontTools cannot read its tables."""
    data = bytearray(Path(src).read_bytes())
    data[12:140] = b"\xff" * 128
    Path(dst).write_bytes(bytes(data))
    return Path(dst)
