"""Hamiltonians: tight-binding and continuum model types, and the built-in models."""

from qgmag.models.base import Model
from qgmag.models.continuum import Box, ContinuumModel, Disk
from qgmag.models.registry import BUILTIN_MODELS, build_model
from qgmag.models.spin import spin_operators
from qgmag.models.tight_binding import TightBindingModel
from qgmag.models.wannier_model import WannierModel

# the public builders refuse misspelled keywords with a QgmagError naming the parameters
massive_dirac, rashba = BUILTIN_MODELS["massive_dirac"], BUILTIN_MODELS["rashba"]
bhz, haldane = BUILTIN_MODELS["bhz"], BUILTIN_MODELS["haldane"]
kane_mele = BUILTIN_MODELS["kane_mele"]
pt_antiferromagnet = BUILTIN_MODELS["pt_antiferromagnet"]
qi_wu_zhang, weyl_lattice = BUILTIN_MODELS["qi_wu_zhang"], BUILTIN_MODELS["weyl_lattice"]

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
