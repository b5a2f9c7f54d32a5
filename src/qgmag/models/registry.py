"""Registry of built-in models by name, for configuration files and the CLI."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from qgmag.errors import ConfigError
from qgmag.models import continuum_models, lattice_models


def checked_keywords(builder: Callable[..., Any]) -> Callable[..., Any]:
    """``builder`` raising ConfigError (a QgmagError) for unknown or positional-extra
    arguments, naming the allowed parameters, instead of Python's TypeError."""
    import functools

    sig = inspect.signature(builder)

    @functools.wraps(builder)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise ConfigError(
                f"{builder.__name__}(): {exc}; parameters: {list(sig.parameters)}."
            ) from None
        return builder(*args, **kwargs)

    return wrapper


#: name -> builder function of every built-in model (misspelled keywords: ConfigError)
BUILTIN_MODELS: dict[str, Callable[..., Any]] = {
    "massive_dirac": checked_keywords(continuum_models.massive_dirac),
    "rashba": checked_keywords(continuum_models.rashba),
}
for _name in ("haldane", "kane_mele", "qi_wu_zhang", "bhz", "pt_antiferromagnet", "weyl_lattice"):
    if hasattr(lattice_models, _name):
        BUILTIN_MODELS[_name] = checked_keywords(getattr(lattice_models, _name))




def model_parameters(name: str) -> dict[str, Any]:
    """Parameter names and defaults of a built-in model."""
    if name not in BUILTIN_MODELS:
        raise ConfigError(f"unknown model {name!r}; built-in models: {sorted(BUILTIN_MODELS)}.")
    sig = inspect.signature(BUILTIN_MODELS[name])
    return {p.name: p.default for p in sig.parameters.values()}


def build_model(name: str, **parameters: Any) -> Any:
    """Build a built-in model by name, rejecting unknown parameters with the allowed ones."""
    allowed = model_parameters(name)
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        raise ConfigError(
            f"model {name!r} has no parameter(s) {unknown}; allowed: {sorted(allowed)}."
        )
    for key, value in parameters.items():
        default = allowed[key]
        if isinstance(default, int | float) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(
                    f"model {name!r} parameter {key!r} must be a number; got {value!r}."
                )
    return BUILTIN_MODELS[name](**parameters)
