"""Observables of SPEC §3 as composable (integrand, occupation kernel, prefactor) terms."""

from qgmag.observables.registry import OBSERVABLES, Observable, Parameters, Term

__all__ = ["OBSERVABLES", "Observable", "Parameters", "Term"]
