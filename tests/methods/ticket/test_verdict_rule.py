"""The printed rule, the evidence table's words and the verdict agree in every combination."""

import itertools

import pytest

from vita_cli.methods.ticket.verify import RULE, Evidence, verdict


def _row(check, passed, decisive=True):
    return Evidence(check, "v", "t", passed, decisive=decisive)


@pytest.mark.parametrize(
    "qr,trigger,overlap", list(itertools.product([True, False, None], [True, False, None], [True, False]))
)
def test_rule_table_and_verdict_agree(qr, trigger, overlap):
    rows = []
    if qr is not None:
        rows.append(_row("QR signature", qr))
    rows.append(_row("mask overlap (Jaccard)", overlap, decisive=False))
    if trigger is not None:
        rows.append(_row("trigger set", trigger))
    out = verdict(rows)
    # the rule: QR passes or the trigger set passes; overlap never decides
    assert out["verified"] == bool(qr or trigger)
    assert out["rule"] == RULE and "either alone decides" in RULE
    effects = {e["check"]: e["effect"] for e in out["evidence"]}
    assert effects["mask overlap (Jaccard)"].startswith("supporting only")
    for check, passed in (("QR signature", qr), ("trigger set", trigger)):
        if passed is None:
            continue
        if passed:
            assert effects[check] == "decides: verified" and check in out["decided_by"]
        elif out["verified"]:
            assert effects[check].startswith("not needed")
        else:
            assert effects[check] == "no proof from this check"
    assert bool(out["decided_by"]) == out["verified"]
