"""A font dataset: discovery, family split without duplicates crossing it, letter templates, tensors."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.font_graph import LETTERS
from vita_cli.methods.font_graph.config import DataConfig
from vita_cli.methods.font_graph.glyphs import (
    FRAME,
    FontGlyphs,
    FontReadError,
    allocate,
    contour_length,
    font_faces,
    glyph_graph,
    load_font_cached,
)

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
STYLE_WORDS = (
    "regular bold italic oblique light thin medium black heavy semibold semi demibold demi extrabold "
    "extralight ultralight ultra extra book roman condensed narrow semicondensed extended expanded "
    "normal slanted inclined retina display ui"
).split()
MAX_FACES = 8


def discover(sources: list[str]) -> list[Path]:
    """Font files under the given folders (recursively) or given directly, sorted, without repeats."""
    found: set[Path] = set()
    for src in sources:
        p = Path(src)
        if p.is_file() and p.suffix.lower() in FONT_SUFFIXES:
            found.add(p.resolve())
        elif p.is_dir():
            found.update(
                q.resolve() for q in p.rglob("*") if q.is_file() and q.suffix.lower() in FONT_SUFFIXES
            )
    return sorted(found)


def family_key(family: str) -> str:
    """Family name without style words: 'Noto Sans Bold' and 'NotoSans-Italic' → 'notosans'."""
    words = re.findall(r"[A-Za-z][a-z]*|[0-9]+", family)
    kept = [w.lower() for w in words if w.lower() not in STYLE_WORDS]
    return "".join(kept) or family.lower()


@dataclass
class Template:
    """A letter's graph layout: contour count and points per contour (from the training fonts)."""

    contours: int
    alloc: list[int]

    def ends(self, points: int) -> np.ndarray:
        e = np.zeros(points, bool)
        e[np.cumsum(self.alloc) - 1] = True
        return e


@dataclass
class FontDataset:
    fonts: list[FontGlyphs]
    split: list[str]  # "train" / "test" per font
    groups: list[int]  # family group per font (duplicates share one)
    templates: list[Template]
    points: int
    image_size: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    arrays: dict = field(default_factory=dict)

    def indices(self, split: str) -> list[int]:
        return [i for i, s in enumerate(self.split) if s == split]

    def summary(self) -> dict:
        return {
            "fonts": len(self.fonts),
            "train_fonts": len(self.indices("train")),
            "test_fonts": len(self.indices("test")),
            "families": len(set(self.groups)),
            "skipped": len(self.skipped),
            "image_size": self.image_size,
            "points": self.points,
        }


class _UnionFind:
    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def family_groups(fonts: list[FontGlyphs], threshold: float) -> list[int]:
    """Group ids: same family name (style words removed), same file bytes, or near-identical glyphs."""
    n = len(fonts)
    uf = _UnionFind(n)
    by_key: dict[str, int] = {}
    for i, f in enumerate(fonts):
        for key in (f"family:{family_key(f.family)}", f"sha:{f.sha256}"):
            if key in by_key:
                uf.union(by_key[key], i)
            else:
                by_key[key] = i
    if n > 1 and threshold > 0:
        # glyph rasters at 16×16: fonts copied under another name (metric clones, re-packaged families)
        small = np.stack([_thumb(f) for f in fonts])
        d = np.abs(small[:, None] - small[None]).mean(axis=(2,)) if n <= 64 else _pairwise_l1(small)
        for i in range(n):
            for j in range(i + 1, n):
                if d[i, j] < threshold:
                    uf.union(i, j)
    roots = [uf.find(i) for i in range(n)]
    ids = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return [ids[r] for r in roots]


def _thumb(f: FontGlyphs) -> np.ndarray:
    img = f.images.astype(np.float32) / 255.0
    r = img.shape[-1]
    s = r // 16
    return img.reshape(26, 16, s, 16, s).mean(axis=(2, 4)).reshape(-1)


def _pairwise_l1(x: np.ndarray) -> np.ndarray:
    out = np.zeros((len(x), len(x)), np.float32)
    for i in range(len(x)):
        out[i] = np.abs(x - x[i]).mean(axis=1)
    return out


def split_groups(groups: list[int], test_fraction: float, seed: int) -> list[str]:
    ids = sorted(set(groups))
    rng = np.random.default_rng(seed)
    rng.shuffle(ids)
    n_test = min(max(1, round(test_fraction * len(ids))), max(len(ids) - 1, 1))
    test = set(ids[:n_test])
    return ["test" if g in test else "train" for g in groups]


def letter_templates(fonts: list[FontGlyphs], points: int) -> list[Template]:
    """Per letter: the commonest contour count, and the mean arc-length share per contour among those fonts."""
    out = []
    for c in range(26):
        glyphs = [f.contours[c] for f in fonts if f.present[c] and f.contours[c]]
        if not glyphs:
            out.append(Template(1, [points]))
            continue
        count = Counter(min(len(g), points // 3) for g in glyphs).most_common(1)[0][0]
        shares = [
            np.array([contour_length(x) for x in g]) / sum(contour_length(x) for x in g)
            for g in glyphs
            if len(g) == count
        ]
        out.append(Template(count, allocate(list(np.mean(shares, axis=0)), points)))
    return out


def build_arrays(fonts: list[FontGlyphs], templates: list[Template], points: int) -> dict:
    """images [F,26,R,R] uint8, graphs [F,26,N,4] (x, y in [0, 1] of the frame; dx, dy), ends, masks."""
    n, r = len(fonts), fonts[0].images.shape[-1] if fonts else 0
    graphs = np.zeros((n, 26, points, 4), np.float32)
    ends = np.zeros((n, 26, points), bool)
    present = np.zeros((n, 26), bool)
    matches = np.zeros((n, 26), bool)  # contour count equals the letter's template
    images = np.zeros((n, 26, r, r), np.uint8)
    for i, f in enumerate(fonts):
        images[i] = f.images
        for c in range(26):
            if not f.present[c] or not f.contours[c]:
                continue
            t = templates[c]
            ok = len(f.contours[c]) == t.contours
            g, e = glyph_graph(f.contours[c], points, t.alloc if ok else None)
            g[:, :2] /= FRAME
            graphs[i, c], ends[i, c], present[i, c], matches[i, c] = g, e, True, ok
    return {"images": images, "graphs": graphs, "ends": ends, "present": present, "matches": matches}


def load_fonts(
    paths: list[Path], cfg: DataConfig, reporter: Reporter = SILENT
) -> tuple[list[FontGlyphs], list[tuple[str, str]]]:
    fonts, skipped, seen = [], [], set()
    with reporter.task("reading fonts", total=len(paths)) as task:
        for p in paths:
            for face in range(min(font_faces(p), MAX_FACES)):
                label = f"{p}#{face}" if face else str(p)
                try:
                    g = load_font_cached(p, cfg.image_size, cfg.cache_dir, face)
                except FontReadError as exc:
                    skipped.append((label, str(exc)))
                    continue
                except OSError as exc:
                    skipped.append((label, f"cannot read: {exc.strerror}"))
                    continue
                if not g.present.all():
                    missing = "".join(ch for ch, ok in zip(LETTERS, g.present, strict=True) if not ok)
                    skipped.append((label, f"missing capitals {missing}"))
                    continue
                key = (g.sha256, face)
                if key in seen:
                    skipped.append((label, "same file as another font"))
                    continue
                seen.add(key)
                fonts.append(g)
            task.advance(1, fonts=len(fonts))
    return fonts, skipped


def build_dataset(
    cfg: DataConfig, reporter: Reporter = SILENT, sources: list[str] | None = None
) -> FontDataset:
    """Read every font under ``sources`` (default ``cfg.font_dirs``), split by family, build the tensors.

    Fonts missing any capital are left out of the dataset (listed in ``skipped`` with the reason).
    """
    paths = discover(sources or cfg.font_dirs)
    fonts, skipped = load_fonts(paths, cfg, reporter)
    if cfg.max_fonts:
        fonts = fonts[: cfg.max_fonts]
    if len(fonts) < 2:
        raise ValueError(f"need at least 2 usable fonts with all 26 capitals, found {len(fonts)}")
    groups = family_groups(fonts, cfg.dedup_threshold)
    split = split_groups(groups, cfg.test_fraction, cfg.split_seed)
    train = [f for f, s in zip(fonts, split, strict=True) if s == "train"]
    templates = letter_templates(train, cfg.points)
    arrays = build_arrays(fonts, templates, cfg.points)
    return FontDataset(fonts, split, groups, templates, cfg.points, cfg.image_size, skipped, arrays)


def save_dataset(ds: FontDataset, folder: Path) -> tuple[Path, Path]:
    """``dataset.npz`` (arrays) + ``dataset.json`` (fonts, split, templates, skipped files)."""
    from vita_cli.core.checkpoint import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    npz = folder / "dataset.npz"

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **ds.arrays)

    atomic_write(npz, write)
    meta = {
        "summary": ds.summary(),
        "fonts": [
            {"path": f.path, "sha256": f.sha256, "family": f.family, "name": f.name, "split": s, "group": g}
            for f, s, g in zip(ds.fonts, ds.split, ds.groups, strict=True)
        ],
        "templates": [
            {"letter": LETTERS[i], "contours": t.contours, "alloc": t.alloc}
            for i, t in enumerate(ds.templates)
        ],
        "skipped": [{"font": p, "reason": r} for p, r in ds.skipped],
    }
    js = folder / "dataset.json"
    atomic_write(js, lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1)))
    return npz, js


def load_dataset(folder: Path) -> FontDataset:
    """A dataset written by :func:`save_dataset` (fonts carry names and paths; contours are not needed)."""
    meta = json.loads((folder / "dataset.json").read_text())
    with np.load(folder / "dataset.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    fonts = [
        FontGlyphs(
            m["path"], m["sha256"], m["family"], m["name"], [], arrays["images"][i], arrays["present"][i]
        )
        for i, m in enumerate(meta["fonts"])
    ]
    templates = [Template(t["contours"], t["alloc"]) for t in meta["templates"]]
    summary = meta["summary"]
    return FontDataset(
        fonts,
        [m["split"] for m in meta["fonts"]],
        [m["group"] for m in meta["fonts"]],
        templates,
        summary["points"],
        summary["image_size"],
        [(s["font"], s["reason"]) for s in meta["skipped"]],
        arrays,
    )
