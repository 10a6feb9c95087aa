"""Glyph outlines and rasters from TTF/OTF/TTC files, in one coordinate frame.

The frame is ``FRAME`` × ``FRAME`` units with y pointing down (image convention): a font's cap height
(the height of its ``H``) spans 66 % of the frame, the baseline sits at 80 %, each glyph is centred
horizontally on its bounding box (and shrunk only if it would not fit). Raster pixel (i, j) covers
frame units [j, j+1)·FRAME/R × [i, i+1)·FRAME/R, so a graph point (x, y) lies at pixel (y, x)·R/FRAME.

Contours are closed polylines; direction is normalised so that outer contours run counter-clockwise
in font units (y up) and holes clockwise, whatever the font format's own convention (TrueType runs
outer contours clockwise, CFF counter-clockwise).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw

from vita_cli.methods.font_graph import LETTERS

logging.getLogger("fontTools").setLevel(logging.ERROR)  # per-file warnings (odd timestamps) are noise here

FRAME = 256.0
CAP_SHARE = 0.66  # cap height / frame
BASELINE = 0.80  # baseline position from the top, share of the frame
FIT = 0.94  # a glyph never exceeds this share of the frame
CURVE_STEPS = 8  # segments per Bézier when flattening
SUPERSAMPLE = 4
CACHE_VERSION = 3


class FontReadError(Exception):
    """A font file that cannot be used (corrupt table, no Latin capitals, ...)."""


class _FlattenPen(BasePen):
    """Records contours as lists of points, Béziers flattened into CURVE_STEPS segments."""

    def __init__(self, glyph_set):
        super().__init__(glyph_set)
        self.contours: list[list[tuple[float, float]]] = []
        self._current: list[tuple[float, float]] | None = None

    def _moveTo(self, pt):
        self._current = [pt]

    def _lineTo(self, pt):
        self._current.append(pt)

    def _curveToOne(self, p1, p2, p3):
        p0 = self._current[-1]
        for t in np.linspace(0, 1, CURVE_STEPS + 1)[1:]:
            u = 1 - t
            self._current.append(
                (
                    u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                    u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
                )
            )

    def _qCurveToOne(self, p1, p2):
        p0 = self._current[-1]
        for t in np.linspace(0, 1, CURVE_STEPS + 1)[1:]:
            u = 1 - t
            self._current.append(
                (
                    u * u * p0[0] + 2 * u * t * p1[0] + t * t * p2[0],
                    u * u * p0[1] + 2 * u * t * p1[1] + t * t * p2[1],
                )
            )

    def _closePath(self):
        self._finish()

    def _endPath(self):
        self._finish()

    def _finish(self):
        if self._current and len(self._current) >= 3:
            pts = self._current
            if np.allclose(pts[0], pts[-1]):
                pts = pts[:-1]
            if len(pts) >= 3:
                self.contours.append(pts)
        self._current = None


def signed_area(poly: np.ndarray) -> float:
    """Shoelace area; positive for counter-clockwise in a y-up frame."""
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _canonical(contours: list[np.ndarray]) -> list[np.ndarray]:
    """y-up contours: outer counter-clockwise, each starting at its bottom-left-most point, outers first."""
    areas = [signed_area(c) for c in contours]
    if sum(areas) < 0:  # TrueType convention (outer clockwise): reverse every contour
        contours = [c[::-1].copy() for c in contours]
        areas = [-a for a in areas]
    out = []
    for c, a in zip(contours, areas, strict=True):
        start = int(np.argmin(c[:, 0] + c[:, 1]))
        c = np.roll(c, -start, axis=0)
        out.append((a < 0, float(c[0, 0] + c[0, 1]), c))
    out.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in out]


@dataclass
class FontGlyphs:
    """The 26 capitals of one font face: contours in the frame (y down), rasters, what is missing."""

    path: str
    sha256: str
    family: str
    name: str
    contours: list[list[np.ndarray]]  # per letter: closed polylines (frame units, y down); [] if missing
    images: np.ndarray  # [26, R, R] uint8, ink = 255
    present: np.ndarray  # [26] bool
    info: dict = field(default_factory=dict)

    def glyph_image(self, letter: int) -> np.ndarray:
        return self.images[letter].astype(np.float32) / 255.0


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _open_face(path: Path, index: int) -> TTFont:
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            return TTFont(str(path), fontNumber=index, lazy=False)
        return TTFont(str(path), lazy=False)
    except Exception as exc:  # fontTools raises many types on corrupt files
        raise FontReadError(f"not a readable font ({type(exc).__name__}: {str(exc)[:80]})") from exc


def _names(font: TTFont) -> tuple[str, str]:
    name = font["name"] if "name" in font else None

    def get(*ids):
        for i in ids:
            rec = name.getDebugName(i) if name is not None else None
            if rec:
                return rec
        return ""

    return get(16, 1) or "unknown", get(4, 1) or "unknown"


def _symbol_mapped(cmap: dict) -> bool:
    """True when most capitals' glyph names name another character (Alpha, a1, ...)."""
    generic = re.compile(r"^(glyph|gid|cid|uni|u)[0-9A-Fa-f]+$|^\.")
    pairs = [(ch, cmap[ord(ch)]) for ch in LETTERS if ord(ch) in cmap]
    own = sum(1 for ch, n in pairs if n.split(".")[0] == ch or generic.match(n))
    return own * 2 < len(pairs)


def rasterize(contours: list[np.ndarray], size: int) -> np.ndarray:
    """Non-zero-winding fill of closed polylines (frame units, y down) → [size, size] float in [0, 1]."""
    big = size * SUPERSAMPLE
    scale = big / FRAME
    winding = np.zeros((big, big), np.int32)
    for c in contours:
        if len(c) < 3:
            continue
        mask = Image.new("L", (big, big), 0)
        ImageDraw.Draw(mask).polygon([(float(x) * scale, float(y) * scale) for x, y in c], fill=1)
        # y is down here, so an outer (counter-clockwise in y-up) contour has negative area
        sign = -1 if signed_area(c) > 0 else 1
        winding += sign * np.asarray(mask, np.int32)
    filled = (winding != 0).astype(np.float32)
    return filled.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))


def read_font(path: str | Path, image_size: int, face: int = 0) -> FontGlyphs:
    """Outlines and rasters of A–Z; raises FontReadError for a file that cannot be used."""
    path = Path(path)
    font = _open_face(path, face)
    try:
        cmap = font.getBestCmap() or {}
        glyph_set = font.getGlyphSet()
    except Exception as exc:
        raise FontReadError(f"corrupt font tables ({type(exc).__name__}: {str(exc)[:80]})") from exc
    if not any(ord(ch) in cmap for ch in LETTERS):
        raise FontReadError("has no Latin capitals A-Z")
    if _symbol_mapped(cmap):
        raise FontReadError("maps A-Z to other symbols (a symbol or dingbat font), no Latin capitals")
    family, full = _names(font)
    raw: list[list[np.ndarray]] = []
    for ch in LETTERS:
        gname = cmap.get(ord(ch))
        if gname is None or gname not in glyph_set:
            raw.append([])
            continue
        pen = _FlattenPen(glyph_set)
        try:
            glyph_set[gname].draw(pen)
        except Exception as exc:
            raise FontReadError(f"corrupt outline of {ch!r} ({type(exc).__name__}: {str(exc)[:60]})") from exc
        raw.append(_canonical([np.asarray(c, np.float64) for c in pen.contours]) if pen.contours else [])
    present = np.array([len(c) > 0 for c in raw])
    if not present.any():
        raise FontReadError("has no outlines for the Latin capitals (bitmap-only or empty font)")
    h_idx = LETTERS.index("H")
    ref = raw[h_idx] if raw[h_idx] else next(c for c in raw if c)
    ys = np.concatenate([c[:, 1] for c in ref])
    cap = float(ys.max() - min(0.0, ys.min()))
    if cap <= 0:
        raise FontReadError("degenerate capital outlines (zero height)")
    base_scale = CAP_SHARE * FRAME / cap
    contours: list[list[np.ndarray]] = []
    images = np.zeros((26, image_size, image_size), np.uint8)
    for i, glyph in enumerate(raw):
        if not glyph:
            contours.append([])
            continue
        pts = np.concatenate(glyph)
        w = float(pts[:, 0].max() - pts[:, 0].min())
        top = float(pts[:, 1].max())
        bottom = float(pts[:, 1].min())
        scale = base_scale
        if w * scale > FIT * FRAME:
            scale = FIT * FRAME / w
        # vertical room: above the baseline up to the frame's top margin, below it down to the bottom
        room_up, room_down = (
            BASELINE * FRAME - (1 - FIT) * FRAME / 2,
            (1 - BASELINE) * FRAME - (1 - FIT) * FRAME / 2,
        )
        if top > 0 and top * scale > room_up:
            scale = room_up / top
        if bottom < 0 and -bottom * scale > room_down:
            scale = min(scale, room_down / -bottom)
        cx = 0.5 * float(pts[:, 0].max() + pts[:, 0].min())
        out = []
        for c in glyph:
            x = (c[:, 0] - cx) * scale + FRAME / 2
            y = BASELINE * FRAME - c[:, 1] * scale
            out.append(np.stack([x, y], 1).astype(np.float32))
        contours.append(out)
        images[i] = np.round(rasterize(out, image_size) * 255).astype(np.uint8)
    info = {"units_per_em": int(font["head"].unitsPerEm) if "head" in font else 1000, "cap_units": cap}
    return FontGlyphs(str(path), "", family, full, contours, images, present, info)


# ------------------------------------------------------------------ graphs


def allocate(lengths: list[float], total: int, minimum: int = 3) -> list[int]:
    """Points per contour in proportion to arc length (largest remainder), at least ``minimum`` each."""
    n = len(lengths)
    if n * minimum > total:
        raise ValueError(f"{n} contours need more than {total} points")
    spare = total - n * minimum
    lengths = np.asarray(lengths, np.float64)
    share = lengths / lengths.sum() * spare if lengths.sum() > 0 else np.full(n, spare / n)
    base = np.floor(share).astype(int)
    rest = spare - base.sum()
    order = np.argsort(-(share - base))
    base[order[:rest]] += 1
    return [int(b + minimum) for b in base]


def contour_length(c: np.ndarray) -> float:
    return float(np.linalg.norm(np.roll(c, -1, axis=0) - c, axis=1).sum())


def resample(c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points at equal arc length along the closed polyline, from its first point, with unit tangents."""
    nxt = np.roll(c, -1, axis=0)
    seg = nxt - c
    seg_len = np.linalg.norm(seg, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    total = cum[-1]
    if total <= 0:
        return np.repeat(c[:1], n, 0), np.tile([1.0, 0.0], (n, 1))
    targets = np.arange(n) * total / n
    idx = np.clip(np.searchsorted(cum, targets, side="right") - 1, 0, len(c) - 1)
    t = (targets - cum[idx]) / np.maximum(seg_len[idx], 1e-12)
    pts = c[idx] + seg[idx] * t[:, None]
    tangent = seg[idx] / np.maximum(seg_len[idx], 1e-12)[:, None]
    return pts, tangent


def glyph_graph(contours: list[np.ndarray], points: int, alloc: list[int] | None = None):
    """Nodes [points, 4] = (x, y, dx, dy) in the frame and ``ends`` [points] (True on each contour's last node).

    ``alloc`` fixes the points per contour (a letter's template); default: by arc length. More
    contours than points // 3: the longest are kept.
    """
    if not contours:
        raise ValueError("a glyph graph needs at least one contour")
    limit = points // 3
    if len(contours) > limit:
        keep = sorted(np.argsort([-contour_length(c) for c in contours])[:limit])
        contours = [contours[i] for i in keep]
    if alloc is None or len(alloc) != len(contours):
        alloc = allocate([contour_length(c) for c in contours], points)
    nodes, ends = [], []
    for c, n in zip(contours, alloc, strict=True):
        p, d = resample(np.asarray(c, np.float64), n)
        nodes.append(np.concatenate([p, d], 1))
        e = np.zeros(n, bool)
        e[-1] = True
        ends.append(e)
    return np.concatenate(nodes).astype(np.float32), np.concatenate(ends)


def split_contours(nodes: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    """The closed contours (x, y) of a graph, cut after each end flag."""
    out, start = [], 0
    for i in np.flatnonzero(ends):
        if i + 1 - start >= 3:
            out.append(np.asarray(nodes[start : i + 1, :2], np.float64))
        start = i + 1
    if start < len(nodes) and len(nodes) - start >= 3:
        out.append(np.asarray(nodes[start:, :2], np.float64))
    return out


# ------------------------------------------------------------------ cache


def _flat(contours: list[list[np.ndarray]]):
    counts = np.array([len(g) for g in contours], np.int32)
    lens = np.array([len(c) for g in contours for c in g], np.int32)
    pts = (
        np.concatenate([c for g in contours for c in g]).astype(np.float32)
        if lens.size
        else np.zeros((0, 2), np.float32)
    )
    return counts, lens, pts


def _unflat(counts, lens, pts) -> list[list[np.ndarray]]:
    out, k, p = [], 0, 0
    for n in counts:
        glyph = []
        for _ in range(int(n)):
            glyph.append(pts[p : p + lens[k]].astype(np.float64))
            p += int(lens[k])
            k += 1
        out.append(glyph)
    return out


def load_font_cached(
    path: str | Path, image_size: int, cache_dir: str | Path | None, face: int = 0
) -> FontGlyphs:
    """:func:`read_font` through a cache of arrays keyed by the font file's sha256 (and face, size)."""
    path = Path(path)
    digest = file_sha256(path)
    cache_file = None
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"{digest[:32]}-f{face}-r{image_size}-v{CACHE_VERSION}.npz"
        if cache_file.is_file():
            try:
                with np.load(cache_file, allow_pickle=False) as z:
                    meta = json.loads(str(z["meta"]))
                    if meta.get("error"):
                        raise FontReadError(meta["error"])
                    contours = _unflat(z["counts"], z["lens"], z["pts"])
                    return FontGlyphs(
                        str(path),
                        digest,
                        meta["family"],
                        meta["name"],
                        contours,
                        z["images"],
                        z["present"],
                        meta["info"],
                    )
            except FontReadError:
                raise
            except Exception:
                pass  # unreadable cache entry: rebuild it
    try:
        glyphs = read_font(path, image_size, face)
    except FontReadError as exc:
        if cache_file is not None:
            _write_npz(cache_file, meta=json.dumps({"error": str(exc)}))
        raise
    glyphs.sha256 = digest
    if cache_file is not None:
        counts, lens, pts = _flat(glyphs.contours)
        meta = json.dumps({"family": glyphs.family, "name": glyphs.name, "info": glyphs.info})
        _write_npz(
            cache_file,
            meta=meta,
            counts=counts,
            lens=lens,
            pts=pts,
            images=glyphs.images,
            present=glyphs.present,
        )
    return glyphs


def _write_npz(path: Path, **arrays) -> None:
    from vita_cli.core.checkpoint import atomic_write

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{k: np.asarray(v) for k, v in arrays.items()})

    atomic_write(path, write)


def font_faces(path: Path) -> int:
    """Number of faces in a TTC/OTC collection (1 for a plain font file)."""
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 1
    try:
        return len(TTCollection(str(path), lazy=True).fonts)
    except Exception:
        return 1
