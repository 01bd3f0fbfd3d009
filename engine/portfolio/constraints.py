"""Constraints of a portfolio optimization and the report of the weights they cut.

- per-position bounds (min / max weight; long-only, or long/short with a lower bound of -max_weight),
- gross leverage: sum |w| <= gross (binds long/short portfolios; a long-only one sums to 1),
- sector / group limits: the weights of a sector sum to at most `sector_max` (the symbol -> sector map shipped
  for the bundled symbols, engine/data/sample/sectors.json, shared with the Greeks book; "Unknown" otherwise),
- beta limit: |sum w_i beta_i| <= beta_max, betas of each symbol vs the benchmark over the same window,
- max pairwise correlation for new positions: a symbol not held before the rebalance joins only if its
  correlation with every symbol held or already admitted is at most `max_correlation` (held symbols first,
  then new ones in the data's order).

A weight a constraint cut (its unconstrained optimum, the same method with only the base bounds, differs) is
reported as a `Cut` naming the constraint(s) binding on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from engine.data.sources import SAMPLE_DIR
from engine.errors import ConfigError

SECTORS_FILE = SAMPLE_DIR / "sectors.json"
UNKNOWN_SECTOR = "Unknown"
TOL = 1e-6
"""A weight within TOL of a limit is at the limit; a change larger than TOL is a cut."""


@cache
def _sector_file() -> dict[str, str]:
    raw = json.loads(SECTORS_FILE.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in raw.items() if not str(k).startswith("_")}


def sector_map(symbols: Sequence[str]) -> dict[str, str]:
    """symbol -> sector of each of `symbols` from the shipped map (UNKNOWN_SECTOR when not listed)."""
    known = _sector_file()
    return {s: known.get(s, UNKNOWN_SECTOR) for s in symbols}


@dataclass(frozen=True)
class Constraints:
    """The limits of one optimization (None = no such limit); weights are fractions of equity."""

    min_weight: float = 0.0
    max_weight: float = 1.0
    long_short: bool = False
    gross: float | None = None
    sector_max: float | None = None
    sectors: Mapping[str, str] = field(default_factory=dict)
    beta_max: float | None = None
    max_correlation: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.max_weight <= 1:
            raise ConfigError(f"max_weight must be in (0, 1], got {self.max_weight}")
        if not self.long_short and not 0 <= self.min_weight < self.max_weight:
            raise ConfigError(f"min_weight must be in [0, max_weight {self.max_weight}), got {self.min_weight}")

    @property
    def bounds(self) -> tuple[float, float]:
        """(lower, upper) weight of every position."""
        return (-self.max_weight, self.max_weight) if self.long_short else (self.min_weight, self.max_weight)

    @property
    def base_bounds(self) -> tuple[float, float]:
        """The bounds of the unconstrained reference: only the side (long-only or long/short)."""
        return (-1.0, 1.0) if self.long_short else (0.0, 1.0)

    def binds(self) -> bool:
        """True when anything beyond the base bounds applies to the optimization itself."""
        return (
            self.bounds != self.base_bounds
            or self.gross is not None
            or self.sector_max is not None
            or self.beta_max is not None
        )


@dataclass(frozen=True)
class Cut:
    """A weight a constraint changed: the symbol, its unconstrained and its final weight, the constraint(s)."""

    symbol: str
    unconstrained: float
    weight: float
    constraint: str


def betas_array(values: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    """Each column's beta to `benchmark` over the same rows: cov(r_i, r_b) / var(r_b)."""
    bc = benchmark - benchmark.mean()
    var = float(bc @ bc)
    if var <= 0:
        raise ConfigError("beta limit: the benchmark's returns do not vary over the window")
    return (values - values.mean(axis=0)).T @ bc / var


def betas(returns: pd.DataFrame, benchmark: pd.Series) -> pd.Series:
    """Each column's beta to `benchmark` over the same rows (`betas_array` by symbol)."""
    b = benchmark.to_numpy(dtype="float64")
    return pd.Series(betas_array(returns.to_numpy(dtype="float64"), b), index=returns.columns)


def correlation_filter(
    returns: pd.DataFrame, held: Sequence[str], max_correlation: float | None
) -> tuple[list[str], list[Cut]]:
    """(the symbols that may hold a weight, the new ones left out with the correlation that excluded them)."""
    symbols = list(returns.columns)
    if max_correlation is None:
        return symbols, []
    corr = returns.corr().to_numpy()
    pos = {s: i for i, s in enumerate(symbols)}
    admitted = [s for s in symbols if s in set(held)]
    cuts = []
    for s in symbols:
        if s in admitted:
            continue
        worst = max(admitted, key=lambda a: corr[pos[s], pos[a]], default=None)
        if worst is not None and corr[pos[s], pos[worst]] > max_correlation:
            c = corr[pos[s], pos[worst]]
            cuts.append(Cut(s, np.nan, 0.0, f"max_correlation {max_correlation:g} (corr {c:.2f} with {worst})"))
        else:
            admitted.append(s)
    return [s for s in symbols if s in set(admitted)], cuts


def binding(weights: pd.Series, c: Constraints, beta: pd.Series | None) -> dict[str, list[str]]:
    """symbol -> the constraints at their limit that involve it (a bound, its sector, beta, gross)."""
    lo, hi = c.bounds
    sector_sum = weights.groupby(pd.Series({s: c.sectors.get(s, UNKNOWN_SECTOR) for s in weights.index})).sum()
    portfolio_beta = float(beta.reindex(weights.index).fillna(0.0) @ weights) if beta is not None else 0.0
    gross_at = c.gross is not None and float(weights.abs().sum()) >= c.gross - TOL
    beta_at = c.beta_max is not None and abs(portfolio_beta) >= c.beta_max - TOL
    out: dict[str, list[str]] = {}
    for s, w in weights.items():
        names = []
        if w >= hi - TOL and hi < c.base_bounds[1]:
            names.append(f"max_weight {hi:g}")
        if w <= lo + TOL and lo > c.base_bounds[0]:
            names.append(f"min_weight {lo:g}")
        sector = c.sectors.get(str(s), UNKNOWN_SECTOR)
        if c.sector_max is not None and sector_sum[sector] >= c.sector_max - TOL:
            names.append(f"sector {sector} <= {c.sector_max:g}")
        if beta_at:
            names.append(f"beta <= {c.beta_max:g} (portfolio {portfolio_beta:.2f})")
        if gross_at:
            names.append(f"gross <= {c.gross:g}")
        out[str(s)] = names
    return out


def cut_report(free: pd.Series, final: pd.Series, c: Constraints, beta: pd.Series | None) -> list[Cut]:
    """One `Cut` per symbol whose final |weight| is smaller than its unconstrained one by more than TOL, naming
    the constraints binding on it ("other constraints" when none binds on it: it gave way to another's limit).
    Weights that grew to make room are not cuts."""
    active = binding(final, c, beta)
    cuts = []
    for s in final.index:
        u, w = float(free.get(s, 0.0)), float(final[s])
        if abs(w) < abs(u) - TOL or (abs(u) > TOL and np.sign(w) != np.sign(u) and abs(u - w) > TOL):
            cuts.append(Cut(str(s), u, w, "; ".join(active.get(str(s), [])) or "other constraints"))
    return cuts
