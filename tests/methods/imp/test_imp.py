import pytest
import torch

from tests.training.helpers import loaders, tiny_cnn
from vita_cli.methods.imp import ExtremeConfig, ImpConfig, ImpStore, run_imp
from vita_cli.training import TrainConfig


def _setup():
    torch.manual_seed(0)
    train, val = loaders()
    return tiny_cnn(), (train, val, val), TrainConfig(epochs=2, lr=0.05, amp=False)


def test_imp_rounds_prune_rewind_and_save_the_flow():
    model, data, tcfg = _setup()
    store = ImpStore()
    cfg = ImpConfig(rounds=3, rate=0.2, rewind_epoch=1, exclude=[], random_baseline="last")
    result = run_imp(model, data, cfg, "cpu", train_cfg=tcfg, store=store)
    remaining = [r.remaining for r in result.rounds]
    assert remaining == pytest.approx([1.0, 0.8, 0.64, 0.512], abs=2e-3)
    assert result.rounds[-1].random_test_acc is not None
    assert result.rounds[1].random_test_acc is None
    assert sorted(store.saved) == [0, 1, 2, 3]
    # masks only shrink; rewound weights are the rewind point under the round's mask
    for n in range(1, 4):
        prev, cur = store.saved[n - 1]["masks"], store.saved[n]["masks"]
        for name in cur:
            assert not (cur[name] & ~prev[name]).any()
            rewound = store.saved[n]["rewound"][name]
            assert torch.equal(rewound, store.rewind[name] * cur[name])
            assert torch.count_nonzero(store.saved[n]["trained"][name][~cur[name]]) == 0
    assert torch.equal(store.saved[n]["rewound"]["1.running_mean"], store.rewind["1.running_mean"])


def test_imp_rewind_to_iteration_and_resume():
    model, data, tcfg = _setup()
    store = ImpStore()
    cfg = ImpConfig(rounds=1, rate=0.5, rewind_iteration=3)
    run_imp(model, data, cfg, "cpu", train_cfg=tcfg, store=store)
    first = [r.test_acc for r, _, _ in store.load_rounds()]
    # a longer schedule resumes after round 1 instead of starting over
    cfg2 = ImpConfig(rounds=2, rate=0.5, rewind_iteration=3)
    result = run_imp(tiny_cnn(), data, cfg2, "cpu", train_cfg=tcfg, store=store, resume=True)
    assert [r.test_acc for r in result.rounds[:2]] == first
    assert result.rounds[-1].remaining == pytest.approx(0.25, abs=1e-2)


def test_extreme_ticket_search_keeps_the_sparsest_good_ticket():
    model, data, _ = _setup()
    tcfg = TrainConfig(epochs=1, lr=0.05, amp=False, max_steps_per_epoch=2)
    cfg = ImpConfig(
        rounds=1,
        rate=0.5,
        extreme=ExtremeConfig(enabled=True, rates=[0.5], max_rounds_per_rate=2, delta=100.0),
    )
    result = run_imp(model, data, cfg, "cpu", train_cfg=tcfg)
    assert [r.kind for r in result.rounds] == ["dense", "imp", "extreme", "extreme"]
    assert result.extreme.round == 3  # delta=100: every ticket counts, so the sparsest wins
    assert result.extreme.remaining == pytest.approx(0.125, abs=1e-2)
