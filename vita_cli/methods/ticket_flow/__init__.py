"""IMP as a renormalization-group flow: DMD spectra of IMP flows, spectral distances, ticket transfer.

Public names: :func:`exact_dmd`, :func:`wasserstein1`, :func:`read_flow`, :func:`flow_spectra`,
:class:`TicketFlowRecipe`; the verb's actions live in :mod:`~vita_cli.methods.ticket_flow.pipeline`.
"""

from vita_cli.methods.ticket_flow.analysis import flow_spectra
from vita_cli.methods.ticket_flow.config import TicketFlowRecipe
from vita_cli.methods.ticket_flow.distance import wasserstein1
from vita_cli.methods.ticket_flow.dmd import exact_dmd
from vita_cli.methods.ticket_flow.flows import read_flow

__all__ = ["TicketFlowRecipe", "exact_dmd", "flow_spectra", "read_flow", "wasserstein1"]
