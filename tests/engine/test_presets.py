"""Presets: round trip, atomic save, every invalid-preset message, secrets refused, shipped examples run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs, Risk
from engine.data import SAMPLE_DIR
from engine.errors import ConfigError
from engine.request import BacktestRequest, run_request
from engine.store.presets import Preset, delete_preset, list_presets, load_preset, save_preset
from engine.store.workspace import REPO_ROOT

SHIPPED = REPO_ROOT / "presets"
DAILY = SAMPLE_DIR  # the bundled copy of the real daily CSVs


def _request() -> BacktestRequest:
    return BacktestRequest(
        strategy="sma_cross",
        params={"fast": 20, "slow": 100},
        symbols=("SPY", "QQQ"),
        start="2005-01-01",
        end="2015-12-31",
        config=BacktestConfig(
            initial_cash=50_000.0,
            costs=Costs(commission_bps=7.5, min_commission=1.0, slippage_bps=2.0),
            risk=Risk(max_leverage=1.5, max_position=0.8, stop_loss=0.1),
            fill="next_close",
            fractional=False,
            rebalance="monthly",
            drift_threshold=0.02,
            benchmark="QQQ",
        ),
    )


def _write(folder: Path, name: str, values: dict | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(values if isinstance(values, str) else json.dumps(values), encoding="utf-8")
    return path


def _valid() -> dict:
    return {
        "schema_version": 1,
        "strategy": "sma_cross",
        "params": {"fast": 10, "slow": 50},
        "symbols": ["SPY"],
        "costs": {"commission_bps": 10},
        "risk": {},
        "created_at": "2026-01-01T00:00:00+00:00",
    }


def test_round_trip_keeps_every_field(presets):
    req = _request()
    preset = Preset.from_request("my_setup", req, description="two ETFs", universe=["QQQ"])
    path = save_preset(preset)
    assert path == presets / "my_setup.json"
    on_disk = json.loads(path.read_text())
    assert on_disk["schema_version"] == 1 and on_disk["strategy"] == "sma_cross"
    assert on_disk["costs"] == {"commission_bps": 7.5, "min_commission": 1.0, "slippage_bps": 2.0}
    assert on_disk["config"]["fill"] == "next_close" and on_disk["config"]["fractional"] is False
    loaded = load_preset("my_setup")
    assert loaded == preset
    assert loaded.to_request(use_universe=False) == req
    assert loaded.to_request().symbols == ("QQQ",)  # the kept universe is what gets traded
    assert list_presets() == ["my_setup"]
    assert not [p for p in presets.iterdir() if p.suffix != ".json"]  # no temp file left behind


def test_load_by_path_and_defaults(presets, tmp_path):
    path = _write(
        tmp_path / "elsewhere",
        "minimal",
        {"schema_version": 1, "strategy": "sma_cross", "params": {}, "symbols": ["spy"]},
    )
    p = load_preset(str(path))
    assert p.name == "minimal" and p.symbols == ("SPY",)
    assert p.to_request().config == BacktestConfig()


def test_save_refuses_overwrite_and_bad_names(presets):
    preset = Preset.from_request("dup", _request())
    save_preset(preset)
    with pytest.raises(ConfigError, match="already exists"):
        save_preset(preset)
    changed = Preset.from_request("dup", _request().with_changes(params={"fast": 5, "slow": 100}))
    save_preset(changed, overwrite=True)
    assert load_preset("dup").params == {"fast": 5, "slow": 100}
    for bad in ("../evil", "a/b", "", ".hidden", "x" * 65, "sp ace"):
        with pytest.raises(ConfigError, match="not allowed"):
            save_preset(Preset.from_request(bad, _request()))
    assert sorted(p.name for p in presets.iterdir()) == ["dup.json"]


def test_delete(presets):
    save_preset(Preset.from_request("gone", _request()))
    delete_preset("gone")
    assert list_presets() == []
    with pytest.raises(ConfigError, match="'gone' not found"):
        delete_preset("gone")


def test_malformed_json_names_line_and_column(presets):
    # line 3 is `  "strategy": "sma_cross",,`: the second comma is column 27 (1-based: 2 spaces, 11 + 1 + 11 characters, a comma), where a key is expected.
    _write(presets, "broken", '{\n  "schema_version": 1,\n  "strategy": "sma_cross",,\n  "symbols": ["SPY"]\n}')
    with pytest.raises(ConfigError) as e:
        load_preset("broken")
    assert "preset 'broken'" in str(e.value) and "malformed JSON" in str(e.value)
    assert "line 3, column 27" in str(e.value)


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"strategy": "no_such_strategy"}, "field 'strategy': unknown strategy 'no_such_strategy'"),
        ({"params": {"fast": 60, "slow": 50}}, "field 'params': fast (60) must be shorter than slow (50)"),
        ({"params": {"fast": "ten"}}, "field 'params': parameter 'fast': 'ten' is not a valid int"),
        ({"params": {"speed": 3}}, "field 'params': unknown parameter(s) ['speed']"),
        ({"schema_version": 2}, "field 'schema_version' is 2"),
        ({"costs": {"commission_bps": -1}}, "costs.commission_bps: -1 must be >= 0"),
        ({"costs": {"fee": 1}}, "field 'costs': unknown key(s) ['fee']"),
        ({"risk": {"stop_loss": 1.5}}, "risk.stop_loss: 1.5 must be <= 1"),
        ({"config": {"fill": "tomorrow"}}, "config.fill: 'tomorrow' is not one of"),
        ({"config": {"colour": "red"}}, "field 'config': unknown key(s) ['colour']"),
        ({"symbols": "SPY"}, "field 'symbols' must be a list"),
        ({"symbols": []}, "field 'symbols' is empty"),
        ({"start": "2020-01-01", "end": "2010-01-01"}, "start 2020-01-01 is after end 2010-01-01"),
        ({"oops": 1}, "unknown field(s) ['oops']"),
    ],
)
def test_invalid_preset_names_preset_and_field(presets, change, fragment):
    _write(presets, "bad", {**_valid(), **change})
    with pytest.raises(ConfigError) as e:
        load_preset("bad")
    assert str(e.value).startswith("preset 'bad'")
    assert fragment in str(e.value)


@pytest.mark.parametrize("missing", ["schema_version", "strategy", "params", "symbols"])
def test_missing_field(presets, missing):
    values = _valid()
    del values[missing]
    _write(presets, "incomplete", values)
    with pytest.raises(ConfigError, match=rf"preset 'incomplete': missing field\(s\) \['{missing}'\]"):
        load_preset("incomplete")


def test_missing_preset_lists_available(presets):
    _write(presets, "there", _valid())
    with pytest.raises(ConfigError, match=r"preset 'nothere' not found in .*; available: there"):
        load_preset("nothere")


@pytest.mark.parametrize("where", ["top", "nested"])
def test_secrets_refused_on_load_and_save(presets, where):
    values = _valid()
    if where == "top":
        values["alpaca_api_key"] = "PKXXXXXXXX"
    else:
        values["config"] = {"broker": {"secret": "x"}}
    _write(presets, "leaky", values)
    with pytest.raises(ConfigError, match="looks like a secret"):
        load_preset("leaky")
    with pytest.raises(ConfigError, match="looks like a secret"):
        save_preset(
            Preset(name="leaky2", strategy="sma_cross", params={}, symbols=("SPY",), config={"api_token": "abc"})
        )
    assert not (presets / "leaky2.json").exists()


@pytest.mark.parametrize(
    "name, strategy, symbols",
    [
        ("spy_trend", "ema_trend", ["SPY"]),
        ("sector_rotation", "momentum_rotation", ["XLK", "XLF", "XLE", "XLV", "XLY", "XLP", "XLI", "XLU"]),
        ("multi_asset_breakout", "donchian_breakout", ["SPY", "TLT", "GLD", "UUP", "HYG"]),
    ],
)
def test_shipped_presets_load_and_run_on_bundled_data(home, name, strategy, symbols):
    preset = load_preset(name)
    assert preset.strategy == strategy and list(preset.symbols) == symbols and preset.description
    request = preset.to_request()
    result = run_request(request)
    # The run covers the preset's dates on the bundled files: first bar = first CSV date on/after `start`
    # among the symbols, last bar = the last CSV date (read here with plain pandas).
    dates = pd.DatetimeIndex(
        sorted(
            set().union(*(pd.to_datetime(pd.read_csv(DAILY / f"{s}.csv", usecols=["date"])["date"]) for s in symbols))
        )
    )
    dates = dates[dates >= pd.Timestamp(preset.start)]
    assert result.equity.index[0] == dates[0] and result.equity.index[-1] == dates[-1]
    assert len(result.equity) == len(dates)
    assert result.metrics["n_trades"] > 0 and math.isfinite(result.metrics["sharpe"])
    assert result.trades["symbol"].isin(symbols).all()
