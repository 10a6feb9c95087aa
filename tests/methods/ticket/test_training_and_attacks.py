"""Signing survives training with the mask fixed; attacks and Scheme-1 path removal on tiny models."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from vita_cli.methods.ticket.attacks import Evaluator, add_connections, forge, prune_attack, run_attack
from vita_cli.methods.ticket.config import TicketRecipe
from vita_cli.methods.ticket.embed import choose_placement, embed_signature
from vita_cli.methods.ticket.engine import Loaders, masks_from_zeros, retrain
from vita_cli.methods.ticket.extract import extract_and_decode
from vita_cli.methods.ticket.fragility import remove_paths, remove_random_kernels
from vita_cli.methods.ticket.qr import make_qr
from vita_cli.methods.ticket.triggers import make_trigger_set
from vita_cli.models import build_model
from vita_cli.sparsity import magnitude_prune
from vita_cli.training import TrainConfig

ARCH = {"name": "small_cnn", "num_classes": 4, "in_channels": 1, "width": 16}
PAYLOAD = "owner-1"


def synthetic_loaders(seed=0, n=256):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    images = torch.randn(n, 1, 8, 8, generator=g) * 0.5
    for c in range(4):
        r, q = divmod(c, 2)
        images[labels == c, 0, r * 4 : r * 4 + 4, q * 4 : q * 4 + 4] += 1.5
    ds = TensorDataset(images, labels)
    return Loaders(
        DataLoader(ds, batch_size=32, shuffle=True, generator=g),
        None,
        DataLoader(ds, batch_size=256),
        lambda x: x,
        4,
    )


def ticket(seed, sparsity=0.8, train_steps=0):
    torch.manual_seed(seed)
    model = build_model(ARCH)
    if train_steps:
        from vita_cli.training import fit

        fit(
            model,
            synthetic_loaders(seed).train,
            None,
            TrainConfig(epochs=1, lr=0.05, amp=False, max_steps_per_epoch=train_steps),
            "cpu",
        )
    return model, magnitude_prune(model, sparsity)


def signed_ticket(seed=0):
    model, masks = ticket(seed)
    qr, mp = make_qr(PAYLOAD)
    placement = choose_placement(masks, qr, 3)
    signed, _ = embed_signature(masks, qr, placement, 3)
    wb = {
        "layer": placement.layer,
        "layer_shape": list(signed[placement.layer].shape),
        "row": placement.row,
        "col": placement.col,
        "payload": PAYLOAD,
        "qr": {"version": 3, "ecc": "H", "mask_pattern": mp, "polarity": placement.polarity},
    }
    return model, masks, signed, wb, qr


def test_decoding_survives_training_with_mask_fixed():
    model, _, signed, wb, qr = signed_ticket()
    trained = retrain(
        model,
        None,
        signed,
        synthetic_loaders(),
        TrainConfig(epochs=1, lr=0.05, amp=False, max_steps_per_epoch=4),
        "cpu",
    )
    # read the mask back from the trained weights' zero pattern (what a stolen dense export shows)
    state = trained.state_dict()
    recovered = masks_from_zeros(state, list(signed))
    assert all(torch.equal(recovered[n], signed[n]) for n in signed)
    ex = extract_and_decode(recovered[wb["layer"]], wb["row"], wb["col"], wb["qr"]["polarity"], qr, 3)
    assert ex.decoded == PAYLOAD and ex.bit_error_rate == 0.0


def test_prune_attack_and_add_connections_counts():
    model, _, signed, wb, _ = signed_ticket()
    g = torch.Generator().manual_seed(0)
    live = sum(int(m.sum()) for m in signed.values())
    _, pruned = prune_attack(model, signed, 0.5, False, g)
    assert sum(int(m.sum()) for m in pruned.values()) == live - round(0.5 * live)
    assert all(not (pruned[n] & ~signed[n]).any() for n in signed)  # only removes
    net, added = add_connections(model, signed, 0.1, 0.01, g)
    assert sum(int(m.sum()) for m in added.values()) > live
    params = dict(net.named_parameters())
    for n in added:
        revived = added[n] & ~signed[n]
        assert (params[n].detach()[revived] != 0).all()  # revived weights get fresh values


def test_forge_keeps_owner_code_and_sparsity():
    model, _, signed, wb, qr = signed_ticket()
    recipe = TicketRecipe()
    net, forged, placement = forge(model, signed, wb, "thief", recipe.sign, 0.01, seed=0)
    assert sum(int(m.sum()) for m in forged.values()) == sum(int(m.sum()) for m in signed.values())
    if placement.layer == wb["layer"]:
        assert abs(placement.row - wb["row"]) >= 29 or abs(placement.col - wb["col"]) >= 29
    ex = extract_and_decode(forged[wb["layer"]], wb["row"], wb["col"], wb["qr"]["polarity"], qr, 3)
    assert ex.decoded == PAYLOAD


def test_run_attack_curve_shapes():
    model, _, signed, wb, _ = signed_ticket()
    loaders = synthetic_loaders()
    recipe = TicketRecipe()
    trig = make_trigger_set(10, 4, 1, 8)
    ev = Evaluator(wb, signed, trig, lambda x: x, loaders, "cpu")
    out = run_attack("prune", [0.0, 0.5, 0.99], model, signed, ev, recipe, loaders, "cpu", white_box=wb)
    pts = out["points"]
    assert [p["strength"] for p in pts] == [0.0, 0.5, 0.99]
    assert pts[0]["qr_decodable"] and pts[0]["bit_error_rate"] == 0.0 and pts[0]["jaccard"] == 1.0
    assert not pts[-1]["qr_decodable"]  # 99 % of the weights gone: nothing left to read
    assert out["summary"]["qr_breaks_at"] in (0.5, 0.99)


def test_path_removal_and_random_control():
    model, masks = ticket(0)
    weights = dict(model.named_parameters())
    g = torch.Generator().manual_seed(0)
    new, kernels = remove_paths(weights, masks, 20, g)
    assert 0 < kernels <= 20 * len([m for m in masks.values() if m.dim() == 4])
    removed_kernels = sum(int((masks[n].flatten(2).any(2) & ~new[n].flatten(2).any(2)).sum()) for n in masks)
    assert removed_kernels == kernels
    control = remove_random_kernels(masks, kernels, g)
    assert (
        sum(int((masks[n].flatten(2).any(2) & ~control[n].flatten(2).any(2)).sum()) for n in masks) == kernels
    )


def _independent_bers(n_seeds, train_steps):
    _, _, _, wb, qr = signed_ticket(seed=0)
    from vita_cli.methods.ticket.verify import qr_evidence

    bers = []
    for seed in range(1, n_seeds + 1):
        _, masks = ticket(seed, train_steps=train_steps)
        ev = qr_evidence(masks, wb)
        assert not ev.passed, f"independent ticket {seed} verified"
        bers.append(ev.details["bit_error_rate"])
    return bers


def test_independent_tickets_never_verify_fast():
    bers = _independent_bers(3, train_steps=1)
    assert min(bers) > 0.15, bers


@pytest.mark.slow
def test_twenty_independent_tickets_never_verify():
    bers = _independent_bers(20, train_steps=8)
    print("independent-ticket data BERs:", [round(b, 3) for b in bers])
    assert min(bers) > 0.15, bers


def test_kernel_floor_ignores_near_zero_added_connections():
    model, _, signed, wb, qr = signed_ticket()
    from vita_cli.sparsity import apply_masks

    apply_masks(model, signed)
    with torch.no_grad():  # give every live weight a normal magnitude (a trained ticket)
        for n, p in model.named_parameters():
            if n in signed:
                p.copy_(torch.where(signed[n], torch.sign(p) * (p.abs() + 0.1), p))
    net, added = add_connections(model, signed, 0.2, 1e-4, torch.Generator().manual_seed(0))
    host = dict(net.named_parameters())[wb["layer"]]
    plain = extract_and_decode(added[wb["layer"]], wb["row"], wb["col"], wb["qr"]["polarity"], qr, 3)
    floored = extract_and_decode(
        added[wb["layer"]], wb["row"], wb["col"], wb["qr"]["polarity"], qr, 3, host, kernel_floor=0.05
    )
    assert plain.decoded != PAYLOAD and plain.bit_error_rate > 0.1
    assert floored.decoded == PAYLOAD and floored.bit_error_rate == 0.0


def test_anchor_loss_lifts_weak_on_kernels():
    from vita_cli.methods.ticket.anchor import anchor_loss_factory
    from vita_cli.methods.ticket.embed import target_connectivity
    from vita_cli.methods.ticket.qr import data_module_mask

    model, _, signed, wb, qr = signed_ticket()
    on = target_connectivity(qr, wb["qr"]["polarity"]) & data_module_mask()
    factory = anchor_loss_factory(wb["layer"], wb["row"], wb["col"], on, signed[wb["layer"]], 10.0, 0.75)
    net = retrain(
        model,
        None,
        signed,
        synthetic_loaders(),
        TrainConfig(epochs=1, lr=0.05, amp=False, max_steps_per_epoch=6),
        "cpu",
        loss_factory=factory,
    )
    plain = retrain(
        model,
        None,
        signed,
        synthetic_loaders(),
        TrainConfig(epochs=1, lr=0.05, amp=False, max_steps_per_epoch=6),
        "cpu",
    )

    def weakest(m):
        w = dict(m.named_parameters())[wb["layer"]].detach().abs() * signed[wb["layer"]]
        block = w[wb["row"] : wb["row"] + 29, wb["col"] : wb["col"] + 29].flatten(2).max(2).values
        return float(block[torch.from_numpy(on)].quantile(0.1))

    assert weakest(net) > weakest(plain)
