"""AlpacaBroker.replace (PATCH /v2/orders/{id}) through the real alpaca-py client against the fake Alpaca service:
the replacement's deterministic client_order_id keeps a retried modify from creating a second order, and what
Alpaca cannot replace is refused (before sending where we can tell) with the order id named."""

from __future__ import annotations

import uuid

import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.alpaca.orders import replacement_client_order_id
from brokers.base import MAX_CLIENT_ORDER_ID, BrokerUnavailable, InvalidOrder, OrderRejected, OrderRequest


def _broker(fake) -> AlpacaBroker:
    return AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=5)


def _resting_limit(b: AlpacaBroker, cid: str = "lim-1") -> str:
    return b.submit(OrderRequest("SPY", 3, "buy", type="limit", limit_price=450.0, client_order_id=cid)).id


def test_replacement_ids_are_deterministic_and_bounded():
    assert replacement_client_order_id("plan-7-SPY") == "plan-7-SPY-r1"
    assert replacement_client_order_id("plan-7-SPY-r1") == "plan-7-SPY-r2"
    assert replacement_client_order_id("plan-7-SPY-r9") == "plan-7-SPY-r10"
    long = "x" * MAX_CLIENT_ORDER_ID
    assert replacement_client_order_id(long) == "x" * (MAX_CLIENT_ORDER_ID - 3) + "-r1"
    assert replacement_client_order_id(replacement_client_order_id(long)) == "x" * (MAX_CLIENT_ORDER_ID - 3) + "-r2"


def test_a_retried_replace_creates_no_second_replacement(alpaca_fake):
    b = _broker(alpaca_fake)
    oid = _resting_limit(b)
    first = b.replace(oid, limit_price=460.0)
    again = b.replace(oid, limit_price=460.0)
    assert again == first and again.duplicate and not first.duplicate
    assert alpaca_fake.patches == 1 and len(alpaca_fake.orders) == 2
    assert alpaca_fake.patched == [{"limit_price": 460.0, "client_order_id": "lim-1-r1"}]
    with pytest.raises(
        OrderRejected, match=rf"alpaca replace {oid}: already replaced by order {first.id} \(lim-1-r1\)"
    ):
        b.replace(oid, limit_price=470.0)  # other values: the caller meant the replacement
    second = b.replace(first.id, limit_price=470.0)  # modifying the replacement is a new, numbered step
    assert second.client_order_id == "lim-1-r2" and alpaca_fake.patches == 2


def test_a_replace_whose_answer_was_lost_is_not_sent_again(alpaca_fake):
    b = _broker(alpaca_fake)
    oid = _resting_limit(b)
    alpaca_fake.drop_on_patch = True  # the replace arrives, the answer does not
    with pytest.raises(BrokerUnavailable):
        b.replace(oid, quantity=5, limit_price=455.0)
    (new,) = [o for o in alpaca_fake.orders if o["replaces"] == oid]
    ack = b.replace(oid, quantity=5, limit_price=455.0)  # the retry finds it
    assert ack.id == new["id"] and ack.duplicate and ack.client_order_id == "lim-1-r1" and ack.quantity == 5.0
    assert alpaca_fake.patches == 1


def test_an_existing_replacement_id_is_returned_without_a_patch(alpaca_fake):
    """Alpaca took the replace but has not marked the old order yet: the replacement's id is found first."""
    b = _broker(alpaca_fake)
    oid = _resting_limit(b)
    alpaca_fake.drop_on_patch = True
    with pytest.raises(BrokerUnavailable):
        b.replace(oid, limit_price=455.0)
    old = alpaca_fake.find(oid)
    old["status"], replaced_by = "new", old["replaced_by"]  # as if still pending
    ack = b.replace(oid, limit_price=455.0)
    assert ack.id == replaced_by and ack.duplicate and alpaca_fake.patches == 1


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"stop_price": 440.0}, r"stop_price 440\.0: a limit order has no stop_price"),
        ({"trail": 2.0}, r"trail 2\.0: a limit order has no trail"),
        ({"quantity": 2.5}, r"quantity 2\.5: Alpaca replaces whole-share quantities only"),
        ({"limit_price": -1.0}, r"limit_price -1\.0 must be a number > 0"),
    ],
)
def test_what_alpaca_cannot_replace_is_refused_before_sending(alpaca_fake, change, why):
    b = _broker(alpaca_fake)
    oid = _resting_limit(b)
    with pytest.raises(OrderRejected, match=rf"^alpaca replace {oid}: {why}; nothing sent$"):
        b.replace(oid, **change)
    assert alpaca_fake.patches == 0


def test_replace_errors_name_the_order(alpaca_fake):
    b = _broker(alpaca_fake)
    with pytest.raises(InvalidOrder, match="alpaca replace abc: nothing to change"):
        b.replace("abc")
    with pytest.raises(OrderRejected, match="alpaca replace not-a-uuid: 'not-a-uuid' is not an Alpaca order id"):
        b.replace("not-a-uuid", quantity=2)
    missing = str(uuid.uuid4())
    with pytest.raises(OrderRejected, match=rf"alpaca replace {missing}: order not found \(HTTP 404\)"):
        b.replace(missing, quantity=2)
    oid = _resting_limit(b)
    b.cancel(oid)
    with pytest.raises(OrderRejected, match=rf"alpaca replace {oid}: the order is 'canceled', not open"):
        b.replace(oid, limit_price=455.0)
    assert alpaca_fake.patches == 0


def test_the_service_refusing_a_replace_names_the_order(alpaca_fake):
    b = _broker(alpaca_fake)
    oid = _resting_limit(b)
    alpaca_fake.reject["SPY"] = "order is not replaceable right now"
    with pytest.raises(
        OrderRejected, match=rf"^alpaca replace {oid}: order is not replaceable right now \(HTTP 422\)$"
    ):
        b.replace(oid, limit_price=455.0)
    assert alpaca_fake.patches == 1 and alpaca_fake.find(oid)["status"] == "new"


def test_a_replacement_the_lookup_missed_is_found_after_the_uniqueness_refusal(alpaca_fake):
    """The first PATCH arrived; the old order still looks open and the id index lags: Alpaca's 422 "client_order_id
    must be unique" on the second PATCH leads to the existing replacement, not to a second one."""
    b = _broker(alpaca_fake)
    oid = _resting_limit(b)
    alpaca_fake.drop_on_patch = True
    with pytest.raises(BrokerUnavailable):
        b.replace(oid, limit_price=455.0)
    old = alpaca_fake.find(oid)
    old["status"], replaced_by = "new", old["replaced_by"]  # as if still pending ...
    alpaca_fake.lookup_misses["lim-1-r1"] = 1  # ... and the lookup by client order id lags
    ack = b.replace(oid, limit_price=455.0)
    assert ack.id == replaced_by and ack.duplicate and alpaca_fake.patches == 2
    assert len([o for o in alpaca_fake.orders if o["replaces"] == oid]) == 1
