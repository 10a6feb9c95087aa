"""BN recalibration, reproducible searches, REINFORCE, and two gloo ranks scoring like one process."""

import random

import torch

from tests.methods.twostream.helpers import FRAMES, SIZE, fake_data, tiny_space
from vita_cli.methods.twostream import search as E
from vita_cli.methods.twostream import space as S
from vita_cli.methods.twostream.config import SearchConfig, SupernetConfig
from vita_cli.methods.twostream.supernet import TwoStreamNet


def _setup(seed=0):
    torch.manual_seed(seed)
    space = tiny_space()
    data = fake_data()
    net = TwoStreamNet.supernet(space.largest(), space.fusion, space.attention)
    calib = E.calibration_indices(len(data.train), 2, 6)
    return space, data, net, calib


def test_recalibrated_score_does_not_depend_on_previous_candidates():
    space, data, net, calib = _setup()
    scorer = E.Scorer(net, data, torch.device("cpu"), calib)
    rng = random.Random(0)
    a, b = (S.sample(space, space.largest(), S.variables_of("joint"), rng) for _ in range(2))
    rng_before = torch.get_rng_state()
    first = scorer.score(a)
    assert torch.equal(torch.get_rng_state(), rng_before)  # scoring consumes no global randomness
    state = {k: v.clone() for k, v in net.state_dict().items() if "running_mean" in k}
    scorer.score(b)
    assert scorer.score(a) == first
    after = {k: v for k, v in net.state_dict().items() if "running_mean" in k}
    assert all(torch.equal(state[k], after[k]) for k in state)


def test_supernet_training_and_evolution_reproducible_by_seed():
    results = []
    for _ in range(2):
        space, data, net, calib = _setup(0)
        cfg = SupernetConfig(epochs=[1, 0, 0], batch_size=6, random=1)
        base = space.largest()
        E.train_supernet(net, data, space, base, S.variables_of("streams"), 1, cfg, torch.device("cpu"), 5)
        scfg = SearchConfig(budget_mmacs=1.0, population=4, generations=2)
        budget = int(S.macs(S.slowfast_mini(space), FRAMES, SIZE))
        scorer = E.Scorer(net, data, torch.device("cpu"), calib)
        res = E.evolution(scorer, space, base, S.variables_of("streams"), budget, scfg, 2, 7, FRAMES, SIZE)
        assert res.best_macs <= budget and all(r["macs"] <= budget for r in res.history)
        results.append((res.best.key(), [r["score"] for r in res.history]))
    assert results[0] == results[1]


def test_evolution_resumes_from_saved_state():
    space, data, net, calib = _setup()
    scfg = SearchConfig(population=4, generations=3)
    budget = S.macs(space.largest(), FRAMES, SIZE)
    scorer = E.Scorer(net, data, torch.device("cpu"), calib)
    states = []
    full = E.evolution(
        scorer, space, space.largest(), ("fusion",), budget, scfg, 3, 1, FRAMES, SIZE, save=states.append
    )
    resumed = E.evolution(
        scorer, space, space.largest(), ("fusion",), budget, scfg, 3, 1, FRAMES, SIZE, state=states[0]
    )
    assert resumed.best.key() == full.best.key() and resumed.evaluations == full.evaluations


def test_reinforce_and_random_respect_budget():
    space, data, net, calib = _setup()
    scorer = E.Scorer(net, data, torch.device("cpu"), calib)
    budget = S.macs(S.slowfast_mini(space), FRAMES, SIZE)
    scfg = SearchConfig(population=3, algorithm="reinforce")
    res = E.reinforce(
        scorer, space, space.largest(), S.variables_of("joint"), budget, scfg, 2, 0, FRAMES, SIZE
    )
    assert res.best_macs <= budget or all(r["macs"] > budget for r in res.history)
    rnd = E.random_search(scorer, space, space.largest(), S.variables_of("joint"), budget, 5, 0, FRAMES, SIZE)
    assert rnd.evaluations == 5 and all(r["macs"] <= budget for r in rnd.history)


def test_kendall_tau():
    assert E.kendall_tau([1, 2, 3], [10, 20, 30]) == 1.0
    assert E.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0


def test_flip_mirrors_a_random_subset_left_right():
    x = torch.arange(4 * 3 * 2 * 2 * 5, dtype=torch.float).reshape(4, 3, 2, 2, 5)
    y = E.flip_some(x, torch.Generator().manual_seed(0))
    flipped = [bool(torch.equal(y[i], x[i].flip(-1))) for i in range(4)]
    kept = [bool(torch.equal(y[i], x[i])) for i in range(4)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and any(flipped)
