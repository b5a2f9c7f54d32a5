"""Hamiltonians: tight-binding and continuum model types, and the built-in models."""

from qgmag.models.base import Model
from qgmag.models.continuum import Box, ContinuumModel, Disk
from qgmag.models.continuum_models import massive_dirac, rashba
from qgmag.models.lattice_models import haldane
from qgmag.models.registry import BUILTIN_MODELS, build_model
from qgmag.models.spin import spin_operators
from qgmag.models.tight_binding import TightBindingModel

__all__ = [
    "BUILTIN_MODELS",
    "Box",
    "ContinuumModel",
    "Disk",
    "Model",
    "TightBindingModel",
    "build_model",
    "haldane",
    "massive_dirac",
    "rashba",
    "spin_operators",
]
