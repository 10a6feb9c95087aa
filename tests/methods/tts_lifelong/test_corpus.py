"""Corpus: the espeak-ng builder (layout, determinism by seed) and the reader's checks on bad input."""

import hashlib

import numpy as np
import pytest
import soundfile as sf

from vita_cli.core.errors import UserError
from vita_cli.methods.tts_lifelong.audio import read_wav
from vita_cli.methods.tts_lifelong.config import DataConfig
from vita_cli.methods.tts_lifelong.corpus import build_corpus, read_corpus
from vita_cli.methods.tts_lifelong.text import encode, make_sentences


def small(seed=1234, languages=("de", "ja")) -> DataConfig:
    return DataConfig(
        languages=list(languages),
        n_train={lang: 2 for lang in languages},
        n_val=1,
        n_test=1,
        max_words=3,
        seed=seed,
    )


def digest(root):
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus") / "c"
    build_corpus(small(), root)
    return root


def test_layout_splits_and_texts(corpus_root):
    corpus = read_corpus(small(), corpus_root)
    for lang in ("de", "ja"):
        assert (corpus_root / lang / "metadata.csv").is_file()
        assert {k: len(v) for k, v in corpus.splits[lang].items()} == {"train": 2, "val": 1, "test": 1}
        for utt in corpus.splits[lang]["train"]:
            data, rate = sf.read(utt.wav)
            assert rate == 22050 and len(data) > 0.2 * rate
            encode(utt.text)  # the model's input is inside the symbol set
    line = (corpus_root / "ja" / "metadata.csv").read_text(encoding="utf-8").splitlines()[0]
    uid, spoken, text = line.split("|")
    assert uid == "ja_0000" and any("\u3040" <= c <= "\u309f" for c in spoken)  # espeak reads kana
    assert all(c.isascii() for c in text)  # the model reads romaji


def test_deterministic_by_seed(corpus_root, tmp_path):
    build_corpus(small(), tmp_path / "again")
    assert digest(tmp_path / "again") == digest(corpus_root)
    assert make_sentences("de", 5, 1, 3, 6) != make_sentences("de", 5, 2, 3, 6)
    assert make_sentences("zh", 5, 1, 3, 6) == make_sentences("zh", 5, 1, 3, 6)


def test_folder_without_metadata(corpus_root, tmp_path):
    (tmp_path / "de").mkdir()
    with pytest.raises(UserError, match="no metadata.csv"):
        read_corpus(small(languages=("de",)), tmp_path)


def test_characters_outside_symbol_set(tmp_path):
    build_corpus(small(languages=("de",)), tmp_path)
    meta = tmp_path / "de" / "metadata.csv"
    lines = meta.read_text().splitlines()
    lines[1] = lines[1] + " 你好"
    meta.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        UserError,
        match="metadata.csv:2: transcript of de_0001 has characters outside the symbol set: '你' '好'",
    ):
        read_corpus(small(languages=("de",)), tmp_path)


def test_unknown_language(corpus_root):
    with pytest.raises(UserError, match="unknown language 'xx'"):
        read_corpus(
            DataConfig(languages=["de", "xx"], n_train={"de": 2, "xx": 2}, n_val=1, n_test=1), corpus_root
        )
    with pytest.raises(UserError, match="unknown language 'xx'"):
        build_corpus(DataConfig(languages=["xx"], n_train={"xx": 2}), corpus_root.parent / "x")


def test_other_sample_rate_refused_or_resampled(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, np.sin(np.arange(16000) / 5.0).astype(np.float32), 16000)
    with pytest.raises(UserError, match="sample rate 16000 Hz"):
        read_wav(path, 22050)
    assert abs(len(read_wav(path, 22050, resample=True)) - 22050) <= 1
