"""Today's signals from a preset: fresh data -> the strategy's weights on the last bar -> target weights.

Bar timing (DESIGN §3): the weights decided at the close of the last bar are "today's signal": the backtest
would fill them at the next open, so daily operations trade them in the next session. The targets are the
backtest's own simulated weights on the last bar (per-symbol caps and leverage scaling of the preset applied)
so what is traded is what was tested. One path-dependent exception is handled the way the simulator does: if
the backtest was stopped out of a symbol (stop-loss / take-profit / trailing stop) and the strategy's weight
did not change on the last bar, the target stays 0 until a new signal (under "on_change" rebalancing).

Freshness: daily equity bars are complete after the session closes, so the expected last bar is the previous
business day (Mon-Fri) before `now`'s date in New York time. On Saturday that is Friday, on Monday it is
Friday, on Tuesday it is Monday. Exchange holidays are not known here: the day after a holiday flags the
data stale (a false alarm that says "check", never a silent pass). Data older than that is flagged `stale`.

Each signal is stored in the audit log with the data timestamp it used; `changes` compares it with the
previous stored signal of the same preset.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from engine.data import get_source, load_market_data
from engine.data.market import MarketData
from engine.errors import DataError
from engine.ops.audit_log import AuditLog
from engine.sim.simulate import run_backtest
from engine.store.presets import Preset, load_preset
from engine.strategies.boundary import call_strategy
from engine.strategies.registry import create_strategy

MARKET_TZ = "America/New_York"
WEIGHT_EPS = 1e-12
CHANGE_COLUMNS: tuple[str, ...] = ("symbol", "previous", "target", "change", "action")


@dataclass(frozen=True)
class SignalReport:
    """Today's targets of one preset.

    targets: symbol -> target weight (fraction of equity, negative = short) decided at the close of
        `data_timestamp`; every preset symbol is present (0 = flat).
    prices: symbol -> last close used (account currency per unit); a reference, not an order price.
    previous: targets of the previous stored signal of this preset (None if this is the first).
    changes: one row per symbol (CHANGE_COLUMNS); action is "enter", "exit", "increase", "decrease",
        "flip" or "hold".
    stale: the last bar is older than `expected_session` (see module docstring).
    costs_bps: the preset's commission and slippage compounded, in bps: ((1 + c)(1 + s) - 1) x 1e4; a buy of
        notional N costs at most N x (1 + costs_bps / 1e4), so the planner sizes buys with it.
    stops: symbol -> the tightest stop distance (fraction of the entry price: stop-loss or trailing stop) a
        trade entered now would get, from the strategy's stops on the last bar or the preset's; None = no stop.
    take_profits: symbol -> the take-profit distance (fraction of the entry price) a trade entered now would
        get, from the same sources as `stops`; None = no take-profit (the plan's reward:risk check reads it).
    protection: the preset's own stop_loss / take_profit / trailing_stop (fractions, only the ones set): what
        brokers.protect places at the broker after the entries fill ({} = no protective orders).
    """

    preset: str
    strategy: str
    params: dict[str, Any]
    symbols: tuple[str, ...]
    data_timestamp: pd.Timestamp
    expected_session: pd.Timestamp
    stale: bool
    targets: dict[str, float]
    prices: dict[str, float]
    previous: dict[str, float] | None
    changes: pd.DataFrame
    generated_at: datetime
    costs_bps: float = 0.0
    notes: tuple[str, ...] = ()
    signal_id: int | None = None
    last_bars: dict[str, str] = field(default_factory=dict)
    stops: dict[str, float | None] = field(default_factory=dict)
    take_profits: dict[str, float | None] = field(default_factory=dict)
    protection: dict[str, float] = field(default_factory=dict)

    @property
    def gross(self) -> float:
        """Sum of |target weight|."""
        return float(sum(abs(w) for w in self.targets.values()))

    def summary(self) -> str:
        held = ", ".join(f"{s} {w:+.1%}" for s, w in self.targets.items() if abs(w) > WEIGHT_EPS) or "all flat"
        stale = " STALE" if self.stale else ""
        return (
            f"{self.preset} ({self.strategy}) on bars to {self.data_timestamp.date()}{stale}: {held}; "
            f"{int((self.changes['action'] != 'hold').sum())} change(s)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "strategy": self.strategy,
            "params": self.params,
            "symbols": list(self.symbols),
            "data_timestamp": self.data_timestamp.isoformat(),
            "expected_session": self.expected_session.date().isoformat(),
            "stale": self.stale,
            "targets": self.targets,
            "prices": self.prices,
            "previous": self.previous,
            "changes": self.changes.to_dict(orient="records"),
            "generated_at": self.generated_at.isoformat(),
            "costs_bps": self.costs_bps,
            "notes": list(self.notes),
            "signal_id": self.signal_id,
            "last_bars": self.last_bars,
            "stops": self.stops,
            "take_profits": self.take_profits,
            "protection": self.protection,
        }


def expected_last_session(now: datetime | pd.Timestamp | None = None) -> pd.Timestamp:
    """The date of the newest complete daily equity bar one should have at `now` (default: now, UTC).

    The previous business day (Mon-Fri) before `now`'s calendar date in New York; naive `now` is taken as UTC.
    """
    ts = pd.Timestamp(now if now is not None else datetime.now(UTC))
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    day = ts.tz_convert(MARKET_TZ).tz_localize(None).normalize()
    return day - pd.offsets.BDay(1)


def _action(prev: float, new: float) -> str:
    if abs(new - prev) <= WEIGHT_EPS:
        return "hold"
    if abs(prev) <= WEIGHT_EPS:
        return "enter"
    if abs(new) <= WEIGHT_EPS:
        return "exit"
    if np.sign(prev) != np.sign(new):
        return "flip"
    return "increase" if abs(new) > abs(prev) else "decrease"


def changes_frame(previous: dict[str, float] | None, targets: dict[str, float]) -> pd.DataFrame:
    """Per symbol (union of both): previous weight, target weight, change and the action it means."""
    previous = previous or {}
    rows = []
    for sym in sorted(set(previous) | set(targets)):
        p, t = float(previous.get(sym, 0.0)), float(targets.get(sym, 0.0))
        rows.append((sym, p, t, t - p, _action(p, t)))
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


def last_bar_targets(
    data: MarketData, weights: pd.DataFrame, positions: pd.DataFrame
) -> tuple[dict[str, float], list[str]]:
    """Targets from the backtest's simulated weights and positions on the last bar (see module docstring)."""
    w = weights.iloc[-1].fillna(0.0)
    w_prev = weights.iloc[-2].fillna(0.0) if len(weights) > 1 else w * np.nan
    held = positions.iloc[-1].fillna(0.0)
    out, notes = {}, []
    for sym in data.symbols:
        target = float(w[sym])
        if (
            abs(target) > WEIGHT_EPS
            and abs(float(held[sym])) <= WEIGHT_EPS
            and abs(target - float(w_prev[sym])) <= WEIGHT_EPS
        ):
            notes.append(f"{sym}: the backtest was stopped out and the signal did not change: target 0")
            target = 0.0
        out[sym] = 0.0 if abs(target) <= WEIGHT_EPS else target
    return out, notes


def stop_distances(
    strategy: Any, data: MarketData, risk: Any
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """(stops, take_profits) per symbol on the last bar, fractions of the entry price, None = off: the tightest
    of stop-loss and trailing stop, and the take-profit; from the strategy's `stop_fractions` for a key it
    returns, else the preset's risk."""
    custom = call_strategy(strategy, "stop_fractions", data) or {}
    return (
        _distances(custom, data, risk, ("stop_loss", "trailing_stop")),
        _distances(custom, data, risk, ("take_profit",)),
    )


def _distances(
    custom: dict[str, pd.DataFrame], data: MarketData, risk: Any, keys: tuple[str, ...]
) -> dict[str, float | None]:
    """Per symbol the smallest positive finite value of `keys` on the last bar (the strategy's frame for a key
    it returns, else the preset's scalar), or None."""
    out: dict[str, float | None] = {}
    for sym in data.symbols:
        cands = []
        for key in keys:
            if key in custom:
                v = custom[key].reindex(columns=data.close.columns).iloc[-1].get(sym)
            else:
                v = getattr(risk, key)
            if v is not None and np.isfinite(v) and v > 0:
                cands.append(float(v))
        out[sym] = min(cands) if cands else None
    return out


PROTECTION_KEYS: tuple[str, ...] = ("stop_loss", "take_profit", "trailing_stop")


def protection_of(risk: Any) -> dict[str, float]:
    """The preset risk's protective settings that are on: {key: fraction} over PROTECTION_KEYS."""
    return {k: float(getattr(risk, k)) for k in PROTECTION_KEYS if getattr(risk, k) is not None}


def generate_signals(
    preset: Preset | str,
    *,
    now: datetime | pd.Timestamp | None = None,
    data: MarketData | None = None,
    log: AuditLog | None = None,
    record: bool = True,
) -> SignalReport:
    """Today's targets for `preset` (a Preset or a preset name), stored in the audit log when `record`.

    Data: `data` if given (tests, a refreshed download), else the preset's data source from its start date to
    the newest bar (the preset's end date is ignored: signals are always about today). The strategy is run
    through the backtest (same caps, leverage scaling and stops as research). Raises ConfigError / DataError /
    StrategyError naming the problem (unknown preset, missing symbol, too little data).
    """
    p = preset if isinstance(preset, Preset) else load_preset(preset)
    request = p.to_request()
    strategy = create_strategy(request.strategy, request.params)
    if data is None:
        data = load_market_data(list(request.symbols), request.start, None, get_source(request.data_source))
    else:
        missing = [s for s in request.symbols if s not in data.symbols]
        if missing:
            raise DataError(f"preset {p.name!r}: the data has no {missing}")
        data = data.select(list(request.symbols))
    if len(data) < 2:
        raise DataError(f"preset {p.name!r}: {len(data)} bar(s) of data; signals need at least 2")
    result = run_backtest(data, strategy, request.config)
    targets, notes = last_bar_targets(data, result.weights, result.positions)

    last_bars: dict[str, str] = {}
    prices: dict[str, float] = {}
    for sym in data.symbols:
        col = data.close[sym].dropna()
        if col.empty:
            raise DataError(f"preset {p.name!r}: symbol {sym} has no close prices")
        last_bars[sym] = pd.Timestamp(col.index[-1]).date().isoformat()
        prices[sym] = float(col.iloc[-1])
    data_ts = pd.Timestamp(data.index[-1])
    expected = expected_last_session(now)
    oldest = pd.Timestamp(min(last_bars.values()))
    stale = bool(oldest < expected)
    if stale:
        late = sorted(s for s, d in last_bars.items() if pd.Timestamp(d) < expected)
        notes.append(f"stale data: last bar of {', '.join(late)} is before the expected session {expected.date()}")

    stops, take_profits = stop_distances(strategy, data, request.config.risk)
    log = log if log is not None else (AuditLog() if record else None)
    prev_row = log.last_signal(p.name) if log is not None else None
    previous = {k: float(v) for k, v in prev_row["targets"].items()} if prev_row else None
    report = SignalReport(
        preset=p.name,
        strategy=strategy.name,
        params=strategy.params_dict(),
        symbols=tuple(data.symbols),
        data_timestamp=data_ts,
        expected_session=expected,
        stale=stale,
        targets=targets,
        prices=prices,
        previous=previous,
        changes=changes_frame(previous, targets),
        generated_at=datetime.now(UTC),
        costs_bps=_compound_bps(request.config.costs.commission_bps, request.config.costs.slippage_bps),
        notes=tuple(notes),
        last_bars=last_bars,
        stops=stops,
        take_profits=take_profits,
        protection=protection_of(request.config.risk),
    )
    if record and log is not None:
        payload = report.to_dict()
        payload.pop("changes")
        sid = log.record_signal(p.name, strategy.name, data_ts, stale, targets, payload)
        report = _with_id(report, sid)
    return report


def _compound_bps(commission_bps: float, slippage_bps: float) -> float:
    return ((1 + commission_bps / 1e4) * (1 + slippage_bps / 1e4) - 1) * 1e4


def _with_id(report: SignalReport, sid: int) -> SignalReport:
    return replace(report, signal_id=sid)
