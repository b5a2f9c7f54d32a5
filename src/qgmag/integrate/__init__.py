"""Brillouin-zone integration: plans, per-chunk integration, the compute driver."""

from qgmag.integrate.chunk import IntegrationPlan, PartialSums, integrate_chunk
from qgmag.integrate.driver import compute, run_serial

__all__ = ["IntegrationPlan", "PartialSums", "compute", "integrate_chunk", "run_serial"]
