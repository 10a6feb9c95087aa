"""Replay buffer and the three samplers of replay training (random, weighted, dual = RRS + CBS).

A *pool* is a list of (language, index) keys. Samplers return lists of batches (lists of keys),
drawn from a ``torch.Generator`` so that every epoch is reproducible from (seed, task, epoch).
"""

from __future__ import annotations

from collections import defaultdict

import torch

Key = tuple[str, int]


def _perm(n: int, gen: torch.Generator) -> list[int]:
    return torch.randperm(n, generator=gen).tolist()


def bucketed(
    keys: list[Key], batch: int, gen: torch.Generator, lengths=None, bucket: int = 1
) -> list[list[Key]]:
    """Cut ``keys`` (already in sampled order) into full batches (drop_last); with ``bucket`` > 1 sort
    each run of ``bucket`` batches by length first, then shuffle the batches (fewer padded frames)."""
    n_batches = len(keys) // batch
    keys = keys[: n_batches * batch]
    if bucket > 1 and lengths is not None:
        chunk = batch * bucket
        keys = [k for s in range(0, len(keys), chunk) for k in sorted(keys[s : s + chunk], key=lengths)]
    batches = [keys[i * batch : (i + 1) * batch] for i in range(n_batches)]
    return [batches[i] for i in _perm(len(batches), gen)] if bucket > 1 else batches


def random_batches(pool: list[Key], batch: int, gen: torch.Generator, lengths=None, bucket: int = 1):
    """Instance-balanced: a uniform shuffle of the pool (the RRS loader, "random sampling")."""
    order = [pool[i] for i in _perm(len(pool), gen)]
    return bucketed(order, batch, gen, lengths, bucket)


def language_weights(pool: list[Key]) -> torch.Tensor:
    """w_i = N_total / N_lang(i): every language is drawn with equal probability."""
    counts = defaultdict(int)
    for lang, _ in pool:
        counts[lang] += 1
    return torch.tensor([len(pool) / counts[lang] for lang, _ in pool], dtype=torch.double)


def weighted_batches(pool: list[Key], batch: int, gen: torch.Generator, lengths=None, bucket: int = 1):
    """Weighted sampling with replacement, |pool| draws per epoch."""
    draws = torch.multinomial(language_weights(pool), len(pool), replacement=True, generator=gen).tolist()
    return bucketed([pool[i] for i in draws], batch, gen, lengths, bucket)


def balanced_batches(pool: list[Key], batch: int, n_batches: int, gen: torch.Generator) -> list[list[Key]]:
    """Class-balanced batches (CBS): one cyclic, reshuffled iterator per language, batches filled
    round-robin one utterance per language, so each holds exactly batch / L per language."""
    by_lang: dict[str, list[Key]] = defaultdict(list)
    for key in pool:
        by_lang[key[0]].append(key)
    langs = list(by_lang)
    if batch % len(langs):
        raise ValueError(f"batch size {batch} does not split evenly over {len(langs)} languages")
    queues = {lang: [] for lang in langs}

    def draw(lang):
        if not queues[lang]:
            items = by_lang[lang]
            queues[lang] = [items[i] for i in _perm(len(items), gen)]
        return queues[lang].pop()

    out = []
    for _ in range(n_batches):
        out.append([draw(langs[i % len(langs)]) for i in range(batch)])
    return out


def dual_batches(pool: list[Key], batch: int, gen: torch.Generator, lengths=None, bucket: int = 1):
    """The dual sampler: (RRS batch, CBS batch) pairs, both loaders the same number of steps."""
    rrs = random_batches(pool, batch, gen, lengths, bucket)
    cbs = balanced_batches(pool, batch, len(rrs), gen)
    return list(zip(rrs, cbs, strict=True))


class ReplayBuffer:
    """Episodic memory of fixed total size ``size``, holding (language, index) keys."""

    def __init__(self, size: int, policy: str = "balanced", keys: list[Key] | None = None):
        self.size, self.policy = size, policy
        self.keys: list[Key] = list(keys or [])

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for lang, _ in self.keys:
            out[lang] = out.get(lang, 0) + 1
        return out

    def add_language(self, lang: str, n_items: int, gen: torch.Generator) -> None:
        """Make room for ``lang`` (``n_items`` training utterances) and add a random subset of it.

        balanced: every seen language keeps ⌊R/n⌋ entries (the first R mod n one more), total R;
        faithful (the official code): a random ⌊R·k/(k+1)⌋ of the buffer stays, ⌊R/(k+1)⌋ new ones come in.
        """
        old = self.counts()
        langs = [*old, lang] if lang not in old else list(old)
        n = len(langs)
        if self.policy == "faithful" and old:
            keep = [self.keys[i] for i in _perm(len(self.keys), gen)[: self.size * (n - 1) // n]]
            new = [(lang, i) for i in _perm(n_items, gen)[: self.size // n]]
            self.keys = keep + new
            return
        quota = {name: self.size // n + (1 if k < self.size % n else 0) for k, name in enumerate(langs)}
        kept = []
        for name in old:
            entries = [key for key in self.keys if key[0] == name]
            kept += [entries[i] for i in _perm(len(entries), gen)[: quota[name]]]
        kept += [(lang, i) for i in _perm(n_items, gen)[: quota[lang]]]
        self.keys = kept
