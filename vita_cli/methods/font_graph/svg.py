"""Glyph graphs as SVG files a vector editor can open, and back.

One glyph per file: a 256 × 256 view box (the glyph frame, y down), the graph as one ``<path>`` with
``id="graph"`` (one ``M … Z`` per contour, straight segments through the nodes). The letter is stored as
``data-letter``; the unedited graph travels along as a hidden path ``id="original"``. Editors may rewrite
the path with relative commands or curves: import reads M/L/H/V/C/S/Q/T/Z in both cases (curves by
their end points plus a few samples).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from vita_cli.methods.font_graph.glyphs import FRAME, glyph_graph, split_contours

SVG_NS = "http://www.w3.org/2000/svg"


class GraphSvgError(ValueError):
    """An SVG that is not a glyph graph."""


def contours_to_path(contours: list[np.ndarray]) -> str:
    parts = []
    for c in contours:
        others = " ".join(f"L {x:.2f} {y:.2f}" for x, y in c[1:])
        parts.append(f"M {c[0][0]:.2f} {c[0][1]:.2f} {others} Z")
    return " ".join(parts)


def graph_to_svg(graph: np.ndarray, ends: np.ndarray, letter: str, original: np.ndarray | None = None) -> str:
    """A graph with x, y in [0, 1] of the frame → SVG text."""
    g = np.asarray(graph, np.float64).copy()
    g[:, :2] *= FRAME
    d = contours_to_path(split_contours(g, ends))
    hidden = ""
    if original is not None:
        o = np.asarray(original, np.float64).copy()
        o[:, :2] *= FRAME
        od = contours_to_path(split_contours(o, ends))
        hidden = (
            f'  <path id="original" d="{od}" fill="none" stroke="#d33" stroke-width="0.6" display="none"/>\n'
        )
    n = int(FRAME)
    return (
        f'<svg xmlns="{SVG_NS}" viewBox="0 0 {n} {n}" width="{n}" height="{n}" data-letter="{letter}" '
        f'data-points="{len(graph)}">\n'
        f'  <rect width="{n}" height="{n}" fill="white"/>\n{hidden}'
        f'  <path id="graph" d="{d}" fill="black" fill-rule="nonzero" stroke="#39f" stroke-width="0.8"/>\n'
        "</svg>\n"
    )


_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtZzAa]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGS = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "Z": 0}


def parse_path(d: str) -> list[np.ndarray]:
    """SVG path data → closed contours (absolute points); raises GraphSvgError on anything else."""
    tokens = _TOKEN.findall(d or "")
    if not tokens or tokens[0] not in "Mm":
        raise GraphSvgError("path data must start with a move-to (M)")
    contours: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = []
    x = y = 0.0
    cmd = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.isalpha():
            cmd = tok
            i += 1
            if cmd in "Aa":
                raise GraphSvgError("arcs (A) are not supported in a glyph graph")
            if cmd in "Zz":
                if len(cur) >= 3:
                    contours.append(cur)
                cur = []
                continue
        n = _ARGS[cmd.upper()]
        try:
            vals = [float(v) for v in tokens[i : i + n]]
        except ValueError as exc:
            raise GraphSvgError(f"bad number in path data near token {i}") from exc
        if len(vals) < n:
            raise GraphSvgError("path data ends in the middle of a command")
        i += n
        rel = cmd.islower()
        c = cmd.upper()
        if c == "H":
            x = vals[0] + (x if rel else 0)
        elif c == "V":
            y = vals[0] + (y if rel else 0)
        else:
            pts = [(vals[k] + (x if rel else 0), vals[k + 1] + (y if rel else 0)) for k in range(0, n, 2)]
            if c in ("C", "S", "Q"):  # curves: a few samples of the control polygon, then the end point
                ctrl = [(x, y), *pts]
                for t in (0.25, 0.5, 0.75):
                    cur.append(_bezier(ctrl, t))
            x, y = pts[-1]
        if c == "M":
            if len(cur) >= 3:
                contours.append(cur)
            cur = [(x, y)]
            cmd = "l" if rel else "L"  # further pairs after M are line-tos
        else:
            cur.append((x, y))
    if len(cur) >= 3:
        contours.append(cur)
    out = []
    for c in contours:
        arr = np.asarray(c, np.float64)
        if len(arr) > 1 and np.allclose(arr[0], arr[-1]):
            arr = arr[:-1]
        if len(arr) >= 3:
            out.append(arr)
    if not out:
        raise GraphSvgError("path has no closed contour with 3 or more points")
    return out


def _bezier(ctrl, t):
    pts = np.asarray(ctrl, np.float64)
    while len(pts) > 1:
        pts = (1 - t) * pts[:-1] + t * pts[1:]
    return float(pts[0, 0]), float(pts[0, 1])


def read_graph_svg(text: str, points: int, alloc: list[int] | None = None, element: str = "graph"):
    """SVG text → (letter, graph [points, 4] with x, y in [0, 1], ends, contours in frame units)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise GraphSvgError(f"not valid SVG/XML ({exc})") from exc
    if not root.tag.endswith("svg"):
        raise GraphSvgError(f"root element is <{root.tag}>, not <svg>")
    letter = root.get("data-letter", "")
    paths = [p for p in root.iter() if p.tag.endswith("path")]
    chosen = [p for p in paths if p.get("id") == element] or (
        [p for p in paths if p.get("id") != "original"] if element == "graph" else []
    )
    if not chosen:
        raise GraphSvgError(f'no <path id="{element}"> element (a glyph graph written by vita complete-font)')
    contours = parse_path(chosen[0].get("d", ""))
    if len(contours) * 3 > points:
        raise GraphSvgError(f"{len(contours)} contours is too many for a {points}-point graph")
    graph, ends = glyph_graph(contours, points, alloc)
    graph[:, :2] /= FRAME
    return letter, graph, ends, contours
