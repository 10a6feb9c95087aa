"""Lottery-ticket ownership (Chen et al., NeurIPS 2021): QR signature in the mask, trigger set, attacks.

Public API:

- :class:`TicketRecipe`; the verbs' pipelines :func:`run_sign`, :func:`run_verify`, :func:`run_attack`
  (each returns a :class:`TicketResult` with ``to_dict()``);
- the steps a study composes (``experiments/``): :func:`sign_ticket`, :func:`verify`,
  :func:`attack_curve`, :class:`Evaluator`, :func:`run_fragility`, :func:`read_signature`,
  :func:`write_signature`, :func:`make_loaders`, :func:`test_accuracy`, :func:`trigger_accuracy`,
  :func:`binomial_p_value`, :func:`normalizer`, :func:`qr_evidence`.
"""

from vita_cli.methods.ticket.attacks import Evaluator
from vita_cli.methods.ticket.attacks import run_attack as attack_curve
from vita_cli.methods.ticket.config import TicketRecipe
from vita_cli.methods.ticket.engine import make_loaders, test_accuracy
from vita_cli.methods.ticket.fragility import run_fragility
from vita_cli.methods.ticket.pipeline import TicketResult, run_attack, run_sign, run_verify
from vita_cli.methods.ticket.sign import sign_ticket
from vita_cli.methods.ticket.signature import read_signature, write_signature
from vita_cli.methods.ticket.triggers import trigger_accuracy
from vita_cli.methods.ticket.verify import binomial_p_value, normalizer, qr_evidence, verify

__all__ = [
    "Evaluator",
    "TicketRecipe",
    "TicketResult",
    "attack_curve",
    "binomial_p_value",
    "make_loaders",
    "normalizer",
    "qr_evidence",
    "read_signature",
    "run_attack",
    "run_fragility",
    "run_sign",
    "run_verify",
    "sign_ticket",
    "test_accuracy",
    "trigger_accuracy",
    "verify",
    "write_signature",
]
