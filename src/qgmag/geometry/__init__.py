"""Band-resolved quantum geometry: Berry curvature, metric, orbital moment, Φ, F."""

from qgmag.geometry.dataset import BAND_QUANTITIES, band_geometry
from qgmag.geometry.quantities import MAGNETOELECTRIC_SIGN, to_vector

__all__ = ["BAND_QUANTITIES", "MAGNETOELECTRIC_SIGN", "band_geometry", "to_vector"]
