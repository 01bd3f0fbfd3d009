"""AlpacaBroker: the real alpaca-py client against FakeAlpacaServer on 127.0.0.1."""

from __future__ import annotations

import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.base import (
    AuthError,
    BrokerConfigError,
    BrokerUnavailable,
    InsufficientFunds,
    OrderRejected,
    OrderRequest,
    PriceUnavailable,
    retry,
)


def broker(fake, **kw):
    return AlpacaBroker(
        kw.pop("api_key", fake.key),
        kw.pop("secret_key", fake.secret),
        base_url=fake.url,
        data_url=fake.url,
        timeout=5,
        **kw,
    )


def test_account_positions_prices_clock(alpaca_fake):
    alpaca_fake.set_position("SPY", 10, 450.0)
    alpaca_fake.set_position("QQQ", -2, 410.0)
    b = broker(alpaca_fake)
    acct = b.account()
    # equity = cash + 10 * 500 - 2 * 400
    assert (acct.cash, acct.equity, acct.buying_power) == (100_000.0, 104_200.0, 100_000.0)
    assert acct.account_id == "PA3FAKE0001" and acct.currency == "USD" and acct.is_live is False
    pos = {p.symbol: p for p in b.positions()}
    assert (pos["SPY"].quantity, pos["SPY"].avg_price, pos["SPY"].market_value) == (10, 450.0, 5000.0)
    assert (pos["QQQ"].quantity, pos["QQQ"].market_value) == (-2, -800.0)
    assert b.latest_prices(["SPY", "AAPL"]) == {"SPY": 500.0, "AAPL": 200.0}
    with pytest.raises(PriceUnavailable, match="NOPE"):
        b.latest_prices(["SPY", "NOPE"])
    assert b.market_open() is True
    assert ("GET", "/v2/stocks/trades/latest") in alpaca_fake.requests


def test_market_buy_and_sell_fill(alpaca_fake):
    b = broker(alpaca_fake)
    ack = b.submit(OrderRequest("AAPL", 10, "buy", client_order_id="p1-AAPL"))
    assert (ack.status, ack.quantity, ack.symbol, ack.side, ack.duplicate) == ("filled", 10, "AAPL", "buy", False)
    b.submit(OrderRequest("AAPL", 4, "sell", client_order_id="p2-AAPL"))
    b.submit(OrderRequest("SPY", 0.25, "buy", client_order_id="p2-SPY"))  # fractional
    pos = {p.symbol: p.quantity for p in b.positions()}
    assert pos == {"AAPL": 6.0, "SPY": 0.25}
    assert b.account().cash == pytest.approx(100_000 - 10 * 200 + 4 * 200 - 0.25 * 500)
    closed = {o.client_order_id: o for o in b.orders("closed")}
    assert set(closed) == {"p1-AAPL", "p2-AAPL", "p2-SPY"}
    assert (closed["p1-AAPL"].filled_quantity, closed["p1-AAPL"].avg_fill_price) == (10, 200.0)
    assert closed["p2-SPY"].quantity == 0.25 and closed["p2-SPY"].status == "filled"
    assert b.orders("open") == [] and len(b.orders("all")) == 3
    assert [f.quantity for f in b.fills()] == [10, 4, 0.25]
    assert alpaca_fake.orders_created == 3


def test_resubmit_same_client_order_id_sends_nothing(alpaca_fake):
    b = broker(alpaca_fake)
    order = OrderRequest("SPY", 3, "buy", client_order_id="plan9-SPY")
    first = b.submit(order)
    again = b.submit(order)
    assert again == first and again.duplicate
    assert alpaca_fake.order_posts == 1 and alpaca_fake.orders_created == 1
    assert b.order("plan9-SPY").filled_quantity == 3 and b.order("unknown-id") is None


def test_rejection_carries_the_message(alpaca_fake):
    alpaca_fake.reject["QQQ"] = "asset QQQ is not tradable"
    b = broker(alpaca_fake)
    with pytest.raises(OrderRejected, match="asset QQQ is not tradable"):
        b.submit(OrderRequest("QQQ", 1, "buy"))
    assert alpaca_fake.orders_created == 0


def test_insufficient_buying_power(alpaca_fake):
    b = broker(alpaca_fake)
    with pytest.raises(InsufficientFunds, match="insufficient buying power"):
        b.submit(OrderRequest("SPY", 1000, "buy"))  # 500,000 > 100,000 cash


def test_partial_fill_then_cancel(alpaca_fake):
    alpaca_fake.partial["SPY"] = 0.4
    b = broker(alpaca_fake)
    ack = b.submit(OrderRequest("SPY", 10, "buy", client_order_id="pf-SPY"))
    assert ack.status == "partially_filled"
    st = b.order("pf-SPY")
    assert (st.status, st.filled_quantity, st.remaining, st.avg_fill_price) == ("partially_filled", 4, 6, 500.0)
    assert [o.client_order_id for o in b.orders("open")] == ["pf-SPY"]
    b.cancel(st.id)
    assert b.order("pf-SPY").status == "canceled" and b.orders("open") == []
    with pytest.raises(OrderRejected, match="canceled"):
        b.cancel(st.id)
    with pytest.raises(OrderRejected, match="not an Alpaca order id"):
        b.cancel("pf-SPY")


def test_connection_dropped_mid_submit_then_retry_sends_nothing_twice(alpaca_fake):
    alpaca_fake.drop_on_order = 1  # the order arrives and fills, but the answer is lost
    b = broker(alpaca_fake)
    order = OrderRequest("AAPL", 5, "buy", client_order_id="drop-AAPL")
    with pytest.raises(BrokerUnavailable, match="alpaca submit"):
        b.submit(order)
    ack = retry(lambda: b.submit(order), attempts=3, backoff=0.01)
    assert ack.duplicate and ack.status == "filled" and ack.client_order_id == "drop-AAPL"
    assert alpaca_fake.order_posts == 1 and alpaca_fake.orders_created == 1
    assert {p.symbol: p.quantity for p in b.positions()} == {"AAPL": 5}


def test_server_gone_is_unavailable(alpaca_fake):
    b = broker(alpaca_fake)
    alpaca_fake.stop()
    with pytest.raises(BrokerUnavailable):
        b.account()


def test_fractional_only_where_the_asset_allows(alpaca_fake):
    alpaca_fake.not_fractionable.add("AAPL")
    b = broker(alpaca_fake)
    with pytest.raises(OrderRejected, match="AAPL is not fractionable"):
        b.submit(OrderRequest("AAPL", 0.5, "buy"))
    with pytest.raises(OrderRejected, match="fractional orders must be day orders"):
        b.submit(OrderRequest("SPY", 0.5, "buy", time_in_force="gtc"))
    assert alpaca_fake.order_posts == 0
    assert b.submit(OrderRequest("AAPL", 2, "buy")).status == "filled"


def test_auth_failures_never_show_the_secret(alpaca_fake, monkeypatch):
    b = broker(alpaca_fake, secret_key="wrong-secret-123")
    with pytest.raises(AuthError, match="401") as err:
        b.account()
    with pytest.raises(AuthError):
        b.submit(OrderRequest("SPY", 1, "buy"))
    assert "wrong-secret-123" not in str(err.value) and "wrong-secret-123" not in repr(b)
    with pytest.raises(AuthError, match="ALPACA_API_KEY"):
        AlpacaBroker(base_url=alpaca_fake.url)
    monkeypatch.setenv("APCA_API_KEY_ID", alpaca_fake.key)
    monkeypatch.setenv("APCA_API_SECRET_KEY", alpaca_fake.secret)
    assert AlpacaBroker(base_url=alpaca_fake.url).account().cash == 100_000.0
    monkeypatch.setenv("ALPACA_API_KEY", "other")
    monkeypatch.setenv("ALPACA_SECRET_KEY", "other")  # ALPACA_* wins over APCA_*
    with pytest.raises(AuthError):
        AlpacaBroker(base_url=alpaca_fake.url).account()


def test_live_needs_explicit_opt_in(monkeypatch):
    with pytest.raises(BrokerConfigError, match="IVYBT_ALLOW_LIVE=1"):
        AlpacaBroker("k", "s", live=True)
    with pytest.raises(BrokerConfigError, match="live endpoint but live=False"):
        AlpacaBroker("k", "s", base_url="https://api.alpaca.markets")
    monkeypatch.setenv("IVYBT_ALLOW_LIVE", "1")
    live = AlpacaBroker("k", "s", live=True)  # constructing sends nothing
    assert live.is_live and live.capabilities.live
    assert not AlpacaBroker("k", "s").is_live


def test_duplicate_422_returns_the_existing_order(alpaca_fake):
    b = broker(alpaca_fake)
    first = b.submit(OrderRequest("SPY", 2, "buy", client_order_id="dup-SPY"))
    alpaca_fake.lookup_misses["dup-SPY"] = 1  # the pre-submit lookup misses, so the POST goes out
    again = b.submit(OrderRequest("SPY", 2, "buy", client_order_id="dup-SPY"))
    assert again == first and again.duplicate
    assert alpaca_fake.order_posts == 2 and alpaca_fake.orders_created == 1  # the service refused the second
