"""The Greeks of a book of positions (the what-if position records): per position, by symbol, by sector, in total.

Per position, in the book's money (quantity x multiplier included):
- delta in shares of the underlying (an equity: its quantity; an option: model delta x quantity x multiplier),
  dollar delta = delta x the underlying's price;
- gamma = the change of delta (shares) per 1 $ move of the underlying, dollar gamma = the change of dollar delta
  for a 1 % move of the underlying = gamma x price^2 / 100;
- theta in $ per calendar day, vega in $ per vol point (0.01 of vol), as engine.options.greeks gives them;
- beta-weighted delta = dollar delta x beta / the benchmark's price (shares of the benchmark), beta to the
  benchmark from the daily data up to the as-of bar (engine.whatif.history.betas, the same as a beta shock's).
Equities have no gamma, theta or vega. Options are valued as repricing does (BSM at the position's implied vol,
solved from its price when missing: engine.whatif.repricing.prepare).

Sectors come from a static map of the 36 bundled symbols (engine/data/sample/sectors.json, written by hand);
an option has its underlying's sector, a symbol outside the map is "Unknown".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from engine.data import SAMPLE_DIR, DataSource
from engine.errors import DataError
from engine.options.greeks import greeks
from engine.whatif.history import betas, load_closes
from engine.whatif.positions import Position
from engine.whatif.repricing import Holding, Market, prepare
from engine.whatif.scenario import DEFAULT_LOOKBACK

SECTORS_FILE = SAMPLE_DIR / "sectors.json"
UNKNOWN_SECTOR = "Unknown"
GREEKS = ("delta", "dollar_delta", "gamma", "dollar_gamma", "theta", "vega", "beta_delta", "beta_dollar_delta")
"""The additive figures of a position, in the order tables show them."""
GREEK_LABELS = {
    "delta": "Delta (shares)",
    "dollar_delta": "Dollar delta ($)",
    "gamma": "Gamma (shares per $1)",
    "dollar_gamma": "Dollar gamma ($ per 1 %)",
    "theta": "Theta ($/day)",
    "vega": "Vega ($/vol pt)",
    "beta_delta": "Beta-weighted delta ({benchmark} shares)",
    "beta_dollar_delta": "Beta-weighted dollar delta ($)",
}
"""Column headers with units ({benchmark} is filled in by `greek_label`)."""
type GroupBy = Literal["symbol", "sector"]


def greek_label(name: str, benchmark: str = "SPY") -> str:
    """The header of a Greek with its unit."""
    return GREEK_LABELS[name].format(benchmark=benchmark)


@cache
def _sector_file(path: Path) -> dict[str, str]:
    values = json.loads(path.read_text(encoding="utf-8"))
    return {k.upper(): str(v) for k, v in values.items() if not k.startswith("_")}


def sector_map() -> dict[str, str]:
    """symbol -> sector of the bundled symbols (static, see the module docstring)."""
    return dict(_sector_file(SECTORS_FILE))


@dataclass(frozen=True)
class PositionGreeks:
    """One position's line (see the module docstring for the units); beta figures None without a beta."""

    symbol: str
    kind: str
    underlying: str
    sector: str
    quantity: float
    underlying_price: float
    vol: float | None
    value: float
    beta: float | None
    delta: float
    dollar_delta: float
    gamma: float
    dollar_gamma: float
    theta: float
    vega: float
    beta_delta: float | None
    beta_dollar_delta: float | None


def _sum(values: Sequence[float | None]) -> float | None:
    """The sum, or None when any part is unknown (a partial beta-weighted total would mislead)."""
    return None if any(v is None for v in values) else float(sum(v for v in values if v is not None))


@dataclass(frozen=True)
class GreeksBook:
    asof: dt.date
    benchmark: str
    benchmark_price: float | None
    rows: list[PositionGreeks]
    warnings: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, float | None]:
        """Every Greek summed over the book, and its value (delta in shares adds shares of different underlyings:
        read the dollar and beta-weighted figures across symbols)."""
        out = {g: _sum([getattr(r, g) for r in self.rows]) for g in GREEKS}
        return {"value": float(sum(r.value for r in self.rows)), **out}

    def by(self, key: GroupBy) -> list[dict[str, float | str | None]]:
        """One row per underlying symbol (key "symbol") or sector, in order of first appearance, with the summed
        value and Greeks."""
        attr = {"symbol": "underlying", "sector": "sector"}.get(key)
        if attr is None:
            raise ValueError(f"group by {key!r}: expected symbol or sector")
        groups: dict[str, list[PositionGreeks]] = {}
        for r in self.rows:
            groups.setdefault(getattr(r, attr), []).append(r)
        return [
            {
                key: name,
                "value": float(sum(r.value for r in rows)),
                **{g: _sum([getattr(r, g) for r in rows]) for g in GREEKS},
            }
            for name, rows in groups.items()
        ]

    def to_dict(self) -> dict:
        return {
            "asof": self.asof.isoformat(),
            "benchmark": self.benchmark,
            "benchmark_price": self.benchmark_price,
            "positions": [asdict(r) for r in self.rows],
            "by_symbol": self.by("symbol"),
            "by_sector": self.by("sector"),
            "total": self.totals(),
            "warnings": list(self.warnings),
        }


def position_greeks(
    holding: Holding, market: Market, beta: float | None, benchmark_price: float | None, sector: str
) -> PositionGreeks:
    """The Greeks of one prepared holding (engine.whatif.repricing.prepare)."""
    p, spot = holding.position, holding.spot
    contract = p.contract
    if contract is None:
        value, delta, gamma, theta, vega = p.quantity * spot, p.quantity, 0.0, 0.0, 0.0
    else:
        assert holding.vol is not None and holding.years is not None
        g = greeks(
            contract.right, spot, float(contract.strike), holding.years, market.rate, holding.vol, market.dividend
        ).row()
        units = p.quantity * contract.multiplier
        value, delta, gamma = units * g["price"], units * g["delta"], units * g["gamma"]
        theta, vega = units * g["theta"], units * g["vega"]
    dollar_delta = delta * spot
    beta_dollar = None if beta is None else dollar_delta * beta
    beta_delta = None if beta_dollar is None or not benchmark_price else beta_dollar / benchmark_price
    return PositionGreeks(
        symbol=p.symbol,
        kind="option" if p.is_option else "equity",
        underlying=holding.underlying,
        sector=sector,
        quantity=p.quantity,
        underlying_price=spot,
        vol=holding.vol,
        value=float(value),
        beta=beta,
        delta=float(delta),
        dollar_delta=float(dollar_delta),
        gamma=float(gamma),
        dollar_gamma=float(gamma * spot * spot / 100.0),
        theta=float(theta),
        vega=float(vega),
        beta_delta=beta_delta,
        beta_dollar_delta=beta_dollar,
    )


def greeks_book(
    positions: Sequence[Position],
    market: Market,
    benchmark: str = "SPY",
    betas_by_symbol: Mapping[str, float] | None = None,
    benchmark_price: float | None = None,
    sectors: Mapping[str, str] | None = None,
    warnings: Sequence[str] = (),
) -> GreeksBook:
    """The book from positions and given betas (symbol -> beta to `benchmark`; a missing one leaves that line's
    beta-weighted figures empty) and the benchmark's price; pure, no data read (see `book_from_data`)."""
    bench = benchmark.strip().upper()
    found = {k.upper(): float(v) for k, v in (betas_by_symbol or {}).items()}
    sector_of = {k.upper(): v for k, v in (sector_map() if sectors is None else sectors).items()}
    rows = [
        position_greeks(
            h,
            market,
            1.0 if h.underlying == bench else found.get(h.underlying),
            benchmark_price,
            sector_of.get(h.underlying, UNKNOWN_SECTOR),
        )
        for h in prepare(positions, market)
    ]
    return GreeksBook(market.asof, bench, benchmark_price, rows, list(warnings))


def book_from_data(
    positions: Sequence[Position],
    market: Market,
    benchmark: str = "SPY",
    lookback: int = DEFAULT_LOOKBACK,
    source: DataSource | str | Path | None = None,
) -> GreeksBook:
    """The book with betas to `benchmark` from the daily data up to `market.asof` (the workspace's, else the
    bundled sample) and the benchmark's price: the book's own price of it when it holds it (or an option on it),
    else its last close up to the as-of date. A symbol without enough data gets no beta and a warning."""
    bench = benchmark.strip().upper()
    holdings = prepare(positions, market)
    underlyings = list(dict.fromkeys(h.underlying for h in holdings))
    warnings: list[str] = []
    found: dict[str, float] = {}
    bench_price = next((h.spot for h in holdings if h.underlying == bench), None)
    try:
        bench_close = load_closes([], bench, market.asof, source)[bench].dropna()
    except DataError as e:
        return greeks_book(positions, market, bench, {}, bench_price, warnings=[f"no beta-weighted figures: {e}"])
    if bench_price is None and not bench_close.empty:
        bench_price = float(bench_close.iloc[-1])
    for symbol in underlyings:
        if symbol == bench:
            continue
        try:
            close = load_closes([symbol], bench, market.asof, source)
            found.update(betas(close, [symbol], bench, lookback))
        except DataError as e:
            warnings.append(f"{symbol}: no beta to {bench}: {e}")
    return greeks_book(positions, market, bench, found, bench_price, warnings=warnings)
