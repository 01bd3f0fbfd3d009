"""Pre-trade risk checks of a rebalance plan, and the kill switch (DESIGN §8).
Long because: every pre-trade rule with its limit and message sits in one place (the limits, the checks and
the kill switch they trip); the account's round trips are engine.ops.round_trips.

Every check returns a `CheckResult` ("pass", "warn" or "fail", with the measured value, the limit and a
sentence saying why). Any "fail" blocks the plan; `require_approved` raises `RiskCheckFailed` naming each
failed check. Limits (`RiskLimits`) are fractions of account equity unless stated; defaults: gross leverage
1.0, weight per symbol 1.0, no absolute order-size limit, per-trade risk 3%, daily loss 5%, drawdown 7%.
They are configurable per call, or for the workspace in `<workspace>/risk_limits.json` (`load_limits`).

Definitions (all measured on the plan's post-trade portfolio at the plan's reference prices):
- gross_leverage = (sum of |target quantity x price| over managed symbols + |market value| of positions
  outside the preset) / equity.
- max_weight = max over symbols of |target quantity x price| / equity.
- max_order_notional = max over orders of quantity x price (account currency).
- per_trade_risk = for each order that opens or adds exposure: added notional x stop distance / equity, where
  the stop distance is the tightest of the strategy's / preset's stop-loss and trailing stop for that symbol.
  Without any stop the risk is not measurable and the check warns (it does not invent one).
- daily_loss = 1 - equity / (first equity recorded today, New York date), from the audit log's snapshots. A
  plan executed past the limit engages the kill switch ("risk_stop" alert), like consecutive_losses; turned
  off the same day, the next plan still past the limit engages it again (done for the day); it resets the
  next New York day.
- drawdown = 1 - equity / (highest equity recorded for this account).
- data_fresh: stale signals fail on a live account and warn on paper accounts (offline sample data is old).
- kill_switch: the file `<workspace>/KILL_SWITCH` exists (its text is the reason): everything is blocked.
- risk_sizing (risk_per_trade, default 1%): the plan sizes a new position (or what an order adds) from the
  risk and the stop distance: units = risk_per_trade x equity / |entry - stop| (engine.ops.rebalance); the check
  reports each cap with its numbers. A new position without a stop FAILS, naming the symbol, when the plan
  has stops configured for other symbols; when no stop is configured at all (a strategy without stops) the
  sizing cannot apply and the check warns, like per_trade_risk (the rule needs its input; nothing invented).
- reward_risk (min_reward_risk, default 2.0): for a new position with a take-profit, take_profit distance /
  stop distance (= (take_profit - entry) / (entry - stop)) must reach the minimum, else the plan is refused.
- consecutive_losses (max_consecutive_losses, default 3): the account's last N closed round trips (FIFO per
  symbol over the audit log's filled orders, `closed_trades`, counted from the last time a person turned the
  kill switch off) all lost: FAIL; executing such a plan (`require_approved`) engages the kill switch with the
  count and the trades as its reason and raises a "risk_stop" alert. It stays on until a person turns it off.
- market_hours (only when the broker has a clock): a warning, never a block, when the market is closed (market
  orders then wait for the next open, at that open's price).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import Field, StrictBool, StrictFloat
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.alerts import alert
from engine.config import DEFAULT_RISK_PER_TRADE, LosingStreak, RiskPerTrade
from engine.errors import ConfigError, EngineError
from engine.ops.checks import FAIL, PASS, WARN, CheckResult
from engine.ops.rebalance import RebalancePlan
from engine.ops.round_trips import losing_streak
from engine.store.workspace import workspace_dir
from engine.validation import FORBID, parse, validated

KILL_SWITCH_FILE = "KILL_SWITCH"
LIMITS_FILE = "risk_limits.json"
TOL = 1e-6
MARKET_TZ = "America/New_York"


class RiskCheckFailed(EngineError):
    """A plan failed one or more pre-trade checks; the message names each check and why."""


Limit = Annotated[StrictFloat, Field(gt=0, allow_inf_nan=False)]
"""A positive, finite limit (a fraction of equity unless stated)."""


@validated("risk limits")
@pydantic_dataclass(frozen=True, config=FORBID)
class RiskLimits:
    """Pre-trade limits (fractions of equity unless stated; None = no limit).

    max_gross_leverage: post-trade sum |position value| / equity.
    max_weight: post-trade |position value| / equity of any one symbol.
    max_order_notional: largest single order, account currency.
    per_trade_risk: loss at the stop of what an order adds, / equity.
    daily_loss_limit: equity drop since the first snapshot of the day (New York date).
    max_drawdown: equity drop from the highest recorded equity.
    allow_stale_data: let stale signals through on live accounts too.
    max_consecutive_losses: stop trading (kill switch) after this many losing round trips in a row.
    risk_per_trade: size a new position so its loss at the stop is this fraction of equity.
    min_reward_risk: smallest (take_profit - entry) / (entry - stop) of a new position with a take-profit.
    """

    max_gross_leverage: Limit = 1.0
    max_weight: Limit = 1.0
    max_order_notional: Limit | None = None
    per_trade_risk: Limit | None = 0.03
    daily_loss_limit: Limit | None = 0.05
    max_drawdown: Limit | None = 0.07
    allow_stale_data: StrictBool = False
    max_consecutive_losses: LosingStreak | None = 3
    risk_per_trade: RiskPerTrade | None = DEFAULT_RISK_PER_TRADE
    min_reward_risk: Annotated[StrictFloat, Field(gt=0, le=100, allow_inf_nan=False)] | None = 2.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RiskLimits:
        """Build from a plain mapping (the workspace's risk_limits.json); errors name the field and value."""
        return parse(cls, values)


def load_limits(path: str | Path | None = None) -> RiskLimits:
    """Limits from a JSON file (default `<workspace>/risk_limits.json`); the defaults if it does not exist."""
    target = Path(path) if path is not None else workspace_dir() / LIMITS_FILE
    if not target.is_file():
        return RiskLimits()
    try:
        values = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"risk limits file {target}: cannot read it: {e}") from None
    try:
        return RiskLimits.from_dict(values)
    except ConfigError as e:
        raise ConfigError(f"risk limits file {target}: {e}") from None


# ---------------------------------------------------------------------------------------------- kill switch
def kill_switch_path() -> Path:
    return workspace_dir() / KILL_SWITCH_FILE


def kill_switch_reason() -> str | None:
    """The kill switch's reason if it is on (the flag file exists), else None."""
    path = kill_switch_path()
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or "kill switch on (no reason given)"


def set_kill_switch(on: bool, reason: str = "") -> None:
    """Turn the kill switch on (writes the flag file with `reason`) or off (removes it)."""
    path = kill_switch_path()
    if on:
        path.write_text(reason.strip() or f"kill switch set at {datetime.now(UTC).isoformat()}", encoding="utf-8")
    else:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- checks
def _pct(x: float) -> str:
    return f"{x:.2%}"


def _limit_check(name: str, value: float, limit: float | None, label: str, fmt=_pct) -> CheckResult:
    if limit is None:
        return CheckResult(name, PASS, value, None, f"{label} {fmt(value)} (no limit set)")
    if value > limit + TOL:
        return CheckResult(name, FAIL, value, limit, f"{label} {fmt(value)} exceeds the limit {fmt(limit)}")
    return CheckResult(name, PASS, value, limit, f"{label} {fmt(value)} within the limit {fmt(limit)}")


def _day_start(history: pd.Series, now: datetime) -> float | None:
    if history.empty:
        return None
    idx = pd.DatetimeIndex(history.index)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx
    ts = pd.Timestamp(now)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    today = ts.tz_convert(MARKET_TZ).date()
    local = idx.tz_convert(MARKET_TZ)
    mask = [d.date() == today for d in local]
    todays = history[mask]
    return float(todays.iloc[0]) if len(todays) else None


def check_plan(
    plan: RebalancePlan,
    limits: RiskLimits | None = None,
    *,
    equity_history: pd.Series | None = None,
    kill_switch: str | None = None,
    now: datetime | None = None,
    market_open: bool | None = None,
    trades: pd.DataFrame | None = None,
) -> tuple[CheckResult, ...]:
    """Evaluate every pre-trade check on `plan` (pure: the caller supplies equity history and kill switch).

    equity_history: recorded account equity (UTC timestamps -> equity) BEFORE this plan; the plan's own
    equity is the current value. kill_switch: the reason if the switch is on, else None. market_open: the
    broker clock's answer (None = the broker has no clock: no market_hours check). trades: the account's
    closed round trips (`closed_trades`), oldest first, for the consecutive-losses rule (None = none known).
    """
    limits = limits or RiskLimits()
    now = now or datetime.now(UTC)
    eq = float(plan.equity)
    out: list[CheckResult] = []

    out.append(
        CheckResult("kill_switch", FAIL, 1.0, None, f"kill switch is ON: {kill_switch}")
        if kill_switch
        else CheckResult("kill_switch", PASS, 0.0, None, "kill switch is off")
    )
    if market_open is not None:
        out.append(market_hours_check(market_open))

    if plan.stale:
        blocking = plan.is_live and not limits.allow_stale_data
        msg = f"signal data ends {pd.Timestamp(plan.data_timestamp).date()}, older than the expected session" + (
            "; live accounts need fresh data" if blocking else " (allowed on a paper account)"
        )
        out.append(CheckResult("data_fresh", FAIL if blocking else WARN, None, None, msg))
    else:
        out.append(
            CheckResult("data_fresh", PASS, None, None, f"data ends {pd.Timestamp(plan.data_timestamp).date()} (fresh)")
        )

    if eq <= 0:
        out.append(CheckResult("equity", FAIL, eq, None, f"account equity {eq:,.2f} is not positive"))
        return tuple(out)

    values = {s: q * plan.prices[s] for s, q in plan.target_quantities.items()}
    gross = (sum(abs(v) for v in values.values()) + sum(abs(v) for v in plan.unmanaged.values())) / eq
    out.append(
        _limit_check(
            "gross_leverage", gross, limits.max_gross_leverage, "post-trade gross leverage", lambda x: f"{x:.3f}x"
        )
    )
    if values:
        sym, top = max(values.items(), key=lambda kv: abs(kv[1]))
        out.append(_limit_check("max_weight", abs(top) / eq, limits.max_weight, f"largest position ({sym})"))
    else:
        out.append(CheckResult("max_weight", PASS, 0.0, limits.max_weight, "no positions"))

    shorts = sorted(s for s, q in plan.target_quantities.items() if q < 0)
    if shorts and not plan.shorting:
        out.append(
            CheckResult(
                "shorting",
                FAIL,
                float(len(shorts)),
                0.0,
                f"short targets {shorts} but the broker account does not allow shorting",
            )
        )
    else:
        out.append(
            CheckResult(
                "shorting",
                PASS,
                float(len(shorts)),
                None,
                f"{len(shorts)} short target(s)" if shorts else "no short targets",
            )
        )

    if plan.orders:
        big = max(plan.orders, key=lambda o: o.notional)
        out.append(
            _limit_check(
                "max_order_notional",
                big.notional,
                limits.max_order_notional,
                f"largest order ({big.side} {big.quantity:g} {big.symbol}) notional",
                lambda x: f"{x:,.2f}",
            )
        )
    else:
        out.append(CheckResult("max_order_notional", PASS, 0.0, limits.max_order_notional, "no orders"))

    out.append(_trade_risk(plan, limits, eq))
    out.append(_sizing_check(plan, limits))
    out.append(_reward_risk_check(plan, limits))
    out.extend(account_stops(eq, limits, equity_history, trades, now))
    return tuple(out)


def account_stops(
    eq: float,
    limits: RiskLimits,
    equity_history: pd.Series | None = None,
    trades: pd.DataFrame | None = None,
    now: datetime | None = None,
) -> tuple[CheckResult, ...]:
    """The account-level rules at equity `eq`: consecutive_losses, daily_loss and drawdown (in that order). Shared
    by a rebalance plan's checks and the live loop's orders (brokers.live.guard); `engage_stop` turns a failed
    STOP_RULES check into the kill switch. equity_history: snapshots before now; trades: closed round trips."""
    now = now or datetime.now(UTC)
    out: list[CheckResult] = [_losses_check(trades, limits)]

    history = equity_history if equity_history is not None else pd.Series(dtype="float64")
    start = _day_start(history, now)
    if limits.daily_loss_limit is None:
        out.append(CheckResult("daily_loss", PASS, None, None, "no daily loss limit set"))
    elif start is None or start <= 0:
        out.append(
            CheckResult(
                "daily_loss",
                PASS,
                0.0,
                limits.daily_loss_limit,
                "first equity snapshot of the day: no loss measured yet",
            )
        )
    else:
        loss = max(0.0, 1.0 - eq / start)
        res = _limit_check("daily_loss", loss, limits.daily_loss_limit, f"loss today (from {start:,.2f} to {eq:,.2f})")
        if res.status == FAIL:
            res = CheckResult(
                res.name,
                FAIL,
                loss,
                limits.daily_loss_limit,
                f"daily loss limit tripped: equity fell {_pct(loss)} today (from {start:,.2f} to "
                f"{eq:,.2f}); limit {_pct(limits.daily_loss_limit)}",
            )
        out.append(res)

    if limits.max_drawdown is None:
        out.append(CheckResult("drawdown", PASS, None, None, "no drawdown limit set"))
    else:
        peak = max([eq, *[float(v) for v in history.to_numpy() if math.isfinite(v)]])
        dd = max(0.0, 1.0 - eq / peak) if peak > 0 else 0.0
        res = _limit_check("drawdown", dd, limits.max_drawdown, f"drawdown from the recorded peak {peak:,.2f}")
        if res.status == FAIL:
            res = CheckResult(
                res.name,
                FAIL,
                dd,
                limits.max_drawdown,
                f"drawdown limit tripped: equity {eq:,.2f} is {_pct(dd)} below the recorded peak "
                f"{peak:,.2f}; limit {_pct(limits.max_drawdown)}",
            )
        out.append(res)
    return tuple(out)


def market_hours_check(market_open: bool) -> CheckResult:
    """A warning when the broker's clock says the market is closed (orders queue for the next open)."""
    if market_open:
        return CheckResult("market_hours", PASS, 1.0, None, "the market is open (broker clock)")
    return CheckResult(
        "market_hours",
        WARN,
        0.0,
        None,
        "the market is CLOSED (broker clock): market orders wait for the next open and fill at "
        "that open's price, not the plan's",
    )


def _trade_risk(plan: RebalancePlan, limits: RiskLimits, eq: float) -> CheckResult:
    if limits.per_trade_risk is None:
        return CheckResult("per_trade_risk", PASS, None, None, "no per-trade risk limit set")
    worst, worst_sym, unmeasured = 0.0, "", []
    for o in plan.orders:
        cur, tgt = o.current_quantity, o.target_quantity
        flip = cur != 0 and tgt != 0 and (cur > 0) != (tgt > 0)
        added = abs(tgt) if flip else abs(tgt) - abs(cur)  # a flip opens the whole new side
        if added <= 0:
            continue
        stop = plan.stops.get(o.symbol)
        if stop is None:
            unmeasured.append(o.symbol)
            continue
        risk = added * o.reference_price * stop / eq
        if risk > worst:
            worst, worst_sym = risk, o.symbol
    if worst > limits.per_trade_risk + TOL:
        return CheckResult(
            "per_trade_risk",
            FAIL,
            worst,
            limits.per_trade_risk,
            f"{worst_sym}: the loss at its stop would be {_pct(worst)} of equity; limit {_pct(limits.per_trade_risk)}",
        )
    if unmeasured:
        return CheckResult(
            "per_trade_risk",
            WARN,
            worst or None,
            limits.per_trade_risk,
            f"no stop set for {sorted(unmeasured)}: per-trade risk not measurable"
            + (f"; others at most {_pct(worst)}" if worst else ""),
        )
    return CheckResult(
        "per_trade_risk",
        PASS,
        worst,
        limits.per_trade_risk,
        f"largest loss at a stop {_pct(worst)} of equity" + (f" ({worst_sym})" if worst_sym else ""),
    )


STOP_RULES: dict[str, Callable[[CheckResult], str]] = {
    "consecutive_losses": lambda c: f"{int(c.value or 0)} consecutive losing trades",
    "daily_loss": lambda c: f"daily loss {_pct(float(c.value or 0.0))}",
}
"""The checks whose failure stops trading (kill switch on) rather than only blocking the plan: name -> title."""


def engage_stop(checks: Iterable[CheckResult]) -> CheckResult | None:
    """The first failed STOP_RULES check of `checks`, after turning the kill switch on with its message as the
    reason and alerting "risk_stop" (unless the switch is already on); None when no such check failed."""
    stop = next((c for c in checks if c.status == FAIL and c.name in STOP_RULES), None)
    if stop is not None and kill_switch_reason() is None:
        set_kill_switch(True, f"risk stop: {stop.message}")
        alert("risk_stop", f"Trading stopped: {STOP_RULES[stop.name](stop)}", stop.message)
    return stop


def require_approved(plan: RebalancePlan) -> None:
    """Raise RiskCheckFailed listing every failed check of `plan` (no checks run = not approved). A failed
    consecutive_losses or daily_loss check (STOP_RULES) first engages the kill switch (its message is the
    reason) and alerts "risk_stop": trading stays stopped until a person turns the switch off."""
    if not plan.checks:
        raise RiskCheckFailed(f"plan {plan.plan_id}: risk checks have not been run")
    failed = [c for c in plan.checks if c.status == FAIL]
    engage_stop(failed)
    if failed:
        raise RiskCheckFailed(
            f"plan {plan.plan_id} blocked by {len(failed)} risk check(s): "
            + "; ".join(f"{c.name}: {c.message}" for c in failed)
        )


def _opening(o: Any) -> float:
    """Units an order opens or adds (a flip opens the whole new side); 0 when it only reduces."""
    cur, tgt = o.current_quantity, o.target_quantity
    flip = cur != 0 and tgt != 0 and (cur > 0) != (tgt > 0)
    return abs(tgt) if flip else max(0.0, abs(tgt) - abs(cur))


def _sizing_check(plan: RebalancePlan, limits: RiskLimits) -> CheckResult:
    risk = limits.risk_per_trade
    if risk is None:
        return CheckResult("risk_sizing", PASS, None, None, "no risk-per-trade sizing set")
    configured = any(v is not None for v in plan.stops.values())
    missing = sorted(o.symbol for o in plan.orders if _opening(o) > 0 and plan.stops.get(o.symbol) is None)
    if missing and configured:
        return CheckResult(
            "risk_sizing",
            FAIL,
            float(len(missing)),
            risk,
            f"risk_per_trade {risk:g}: new position(s) {missing} have no stop, so their size cannot follow "
            "from the risk; set a stop for them",
        )
    if missing:
        return CheckResult(
            "risk_sizing",
            WARN,
            None,
            risk,
            f"no stop configured (new position(s) {missing}): risk_per_trade {risk:g} sizing not applied",
        )
    if plan.risk_per_trade is None:
        return CheckResult("risk_sizing", PASS, None, risk, "plan built without risk sizing (per_trade_risk governs)")
    if plan.sizing:
        return CheckResult("risk_sizing", PASS, float(len(plan.sizing)), risk, "; ".join(msg for _, msg in plan.sizing))
    return CheckResult("risk_sizing", PASS, 0.0, risk, f"every new position within risk_per_trade {risk:g}")


def _reward_risk_check(plan: RebalancePlan, limits: RiskLimits) -> CheckResult:
    need = limits.min_reward_risk
    if need is None:
        return CheckResult("reward_risk", PASS, None, None, "no reward:risk minimum set")
    worst: tuple[float, str] | None = None
    bad: list[str] = []
    for o in plan.orders:
        tp, stop = plan.take_profits.get(o.symbol), plan.stops.get(o.symbol)
        if _opening(o) <= 0 or tp is None or stop is None or not stop > 0:
            continue
        ratio = tp / stop
        px = o.reference_price
        long = o.target_quantity > 0
        tp_px, stop_px = (px * (1 + tp), px * (1 - stop)) if long else (px * (1 - tp), px * (1 + stop))
        text = (
            f"{o.symbol}: reward:risk {ratio:.2f} = |take_profit {tp_px:,.2f} - entry {px:,.2f}| / "
            f"|entry {px:,.2f} - stop {stop_px:,.2f}|"
        )
        if ratio < need - TOL:
            bad.append(text)
        if worst is None or ratio < worst[0]:
            worst = (ratio, text)
    if bad:
        return CheckResult(
            "reward_risk",
            FAIL,
            worst[0] if worst else None,
            need,
            "order(s) refused: " + "; ".join(bad) + f" is below the minimum {need:.2f}",
        )
    if worst is None:
        return CheckResult("reward_risk", PASS, None, need, "no new position with a take-profit and a stop")
    return CheckResult("reward_risk", PASS, worst[0], need, f"lowest {worst[1]}, minimum {need:.2f}")


def _losses_check(trades: pd.DataFrame | None, limits: RiskLimits) -> CheckResult:
    n = limits.max_consecutive_losses
    if n is None:
        return CheckResult("consecutive_losses", PASS, None, None, "no consecutive-losses limit set")
    streak = losing_streak(trades)
    if len(streak) >= n:
        listed = "; ".join(
            f"{r.symbol} {r.quantity:g} @ {r.entry_price:,.2f} -> {r.exit_price:,.2f} ({r.pnl:+,.2f})"
            for r in streak.itertuples()
        )
        return CheckResult(
            "consecutive_losses",
            FAIL,
            float(len(streak)),
            float(n),
            f"{len(streak)} consecutive losing trades (limit {n}): {listed}; trading stops until a person "
            "turns the kill switch off",
        )
    return CheckResult(
        "consecutive_losses",
        PASS,
        float(len(streak)),
        float(n),
        f"{len(streak)} consecutive losing trade(s), limit {n}",
    )
