"""Exception and warning types of qgmag.

Every error a user can cause is a subclass of :class:`QgmagError` (itself a
``ValueError``) whose message names the problem and the fix.
"""

from __future__ import annotations


class QgmagError(ValueError):
    """Bad input to qgmag: the message says what is wrong and how to fix it."""


class ModelError(QgmagError):
    """A model definition is invalid (shapes, indices, hermiticity, positions)."""


class WannierFormatError(QgmagError):
    """A file is not a valid Wannier90 file of the expected kind."""


class ConfigError(QgmagError):
    """A configuration file or option is invalid."""


class CheckpointError(QgmagError):
    """A checkpoint is corrupt or belongs to a different calculation."""


class QgmagWarning(UserWarning):
    """Numerically questionable but legal input (e.g. a smearing too small for the mesh)."""
