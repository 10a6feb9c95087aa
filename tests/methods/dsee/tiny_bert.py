"""A tiny random BERT saved as a Hugging Face directory, and small labelled text files (no downloads)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

POSITIVE = ["good", "great", "fine", "superb", "lovely", "fun"]
NEGATIVE = ["bad", "awful", "dull", "poor", "boring", "weak"]
NEUTRAL = ["the", "movie", "film", "was", "a", "plot", "actor", "story", "very", "quite", "and", "it"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *NEUTRAL]


def tiny_config(**kw):
    from transformers import BertConfig

    values = dict(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=2,
    )
    values.update(kw)
    return BertConfig(**values)


def make_tokenizer(folder: Path):
    from transformers import BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    return BertTokenizer(vocab_file=str(vocab), do_lower_case=True)


def make_model_dir(folder: Path, seed: int = 0, **kw) -> Path:
    """config.json + model.safetensors + tokenizer files of a random 2-layer, 4-head, d=32 BERT."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(seed)
    model = BertForSequenceClassification(tiny_config(**kw))
    tok = make_tokenizer(folder)
    model.save_pretrained(str(folder), safe_serialization=True)
    tok.save_pretrained(str(folder))
    return folder


def texts(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = rng.choices(NEUTRAL, k=rng.randint(3, 8)) + rng.choices(
            POSITIVE if label == "pos" else NEGATIVE, k=2
        )
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def write_csv(path: Path, n: int = 80, seed: int = 0, columns=("text", "label")) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for text, label in texts(n, seed):
            w.writerow([text, label])
    return path


def write_jsonl(path: Path, n: int = 80, seed: int = 0) -> Path:
    with open(path, "w") as f:
        for text, label in texts(n, seed):
            f.write(json.dumps({"text": text, "label": label}) + "\n")
    return path
