"""sign-ticket / verify-ticket / attack-ticket through the real CLI (tiny models, Fashion-MNIST subset)."""

import json

import pytest
import torch
from typer.testing import CliRunner

from vita_cli.cli.app import app
from vita_cli.models import build_model, save_model
from vita_cli.sparsity import magnitude_prune

TINY = ["--recipe", "ticket/tiny", "--device", "cpu", "--quiet"]
ARCH16 = {"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": 16}


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def make_ticket(path, sparsity=0.8, seed=0, arch=ARCH16, masks_for=None):
    torch.manual_seed(seed)
    model = build_model(arch)
    masks = magnitude_prune(model, sparsity)
    if masks_for is not None:
        masks = {k: v for k, v in masks.items() if k in masks_for}
    save_model(path, model, arch, masks)
    return path


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """One signed tiny ticket shared by the tests below (signing trains for a few steps)."""
    d = tmp_path_factory.mktemp("signed")
    ticket = make_ticket(d / "ticket.safetensors")
    r = run(
        "sign-ticket",
        ticket,
        "--payload",
        "acme-2026",
        "--out",
        d / "signed.safetensors",  # the form: --out names the signed ticket
        "--signature",
        d / "sig.json",
        "--json",
        *TINY,
    )
    assert r.exit_code == 0, r.stderr
    return d, json.loads(r.stdout)


def test_sign_keeps_sparsity_and_decodes(signed):
    d, out = signed
    assert out["live_weights_before"] == out["live_weights_after"]
    assert out["qr_decoded"] == "acme-2026" and out["qr_bit_error_rate"] == 0.0
    assert (d / "sig.mask.safetensors").is_file() and (d / "sig.triggers.safetensors").is_file()
    assert (d / "signed.run" / "qr.png").is_file()


def test_verify_signed_exit_0_and_unsigned_exit_1(signed):
    d, _ = signed
    r = run(
        "verify-ticket", d / "signed.safetensors", "--signature", d / "sig.json", "--json", "--device", "cpu"
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["verified"] is True
    qr = next(e for e in res["evidence"] if e["check"] == "QR signature")
    assert qr["decoded"] == "acme-2026" and qr["bit_error_rate"] == 0.0
    r = run(
        "verify-ticket", d / "ticket.safetensors", "--signature", d / "sig.json", "--json", "--device", "cpu"
    )
    assert r.exit_code == 1
    res = json.loads(r.stdout)
    assert res["verified"] is False
    qr = next(e for e in res["evidence"] if e["check"] == "QR signature")
    assert qr["bit_error_rate"] > 0.1


def test_verify_table_output(signed):
    d, _ = signed
    r = run("verify-ticket", d / "signed.safetensors", "--signature", d / "sig.json", "--device", "cpu")
    assert r.exit_code == 0
    assert "QR signature" in r.stdout and "VERIFIED" in r.stdout


def test_black_box_mode_uses_predictions_only(signed):
    d, _ = signed
    r = run(
        "verify-ticket",
        d / "signed.safetensors",
        "--signature",
        d / "sig.json",
        "--black-box",
        "--json",
        "--device",
        "cpu",
    )
    res = json.loads(r.stdout)
    assert [e["check"] for e in res["evidence"]] == ["trigger set"]
    # a few training steps do not teach the triggers: not verified from predictions alone
    assert r.exit_code == (0 if res["verified"] else 1)


def test_masks_folded_into_weights_are_read_from_zeros(signed, tmp_path):
    d, _ = signed
    from vita_cli.models import load_model

    loaded = load_model(d / "signed.safetensors")
    torch.save(loaded.model.state_dict(), tmp_path / "folded.pt")  # what prune.remove + save gives
    r = run(
        "verify-ticket", tmp_path / "folded.pt", "--signature", d / "sig.json", "--json", "--device", "cpu"
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["mask_source"] == "inferred from zero weights"


def _one_line_error(r, *words):
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_bad_input_exit_2(signed, tmp_path):
    d, _ = signed
    sig = d / "sig.json"
    # tampered JSON
    data = json.loads(sig.read_text())
    data["white_box"]["row"] += 1
    (tmp_path / "sig.json").write_text(json.dumps(data))
    for side in ("sig.mask.safetensors", "sig.triggers.safetensors"):
        (tmp_path / side).write_bytes((d / side).read_bytes())
    _one_line_error(
        run("verify-ticket", d / "signed.safetensors", "--signature", tmp_path / "sig.json"), "modified"
    )
    # missing host layer: a ticket whose masks do not include it
    host = data["white_box"]["layer"]
    others = [n for n in ("conv2.weight", "conv3.weight", "conv4.weight") if n != host]
    partial = make_ticket(tmp_path / "partial.safetensors", masks_for=others)
    _one_line_error(run("verify-ticket", partial, "--signature", sig), "no mask", host)
    # wrong shape: the same layer names at another width
    wide = make_ticket(tmp_path / "wide.safetensors", arch={**ARCH16, "width": 32})
    _one_line_error(run("verify-ticket", wide, "--signature", sig), "shape")
    # a dense model with no mask
    model = build_model(ARCH16)
    save_model(tmp_path / "dense.safetensors", model, ARCH16)
    _one_line_error(run("verify-ticket", tmp_path / "dense.safetensors", "--signature", sig), "no mask")
    # not a signature at all / missing file
    (tmp_path / "junk.json").write_text("{not json")
    _one_line_error(
        run("verify-ticket", d / "signed.safetensors", "--signature", tmp_path / "junk.json"), "JSON"
    )
    _one_line_error(run("verify-ticket", tmp_path / "nope.pt", "--signature", sig), "not found")


def test_sign_bad_input_exit_2(tmp_path):
    ticket = make_ticket(tmp_path / "t.safetensors")
    # conv2 of width-16 small_cnn has 16 input channels: too few for a 29×29 code
    r = run(
        "sign-ticket",
        ticket,
        "--payload",
        "x",
        "--layer",
        "conv2.weight",
        "--out",
        tmp_path / "r",
        *TINY,
        "train.epochs=0",
    )
    _one_line_error(r, "conv2.weight", "29")
    narrow = make_ticket(tmp_path / "narrow.safetensors", masks_for=["conv2.weight"])
    _one_line_error(
        run("sign-ticket", narrow, "--payload", "x", "--out", tmp_path / "r2", *TINY, "train.epochs=0"),
        "29 input and output channels",
    )
    dense = tmp_path / "dense.safetensors"
    save_model(dense, build_model(ARCH16), ARCH16)
    _one_line_error(run("sign-ticket", dense, "--payload", "x", "--out", tmp_path / "r3", *TINY), "no masks")
    _one_line_error(
        run("sign-ticket", ticket, "--payload", "x" * 60, "--out", tmp_path / "r4", *TINY), "does not fit"
    )


def test_torch_prune_layout_interop(tmp_path):
    """A ticket pruned and saved by plain torch.nn.utils.prune code can be signed and verified."""
    import torch.nn.utils.prune as prune

    from vita_cli.models.small_cnn import SmallCNN

    torch.manual_seed(3)
    net = SmallCNN(num_classes=10, in_channels=1, width=32)
    convs = [(net.conv2, "weight"), (net.conv3, "weight"), (net.conv4, "weight")]
    prune.global_unstructured(convs, pruning_method=prune.L1Unstructured, amount=0.9)
    sd = net.state_dict()
    assert "conv3.weight_orig" in sd and "conv3.weight_mask" in sd
    torch.save(sd, tmp_path / "ticket.pt")

    r = run(
        "sign-ticket",
        tmp_path / "ticket.pt",
        "--arch",
        "small_cnn",
        "--payload",
        "plain-torch",
        "--signature",
        tmp_path / "sig.json",
        "--signed",
        tmp_path / "signed.safetensors",
        "--no-trigger-set",
        "--out",
        tmp_path / "run",
        "--json",
        *TINY,
        "train.epochs=0",
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["qr_decoded"] == "plain-torch"

    # the thief re-exports the signed ticket in the prune layout again: still verified
    from vita_cli.models import export_prune_state_dict, load_model

    loaded = load_model(tmp_path / "signed.safetensors")
    torch.save(export_prune_state_dict(loaded.model, loaded.masks), tmp_path / "stolen.pt")
    r = run(
        "verify-ticket",
        tmp_path / "stolen.pt",
        "--arch",
        "small_cnn",
        "--signature",
        tmp_path / "sig.json",
        "--json",
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["format"] == "prune" and res["verified"]
    # the original, unsigned prune-layout ticket does not verify
    r = run(
        "verify-ticket",
        tmp_path / "ticket.pt",
        "--arch",
        "small_cnn",
        "--signature",
        tmp_path / "sig.json",
        "--json",
        "--device",
        "cpu",
    )
    assert r.exit_code == 1


def test_attack_ticket_writes_curves(signed):
    d, _ = signed
    out = d / "attack"
    r = run(
        "attack-ticket",
        d / "signed.safetensors",
        "--signature",
        d / "sig.json",
        "--attack",
        "prune",
        "--strength",
        "0,0.5,0.99",
        "--out",
        out,
        "--json",
        *TINY,
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert [p["strength"] for p in res["points"]] == [0.0, 0.5, 0.99]
    assert res["points"][0]["qr_decodable"] is True and res["points"][-1]["qr_decodable"] is False
    assert (out / "curves.json").is_file() and (out / "curves.png").is_file()
    r = run(
        "attack-ticket",
        d / "signed.safetensors",
        "--attack",
        "paths",
        "--strength",
        "0,5",
        "--out",
        d / "paths",
        "--json",
        *TINY,
        "train.max_steps_per_epoch=2",
    )
    assert r.exit_code == 0, r.stderr
    pts = json.loads(r.stdout)["points"]
    assert pts[1]["kernels_removed"] > 0 and "test_acc_random" in pts[1]
    r = run("attack-ticket", d / "signed.safetensors", "--attack", "prune", "--strength", "a,b", *TINY)
    _one_line_error(r, "--strength")
