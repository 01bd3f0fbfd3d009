"""`dca`: dollar-cost averaging, expressed as weights.

The engine simulates one account with a fixed starting capital and no contributions, so DCA is modelled
plainly as **a fixed starting capital deployed in equal tranches**: each symbol gets 1/N of the capital, cut
into `tranches` equal tranches; one tranche is bought at the close of the first bar and at the first bar of
every new week or month after it, `dip_multiplier` tranches instead when the close is at least `dip_pct`
below its highest close of the last `dip_lookback` bars, until the symbol's share of the capital is spent
(the last buy takes what is left). The rest waits in cash.

The strategy keeps the DCA book at the decision closes (units bought = amount / close) and sets, on buy bars
only, each symbol's target weight to its invested value / the book's total value; between buys the target
does not change, so the simulator (rebalance "on_change") leaves the holdings alone. The simulator fills at
the next open, so the run's units differ from the book's by the overnight gap; average cost and the
money-weighted return of a run come from its fills (`engine.research.dca_report`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import PlotSeries, Strategy, param, require


def buy_bars(index: pd.Index, frequency: str) -> np.ndarray:
    """True on bar 0 and on the first bar of each new ISO week ("weekly") or calendar month ("monthly")."""
    idx = pd.DatetimeIndex(index)
    out = np.zeros(len(idx), dtype=bool)
    if len(idx) == 0:
        return out
    if frequency == "weekly":
        iso = idx.isocalendar()
        period = iso["year"].to_numpy(dtype="int64") * 100 + iso["week"].to_numpy(dtype="int64")
    else:
        period = idx.year.to_numpy() * 12 + idx.month.to_numpy()
    out[0] = True
    out[1:] = period[1:] != period[:-1]
    return out


@dataclass(frozen=True)
class DcaBook:
    """The DCA book per bar and symbol, per unit of starting capital: amount bought, units bought, cash left
    and units held after the bar's buy (all at the decision close)."""

    amount: np.ndarray
    units: np.ndarray
    cash: np.ndarray
    held: np.ndarray


def dca_book(
    close: np.ndarray,
    buys: np.ndarray,
    tranches: int,
    dip_multiplier: float,
    dip_pct: float,
    dip_lookback: int,
) -> DcaBook:
    """Run the tranche schedule over `close` (bars x symbols, NaN = no bar: no buy that bar)."""
    n, k = close.shape
    share = 1.0 / k
    tranche = share / tranches
    high = pd.DataFrame(close).rolling(dip_lookback, min_periods=1).max().to_numpy()
    amount = np.zeros((n, k))
    units = np.zeros((n, k))
    cash = np.zeros((n, k))
    held = np.zeros((n, k))
    left = np.full(k, share)
    own = np.zeros(k)
    for t in range(n):
        for j in range(k):
            price = close[t, j]
            if buys[t] and not np.isnan(price) and left[j] > 1e-15:
                dip = dip_multiplier > 1.0 and price <= (1.0 - dip_pct) * high[t, j]
                spend = min(tranche * (dip_multiplier if dip else 1.0), left[j])
                if left[j] - spend < 1e-12 * share:
                    spend = left[j]
                amount[t, j] = spend
                units[t, j] = spend / price
                left[j] -= spend
                own[j] += spend / price
        cash[t] = left
        held[t] = own
    return DcaBook(amount, units, cash, held)


class Dca(Strategy):
    """Dollar-cost averaging of a fixed capital in equal tranches, weekly or monthly, with an optional dip boost."""

    name = "dca"
    description = "Dollar-cost averaging: buy one tranche each week or month (more after a dip) until invested."

    @dataclass(frozen=True)
    class Params:
        frequency: str = param("monthly", choices=("weekly", "monthly"), doc="when a tranche is bought")
        tranches: int = param(12, 4, 52, 4, doc="the capital is cut into this many equal tranches")
        dip_multiplier: float = param(1.0, 1.0, 3.0, 0.5, doc="tranches bought after a dip (1 = no dip rule)")
        dip_pct: float = param(0.1, 0.05, 0.3, 0.05, doc="a dip: the close this far below its recent high")
        dip_lookback: int = param(63, 21, 252, 21, doc="the recent high is over this many bars")

        def __post_init__(self) -> None:
            require(
                self.frequency in ("weekly", "monthly"), f"frequency must be weekly or monthly, not {self.frequency!r}"
            )
            require(self.tranches >= 1, f"tranches must be >= 1, got {self.tranches}")
            require(self.dip_multiplier >= 1.0, f"dip_multiplier must be >= 1, got {self.dip_multiplier}")
            require(0.0 < self.dip_pct < 1.0, f"dip_pct must be in (0, 1), got {self.dip_pct}")
            require(self.dip_lookback >= 1, f"dip_lookback must be >= 1 bar, got {self.dip_lookback}")

    def book(self, data: MarketData) -> DcaBook:
        p = self.params
        close = data.close.to_numpy(dtype="float64")
        buys = buy_bars(data.index, p.frequency)
        return dca_book(close, buys, p.tranches, p.dip_multiplier, p.dip_pct, p.dip_lookback)

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        book = self.book(data)
        last = pd.DataFrame(data.close.to_numpy(dtype="float64")).ffill().to_numpy()
        invested = np.where(book.held > 0, book.held * np.nan_to_num(last), 0.0)
        total = invested.sum(axis=1) + book.cash.sum(axis=1)
        weights = np.where((book.amount.sum(axis=1) > 0)[:, None], invested / total[:, None], np.nan)
        weights = pd.DataFrame(weights, index=data.index, columns=data.close.columns)
        return weights.ffill().fillna(0.0)

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The book's average cost per unit after each buy (amount spent / units bought), over the prices."""
        book = self.book(data)
        spent = np.cumsum(book.amount, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            cost = np.where(book.held > 0, spent / book.held, np.nan)
        values = pd.DataFrame(cost, index=data.index, columns=data.close.columns)
        return {"average cost": PlotSeries(values.where(data.close.notna()))}
