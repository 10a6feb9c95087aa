"""Supernet training (sandwich rule), BN recalibration, candidate scoring spread over ranks, and the
search algorithms (evolution, REINFORCE, random) under a MACs budget; stand-alone training.

Plain functions on modules and tensors: no printing, no paths. Resumable searches keep their whole
state in a JSON-able dict that the caller persists after every generation.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
import torch.nn.functional as F

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.twostream import space as S
from vita_cli.methods.twostream.data import ClipSet, Dataset
from vita_cli.methods.twostream.supernet import SlicedBN, TwoStreamNet

# ----------------------------------------------------------------------------------- ranks


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def broadcast_module(net: torch.nn.Module) -> None:
    """Rank 0's parameters and buffers to every rank (no-op in one process)."""
    if rank_and_world()[1] == 1:
        return
    with torch.no_grad():
        for t in list(net.parameters()) + list(net.buffers()):
            dist.broadcast(t.data, 0)


# ------------------------------------------------------------------------------ supernet training


def _cosine(step: int, total: int, lr: float) -> float:
    return 0.5 * lr * (1 + math.cos(math.pi * step / max(total, 1)))


def flip_some(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror a random half of the clips (batch, 3, frames, height, width) left-right."""
    mask = torch.rand(x.shape[0], generator=gen) < 0.5
    if mask.any():
        x = x.clone()
        x[mask] = x[mask].flip(-1)
    return x


def train_supernet(
    net: TwoStreamNet,
    data: Dataset,
    space: S.Space,
    base: S.Architecture,
    variables,
    epochs: int,
    cfg,
    device,
    seed: int,
    reporter: Reporter = SILENT,
    label: str = "supernet",
    flip: bool = False,
) -> list[dict]:
    """Sandwich rule: each step trains the largest, the smallest and ``cfg.random`` sampled subnets
    (only ``variables`` vary, the rest stays at ``base``); gradients summed; with ``cfg.distill`` the
    sampled subnets learn the largest's soft predictions (in-place distillation)."""
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(
        params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=True
    )
    steps = epochs * math.ceil(len(data.train) / cfg.batch_size)
    largest = S.extreme(space, base, variables, "max")
    smallest = S.extreme(space, base, variables, "min")
    history, step = [], 0
    net.train()
    with reporter.task(label, total=max(steps, 1)) as task:
        for epoch in range(epochs):
            order = torch.randperm(len(data.train), generator=gen)
            total_loss, n = 0.0, 0
            for i in range(0, len(order), cfg.batch_size):
                x, y = data.train.batch(order[i : i + cfg.batch_size], device)
                if flip:
                    x = flip_some(x, gen)
                for group in opt.param_groups:
                    group["lr"] = _cosine(step, steps, cfg.lr)
                opt.zero_grad(set_to_none=True)
                logits = net(x, largest)
                loss = F.cross_entropy(logits, y)
                loss.backward()
                soft = logits.detach().softmax(-1)
                subnets = [smallest] + [S.sample(space, base, variables, rng) for _ in range(cfg.random)]
                for arch in subnets:
                    out = net(x, arch)
                    if cfg.distill:
                        sub_loss = -(soft * out.log_softmax(-1)).sum(-1).mean()
                    else:
                        sub_loss = F.cross_entropy(out, y)
                    sub_loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 5.0)
                opt.step()
                total_loss += loss.item() * len(y)
                n += len(y)
                step += 1
                task.advance(1, loss=f"{loss.item():.3f}")
            history.append({"epoch": epoch + 1, "loss_largest": total_loss / max(n, 1)})
    return history


# ----------------------------------------------------------------------------------- scoring


def calibration_indices(n: int, batches: int, batch_size: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=gen)
    return [order[i * batch_size : (i + 1) * batch_size] for i in range(batches) if i * batch_size < n]


@torch.no_grad()
def recalibrate_bn(
    net: TwoStreamNet, arch: S.Architecture, clips: ClipSet, batches: list[torch.Tensor], device
) -> None:
    """Reset every BatchNorm's statistics and re-estimate them for ``arch`` (cumulative average).

    Dropout stays off, so scoring draws nothing from the global random stream: what a search does
    after scoring (the next supernet stage) does not depend on how the candidates were shared out."""
    bns = [m for m in net.modules() if isinstance(m, SlicedBN)]
    for m in bns:
        m.reset_running_stats()
    was = net.training
    net.train()
    for m in net.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    try:
        for step, idx in enumerate(batches, start=1):
            for m in bns:
                m.recal_step = step
            x, _ = clips.batch(idx, device)
            net(x, arch)
    finally:
        for m in bns:
            m.recal_step = 0
        net.train(was)


@torch.no_grad()
def accuracy(
    net: torch.nn.Module, clips: ClipSet, device, arch: S.Architecture | None = None, batch_size: int = 64
) -> float:
    was = net.training
    net.eval()
    correct = 0
    try:
        for x, y in clips.batches(batch_size, device):
            out = net(x, arch) if arch is not None else net(x)
            correct += int((out.argmax(-1) == y).sum())
    finally:
        net.train(was)
    return correct / max(len(clips), 1)


@dataclass
class Scorer:
    """Proxy accuracy of a subnet: BN recalibration on fixed training batches, then validation top-1."""

    net: TwoStreamNet
    data: Dataset
    device: torch.device
    calib: list[torch.Tensor]
    evaluations: int = 0

    def score(self, arch: S.Architecture) -> float:
        if self.calib:
            recalibrate_bn(self.net, arch, self.data.train, self.calib, self.device)
        self.evaluations += 1
        return accuracy(self.net, self.data.val, self.device, arch)

    def score_many(self, archs: list[S.Architecture]) -> list[float]:
        """Scores of ``archs``; under torch.distributed every rank scores a strided share and the
        results are gathered, so every rank returns the same list as one process would."""
        rank, world = rank_and_world()
        mine = {i: self.score(a) for i, a in enumerate(archs) if i % world == rank}
        if world == 1:
            return [mine[i] for i in range(len(archs))]
        gathered: list = [None] * world
        dist.all_gather_object(gathered, mine)
        merged: dict[int, float] = {}
        for part in gathered:
            merged.update(part)
        return [merged[i] for i in range(len(archs))]


# ----------------------------------------------------------------------------------- searches


@dataclass
class SearchResult:
    best: S.Architecture
    best_score: float
    best_macs: int
    history: list[dict] = field(default_factory=list)  # every evaluated candidate
    evaluations: int = 0


def _rng_state(rng: random.Random):
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _set_rng_state(rng: random.Random, state) -> None:
    rng.setstate((state[0], tuple(state[1]), state[2]))


def _feasible(space, base, variables, budget, rng, frames, size, tries: int = 500) -> S.Architecture:
    for _ in range(tries):
        arch = S.sample(space, base, variables, rng)
        if S.macs(arch, frames, size) <= budget:
            return arch
    return S.extreme(space, base, variables, "min")


def _evaluate_new(scorer: Scorer, archs, cache: dict, frames, size, tag: dict) -> None:
    todo = [a for a in dict.fromkeys(archs) if a.key() not in cache]
    if not todo:
        return
    scores = scorer.score_many(todo)
    for a, s in zip(todo, scores, strict=True):
        cache[a.key()] = {"score": s, "macs": S.macs(a, frames, size), "arch": a.to_dict(), **tag}


def _result(cache: dict, budget: int) -> SearchResult:
    rows = [r for r in cache.values() if r["macs"] <= budget] or list(cache.values())
    best = max(rows, key=lambda r: (r["score"], -r["macs"]))
    return SearchResult(
        S.architecture_from_dict(best["arch"]), best["score"], best["macs"], list(cache.values()), len(cache)
    )


def evolution(
    scorer: Scorer,
    space: S.Space,
    base: S.Architecture,
    variables,
    budget: int,
    cfg,
    generations: int,
    seed: int,
    frames: int,
    size: int,
    state: dict | None = None,
    save: Callable[[dict], None] | None = None,
    reporter: Reporter = SILENT,
    label: str = "evolution",
) -> SearchResult:
    """Regularised-free evolutionary search: keep the best ``parents`` fraction, refill with
    mutations and crossovers of parents; every candidate respects the MACs budget."""
    rng = random.Random(seed)
    state = state or {}
    cache: dict = state.get("cache", {})
    generation = state.get("generation", 0)
    if "rng" in state:
        _set_rng_state(rng, state["rng"])
    population = [S.architecture_from_dict(d) for d in state.get("population", [])]
    if not population:
        population = [
            _feasible(space, base, variables, budget, rng, frames, size) for _ in range(cfg.population)
        ]
    with reporter.task(label, total=generations) as task:
        task.advance(generation)
        while generation < generations:
            _evaluate_new(scorer, population, cache, frames, size, {"generation": generation})
            ranked = sorted(dict.fromkeys(population), key=lambda a: cache[a.key()]["score"], reverse=True)
            generation += 1
            if generation < generations:
                parents = ranked[: max(1, int(round(cfg.parents * len(ranked))))]
                children = list(parents)
                guard = 0
                while len(children) < cfg.population and guard < 50 * cfg.population:
                    guard += 1
                    if rng.random() < 0.5 and len(parents) > 1:
                        a, b = rng.sample(parents, 2)
                        child = S.crossover(space, a, b, variables, rng)
                        child = S.mutate(space, child, variables, cfg.mutation / 2, rng)
                    else:
                        child = S.mutate(space, rng.choice(parents), variables, cfg.mutation, rng)
                    if (
                        S.macs(child, frames, size) <= budget
                        and child.key() not in cache
                        and child not in children
                    ):
                        children.append(child)
                while len(children) < cfg.population:
                    children.append(_feasible(space, base, variables, budget, rng, frames, size))
                population = children
            best = max(cache.values(), key=lambda r: r["score"])
            task.advance(1, best=f"{best['score']:.3f}")
            if save is not None:
                save(
                    copy.deepcopy(
                        {
                            "cache": cache,
                            "generation": generation,
                            "population": [a.to_dict() for a in population],
                            "rng": _rng_state(rng),
                        }
                    )
                )
    return _result(cache, budget)


def random_search(
    scorer: Scorer,
    space: S.Space,
    base: S.Architecture,
    variables,
    budget: int,
    count: int,
    seed: int,
    frames: int,
    size: int,
    reporter: Reporter = SILENT,
) -> SearchResult:
    rng = random.Random(seed)
    cache: dict = {}
    archs, guard = [], 0
    while len(dict.fromkeys(archs)) < count and guard < 100 * count:
        guard += 1
        archs.append(_feasible(space, base, variables, budget, rng, frames, size))
    archs = list(dict.fromkeys(archs))
    chunk = 8
    with reporter.task("random search", total=len(archs)) as task:
        for i in range(0, len(archs), chunk):
            _evaluate_new(scorer, archs[i : i + chunk], cache, frames, size, {"generation": 0})
            task.advance(len(archs[i : i + chunk]))
    return _result(cache, budget)


def reinforce(
    scorer: Scorer,
    space: S.Space,
    base: S.Architecture,
    variables,
    budget: int,
    cfg,
    iterations: int,
    seed: int,
    frames: int,
    size: int,
    reporter: Reporter = SILENT,
    label: str = "reinforce",
) -> SearchResult:
    """Probabilistic search: a categorical distribution per decision, REINFORCE with a moving-average
    baseline; reward = accuracy − penalty · max(0, MACs / budget − 1)."""
    rng = random.Random(seed)
    slots = S.slots(space, variables)
    logits = [torch.zeros(len(S.choices(space, s))) for s in slots]
    baseline, cache = None, {}
    with reporter.task(label, total=iterations) as task:
        for it in range(iterations):
            samples, picks = [], []
            for _ in range(cfg.population):
                idx = [_sample_index(lg, rng) for lg in logits]
                values = {s: S.choices(space, s)[i] for s, i in zip(slots, idx, strict=True)}
                samples.append(S.set_many(base, values))
                picks.append(idx)
            _evaluate_new(scorer, samples, cache, frames, size, {"generation": it})
            rewards = []
            for a in samples:
                row = cache[a.key()]
                rewards.append(row["score"] - cfg.reinforce_penalty * max(0.0, row["macs"] / budget - 1))
            mean = sum(rewards) / len(rewards)
            baseline = mean if baseline is None else 0.9 * baseline + 0.1 * mean
            for idx, r in zip(picks, rewards, strict=True):
                for lg, i in zip(logits, idx, strict=True):
                    grad = -lg.softmax(0)
                    grad[i] += 1
                    lg += cfg.reinforce_lr * (r - baseline) * grad / len(samples)
            task.advance(1, reward=f"{mean:.3f}")
    return _result(cache, budget)


def _sample_index(logits: torch.Tensor, rng: random.Random) -> int:
    probs = logits.softmax(0).tolist()
    u, acc = rng.random(), 0.0
    for i, p in enumerate(probs):
        acc += p
        if u < acc:
            return i
    return len(probs) - 1


# --------------------------------------------------------------------------- stand-alone training


def train_standalone(
    arch: S.Architecture,
    data: Dataset,
    cfg,
    seed: int,
    device,
    reporter: Reporter = SILENT,
    label: str = "train",
    flip: bool = False,
) -> tuple[TwoStreamNet, list[dict]]:
    """Train ``arch`` from scratch (SGD + Nesterov, cosine, label smoothing); best-on-validation weights."""
    torch.manual_seed(seed)
    net = TwoStreamNet.standalone(arch).to(device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(
        net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=True
    )
    steps = cfg.epochs * math.ceil(len(data.train) / cfg.batch_size)
    history, step = [], 0
    best_val, best_state = -1.0, None
    with reporter.task(label, total=cfg.epochs) as task:
        for epoch in range(cfg.epochs):
            net.train()
            order = torch.randperm(len(data.train), generator=gen)
            total, n = 0.0, 0
            for i in range(0, len(order), cfg.batch_size):
                x, y = data.train.batch(order[i : i + cfg.batch_size], device)
                if flip:
                    x = flip_some(x, gen)
                for group in opt.param_groups:
                    group["lr"] = _cosine(step, steps, cfg.lr)
                loss = F.cross_entropy(net(x), y, label_smoothing=cfg.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * len(y)
                n += len(y)
                step += 1
            val = accuracy(net, data.val, device)
            if val > best_val:
                best_val = val
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            history.append({"epoch": epoch + 1, "loss": total / max(n, 1), "val_acc": val})
            task.advance(1, loss=f"{total / max(n, 1):.3f}", val=f"{val:.3f}")
    if best_state is not None:
        net.load_state_dict(best_state)
    return net, history


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's τ-b between two score lists."""
    from scipy.stats import kendalltau

    tau = kendalltau(a, b).statistic
    return float(tau) if tau == tau else 0.0
