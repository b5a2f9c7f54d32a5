"""Physical constants and unit factors, all derived from :mod:`scipy.constants` (CODATA).

qgmag works internally in eV (energies), Å (lengths), 1/Å (wave vectors), K
(temperatures) and fs (relaxation times). Every conversion to SI or to the reporting
units of SPEC §4 goes through a factor defined here, and nowhere else.
"""

from __future__ import annotations

from scipy import constants as _c

#: elementary charge e > 0 (C); the electron charge is -e.
ELEMENTARY_CHARGE: float = _c.e
#: reduced Planck constant (J s)
HBAR: float = _c.hbar
#: Planck constant (J s)
PLANCK: float = _c.h
#: Bohr magneton mu_B = e hbar / (2 m_e) (J/T = A m^2)
BOHR_MAGNETON: float = _c.physical_constants["Bohr magneton"][0]
#: electron mass (kg)
ELECTRON_MASS: float = _c.m_e
#: Boltzmann constant in eV/K
BOLTZMANN_EV: float = _c.physical_constants["Boltzmann constant in eV/K"][0]

#: 1 eV in J
EV: float = _c.electron_volt
#: 1 Å in m
ANGSTROM: float = _c.angstrom
#: 1 fs in s
FEMTOSECOND: float = _c.femto
#: 1 nm in m
NANOMETER: float = _c.nano

#: hbar^2 / (2 m_e) in eV Å^2 (kinetic energy of a free electron, E = HBAR2_OVER_2ME k^2)
HBAR2_OVER_2ME_EV_A2: float = HBAR**2 / (2.0 * ELECTRON_MASS) / EV / ANGSTROM**2

#: conductance quantum e^2/h (S)
E2_OVER_H: float = ELEMENTARY_CHARGE**2 / PLANCK
#: e^2/hbar (S)
E2_OVER_HBAR: float = ELEMENTARY_CHARGE**2 / HBAR

#: orbital moment (e/hbar) * X with X in eV Å^2, expressed in Bohr magnetons
ORBITAL_MOMENT_TO_BOHR: float = ELEMENTARY_CHARGE / HBAR * EV * ANGSTROM**2 / BOHR_MAGNETON

#: velocity: (1/hbar) dE/dk with dE/dk in eV Å, expressed in m/s
VELOCITY_EV_A_TO_M_S: float = EV * ANGSTROM / HBAR


def thermal_energy_ev(temperature_k: float) -> float:
    """k_B T in eV for a temperature in K."""
    return BOLTZMANN_EV * temperature_k
