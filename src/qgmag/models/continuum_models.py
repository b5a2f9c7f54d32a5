"""Built-in continuum (k·p) models: massive Dirac and the Rashba 2DEG."""

from __future__ import annotations

import numpy as np

from qgmag.constants import HBAR2_OVER_2ME_EV_A2
from qgmag.errors import ModelError
from qgmag.models.continuum import ContinuumModel, Disk
from qgmag.models.spin import PAULI, SIGMA_0, SIGMA_X, SIGMA_Y, SIGMA_Z


def massive_dirac(
    v: float = 1.0,
    m: float = 0.1,
    tilt: float = 0.0,
    valley: int = +1,
    k_max: float = 1.0,
) -> ContinuumModel:
    """2D massive Dirac model (one valley).

    H(k) = v (valley·k_x σ_x + k_y σ_y) + m σ_z + tilt·k_x σ_0

    v: velocity in eV·Å; m: mass in eV; tilt in eV·Å; valley = ±1; integration domain
    |k| <= k_max (1/Å). Closed forms (SPEC §2), d = sqrt(v²k² + m²): conduction band
    Ω^z = -valley·m v²/(2 d³), m^z = (e/hbar) d Ω^z; valence band Ω^z = +valley·m v²/(2 d³)
    with the same m^z. The σ are a pseudospin (no spin operator).
    """
    if valley not in (1, -1):
        raise ModelError(f"valley must be +1 or -1; got {valley}.")
    if v == 0:
        raise ModelError("the Dirac velocity v must be non-zero.")
    linear = np.stack([valley * v * SIGMA_X + tilt * SIGMA_0, v * SIGMA_Y])
    return ContinuumModel.polynomial(
        m * SIGMA_Z,
        linear,
        None,
        domain=Disk(k_max),
        name="massive_dirac",
        parameters={"v": v, "m": m, "tilt": tilt, "valley": valley, "k_max": k_max},
    )


def rashba(
    alpha: float = 0.5,
    effective_mass: float = 1.0,
    exchange: float = 0.0,
    k_max: float = 1.0,
) -> ContinuumModel:
    """Rashba two-dimensional electron gas.

    H(k) = hbar² k²/(2 m*) + alpha (σ_x k_y - σ_y k_x) + exchange·σ_z

    alpha in eV·Å, effective_mass m* in units of the electron mass, exchange in eV;
    spin S/hbar = σ/2; integration domain |k| <= k_max (1/Å). Bands
    E± = hbar²k²/2m* ± sqrt(alpha² k² + exchange²).
    """
    if effective_mass <= 0:
        raise ModelError(f"effective_mass must be positive (units of m_e); got {effective_mass}.")
    c2 = HBAR2_OVER_2ME_EV_A2 / effective_mass
    linear = np.stack([-alpha * SIGMA_Y, alpha * SIGMA_X])
    quadratic = np.zeros((2, 2, 2, 2), dtype=complex)
    quadratic[0, 0] = quadratic[1, 1] = c2 * SIGMA_0
    return ContinuumModel.polynomial(
        exchange * SIGMA_Z,
        linear,
        quadratic,
        domain=Disk(k_max),
        spin=0.5 * PAULI,
        name="rashba",
        parameters={
            "alpha": alpha,
            "effective_mass": effective_mass,
            "exchange": exchange,
            "k_max": k_max,
        },
    )
