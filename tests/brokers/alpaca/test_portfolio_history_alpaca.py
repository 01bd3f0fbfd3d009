"""AlpacaBroker.portfolio_history: Alpaca's equity history through the real alpaca-py client against the fake."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.base import BrokerConfigError


def _broker(fake) -> AlpacaBroker:
    return AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=5)


def test_portfolio_history_parses_points_and_skips_empty_ones(alpaca_fake):
    day = 86_400
    start = int(datetime(2024, 3, 1, 5, tzinfo=UTC).timestamp())  # midnight New York as a UTC instant
    alpaca_fake.history = [
        (start, None),  # before the account was funded: Alpaca sends null ...
        (start + day, 0.0),  # ... or zero
        (start + 2 * day, 100_000.0),
        (start + 3 * day, 101_250.5),
        (start + 4 * day, 99_875.25),
    ]
    points = _broker(alpaca_fake).portfolio_history(period="1M", timeframe="1D")
    assert points == [
        (datetime(2024, 3, 3, 5, tzinfo=UTC), 100_000.0),
        (datetime(2024, 3, 4, 5, tzinfo=UTC), 101_250.5),
        (datetime(2024, 3, 5, 5, tzinfo=UTC), 99_875.25),
    ]
    assert all(t.tzinfo is UTC for t, _ in points)
    assert alpaca_fake.history_queries == [{"period": "1M", "timeframe": "1D"}]


def test_portfolio_history_default_is_a_year_of_days_and_empty_is_empty(alpaca_fake):
    assert _broker(alpaca_fake).portfolio_history() == []
    assert alpaca_fake.history_queries == [{"period": "1A", "timeframe": "1D"}]


@pytest.mark.parametrize(("period", "timeframe"), [("1Y", "1D"), ("0D", "1D"), ("1A", "1W")])
def test_portfolio_history_refuses_bad_arguments_before_sending(alpaca_fake, period, timeframe):
    with pytest.raises(BrokerConfigError, match="alpaca portfolio_history: (period|timeframe)"):
        _broker(alpaca_fake).portfolio_history(period=period, timeframe=timeframe)
    assert alpaca_fake.history_queries == []
