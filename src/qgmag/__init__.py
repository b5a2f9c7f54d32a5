"""qgmag: quantum geometry of Bloch electrons and the magnetization it produces.

Public API (SPEC §5)::

    model = qgmag.TightBindingModel(lattice, positions, hoppings, onsite=None, spin=None)
    model = qgmag.models.haldane(...)
    model = qgmag.read_wannier90("seedname_tb.dat")
    bands = qgmag.band_geometry(model, kpoints)
    result = qgmag.compute(model, quantities, mu, temperature=0.0, kmesh=(n1, n2[, n3]))
"""

import sys as _sys

from qgmag import models
from qgmag.errors import (
    CheckpointError,
    ConfigError,
    ModelError,
    QgmagError,
    QgmagWarning,
    WannierFormatError,
)
from qgmag.filling import mu_from_filling
from qgmag.geometry import band_geometry
from qgmag.integrate import compute
from qgmag.interop import from_pythtb, from_tbmodels, read_tbmodels_hdf5
from qgmag.io import model_info, read_wannier90
from qgmag.models import ContinuumModel, TightBindingModel
from qgmag.units import convert_units
from qgmag.validation import finite_field

# the module moved to qgmag.validation; its old import path keeps working
_sys.modules.setdefault(f"{__name__}.finite_field", finite_field)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ConfigError",
    "ContinuumModel",
    "ModelError",
    "QgmagError",
    "QgmagWarning",
    "TightBindingModel",
    "WannierFormatError",
    "__version__",
    "band_geometry",
    "compute",
    "convert_units",
    "finite_field",
    "from_pythtb",
    "from_tbmodels",
    "model_info",
    "mu_from_filling",
    "read_tbmodels_hdf5",
    "read_wannier90",
    "models",
]
