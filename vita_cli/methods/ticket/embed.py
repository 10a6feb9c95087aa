"""Scheme 2: write a QR code into the channel-connectivity map of one conv layer's mask.

The channel map of a conv mask ``M`` (Cout×Cin×kh×kw) is ``C[j, i] = any(M[j, i])``: one entry per
kernel, i.e. per connection from input channel ``i`` to output channel ``j``. A QR module maps to one
kernel. "On" modules must keep at least one live weight, "off" modules are emptied, and the number of
live weights in the block is then restored exactly, so the sparsity of the ticket does not change.
Only the data modules are written; the function patterns carry no payload (the verifier paints them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vita_cli.core.errors import UserError
from vita_cli.methods.ticket.qr import data_module_mask

POLARITIES = ("dark-connected", "light-connected")


@dataclass
class Placement:
    layer: str  # mask / parameter name, e.g. "layer2.1.conv1.weight"
    row: int  # first output channel of the block
    col: int  # first input channel of the block
    polarity: str  # which QR colour means "kernel present"
    agreement: float  # fraction of data modules the existing mask already agrees with


@dataclass
class EmbedReport:
    placement: Placement
    live_before: int
    live_after: int
    modules_switched_on: int  # empty kernels that received one weight
    modules_switched_off: int  # kernels emptied
    weights_added_back: int  # extra weights re-enabled in "on" kernels to restore the count
    weights_removed_back: int  # surplus weights removed to restore the count
    removed_outside_block: int  # weights changed outside the block (only when the block had no room)


def channel_map(mask: torch.Tensor) -> torch.Tensor:
    """Kernel present / absent, rows = output channels, columns = input channels."""
    if mask.dim() != 4:
        raise ValueError(f"channel maps need a 4-d conv mask, got shape {tuple(mask.shape)}")
    return mask.reshape(mask.shape[0], mask.shape[1], -1).any(dim=2)


def target_connectivity(qr_modules: np.ndarray, polarity: str) -> np.ndarray:
    """Which modules must be connected kernels."""
    if polarity not in POLARITIES:
        raise UserError(f"polarity must be one of {', '.join(POLARITIES)}, got {polarity!r}")
    return qr_modules if polarity == "dark-connected" else ~qr_modules


def host_candidates(masks: dict[str, torch.Tensor], size: int) -> list[str]:
    """Conv masks with at least ``size`` input and output channels."""
    return [n for n, m in masks.items() if m.dim() == 4 and m.shape[0] >= size and m.shape[1] >= size]


def agreement_grid(cmap: np.ndarray, target: np.ndarray, data: np.ndarray) -> np.ndarray:
    """agree[r, c] = fraction of data modules where cmap[r:r+n, c:c+n] already equals the target."""
    n = target.shape[0]
    rows, cols = cmap.shape[0] - n + 1, cmap.shape[1] - n + 1
    grid = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            block = cmap[r : r + n, c : c + n]
            grid[r, c] = np.mean(block[data] == target[data])
    return grid


def choose_placement(
    masks: dict[str, torch.Tensor],
    qr_modules: np.ndarray,
    version: int,
    layer: str | None = None,
    offset: tuple[int, int] | None = None,
    polarity: str | None = None,
    avoid: tuple[str, int, int, int] | None = None,
) -> Placement:
    """The (layer, offset, polarity) where the existing mask agrees best with the code; any may be fixed.

    ``avoid = (layer, row, col, size)`` rules out offsets whose block overlaps that block (a forger
    placing a second code elsewhere).
    """
    n = qr_modules.shape[0]
    data = data_module_mask(version)
    if layer is not None:
        if layer not in masks:
            raise UserError(f"layer {layer!r} has no mask", f"masked layers: {', '.join(masks) or 'none'}")
        shape = tuple(masks[layer].shape)
        if masks[layer].dim() != 4 or shape[0] < n or shape[1] < n:
            raise UserError(
                f"host layer {layer} has mask shape {shape}; the QR code needs a conv with ≥ {n} input and output channels"
            )
        layers = [layer]
    else:
        layers = host_candidates(masks, n)
        if not layers:
            raise UserError(
                f"no masked conv layer has ≥ {n} input and output channels to host a {n}×{n} QR code",
                "use a wider model (e.g. small_cnn or resnet20)",
            )
    polarities = [polarity] if polarity else list(POLARITIES)
    best: Placement | None = None
    for name in layers:
        cmap = channel_map(masks[name]).cpu().numpy()
        for pol in polarities:
            target = target_connectivity(qr_modules, pol)
            if offset is not None:
                r, c = offset
                if not (0 <= r <= cmap.shape[0] - n and 0 <= c <= cmap.shape[1] - n):
                    raise UserError(
                        f"offset ({r}, {c}) puts the {n}×{n} code outside {name}'s {cmap.shape} channel map"
                    )
                score = float(np.mean(cmap[r : r + n, c : c + n][data] == target[data]))
            else:
                grid = agreement_grid(cmap, target, data)
                if avoid is not None and avoid[0] == name:
                    _, ar, ac, asz = avoid
                    rr = np.arange(grid.shape[0])[:, None]
                    cc = np.arange(grid.shape[1])[None, :]
                    overlap = (rr < ar + asz) & (rr + n > ar) & (cc < ac + asz) & (cc + n > ac)
                    grid = np.where(overlap, -1.0, grid)
                    if grid.max() < 0:
                        continue
                r, c = np.unravel_index(int(np.argmax(grid)), grid.shape)
                score = float(grid[r, c])
            if best is None or score > best.agreement:
                best = Placement(name, int(r), int(c), pol, score)
    if best is None:
        raise UserError("no free place for another code: every offset overlaps the avoided block")
    return best


def embed_qr(
    mask: torch.Tensor,
    qr_modules: np.ndarray,
    placement: Placement,
    version: int,
    seed: int = 0,
    min_weights: int = 1,
) -> tuple[torch.Tensor, EmbedReport]:
    """A new host-layer mask carrying the code; the block's live count is restored where it has room.

    ``min_weights`` > 1 tops every "on" kernel up to that many live weights: a module only flips to
    "off" when *all* its weights are pruned, so fuller kernels survive later magnitude pruning longer.
    """
    gen = np.random.default_rng(seed)
    n = qr_modules.shape[0]
    r, c = placement.row, placement.col
    new = mask.clone().bool()
    block = new[r : r + n, c : c + n].reshape(n, n, -1).cpu().numpy().copy()  # (n, n, k*k)
    k2 = block.shape[2]
    live_before_block = int(block.sum())
    target = target_connectivity(qr_modules, placement.polarity)
    data = data_module_mask(version)
    present = block.any(axis=2)

    switched_on = 0
    for a, b in np.argwhere(data & target & ~present):
        block[a, b, gen.integers(k2)] = True
        switched_on += 1
    switched_off = int((data & ~target & present).sum())
    block[data & ~target] = False
    on = data & target
    if min_weights > 1:
        _fill_to_level(block, on, min(min_weights, k2), gen)

    delta = int(block.sum()) - live_before_block
    added = removed = 0
    if delta < 0:
        # re-enable weights inside "on" kernels (they stay on; the off ones stay empty)
        added = _add_to_sparsest(block, on, -delta, gen)  # the rest goes outside the block
    elif delta > 0:
        # remove surplus weights without taking an "on" kernel below min_weights: fullest first, then
        # from function-pattern kernels (they carry no payload), then outside the block
        removed = _remove_keeping_one(block, on, delta, gen, keep=max(1, min(min_weights, k2)))
        if removed < delta:
            fmask = (~data)[:, :, None]
            live_f = np.argwhere(fmask & block)
            take = min(len(live_f), delta - removed)
            for a, b, p in live_f[gen.choice(len(live_f), size=take, replace=False)]:
                block[a, b, p] = False
            removed += take
    new_block = torch.from_numpy(block).reshape(new[r : r + n, c : c + n].shape)
    new[r : r + n, c : c + n] = new_block.to(new.device)
    report = EmbedReport(
        placement=placement,
        live_before=int(mask.sum()),
        live_after=int(new.sum()),
        modules_switched_on=switched_on,
        modules_switched_off=switched_off,
        weights_added_back=added,
        weights_removed_back=removed,
        removed_outside_block=0,
    )
    return new, report


def embed_signature(
    masks: dict[str, torch.Tensor],
    qr_modules: np.ndarray,
    placement: Placement,
    version: int,
    seed: int = 0,
    scores: dict[str, torch.Tensor] | None = None,
    min_weights: int = 1,
) -> tuple[dict[str, torch.Tensor], EmbedReport]:
    """Embed into ``masks[placement.layer]``; the total number of live weights is restored exactly.

    The count is restored inside the block when it has room. Very sparse blocks switch on more empty
    kernels than they empty and may have no spare weights to give back; very dense ones may have no
    pruned positions left in their "on" kernels. Then the remainder is balanced outside the block over
    all masked layers: the smallest ``scores`` (``|w|``; random without scores) are removed, or the
    largest pruned ones re-enabled -- one more (or one fewer) magnitude-pruning step.
    """
    host = masks[placement.layer]
    new_host, report = embed_qr(host, qr_modules, placement, version, seed, min_weights)
    out = {name: m.clone().bool() for name, m in masks.items()}
    out[placement.layer] = new_host
    surplus = report.live_after - report.live_before
    if surplus:
        n = qr_modules.shape[0]
        gen = torch.Generator().manual_seed(seed)
        # surplus > 0: remove live weights (smallest score first); < 0: re-enable pruned ones (largest first)
        candidates, values = [], []
        for name, m in out.items():
            eligible = m.clone() if surplus > 0 else ~m
            if name == placement.layer:
                eligible[placement.row : placement.row + n, placement.col : placement.col + n] = False
            idx = torch.nonzero(eligible.reshape(-1)).squeeze(1)
            if scores is not None and name in scores:
                v = scores[name].detach().abs().reshape(-1)[idx].float().cpu()
            else:
                v = torch.rand(len(idx), generator=gen)
            candidates += [(name, int(i)) for i in idx]
            values.append(v if surplus > 0 else -v)
        if len(candidates) < abs(surplus):
            raise UserError("the ticket has no room to hold the code at constant sparsity")
        order = torch.argsort(torch.cat(values))[: abs(surplus)]
        for k in order.tolist():
            name, flat = candidates[k]
            out[name].view(-1)[flat] = surplus < 0
        report.removed_outside_block = abs(surplus)  # weights changed outside the block
        if surplus > 0:
            report.weights_removed_back += surplus
        else:
            report.weights_added_back -= surplus
    report.live_before = sum(int(m.sum()) for m in masks.values())
    report.live_after = sum(int(m.sum()) for m in out.values())
    assert report.live_before == report.live_after, "embedding must keep the live-weight count"
    return out, report


def _add_to_sparsest(block: np.ndarray, on: np.ndarray, count: int, gen: np.random.Generator) -> int:
    """Re-enable up to ``count`` weights in "on" kernels, always in a kernel with the fewest live ones.

    Spreading the weights evenly maximises the smallest kernel: a module only flips when *all* its
    weights are pruned, so this makes the code last longest under later magnitude pruning.
    """
    added = 0
    k2 = block.shape[2]
    while added < count:
        live = block.sum(axis=2)
        room = on & (live < k2)
        if not room.any():
            break
        level = live[room].min()
        candidates = np.argwhere(room & (live == level))
        for idx in gen.permutation(len(candidates)):
            if added >= count:
                break
            a, b = candidates[idx]
            block[a, b, gen.choice(np.flatnonzero(~block[a, b]))] = True
            added += 1
    return added


def _fill_to_level(block: np.ndarray, on: np.ndarray, level: int, gen: np.random.Generator) -> int:
    """Add weights to every "on" kernel holding fewer than ``level`` live weights."""
    added = 0
    for a, b in np.argwhere(on & (block.sum(axis=2) < level)):
        free = np.flatnonzero(~block[a, b])
        need = level - int(block[a, b].sum())
        block[a, b, gen.choice(free, size=need, replace=False)] = True
        added += need
    return added


def _remove_keeping_one(
    block: np.ndarray, on: np.ndarray, count: int, gen: np.random.Generator, keep: int = 1
) -> int:
    """Remove up to ``count`` live weights from "on" kernels, fullest first, leaving ≥ ``keep`` in each."""
    removed = 0
    while removed < count:
        live = block.sum(axis=2)
        spare = on & (live > keep)
        if not spare.any():
            break
        level = live[spare].max()
        candidates = np.argwhere(spare & (live == level))
        for idx in gen.permutation(len(candidates)):
            if removed >= count:
                break
            a, b = candidates[idx]
            block[a, b, gen.choice(np.flatnonzero(block[a, b]))] = False
            removed += 1
    return removed
