"""Hamiltonians: tight-binding and continuum model types, and the built-in models."""

from qgmag.models.base import Model
from qgmag.models.continuum import Box, ContinuumModel, Disk
from qgmag.models.continuum_models import massive_dirac, rashba
from qgmag.models.lattice_models import (
    bhz,
    haldane,
    kane_mele,
    pt_antiferromagnet,
    qi_wu_zhang,
    weyl_lattice,
)
from qgmag.models.registry import BUILTIN_MODELS, build_model
from qgmag.models.spin import spin_operators
from qgmag.models.tight_binding import TightBindingModel
from qgmag.models.wannier_model import WannierModel

__all__ = [
    "BUILTIN_MODELS",
    "Box",
    "ContinuumModel",
    "Disk",
    "Model",
    "TightBindingModel",
    "WannierModel",
    "bhz",
    "build_model",
    "haldane",
    "kane_mele",
    "massive_dirac",
    "pt_antiferromagnet",
    "qi_wu_zhang",
    "rashba",
    "spin_operators",
    "weyl_lattice",
]
