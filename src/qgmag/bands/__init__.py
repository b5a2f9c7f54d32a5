"""Band engine: H(k) and its derivatives diagonalized for a chunk of k-points."""

from qgmag.bands.engine import DEFAULT_DEGENERACY_TOL, BandData

__all__ = ["DEFAULT_DEGENERACY_TOL", "BandData"]
