"""Numbers from the environment (timeouts, tolerances, rates): one reader, so every IVYBT_* setting is parsed,
bounded and reported the same way: `VAR='value': what it must be`, raised as the caller's error type."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import overload

from engine.errors import ConfigError


@overload
def env_number(
    var: str,
    default: float,
    accept: Callable[[float], bool],
    requirement: str,
    *,
    error: Callable[[str], Exception] = ...,
    not_a_number: str | None = ...,
) -> float: ...


@overload
def env_number(
    var: str,
    default: None,
    accept: Callable[[float], bool],
    requirement: str,
    *,
    error: Callable[[str], Exception] = ...,
    not_a_number: str | None = ...,
) -> float | None: ...


def env_number(
    var: str,
    default: float | None,
    accept: Callable[[float], bool],
    requirement: str,
    *,
    error: Callable[[str], Exception] = ConfigError,
    not_a_number: str | None = None,
) -> float | None:
    """The number in environment variable `var` (`default` when unset or blank). A value that is not a number
    raises `error("VAR='raw': <not_a_number or requirement>")`; one that `accept` refuses (NaN always is)
    raises `error("VAR='raw': <requirement>")`."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise error(f"{var}={raw!r}: {not_a_number or requirement}") from None
    if math.isnan(value) or not accept(value):
        raise error(f"{var}={raw!r}: {requirement}")
    return value
