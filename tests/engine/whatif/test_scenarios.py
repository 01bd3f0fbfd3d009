"""Scenarios: validation names the field, the shipped presets apply what their names and descriptions say, user
scenarios round-trip through the workspace as JSON and cannot take a preset's name."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.whatif import Market, Scenario, list_scenarios, load_scenario, positions_from_records, prepare, revalue
from engine.whatif.store import PRESETS_DIR, save_scenario, scenarios_dir

PRESETS = {"2008-crisis", "march-2020", "gap-down-10", "vol-spike"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"price_shock": -1.5}, "scenario.price_shock: -1.5 must be > -1"),
        ({"vol_scale": 0.0}, "vol_scale"),
        ({"days": -1}, "days"),
        ({"name": "../x"}, "scenario name"),
        ({"shock": 1.0}, "shock"),
        ({"vix": {"start": 15.0}}, "end"),
    ],
)
def test_bad_scenarios_name_the_field(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        Scenario.from_dict(values)


def test_the_presets_ship_and_apply_what_they_say(home: Path) -> None:
    assert {p.stem for p in PRESETS_DIR.glob("*.json")} == PRESETS
    assert {name for name, kind, _ in list_scenarios() if kind == "preset"} == PRESETS
    for name in PRESETS:
        s = load_scenario(name)
        assert s.name == name and s.description
    crisis, covid = load_scenario("2008-crisis"), load_scenario("march-2020")
    assert crisis.beta_shock is not None and crisis.beta_shock.move == -0.55 and crisis.beta_shock.benchmark == "SPY"
    assert crisis.vix is not None and (crisis.vix.start, crisis.vix.end, crisis.vix.map) == (20.0, 80.0, "history")
    assert covid.beta_shock is not None and covid.beta_shock.move == -0.34
    spike = load_scenario("vol-spike")
    assert spike.vix is not None and (spike.vix.start, spike.vix.end) == (15.0, 40.0) and spike.beta_shock is None
    gap = load_scenario("gap-down-10")
    book = prepare(
        positions_from_records([{"symbol": "QQQ", "quantity": 3, "price": 500.0}]), Market(dt.date(2026, 1, 2))
    )
    assert revalue(book, gap, Market(dt.date(2026, 1, 2))).pnl == pytest.approx(-150.0)


def test_save_load_round_trip_in_the_workspace(home: Path) -> None:
    mine = Scenario.from_dict(
        {"name": "my-crash", "description": "QQQ -30 %, vols x1.5", "symbol_shocks": {"QQQ": -0.3}, "vol_scale": 1.5}
    )
    path = save_scenario(mine)
    assert path == scenarios_dir() / "my-crash.json" and path.parent.parent == home
    assert json.loads(path.read_text())["symbol_shocks"] == {"QQQ": -0.3}
    assert load_scenario("my-crash") == mine
    assert ("my-crash", "saved", "QQQ -30 %, vols x1.5") in list_scenarios()
    with pytest.raises(ConfigError, match="exists"):
        save_scenario(mine)
    save_scenario(Scenario(name="my-crash", price_shock=-0.5), overwrite=True)
    assert load_scenario("my-crash").price_shock == -0.5


def test_a_preset_name_cannot_be_saved_and_unknown_names_list_the_known(home: Path) -> None:
    with pytest.raises(ConfigError, match="a preset's name"):
        save_scenario(Scenario(name="gap-down-10", price_shock=-0.2))
    with pytest.raises(ConfigError, match=r"scenario 'nope' not found \(known: 2008-crisis, gap-down-10"):
        load_scenario("nope")


def test_a_broken_saved_file_is_named(home: Path) -> None:
    (scenarios_dir() / "bad.json").write_text('{"price_shock": "a lot"}')
    with pytest.raises(ConfigError, match=r"bad\.json.*price_shock"):
        load_scenario("bad")
