"""make_broker: names, settings from the environment, secrets kept out of settings; lazy SDK imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from brokers import BrokerConfigError, make_broker, redact
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices


def test_paper_is_the_default(tmp_path, monkeypatch):
    b = make_broker(db_path=tmp_path / "p.db", price_source=StaticPrices({"SPY": 1.0}), initial_cash=5_000)
    assert isinstance(b, PaperBroker) and b.name == "paper" and b.account().cash == 5_000
    monkeypatch.setenv("IVYBT_BROKER", "paper")
    assert make_broker(db_path=tmp_path / "p.db").name == "paper"


def test_alpaca_from_environment(alpaca_fake, monkeypatch):
    monkeypatch.setenv("ALPACA_API_KEY", alpaca_fake.key)
    monkeypatch.setenv("ALPACA_SECRET_KEY", alpaca_fake.secret)
    monkeypatch.setenv("ALPACA_BASE_URL", alpaca_fake.url + "/v2/")  # a trailing /v2 is tolerated
    monkeypatch.setenv("ALPACA_DATA_URL", alpaca_fake.url)
    monkeypatch.setenv("IVYBT_BROKER", "alpaca")
    b = make_broker()
    assert b.name == "alpaca" and b.account().cash == 100_000.0 and not b.is_live
    monkeypatch.setenv("ALPACA_LIVE", "1")
    with pytest.raises(BrokerConfigError, match="IVYBT_ALLOW_LIVE"):
        make_broker("alpaca")


def test_ibkr_from_environment(tws_fake, ib_log, monkeypatch):
    monkeypatch.setenv("IBKR_PORT", str(tws_fake.port))
    monkeypatch.setenv("IBKR_CLIENT_ID", "31")
    b = make_broker("IBKR", timeout=3)
    try:
        assert b.name == "ibkr" and b.client_id == 31 and b.account().equity == 100_000.0
    finally:
        b.close()
    monkeypatch.setenv("IBKR_PORT", "seven")
    with pytest.raises(BrokerConfigError, match="IBKR_PORT='seven'"):
        make_broker("ibkr")


def test_bad_names_and_settings():
    with pytest.raises(BrokerConfigError, match="unknown broker 'schwab'"):
        make_broker("schwab")
    with pytest.raises(BrokerConfigError, match=r"unknown setting\(s\) \['cash'\]"):
        make_broker("paper", cash=1)


def test_redact_hides_secrets():
    assert redact({"api_key": "AK1", "secret_key": "S", "base_url": "http://x", "port": 7497}) == {
        "api_key": "***",
        "secret_key": "***",
        "base_url": "http://x",
        "port": 7497,
    }


def test_importing_brokers_loads_no_sdk():
    code = (
        "import sys, brokers, brokers.paper, brokers.base; "
        "print(sorted(m for m in ('alpaca', 'ib_async', 'ib_insync', 'streamlit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
