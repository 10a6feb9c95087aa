"""Features of a corpus in memory (normalised dB mels, symbol ids) and batch collation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vita_cli.methods.tts_lifelong.audio import MelFeatures, Normaliser, read_wav
from vita_cli.methods.tts_lifelong.config import TTSLifelongRecipe
from vita_cli.methods.tts_lifelong.corpus import Corpus
from vita_cli.methods.tts_lifelong.text import PAD, encode


@dataclass
class Item:
    lang_id: int
    uid: str
    text: str
    ids: torch.Tensor  # (L,) symbol ids ending in EOS
    mel: torch.Tensor  # (T, n_mels) normalised dB mel

    @property
    def frames(self) -> int:
        return self.mel.shape[0]


@dataclass
class SpeechData:
    languages: list[str]
    items: dict[str, dict[str, list[Item]]]  # lang -> split -> items
    normaliser: Normaliser
    features: MelFeatures

    def split(self, lang: str, split: str) -> list[Item]:
        return self.items[lang][split]


def featurise(corpus: Corpus, recipe: TTSLifelongRecipe, task=None) -> SpeechData:
    """dB mels of every utterance, and the normaliser fitted on all languages' training mels."""
    feats = MelFeatures(recipe.features, recipe.data.sample_rate)
    raw: dict[str, dict[str, list[tuple]]] = {}
    for lang_id, lang in enumerate(recipe.data.languages):
        raw[lang] = {}
        for split, utts in corpus.splits[lang].items():
            rows = []
            for u in utts:
                wave = read_wav(u.wav, recipe.data.sample_rate, recipe.data.resample)
                rows.append((lang_id, u.uid, u.text, torch.tensor(encode(u.text)), feats.db_mel(wave)))
                if task is not None:
                    task.advance(1)
            raw[lang][split] = rows
    normaliser = Normaliser.fit([r[4] for lang in raw for r in raw[lang]["train"]])
    items = {
        lang: {
            split: [Item(a, b, c, d, normaliser(e)) for a, b, c, d, e in rows]
            for split, rows in parts.items()
        }
        for lang, parts in raw.items()
    }
    return SpeechData(list(recipe.data.languages), items, normaliser, feats)


def collate(items: list[Item], reduction: int, device: torch.device | None = None) -> dict:
    """Padded batch: text (B, L), text_lens, lang (B,), mels (B, T) with T a multiple of ``reduction``."""
    b = len(items)
    text_lens = torch.tensor([len(i.ids) for i in items])
    mel_lens = torch.tensor([i.frames for i in items])
    t = int(mel_lens.max())
    t += (-t) % reduction
    n_mels = items[0].mel.shape[1]
    text = torch.full((b, int(text_lens.max())), PAD, dtype=torch.long)
    mels = torch.zeros(b, t, n_mels)
    for k, item in enumerate(items):
        text[k, : len(item.ids)] = item.ids
        mels[k, : item.frames] = item.mel
    batch = {
        "text": text,
        "text_lens": text_lens,
        "lang": torch.tensor([i.lang_id for i in items]),
        "mels": mels,
        "mel_lens": mel_lens,
    }
    if device is not None:
        batch = {k: v.to(device) for k, v in batch.items()}
    return batch
