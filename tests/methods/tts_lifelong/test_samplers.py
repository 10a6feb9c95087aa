"""Replay buffer size and balance, exactly balanced CBS batches, the dual sampler's lock-step."""

from collections import Counter

import pytest
import torch

from vita_cli.methods.tts_lifelong.samplers import (
    ReplayBuffer,
    balanced_batches,
    dual_batches,
    language_weights,
    random_batches,
    weighted_batches,
)

SIZES = {"de": 160, "nl": 128, "zh": 58, "ja": 146}


@pytest.mark.parametrize(
    "size,sizes", [(24, SIZES), (25, SIZES), (300, {k: 10 * n for k, n in SIZES.items()})]
)
def test_buffer_fixed_size_and_balanced_after_every_task(size, sizes):
    gen = torch.Generator().manual_seed(0)
    buffer = ReplayBuffer(size, "balanced")
    for k, (lang, n) in enumerate(sizes.items()):
        buffer.add_language(lang, n, gen)
        counts = buffer.counts()
        assert sum(counts.values()) == size
        assert len(counts) == k + 1
        assert max(counts.values()) - min(counts.values()) <= 1  # balanced
        assert len(set(buffer.keys)) == len(buffer.keys)  # no duplicates
        assert all(0 <= i < sizes[lang] for lang, i in buffer.keys)


def test_faithful_buffer_keeps_total_size():
    gen = torch.Generator().manual_seed(0)
    buffer = ReplayBuffer(300, "faithful")
    for lang in SIZES:
        buffer.add_language(lang, 10_000, gen)
    assert len(buffer.keys) == 300 and set(buffer.counts()) == set(SIZES)


def pool_of(counts):
    return [(lang, i) for lang, n in counts.items() for i in range(n)]


@pytest.mark.parametrize("langs", [2, 3, 4])
def test_every_cbs_batch_exactly_balanced(langs):
    counts = dict(list({"ja": 146, "de": 8, "nl": 8, "zh": 7}.items())[:langs])
    pool = pool_of(counts)
    gen = torch.Generator().manual_seed(1)
    pairs = dual_batches(pool, 24, gen, lengths=lambda k: k[1], bucket=4)
    assert len(pairs) == len(pool) // 24  # both loaders the same number of steps
    for rrs, cbs in pairs:
        assert len(rrs) == len(cbs) == 24
        assert set(Counter(lang for lang, _ in cbs).values()) == {24 // langs}
    # the RRS side stays instance-balanced: the pool's natural imbalance
    seen = Counter(lang for rrs, _ in pairs for lang, _ in rrs)
    assert seen["ja"] > 5 * seen.get("de", 1)


def test_cbs_cycles_small_languages_and_rejects_uneven_batches():
    pool = pool_of({"de": 3, "nl": 50})
    batches = balanced_batches(pool, 4, 10, torch.Generator().manual_seed(0))
    de = Counter(k for b in batches for k in b if k[0] == "de")
    assert set(de) == {("de", 0), ("de", 1), ("de", 2)}  # cycles through every utterance
    with pytest.raises(ValueError, match="split evenly"):
        balanced_batches(pool_of({"de": 3, "nl": 3, "zh": 3}), 4, 1, torch.Generator())


def test_random_and_weighted_sampling():
    pool = pool_of({"de": 20, "nl": 380})
    gen = torch.Generator().manual_seed(0)
    batches = random_batches(pool, 24, gen)
    flat = [k for b in batches for k in b]
    assert len(flat) == len(set(flat)) == 16 * 24  # a permutation, drop_last
    w = language_weights(pool)
    assert w[0] == pytest.approx(400 / 20) and w[-1] == pytest.approx(400 / 380)
    drawn = Counter(k[0] for b in weighted_batches(pool, 24, gen) for k in b)
    assert 0.35 < drawn["de"] / sum(drawn.values()) < 0.65  # languages drawn equally often
