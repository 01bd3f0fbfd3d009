"""`Context`: what an event strategy sees and does (history up to now, position, orders, account, order calls).

History is guarded: every series the strategy reads (`ctx.line`, `ctx.indicator`) is a `Line` indexed relative to
the current bar, `line[0]` now and `line[-k]` k bars ago; `line[1]` (the future) raises LookAheadError. An
indicator is computed once on the symbol's whole series by the strategy's function (pandas-ta is causal), and the
guard keeps every later value unreachable; the look-ahead audit (truncated runs place the same orders) checks
that the function itself is causal.

Orders go through the `Broker` protocol (the simulated broker in a backtest, a venue adapter live) with
deterministic client order ids: "<tag>-<bar time>-<symbol>-<n>", so a restarted live loop re-sending the decision
of the same bar sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.data.timeframes import native_timeframe, resample, session_for
from engine.data.visibility import align_closed
from engine.errors import StrategyError
from engine.orders.protocol import Broker
from engine.orders.values import MAX_CLIENT_ORDER_ID, OrderRequest, OrderStatus


class LookAheadError(StrategyError):
    """A strategy asked for a value after the current bar."""


class Column:
    """One symbol's prices as Python lists: what every `Bar` of the symbol reads. The close list is made at once
    (the loop reads it); open, high, low and volume on their first read (a strategy reading only indicators never
    pays for them)."""

    def __init__(self, symbol: str, arrays: dict[str, np.ndarray], j: int, times: Times) -> None:
        self.symbol, self.times, self._arrays, self._j = symbol, times, arrays, j
        self.close: list[float] = arrays["close"][:, j].tolist()

    def __getattr__(self, field: str) -> list[float]:  # only for a field not made yet
        if field not in ("open", "high", "low", "volume"):
            raise AttributeError(field)
        values: list[float] = self._arrays[field][:, self._j].tolist()
        setattr(self, field, values)
        return values


class Bar:
    """One symbol's bar `index` of the run: symbol, open, high, low, close, volume, time (read on access, so a
    bar costs two fields to make; the loop makes one per symbol and bar)."""

    __slots__ = ("_column", "index")

    def __init__(self, column: Column, index: int) -> None:
        self._column, self.index = column, index

    @property
    def symbol(self) -> str:
        return self._column.symbol

    @property
    def open(self) -> float:
        return self._column.open[self.index]

    @property
    def high(self) -> float:
        return self._column.high[self.index]

    @property
    def low(self) -> float:
        return self._column.low[self.index]

    @property
    def close(self) -> float:
        return self._column.close[self.index]

    @property
    def volume(self) -> float:
        return self._column.volume[self.index]

    @property
    def time(self) -> pd.Timestamp:
        return self._column.times[self.index]

    def __repr__(self) -> str:
        return f"Bar({self.symbol} {self.time}: O={self.open} H={self.high} L={self.low} C={self.close})"


class Times:
    """Bar times by position, made on demand: `index[t]` of a DatetimeIndex costs ~10 us, a Timestamp from the
    int64 nanoseconds ~1 us, and only bars with an order event ever need one."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.ns = index.as_unit("ns").asi8 if isinstance(index, pd.DatetimeIndex) else None
        self.tz = index.tz if isinstance(index, pd.DatetimeIndex) else None

    def __getitem__(self, t: int) -> Any:
        if self.ns is None:
            return self.index[t]
        return pd.Timestamp(int(self.ns[t]), tz=self.tz)

    def __len__(self) -> int:
        return len(self.index)


class Line:
    """A series seen from the current bar: line[0] now, line[-k] k bars ago (NaN before the data); no future."""

    __slots__ = ("_ctx", "_values", "name")

    def __init__(self, values: Sequence[float] | np.ndarray, ctx: Context, name: str) -> None:
        self._values = list(values)
        self._ctx, self.name = ctx, name

    def __getitem__(self, k: int) -> float:
        if k > 0:
            raise LookAheadError(f"{self.name}[{k}]: bar {k} after the current one is in the future")
        i = self._ctx.i + k
        return self._values[i] if i >= 0 else math.nan

    def __float__(self) -> float:
        return self[0]

    def __len__(self) -> int:
        return self._ctx.i + 1

    def window(self, n: int) -> np.ndarray:
        """The last `n` values up to and including the current bar (fewer at the start)."""
        end = self._ctx.i + 1
        return np.asarray(self._values[max(end - n, 0) : end], dtype=np.float64)


class Context:
    """The strategy's view of the run at the current bar `i` (see the module doc)."""

    def __init__(self, broker: Broker, data: MarketData, tag: str, state: dict[str, Any] | None = None) -> None:
        self.broker, self.data, self.tag = broker, data, tag
        self.symbols: list[str] = list(data.symbols)
        self.symbol: str = self.symbols[0] if self.symbols else ""
        self.i = -1
        self.times = Times(data.index)
        self.state: dict[str, Any] = {} if state is None else state
        """Strategy state the live loop persists between restarts (JSON-able values)."""
        self._sequence: dict[tuple[int, str], int] = {}
        self._position_of: Callable[[str], float] | None = getattr(broker, "position_of", None)
        self._declared: list[tuple[Callable[[pd.DataFrame], Any], str, Line]] = []
        self._bars: dict[str, pd.DataFrame] = {}

    # ------------------------------------------------------------------------------------------ history
    @property
    def time(self) -> pd.Timestamp:
        return self.data.index[self.i]

    def line(self, field: str = "close", symbol: str | None = None) -> Line:
        """A price field ("open", "high", "low", "close", "volume") of `symbol` (default: the first) as a Line."""
        sym = symbol or self.symbols[0]
        if field not in ("open", "high", "low", "close", "volume") or sym not in self.symbols:
            raise StrategyError(f"ctx.line({field!r}, {sym!r}): no such field or symbol in {self.symbols}")
        return self.indicator(lambda bars: bars[field], sym, f"{sym}.{field}")

    def indicator(self, fn: Callable[[pd.DataFrame], Any], symbol: str | None = None, name: str = "") -> Line:
        """`fn(bars)` on the symbol's own bars (columns open, high, low, close, volume), aligned to the run's bars,
        as a guarded Line. Call it in `on_start`."""
        sym = symbol or self.symbols[0]
        line = Line(self._computed(fn, sym, name), self, name or getattr(fn, "__name__", "indicator"))
        self._declared.append((fn, sym, line))
        return line

    def higher(
        self,
        timeframe: str,
        symbol: str | None = None,
        fn: Callable[[pd.DataFrame], Any] | None = None,
        field: str = "close",
        name: str = "",
    ) -> Line:
        """A higher timeframe of the symbol's bars (e.g. "1h" on minute bars): `fn(higher_bars)` (an indicator on
        the higher bars) or their `field`, each value visible only from the first bar closing at or after its higher
        bar's close (engine.data.visibility: never a bar still forming). Call it in `on_start`."""
        sym = symbol or self.symbols[0]
        session = session_for(sym)

        def compute(own: pd.DataFrame) -> np.ndarray:
            lower = native_timeframe(own.index)
            high = resample(own, timeframe, session, source=lower)
            values = fn(high) if fn is not None else high[field]
            series = pd.Series(np.asarray(values, dtype=np.float64).reshape(-1), index=high.index)
            return align_closed(series, pd.DatetimeIndex(own.index), lower, timeframe, session).to_numpy(np.float64)

        return self.indicator(compute, sym, name or f"{sym} {timeframe} {field if fn is None else 'indicator'}")

    def aligned(self, values: np.ndarray, name: str) -> Line:
        """Values already on the run's bars (one per bar of `data.index`) as a guarded Line: for adapters whose
        numbers come from a causal computation checked elsewhere (a weights strategy's targets: the look-ahead
        audit). Not recomputed by `refresh`."""
        if len(values) != len(self.data.index):
            raise StrategyError(f"{name}: {len(values)} values for {len(self.data.index)} bars")
        return Line(np.asarray(values, dtype=np.float64), self, name)

    def use_broker(self, broker: Broker) -> None:
        """Send orders to `broker` from now on (the live loop: a dry broker while it replays the past, then the
        venue)."""
        self.broker = broker
        self._position_of = getattr(broker, "position_of", None)

    def refresh(self, data: MarketData) -> None:
        """Move to longer data (the live loop, as new bars close): every line declared with `indicator` or `line` is
        computed again on it; the cursor `i`, the client order id numbers and `state` stay as they are."""
        if list(data.symbols) != self.symbols:
            raise StrategyError(f"refresh: symbols {list(data.symbols)} differ from the run's {self.symbols}")
        self.data, self.times, self._bars = data, Times(data.index), {}
        for fn, sym, line in self._declared:
            line._values = list(self._computed(fn, sym, line.name))

    def _computed(self, fn: Callable[[pd.DataFrame], Any], sym: str, name: str) -> np.ndarray:
        """`fn` on the symbol's own bars, aligned to the run's bars (NaN where the symbol has none)."""
        bars = self.bars(sym)
        values = fn(bars)
        if isinstance(values, pd.Series):
            array = values.to_numpy(dtype=np.float64)
        else:
            array = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(array) != len(bars):
            raise StrategyError(f"indicator {name or fn!r} on {sym}: {len(array)} values for {len(bars)} bars")
        if len(bars) == len(self.data.index):  # the symbol has every bar: nothing to align
            return array
        return pd.Series(array, index=bars.index).reindex(self.data.index).to_numpy(dtype=np.float64)

    def bars(self, symbol: str) -> pd.DataFrame:
        """The symbol's own bars over the whole run (for `indicator` only: the guard is the Line it returns)."""
        if symbol not in self._bars:
            fields = ("open", "high", "low", "close", "volume")
            frame = pd.DataFrame({f: getattr(self.data, f)[symbol].to_numpy() for f in fields}, index=self.data.index)
            has = frame["close"].notna().to_numpy()
            self._bars[symbol] = frame if has.all() else frame[has]
        return self._bars[symbol]

    def history(self, symbol: str | None = None, bars: int | None = None) -> pd.DataFrame:
        """The symbol's bars up to and including the current one (the last `bars` of them), a copy."""
        frame = self.bars(symbol or self.symbol).loc[: self.time]
        return (frame if bars is None else frame.iloc[-bars:]).copy()

    # ------------------------------------------------------------------------------------------ account
    def position(self, symbol: str | None = None) -> float:
        """Signed units held in `symbol` (default: the current bar's)."""
        sym = symbol or self.symbol
        if self._position_of is not None:
            return self._position_of(sym)
        return next((p.quantity for p in self.broker.positions() if p.symbol == sym), 0.0)

    @property
    def equity(self) -> float:
        return self.broker.account().equity

    @property
    def cash(self) -> float:
        return self.broker.account().cash

    def open_orders(self, symbol: str | None = None) -> list[OrderStatus]:
        """The strategy's open orders (of `symbol` when given)."""
        return [o for o in self.broker.orders("open") if symbol is None or o.symbol == symbol]

    # ------------------------------------------------------------------------------------------ orders
    def order(self, side: str, quantity: float, type: str = "market", symbol: str | None = None, **fields: Any) -> str:
        """Place an order (engine.orders.values.OrderRequest fields: limit_price, stop_price, trail_percent,
        trail_price, time_in_force, order_class, take_profit, stop_loss, stop_loss_limit); returns its id."""
        sym = symbol or self.symbol
        request = OrderRequest(sym, quantity, side, type, client_order_id=self._next_id(sym), **fields)
        return self.broker.submit(request).id

    def buy(self, quantity: float, type: str = "market", symbol: str | None = None, **fields: Any) -> str:
        return self.order("buy", quantity, type, symbol, **fields)

    def sell(self, quantity: float, type: str = "market", symbol: str | None = None, **fields: Any) -> str:
        return self.order("sell", quantity, type, symbol, **fields)

    def order_target_percent(self, weight: float, symbol: str | None = None) -> str | None:
        """Hold `weight` of the equity in `symbol` (negative: short) with a market order. In a backtest it is
        sized at its fill, on the equity marked at that open (as the vectorized engine sizes a target weight);
        live, from the latest price when sent. Returns the order id (None: nothing to trade)."""
        sym = symbol or self.symbol
        submit_target = getattr(self.broker, "submit_target", None)
        if submit_target is not None:
            return str(submit_target(sym, float(weight), self._next_id(sym)))
        price = self.broker.latest_prices([sym])[sym]
        delta = float(weight) * self.equity / price - self.position(sym)
        if abs(delta) * price < 1e-9 * max(abs(self.equity), 1.0):
            return None
        return self.order("buy" if delta > 0 else "sell", abs(delta), symbol=sym)

    def cancel(self, order_id: str) -> None:
        self.broker.cancel(order_id)

    def modify(self, order_id: str, **changes: Any) -> str:
        """Change a resting order: quantity, limit_price, stop_price, trail (None = unchanged)."""
        return self.broker.replace(order_id, **changes).id

    def close(self, symbol: str | None = None) -> str | None:
        """Cancel the symbol's open orders and close its position with a market order (None: nothing held)."""
        sym = symbol or self.symbol
        for o in self.open_orders(sym):
            self.broker.cancel(o.id)
        held = self.position(sym)
        if held == 0.0:
            return None
        return self.order("sell" if held > 0 else "buy", abs(held), symbol=sym)

    def _next_id(self, symbol: str) -> str:
        """Deterministic per (bar, symbol): "<tag>-<YYYYmmddHHMMSS or bar>-<symbol>-<n>"."""
        key = (self.i, symbol)
        n = self._sequence.get(key, 0) + 1
        self._sequence[key] = n
        stamp = _stamp(self.times, self.i)
        cid = f"{self.tag}-{stamp}-{symbol}-{n}"
        if len(cid) > MAX_CLIENT_ORDER_ID:
            raise StrategyError(f"client order id {cid!r} is longer than {MAX_CLIENT_ORDER_ID}: use a shorter tag")
        return cid


def _stamp(times: Times, i: int) -> str:
    """The bar time as digits (YYYYmmddHHMMSS, UTC wall time), or the bar position for data without times."""
    if i < 0:
        return "start"
    if times.ns is None:
        return str(times.index[i])
    moment = _EPOCH + dt.timedelta(microseconds=int(times.ns[i]) // 1000)  # ~1 us; Timestamp.strftime ~10 us
    return f"{moment.year:04d}{moment.month:02d}{moment.day:02d}{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"


_EPOCH = dt.datetime(1970, 1, 1)
