"""brokers.registry: one entry per broker, read by make_broker, the CLI and --refresh; SDKs only on demand."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from brokers import BROKER_NAMES, BrokerConfigError, env_settings
from brokers.cli import register
from brokers.refresh import bar_source
from brokers.registry import BAR_BROKERS, REGISTRY, adapter_class, entry


def test_names_and_entries():
    assert BROKER_NAMES == ("paper", "alpaca", "ibkr") == tuple(e.name for e in REGISTRY)
    assert BAR_BROKERS == ("alpaca", "ibkr")
    assert entry(" IBKR ").name == "ibkr"
    for e in REGISTRY:
        assert adapter_class(e.name).name == e.name and e.description
    with pytest.raises(
        BrokerConfigError, match=r"unknown broker 'schwab'; expected one of \('paper', 'alpaca', 'ibkr'\)"
    ):
        entry("schwab")


def test_environment_settings_per_broker(monkeypatch):
    monkeypatch.setenv("ALPACA_DATA_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("ALPACA_LIVE", "no")
    monkeypatch.setenv("ALPACA_API_KEY", "AK-never-a-setting")
    monkeypatch.setenv("IBKR_PORT", "4002")
    monkeypatch.setenv("IBKR_LIVE", "TRUE")
    assert env_settings("paper") == {}
    assert env_settings("alpaca") == {"data_url": "http://127.0.0.1:1", "live": False}
    assert env_settings("ibkr") == {"port": 4002, "live": True}


def test_cli_broker_choices_come_from_the_registry():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    for argv in (["signals", "--preset", "p"], ["rebalance", "--preset", "p"], ["broker", "status"]):
        for name in BROKER_NAMES:
            assert parser.parse_args([*argv, "--broker", name]).broker == name


def test_a_broker_without_bar_source_names_those_with_one():
    with pytest.raises(BrokerConfigError, match=r"broker 'paper' has no bar source; use one of \('alpaca', 'ibkr'\)"):
        bar_source("paper", ["SPY"])


def test_settings_and_the_paper_adapter_load_no_sdk():
    code = (
        "import sys; from brokers.registry import REGISTRY, adapter_class, env_settings; "
        "[env_settings(e.name) for e in REGISTRY]; adapter_class('paper'); "
        "print(sorted(m for m in ('alpaca', 'ib_async', 'ib_insync') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
