"""Alpaca protocol faults (issue 15 item 6): 429 with Retry-After, 5xx on submit (before and after the order is
made) and on the account, a 200 with a malformed body, a server that never answers. The REAL alpaca-py client
against FakeAlpacaServer on 127.0.0.1; what happened is counted at the server (its requests and orders), never
timed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brokers import make_broker
from brokers.alpaca.adapter import AlpacaBroker
from brokers.alpaca.faults import ATTEMPTS
from brokers.base import BrokerConfigError, BrokerUnavailable, OrderRequest, RateLimited
from tests.brokers.alpaca.alpaca_server import FakeAlpacaServer

ACCOUNT = ("GET", "/v2/account")
ORDERS = ("POST", "/v2/orders")
LOOKUP = ("GET", "/v2/orders:by_client_order_id")


@pytest.fixture
def fake() -> Iterator[FakeAlpacaServer]:
    with FakeAlpacaServer(lifetime=300.0) as server:  # stops itself, releasing any handler that hangs
        yield server


def broker(fake: FakeAlpacaServer, timeout: float = 5) -> AlpacaBroker:
    return AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=timeout)


def seen(fake: FakeAlpacaServer, endpoint: tuple[str, str]) -> int:
    return fake.requests.count(endpoint)


def one_line(e: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(e.value)
    assert "\n" not in text and text.startswith("alpaca"), text
    return text


def test_alpaca_429_waits_retry_after_then_the_read_succeeds(fake):
    fake.throttle(2, retry_after=1)
    assert broker(fake).account().cash == 100_000.0
    assert seen(fake, ACCOUNT) == 3  # two 429s, then the answer


def test_alpaca_429_every_time_is_one_line_naming_retry_after(fake):
    fake.throttle(100, retry_after=1)
    with pytest.raises(RateLimited) as e:
        broker(fake).account()
    assert one_line(e) == "alpaca: rate limited (429) on GET /v2/account (account); retry after 1 s"
    assert e.value.retry_after == 1 and seen(fake, ACCOUNT) == ATTEMPTS  # bounded


def test_alpaca_429_asking_for_more_than_the_cap_is_not_waited_for(fake):
    fake.throttle(100, retry_after=3600)
    with pytest.raises(RateLimited, match=r"retry after 3600 s$"):
        broker(fake).positions()
    assert seen(fake, ("GET", "/v2/positions")) == 1


def test_alpaca_429_on_submit_is_sent_again_after_the_wait_once(fake):
    fake.fail_before[ORDERS] = [429]  # refused unprocessed, without a Retry-After: our backoff
    ack = broker(fake).submit(OrderRequest("SPY", 2, "buy", client_order_id="rl-SPY"))
    assert ack.client_order_id == "rl-SPY" and ack.status == "filled"
    assert seen(fake, ORDERS) == 2 and fake.orders_created == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_alpaca_5xx_on_submit_after_the_order_was_made_returns_it_never_resent(fake, status):
    fake.fail_after[ORDERS] = [status]  # the order exists, the answer is an error (504: alpaca-py used to resend)
    ack = broker(fake).submit(OrderRequest("AAPL", 3, "buy", client_order_id="amb-AAPL"))
    assert (ack.client_order_id, ack.quantity, ack.status, ack.duplicate) == ("amb-AAPL", 3, "filled", False)
    assert seen(fake, ORDERS) == 1 and fake.orders_created == 1 and len(fake.orders) == 1
    assert fake.requests[-2:] == [ORDERS, LOOKUP]  # looked up right after the 5xx, nothing resent


def test_alpaca_5xx_on_submit_before_the_order_was_made_is_sent_once_more(fake):
    fake.fail_before[ORDERS] = [503]
    ack = broker(fake).submit(OrderRequest("AAPL", 3, "buy", client_order_id="b5-AAPL"))
    assert ack.client_order_id == "b5-AAPL" and ack.status == "filled"
    assert seen(fake, ORDERS) == 2 and fake.orders_created == 1
    first_post = fake.requests.index(ORDERS)
    assert fake.requests[first_post + 1] == LOOKUP  # the lookup came before the second POST


def test_alpaca_5xx_on_submit_every_time_is_one_clear_line_and_no_order(fake):
    fake.fail_before[ORDERS] = [500] * 10
    with pytest.raises(BrokerUnavailable) as e:
        broker(fake).submit(OrderRequest("AAPL", 3, "buy", client_order_id="x5-AAPL"))
    assert one_line(e) == (
        "alpaca submit: internal server error (HTTP 500); order x5-AAPL is not at alpaca: not placed"
    )
    assert seen(fake, ORDERS) == ATTEMPTS and fake.orders_created == 0


def test_alpaca_5xx_on_submit_and_on_its_lookup_looks_again_before_any_resend(fake):
    fake.fail_after[ORDERS] = [500]
    fake.lookup_errors = 1  # the lookup after the 500 fails too (500 on an existing order)
    ack = broker(fake).submit(OrderRequest("QQQ", 1, "buy", client_order_id="ll-QQQ"))
    assert ack.client_order_id == "ll-QQQ" and ack.duplicate  # found by the next attempt's lookup
    assert seen(fake, ORDERS) == 1 and fake.orders_created == 1


def test_alpaca_5xx_on_replace_after_the_replacement_was_made_returns_it(fake):
    b = broker(fake)
    b.submit(OrderRequest("SPY", 2, "buy", "limit", limit_price=450.0, client_order_id="rp-1"))
    (old,) = fake.orders
    fake.fail_after[("PATCH", f"/v2/orders/{old['id']}")] = [502]
    ack = b.replace(old["id"], limit_price=455.0)
    assert ack.client_order_id == "rp-1-r1" and not ack.duplicate
    assert fake.patches == 1 and len([o for o in fake.orders if o["replaces"] == old["id"]]) == 1


def test_alpaca_5xx_on_account_is_retried_then_succeeds(fake):
    fake.fail_before[ACCOUNT] = [503, 502]
    assert broker(fake).account().equity == 100_000.0
    assert seen(fake, ACCOUNT) == 3


def test_alpaca_5xx_on_account_every_time_is_one_line_naming_the_status(fake):
    fake.fail_before[ACCOUNT] = [503] * 10
    with pytest.raises(BrokerUnavailable) as e:
        broker(fake).account()
    assert one_line(e) == "alpaca account: service unavailable (HTTP 503)"
    assert seen(fake, ACCOUNT) == ATTEMPTS


def test_alpaca_malformed_json_on_account_is_named_not_no_answer(fake):
    fake.garbage[ACCOUNT] = 10
    with pytest.raises(BrokerUnavailable) as e:
        broker(fake).account()
    line = one_line(e)
    assert line.startswith("alpaca: malformed answer from GET /v2/account: ") and line.endswith("(account)")
    assert "no answer" not in line and seen(fake, ACCOUNT) == ATTEMPTS


def test_alpaca_malformed_json_once_on_positions_is_read_again(fake):
    fake.set_position("SPY", 4, 450.0)
    fake.garbage[("GET", "/v2/positions")] = 1
    assert [(p.symbol, p.quantity) for p in broker(fake).positions()] == [("SPY", 4.0)]
    assert seen(fake, ("GET", "/v2/positions")) == 2


def test_alpaca_malformed_json_on_submit_is_looked_up_never_resent(fake):
    fake.garbage[ORDERS] = 1  # the order is made; its answer is cut in half
    ack = broker(fake).submit(OrderRequest("SPY", 1, "buy", client_order_id="mj-SPY"))
    assert ack.client_order_id == "mj-SPY" and ack.status == "filled"
    assert seen(fake, ORDERS) == 1 and fake.orders_created == 1


def test_alpaca_server_that_never_answers_the_account_times_out_once(fake):
    fake.hang[ACCOUNT] = 10
    with pytest.raises(BrokerUnavailable) as e:
        broker(fake, timeout=1).account()
    expected = "alpaca: no answer from GET /v2/account within 1 s (account; timeout: IVYBT_ALPACA_TIMEOUT)"
    assert one_line(e) == expected
    assert seen(fake, ACCOUNT) == 1  # each try of a silent server costs the whole timeout: the caller decides


def test_alpaca_server_that_never_answers_a_submit_is_looked_up_and_acked_once(fake):
    fake.hang[ORDERS] = 1  # the order is made, its answer never comes
    ack = broker(fake, timeout=1).submit(OrderRequest("AAPL", 2, "buy", client_order_id="hg-AAPL"))
    assert ack.client_order_id == "hg-AAPL" and ack.status == "filled" and not ack.duplicate
    assert seen(fake, ORDERS) == 1 and fake.orders_created == 1


def test_alpaca_server_that_never_answers_the_lookup_sends_no_order(fake):
    fake.hang[LOOKUP] = 10
    with pytest.raises(BrokerUnavailable, match=r"no answer from GET /v2/orders:by_client_order_id within 1 s"):
        broker(fake, timeout=1).submit(OrderRequest("AAPL", 2, "buy", client_order_id="hl-AAPL"))
    assert seen(fake, ORDERS) == 0


def test_alpaca_server_that_never_answers_times_out_per_ivybt_alpaca_timeout(fake, monkeypatch):
    for var, value in (
        ("ALPACA_API_KEY", fake.key),
        ("ALPACA_SECRET_KEY", fake.secret),
        ("ALPACA_BASE_URL", fake.url),
        ("IVYBT_ALPACA_TIMEOUT", "1.5"),
    ):
        monkeypatch.setenv(var, value)
    fake.hang[ACCOUNT] = 1
    with pytest.raises(BrokerUnavailable, match=r"GET /v2/account within 1.5 s"):
        make_broker("alpaca").account()
    for bad in ("0", "-1", "soon", "nan"):
        monkeypatch.setenv("IVYBT_ALPACA_TIMEOUT", bad)
        with pytest.raises(BrokerConfigError, match=f"IVYBT_ALPACA_TIMEOUT='{bad}'"):
            make_broker("alpaca")
    with pytest.raises(BrokerConfigError, match="timeout=0"):
        broker(fake, timeout=0)
