"""The multilingual corpus: built offline with espeak-ng, read from the CSS10/LJSpeech layout.

Layout (one folder per language; CSS10 folder names such as ``german`` are accepted too)::

    root/de/metadata.csv        id|text|normalized text      (LJSpeech: wavs/<id>.wav)
    root/de/wavs/de_0000.wav
    root/ja/transcript.txt      relative/path.wav|text|normalized text|duration   (CSS10)

The model reads the normalized column (Japanese: romaji; Chinese: tone-numbered pinyin).
The last ``n_test`` lines of a language are its test split, the ``n_val`` before them validation.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from vita_cli.core.errors import UserError
from vita_cli.methods.tts_lifelong.config import KNOWN_LANGUAGES, DataConfig
from vita_cli.methods.tts_lifelong.text import CSS10_FOLDERS, VOICES, make_sentences, unknown_characters


@dataclass(frozen=True)
class Utterance:
    lang: str
    uid: str
    text: str  # the model's input
    wav: Path


@dataclass
class Corpus:
    root: Path
    splits: dict[str, dict[str, list[Utterance]]]  # lang -> split ("train", "val", "test") -> utterances

    def counts(self) -> dict[str, dict[str, int]]:
        return {lang: {s: len(u) for s, u in parts.items()} for lang, parts in self.splits.items()}


def espeak_binary() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise UserError("espeak-ng is not installed", "apt-get install espeak-ng (make system-deps)")
    return path


def _synthesise(binary: str, lang: str, spoken: str, wav: Path) -> None:
    voice, pitch, speed = VOICES[lang]
    cmd = [binary, "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav), spoken]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 or not wav.is_file():
        raise RuntimeError(f"espeak-ng failed on {wav.name}: {proc.stderr.strip()[:200]}")


def build_corpus(cfg: DataConfig, root: Path, task=None, workers: int = 2) -> Corpus:
    """Synthesise every language of ``cfg`` into ``root`` (deterministic in ``cfg.seed``)."""
    unknown = [lang for lang in cfg.languages if lang not in KNOWN_LANGUAGES]
    if unknown:
        raise UserError(
            f"unknown language {unknown[0]!r} in data.languages",
            f"vita can synthesise {', '.join(KNOWN_LANGUAGES)}; other languages need a corpus at data.root",
        )
    binary = espeak_binary()
    jobs = []
    for lang in cfg.languages:
        total = cfg.n_train[lang] + cfg.n_val + cfg.n_test
        folder = root / lang
        (folder / "wavs").mkdir(parents=True, exist_ok=True)
        rows = []
        for i, (text, spoken) in enumerate(
            make_sentences(lang, total, cfg.seed, cfg.min_words, cfg.max_words)
        ):
            uid = f"{lang}_{i:04d}"
            rows.append(f"{uid}|{spoken}|{text}")
            jobs.append((lang, spoken, folder / "wavs" / f"{uid}.wav"))
        (folder / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_synthesise, binary, lang, spoken, wav) for lang, spoken, wav in jobs]
        for future in futures:
            future.result()
            if task is not None:
                task.advance(1)
    return read_corpus(cfg, root)


def _language_folder(root: Path, lang: str) -> Path | None:
    if (root / lang).is_dir():
        return root / lang
    for name, code in CSS10_FOLDERS.items():
        if code == lang and (root / name).is_dir():
            return root / name
    return None


def _read_rows(folder: Path) -> tuple[list[tuple[str, str, Path, int]], Path]:
    """(uid, normalized text, wav path, line number) rows from metadata.csv or transcript.txt, and that file."""
    meta, css10 = folder / "metadata.csv", folder / "transcript.txt"
    path = meta if meta.is_file() else css10 if css10.is_file() else None
    if path is None:
        raise UserError(
            f"corpus folder {folder} has no metadata.csv (LJSpeech layout) or transcript.txt (CSS10 layout)",
            "build one with `vita tts-lifelong data` or point data.root at a corpus",
        )
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 2:
            raise UserError(f"{path}:{number}: expected id|text|normalized text, got {line[:60]!r}")
        text = parts[2] if len(parts) > 2 and parts[2].strip() else parts[1]
        if path is meta:
            uid, wav = parts[0], folder / "wavs" / f"{parts[0]}.wav"
        else:
            uid, wav = Path(parts[0]).stem, folder / parts[0]
        rows.append((uid, text.strip(), wav, number))
    return rows, path


def read_corpus(cfg: DataConfig, root: Path) -> Corpus:
    """Read and check a corpus: every language present, texts in the symbol set, wavs present."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"corpus folder not found: {root}", "build it with `vita tts-lifelong data`")
    splits = {}
    for lang in cfg.languages:
        folder = _language_folder(root, lang)
        if folder is None:
            raise UserError(
                f"unknown language {lang!r}: corpus {root} has no folder {lang}/",
                f"languages found: {', '.join(sorted(p.name for p in root.iterdir() if p.is_dir())) or 'none'}",
            )
        rows, meta_path = _read_rows(folder)
        for uid, text, wav, number in rows:
            bad = unknown_characters(text)
            if bad:
                raise UserError(
                    f"{meta_path}:{number}: transcript of {uid} has characters outside the symbol set: "
                    + " ".join(repr(c) for c in bad),
                    "transliterate them (Chinese: tone-numbered pinyin, Japanese: romaji) or remove them",
                )
            if not wav.is_file():
                raise UserError(f"{meta_path}:{number}: wav file not found: {wav}")
        n_val, n_test = cfg.n_val, cfg.n_test
        if len(rows) < n_val + n_test + 1:
            raise UserError(
                f"{meta_path} has {len(rows)} utterances, fewer than data.n_val + data.n_test + 1 "
                f"= {n_val + n_test + 1}"
            )
        utts = [Utterance(lang, uid, text, wav) for uid, text, wav, _ in rows]
        n_train = min(cfg.n_train[lang], len(utts) - n_val - n_test)
        train_end = len(utts) - n_val - n_test
        splits[lang] = {
            "train": utts[train_end - n_train : train_end],
            "val": utts[train_end : train_end + n_val],
            "test": utts[train_end + n_val :],
        }
    return Corpus(root, splits)


def ensure_corpus(cfg: DataConfig, task_factory=None) -> tuple[Corpus, bool]:
    """Read the corpus at ``cfg.root``; build it first when the folder is missing and allowed."""
    root = Path(cfg.root)
    if not root.exists():
        if not cfg.build_missing:
            raise UserError(f"corpus folder not found: {root}", "build it with `vita tts-lifelong data`")
        total = sum(cfg.n_train[lang] + cfg.n_val + cfg.n_test for lang in cfg.languages)
        tmp = root.with_name(root.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        if task_factory is None:
            build_corpus(cfg, tmp)
        else:
            with task_factory("synthesising corpus", total) as task:
                build_corpus(cfg, tmp, task)
        tmp.rename(root)  # all or nothing: a half-built corpus never sits at data.root
        return read_corpus(cfg, root), True
    return read_corpus(cfg, root), False
