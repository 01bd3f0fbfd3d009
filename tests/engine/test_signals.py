"""Signals from a preset: last-bar targets (checked by hand-built prices), freshness, changes, storage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.market import MarketData
from engine.errors import ConfigError, DataError
from engine.ops.audit_log import AuditLog
from engine.ops.signals import changes_frame, expected_last_session, generate_signals
from engine.store.presets import Preset, save_preset

pytestmark = pytest.mark.usefixtures("presets")


def bars(closes: dict[str, list[float]], end: str = "2024-03-08") -> MarketData:
    n = len(next(iter(closes.values())))
    idx = pd.bdate_range(end=end, periods=n)
    frames = {}
    for sym, c in closes.items():
        c = np.asarray(c, dtype=float)
        frames[sym] = pd.DataFrame(
            {"open": c, "high": c * 1.001, "low": c * 0.999, "close": c, "volume": 1e6}, index=idx
        )
    return MarketData.from_frames(frames)


def sma_preset(**kw) -> Preset:
    return Preset(name="t_sma", strategy="sma_cross", params={"fast": 5, "slow": 10}, symbols=("AAA",), **kw)


@pytest.mark.parametrize(
    "now, expected",
    [
        ("2024-03-09 12:00", "2024-03-08"),  # Saturday -> Friday
        ("2024-03-11 15:00", "2024-03-08"),  # Monday -> Friday
        ("2024-03-12 15:00", "2024-03-11"),  # Tuesday -> Monday
        ("2024-03-12 02:00", "2024-03-08"),  # 02:00 UTC Tuesday is Monday 22:00 in New York -> Friday
        (pd.Timestamp("2024-03-12 23:00", tz="America/New_York"), "2024-03-11"),  # Wed 03:00 UTC, still Tue in NY
    ],
)
def test_expected_last_session(now, expected):
    assert expected_last_session(now) == pd.Timestamp(expected)


def test_rising_then_falling_prices_give_enter_then_exit_and_are_stored():
    up = list(np.linspace(130, 100, 20)) + list(np.linspace(101, 130, 20))
    log = AuditLog()
    first = generate_signals(sma_preset(), data=bars({"AAA": up}), now="2024-03-11 15:00", log=log)
    # by hand: a fall then a rise -> the 5-bar SMA crossed above the 10-bar SMA during the rise -> long, weight 1
    assert first.targets == {"AAA": 1.0}
    assert first.previous is None and not first.stale
    assert first.data_timestamp == pd.Timestamp("2024-03-08") and first.prices == {"AAA": pytest.approx(130.0)}
    assert first.changes.to_dict(orient="records") == [
        {"symbol": "AAA", "previous": 0.0, "target": 1.0, "change": 1.0, "action": "enter"}
    ]

    down = up + list(np.linspace(129, 100, 15))
    second = generate_signals(sma_preset(), data=bars({"AAA": down}, end="2024-03-29"), now="2024-04-01 15:00", log=log)
    assert second.targets == {"AAA": 0.0}  # fast SMA now below slow: flat
    assert second.previous == {"AAA": 1.0}
    assert list(second.changes["action"]) == ["exit"]
    stored = log.last_signal("t_sma")
    assert stored["id"] == second.signal_id and stored["targets"] == {"AAA": 0.0}
    assert stored["data_timestamp"].startswith("2024-03-29")
    assert log.last_signal("t_sma", before_id=second.signal_id)["targets"] == {"AAA": 1.0}
    kinds = list(log.events()["kind"])
    assert kinds.count("signal") == 2


def test_stale_data_is_flagged_with_the_symbol():
    rep = generate_signals(sma_preset(), data=bars({"AAA": [100.0] * 40}), now="2024-03-13 15:00", record=False)
    assert rep.stale and rep.expected_session == pd.Timestamp("2024-03-12")
    assert any("stale data" in n and "AAA" in n for n in rep.notes)


def test_stopped_out_position_stays_flat_until_a_new_signal():
    # buy and hold with a 5% stop: the price falls 10% -> the backtest sells at the stop; weight is still 1
    closes = [100.0] * 10 + [99, 97, 94, 90, 90, 91]
    p = Preset(name="t_bh", strategy="buy_and_hold", symbols=("AAA",), risk={"stop_loss": 0.05})
    rep = generate_signals(p, data=bars({"AAA": closes}), now="2024-03-11 15:00", record=False)
    assert rep.targets == {"AAA": 0.0}
    assert any("stopped out" in n for n in rep.notes)
    assert rep.stops == {"AAA": 0.05}
    p2 = Preset(name="t_bh2", strategy="buy_and_hold", symbols=("AAA",))
    rep2 = generate_signals(p2, data=bars({"AAA": closes}), now="2024-03-11 15:00", record=False)
    assert rep2.targets == {"AAA": 1.0} and rep2.stops == {"AAA": None}


def test_take_profits_and_protection_come_from_the_preset_risk():
    p = Preset(
        name="t_tp",
        strategy="buy_and_hold",
        symbols=("AAA", "BBB"),
        risk={"stop_loss": 0.05, "take_profit": 0.12, "trailing_stop": 0.03},
    )
    rep = generate_signals(p, data=bars({"AAA": [10.0] * 5, "BBB": [20.0] * 5}), now="2024-03-11", record=False)
    assert rep.take_profits == {"AAA": 0.12, "BBB": 0.12}
    assert rep.stops == {"AAA": 0.03, "BBB": 0.03}  # the tighter of stop-loss and trailing stop
    assert rep.protection == {"stop_loss": 0.05, "take_profit": 0.12, "trailing_stop": 0.03}
    assert rep.to_dict()["take_profits"] == rep.take_profits and rep.to_dict()["protection"] == rep.protection
    off = generate_signals(Preset(name="t_off", strategy="buy_and_hold", symbols=("AAA",)),
                           data=bars({"AAA": [10.0] * 5}), now="2024-03-11", record=False)  # fmt: skip
    assert off.take_profits == {"AAA": None} and off.protection == {}


def test_take_profit_of_a_strategy_with_its_own_stops():
    # constant closes with high/low 0.1 % around them: true range 0.002 x close on every bar, so ATR / close = 0.002
    p = Preset(
        name="t_trend",
        strategy="ema_trend",
        params={"length": 10, "atr_length": 5, "sl_atr": 2.0, "tp_atr": 4.0, "trail_atr": 3.0},
        symbols=("AAA",),
        risk={"take_profit": 0.5},
    )
    rep = generate_signals(p, data=bars({"AAA": [50.0] * 40}), now="2024-03-11", record=False)
    assert rep.take_profits == {"AAA": pytest.approx(4.0 * 0.002)}  # the strategy's value wins over the preset's
    assert rep.stops == {"AAA": pytest.approx(2.0 * 0.002)}
    assert rep.protection == {"take_profit": 0.5}  # broker-side protection follows the preset's risk block only


def test_caps_and_costs_of_the_preset_apply():
    p = Preset(
        name="t_cap",
        strategy="buy_and_hold",
        symbols=("AAA", "BBB"),
        risk={"max_position": 0.3},
        costs={"commission_bps": 10, "slippage_bps": 5},
    )
    rep = generate_signals(p, data=bars({"AAA": [10.0] * 5, "BBB": [20.0] * 5}), now="2024-03-11", record=False)
    assert rep.targets == {"AAA": 0.3, "BBB": 0.3}  # 1/2 each, capped at 0.3
    assert rep.costs_bps == pytest.approx(((1.001 * 1.0005) - 1) * 1e4)


def test_preset_by_name_and_errors():
    save_preset(sma_preset())
    rep = generate_signals(
        "t_sma", data=bars({"AAA": list(np.linspace(100, 130, 40)), "ZZZ": [1.0] * 40}), now="2024-03-11", record=False
    )
    assert rep.symbols == ("AAA",)
    with pytest.raises(ConfigError, match="nope"):
        generate_signals("nope")
    with pytest.raises(DataError, match="AAA"):
        generate_signals("t_sma", data=bars({"BBB": [1.0] * 40}), record=False)


def test_changes_frame_actions():
    df = changes_frame({"A": 0.5, "B": 0.2, "C": -0.1, "D": 0.3}, {"A": 0.5, "B": 0.4, "C": 0.1, "E": 0.2})
    assert dict(zip(df["symbol"], df["action"])) == {
        "A": "hold",
        "B": "increase",
        "C": "flip",
        "D": "exit",
        "E": "enter",
    }


def test_bundled_preset_signal_runs_on_real_data():
    import shutil
    from pathlib import Path

    import engine.store.workspace as ws

    src = Path(ws.REPO_ROOT) / "presets" / "sector_rotation.json"
    dst = ws.presets_dir() / "sector_rotation.json"
    shutil.copy(src, dst)
    rep = generate_signals("sector_rotation", now="2026-06-10 20:00")
    assert not rep.stale and rep.data_timestamp == pd.Timestamp("2026-06-09")
    held = [s for s, w in rep.targets.items() if w]
    assert len(held) == 3 and all(rep.targets[s] == pytest.approx(1 / 3) for s in held)
