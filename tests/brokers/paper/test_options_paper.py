"""Options on the paper broker (issue 20 item 2): BSM prices from the underlying's last bar and a stated implied
vol, the chain, option orders (market / limit, whole contracts, multiplier 100), and settlement at expiry.

Every expected value is computed here by hand: the Black–Scholes–Merton formula written with math.erf, realized
vol with statistics.stdev, payoffs and cash flows with plain arithmetic."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import pandas as pd
import pytest

from brokers.base import OrderRejected, OrderRequest, PriceUnavailable
from brokers.desk import positions_view
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticBars, StaticPrices
from engine.config import Costs
from engine.ops.audit_log import AuditLog
from engine.ops.desk_store import DeskStore
from engine.options.occ import OptionContract

ASOF = dt.date(2026, 1, 2)  # the underlying's last bar (a Friday)
MARCH = dt.date(2026, 3, 20)  # third Friday of March 2026: 77 days after ASOF
RATE = 0.04
CASH = 100_000.0


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def bsm(right: str, s: float, k: float, days: int, vol: float, r: float = RATE) -> tuple[float, float]:
    """(price, delta) of a European option, no dividends: the textbook closed form."""
    t = days / 365.0
    d1 = (math.log(s / k) + (r + vol * vol / 2) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if right == "call":
        return s * norm_cdf(d1) - k * math.exp(-r * t) * norm_cdf(d2), norm_cdf(d1)
    return k * math.exp(-r * t) * norm_cdf(-d2) - s * norm_cdf(-d1), norm_cdf(d1) - 1.0


def bars(closes: list[float], end: dt.date = ASOF) -> pd.DataFrame:
    idx = pd.bdate_range(end=pd.Timestamp(end), periods=len(closes))
    return pd.DataFrame({"open": closes, "high": closes, "low": closes, "close": closes}, index=idx)


def extend(frame: pd.DataFrame, day: dt.date, close: float) -> pd.DataFrame:
    row = pd.DataFrame({"open": close, "high": close, "low": close, "close": close}, index=[pd.Timestamp(day)])
    return pd.concat([frame, row])


@pytest.fixture
def paper(tmp_path):
    source = StaticBars({"XYZ": bars([100.0] * 5), "SPX": bars([5000.0] * 5)})
    b = PaperBroker(
        tmp_path / "p.db",
        initial_cash=CASH,
        costs=Costs(),
        price_source=StaticPrices({"XYZ": 100.0, "SPX": 5000.0}),
        bar_source=source,
        option_rate=RATE,
        allow_short=True,
    )
    b.set_option_vol("XYZ", 0.30)
    b.set_option_vol("SPX", 0.20)
    return b, source


def call(k: float, root: str = "XYZ", expiry: dt.date = MARCH) -> OptionContract:
    return OptionContract(root, expiry, "call", k)


def test_buy_to_open_fills_at_the_model_price_and_the_position_carries_the_multiplier(paper):
    b, _ = paper
    c = call(100)
    price, _ = bsm("call", 100.0, 100.0, 77, 0.30)
    ack = b.submit(OrderRequest(c.occ_symbol(), 2, "buy", client_order_id="o1"))  # padded OCC reads too
    assert ack.symbol == "XYZ260320C00100000" and ack.status == "filled"
    assert b.order("o1").avg_fill_price == pytest.approx(price, rel=1e-9)
    (pos,) = b.positions()
    assert (pos.symbol, pos.quantity, pos.multiplier, pos.kind, pos.option) == (
        "XYZ260320C00100000",
        2,
        100,
        "option",
        c,
    )
    assert pos.market_value == pytest.approx(price * 2 * 100, rel=1e-9)
    acct = b.account()
    assert acct.cash == pytest.approx(CASH - price * 200, rel=1e-12)
    assert acct.equity == pytest.approx(CASH, rel=1e-12)  # marked at the same model price


def test_the_desk_shows_an_option_position_with_its_multiplier_in_value_and_pnl(paper):
    b, _ = paper
    b.set_option_vol("XYZ", 0.25)  # bought at the 25 % price, marked at 30 %
    paid, _ = bsm("call", 100.0, 100.0, 77, 0.25)
    b.submit(OrderRequest("XYZ260320C00100000", 3, "buy", client_order_id="d"))
    b.set_option_vol("XYZ", 0.30)
    marked, _ = bsm("call", 100.0, 100.0, 77, 0.30)
    _, frame = positions_view(b, previous_closes={}, store=DeskStore(b.db_path))
    row = frame.set_index("symbol").loc["XYZ260320C00100000"]
    assert row["market_value"] == pytest.approx(3 * 100 * marked, rel=1e-9)
    assert row["unrealized_pnl"] == pytest.approx(3 * 100 * (marked - paid), rel=1e-9)


def test_option_fills_pay_the_usual_slippage_and_commission_on_the_contract_notional(tmp_path):
    source = StaticBars({"XYZ": bars([100.0] * 5)})
    costs = Costs(commission_bps=10.0, min_commission=1.0, slippage_bps=20.0)
    b = PaperBroker(tmp_path / "p.db", costs=costs, price_source=StaticPrices({}), bar_source=source, option_rate=RATE)
    b.set_option_vol("XYZ", 0.30)
    price, _ = bsm("put", 100.0, 95.0, 77, 0.30)
    b.submit(OrderRequest("XYZ260320P00095000", 3, "buy", client_order_id="p"))
    px = price * 1.002
    fee = max(3 * 100 * px * 0.001, 1.0)
    assert b.fills()[0].price == pytest.approx(px, rel=1e-9) and b.fills()[0].commission == pytest.approx(fee)
    assert b.account().cash == pytest.approx(CASH - 300 * px - fee, rel=1e-12)


def test_the_chain_lists_model_quotes_and_greeks_around_the_last_close(paper):
    b, _ = paper
    chain = b.option_chain("XYZ", MARCH)
    strikes = sorted({float(q.contract.strike) for q in chain})
    assert strikes == [75.0, 80.0, 85.0, 90.0, 95.0, 100.0, 105.0, 110.0, 115.0, 120.0, 125.0]
    assert len(chain) == 22 and {q.expiry for q in chain} == {MARCH}
    for q in chain:
        price, delta = bsm(q.contract.right, 100.0, float(q.contract.strike), 77, 0.30)
        assert q.bid == q.ask == q.last == pytest.approx(price, rel=1e-9, abs=1e-12)
        assert q.delta == pytest.approx(delta, rel=1e-9, abs=1e-12)
        assert q.implied_vol == 0.30 and q.underlying_price == 100.0
    expiries = sorted({q.expiry for q in b.option_chain("XYZ")})
    assert expiries == [dt.date(2026, 1, 16), dt.date(2026, 2, 20), dt.date(2026, 3, 20)]  # next third Fridays


def test_the_vol_defaults_to_60_day_realized_then_to_a_quarter(tmp_path):
    closes = [100.0 * math.exp(0.01 * math.sin(i)) for i in range(80)]
    source = StaticBars({"ABC": bars(closes), "NEW": bars([50.0] * 10)})
    b = PaperBroker(tmp_path / "p.db", price_source=StaticPrices({}), bar_source=source)
    returns = [math.log(closes[i + 1] / closes[i]) for i in range(79)][-60:]
    vol, why = b.option_vol("ABC")
    assert why == "realized 60d" and vol == pytest.approx(statistics.stdev(returns) * math.sqrt(252), rel=1e-12)
    assert b.option_vol("NEW") == (0.25, "default")  # 9 returns: too few
    b.set_option_vol("NEW", 0.4)
    assert b.option_vol("NEW") == (0.4, "set")


def test_a_limit_order_below_the_model_rests_and_cancels(paper):
    b, _ = paper
    price, _ = bsm("call", 100.0, 105.0, 77, 0.30)
    limit = round(price * 0.5, 2)
    b.submit(OrderRequest("XYZ260320C00105000", 1, "buy", type="limit", limit_price=limit, client_order_id="lim"))
    (o,) = b.orders("open")
    assert (o.symbol, o.status, o.limit_price) == ("XYZ260320C00105000", "new", limit)
    b.cancel(o.id)
    assert b.order("lim").status == "canceled" and b.positions() == []
    assert b.account().cash == CASH


@pytest.mark.parametrize(
    "extra",
    [
        {"type": "stop", "stop_price": 5.0},
        {"type": "trailing_stop", "trail_percent": 10.0},
        {"type": "market", "order_class": "bracket", "take_profit": 9.0, "stop_loss": 3.0},
    ],
)
def test_an_option_order_type_the_broker_lacks_is_refused_before_anything_is_recorded(paper, extra):
    b, _ = paper
    with pytest.raises(OrderRejected, match="option XYZ260320C00100000: order (type|class)"):
        b.submit(OrderRequest("XYZ260320C00100000", 1, "buy", client_order_id="x", **extra))
    assert b.orders("all") == []


def test_an_expired_contract_is_refused_and_has_no_price(paper):
    b, _ = paper
    with pytest.raises(OrderRejected, match="expired on 2026-01-02"):
        b.submit(OrderRequest("XYZ260102C00100000", 1, "buy"))
    with pytest.raises(PriceUnavailable, match="expired"):
        b.latest_prices(["XYZ260102C00100000"])


def test_a_long_call_in_the_money_at_expiry_is_exercised_into_shares_at_the_strike(paper):
    b, source = paper
    price, _ = bsm("call", 100.0, 100.0, 77, 0.30)
    b.submit(OrderRequest("XYZ260320C00100000", 2, "buy", client_order_id="c"))
    source.bars["XYZ"] = extend(source.bars["XYZ"], MARCH, 112.0)
    (pos,) = b.positions()
    assert (pos.symbol, pos.quantity, pos.avg_price, pos.kind) == ("XYZ", 200, 100.0, "equity")
    assert b.account().cash == pytest.approx(CASH - 200 * price - 200 * 100.0, rel=1e-12)
    reasons = [o.reason for o in b.orders("closed") if o.client_order_id.startswith("expiry-")]
    assert len(reasons) == 2 and all("exercised at expiry (close 112, strike 100)" in r for r in reasons)
    events = AuditLog(b.db_path).events(kind="fill")
    assert len(events) == 1 and "buy 200 XYZ at 100" in events["message"].iloc[0]


def test_a_short_put_in_the_money_is_assigned_and_an_otm_call_expires_worthless(paper):
    b, source = paper
    put, _ = bsm("put", 100.0, 100.0, 77, 0.30)
    otm, _ = bsm("call", 100.0, 120.0, 77, 0.30)
    b.submit(OrderRequest("XYZ260320P00100000", 1, "sell", client_order_id="sp"))
    b.submit(OrderRequest("XYZ260320C00120000", 3, "buy", client_order_id="lc"))
    source.bars["XYZ"] = extend(extend(source.bars["XYZ"], MARCH, 90.0), MARCH + dt.timedelta(days=3), 91.0)
    (pos,) = b.positions()
    assert (pos.symbol, pos.quantity, pos.avg_price) == ("XYZ", 100, 100.0)  # assigned at the expiry close 90
    assert b.account().cash == pytest.approx(CASH + 100 * put - 300 * otm - 100 * 100.0, rel=1e-12)
    closed = {o.symbol: o for o in b.orders("closed") if o.client_order_id.startswith("expiry-")}
    assert "expired worthless" in closed["XYZ260320C00120000"].reason
    assert "assigned at expiry" in closed["XYZ260320P00100000"].reason


def test_an_index_option_settles_in_cash_at_intrinsic_times_the_multiplier(paper):
    b, source = paper
    price, _ = bsm("call", 5000.0, 4900.0, 77, 0.20)
    b.submit(OrderRequest("SPXW260320C04900000", 1, "buy", client_order_id="spx"))
    assert b.order("spx").avg_fill_price == pytest.approx(price, rel=1e-9)
    source.bars["SPX"] = extend(source.bars["SPX"], MARCH, 5100.0)
    assert b.positions() == []  # no shares of an index
    assert b.account().cash == pytest.approx(CASH - 100 * price + (5100.0 - 4900.0) * 100, rel=1e-12)
    (fill,) = [f for f in b.fills() if f.client_order_id.startswith("expiry-")]
    assert (fill.side, fill.quantity, fill.price) == ("sell", 1, 200.0)


def test_a_resting_option_limit_fills_once_the_model_price_reaches_it(paper):
    b, _ = paper
    at_30, _ = bsm("put", 100.0, 100.0, 77, 0.30)
    at_20, _ = bsm("put", 100.0, 100.0, 77, 0.20)
    limit = round((at_30 + at_20) / 2, 2)  # between the two model prices
    b.submit(OrderRequest("XYZ260320P00100000", 2, "buy", type="limit", limit_price=limit, client_order_id="rl"))
    assert b.match_open_orders() == [] and b.order("rl").status == "new"
    b.set_option_vol("XYZ", 0.20)  # the user's vol falls: the model price is now below the limit
    (changed,) = b.match_open_orders()
    assert changed.status == "filled" and changed.avg_fill_price == pytest.approx(at_20, rel=1e-9)
    assert b.account().cash == pytest.approx(CASH - 2 * 100 * at_20, rel=1e-12)
